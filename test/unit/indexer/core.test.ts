// The indexer core against blocks made by the real ledger with real certificates: what it indexes
// equals chain state, forged blocks are refused without touching the read model, paging works, and a
// restart mid-stream (RocksDB reopened) ends byte-identical to a full replay.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CertifiedBlock } from '../../../gen/wolk/common/v1/chain.js';
import { NodeRole } from '../../../gen/wolk/common/v1/node.js';
import { KeyRecord } from '../../../gen/wolk/common/v1/state.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { openRocksKv } from '../../../lib/storage/rocksdb.js';
import type { KvStore } from '../../../lib/storage/kv.js';
import { readKey } from '../../../services/consensus/ledger/state-view.js';
import { createCertificateVerifier } from '../../../lib/chain/certificate.js';
import { BlockRejected } from '../../../services/indexer/core.js';
import { QueryError, ReadModel } from '../../../services/indexer/store.js';
import { fileInfo } from '../consensus/ledger-fixture.js';
import { makeChain, putKey, userWithBucket, type TestChain } from './chain.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

/** Test data and keys, seeded (test/helpers/seed.ts): the same on every run with the same WOLK_TEST_SEED. */
const seeded = testRandom('unit/indexer/core.test.ts');
logSeedOnFailure(test);

function modelOf(chain: TestChain, kv: KvStore = createMemoryKv()): ReadModel {
  return new ReadModel(kv, { genesis: chain.net.genesis, certificates: createCertificateVerifier(chain.net.genesis), rewardPerValid: 10n });
}

/** A chain with alice/photos holding `n` keys (one SetKey per block) and the list of its blocks. */
async function chainWithKeys(n: number): Promise<{ chain: TestChain; blocks: CertifiedBlock[] }> {
  const chain = await makeChain();
  const alice = await userWithBucket(chain, 'alice', 'photos');
  for (let i = 0; i < n; i++) await chain.finalize([putKey(chain, alice, 'alice', 'photos', `img/${String(i).padStart(3, '0')}.jpg`)]);
  const blocks: CertifiedBlock[] = [];
  for (let r = 0; r <= chain.ledger.tip().round; r++) blocks.push(await chain.certified(r));
  return { chain, blocks };
}

async function dump(kv: KvStore): Promise<string[]> {
  const out: string[] = [];
  for await (const e of kv.range()) out.push(Buffer.from(e.key).toString('hex') + '=' + Buffer.from(e.value).toString('hex'));
  return out;
}

test('indexed key records are byte-identical to the chain state, with file locations and the registry', async (t) => {
  const { chain, blocks } = await chainWithKeys(3);
  const model = modelOf(chain);
  for (const b of blocks) await model.apply(b);
  t.is((await model.cursor())!.round, chain.ledger.tip().round);

  const { keys } = await model.listKeys('alice', 'photos', '', 0, '');
  t.deepEqual(keys.map((k) => k.key), ['img/000.jpg', 'img/001.jpg', 'img/002.jpg']);
  for (const k of keys) {
    const inState = await readKey(chain.ledger.latestState(), 'alice', 'photos', k.key);
    t.deepEqual(Buffer.from(KeyRecord.encode(k).finish()), Buffer.from(KeyRecord.encode(inState!).finish()), `record of ${k.key}`);
  }

  const loc = await model.fileLocations(keys[1]!.file!.filehash);
  t.truthy(loc);
  t.is(loc!.locations.length, 3);
  const storerEndpoints = new Map(chain.net.genesis.nodes.map((n) => [n.id, n.endpoint]));
  for (const l of loc!.locations) {
    t.is(l.endpoint, storerEndpoints.get(Buffer.from(l.storerId).toString('hex')) ?? 'unknown storer');
    t.is(l.reputationPpm, 1_000_000);
  }
  t.is(await model.fileLocations(new Uint8Array(32)), null);

  const all = await model.listNodes(NodeRole.NODE_ROLE_UNSPECIFIED, 0, '');
  t.is(all.nodes.length, chain.net.genesis.nodes.length);
  const storers = await model.listNodes(NodeRole.NODE_ROLE_STORER, 0, '');
  t.deepEqual(storers.nodes.map((n) => Buffer.from(n.id).toString('hex')).sort(), chain.net.storers.map((s) => s.id).sort());
});

test('a block with a forged certificate, altered transactions, a wrong link or a gap is refused and changes nothing', async (t) => {
  const { chain, blocks } = await chainWithKeys(1);
  const kv = createMemoryKv();
  const model = modelOf(chain, kv);
  const last = blocks.length - 1;
  for (const b of blocks.slice(0, last)) await model.apply(b);
  const before = await dump(kv);
  const good = blocks[last]!;
  const cert = good.certificate!;

  const forgeries: [string, CertifiedBlock, RegExp][] = [
    ['2 of 4 votes (below the 2/3 quorum)', { ...good, certificate: { ...cert, votes: cert.votes.slice(0, 2) } }, /threshold/],
    ['no certificate', { ...good, certificate: undefined }, /certificate/],
    ['a vote with a bad signature', { ...good, certificate: { ...cert, votes: [{ ...cert.votes[0]!, signature: Buffer.alloc(64, 1) }, ...cert.votes.slice(1)] } }, /does not verify/],
    ['certificate of the previous block', { ...good, certificate: blocks[last - 1]!.certificate }, /not for block/],
    ['a dropped transaction', { ...good, block: { ...good.block!, txs: [] } }, /tx_root/],
    ['another header seed (hash changes)', { ...good, block: { ...good.block!, header: { ...good.block!.header!, seed: seeded.bytes(32) } } }, /not for block|does not verify/],
    ['a gap', blocks[last - 2]!, /expected/],
  ];
  for (const [what, cb, re] of forgeries) {
    const err = await t.throwsAsync(model.apply(cb), { instanceOf: BlockRejected }, what);
    t.regex(err!.message, re, what);
  }
  t.deepEqual(await dump(kv), before, 'nothing was written');
  t.is((await model.cursor())!.round, last - 1);
  await model.apply(good);
  t.is((await model.cursor())!.round, last);
});

test('ListKeys pages with opaque tokens and filters by prefix; bad tokens and sizes are refused', async (t) => {
  const chain = await makeChain();
  const bob = await userWithBucket(chain, 'bob', 'docs');
  const names = ['a/1', 'a/2', 'a/3', 'b/1', 'c'];
  await chain.finalize(names.map((k) => putKey(chain, bob, 'bob', 'docs', k, fileInfo())));
  const model = modelOf(chain);
  for (let r = 0; r <= chain.ledger.tip().round; r++) await model.apply(await chain.certified(r));

  const seen: string[] = [];
  let token = '';
  let pages = 0;
  do {
    const p = await model.listKeys('bob', 'docs', '', 2, token);
    seen.push(...p.keys.map((k) => k.key));
    token = p.next;
    pages++;
  } while (token !== '');
  t.deepEqual(seen, names);
  t.is(pages, 3);

  const a = await model.listKeys('bob', 'docs', 'a/', 2, '');
  t.deepEqual(a.keys.map((k) => k.key), ['a/1', 'a/2']);
  const a2 = await model.listKeys('bob', 'docs', 'a/', 2, a.next);
  t.deepEqual(a2.keys.map((k) => k.key), ['a/3']);
  t.is(a2.next, '');
  t.deepEqual((await model.listKeys('bob', 'other', '', 0, '')).keys, []);
  await t.throwsAsync(model.listKeys('bob', 'docs', 'b/', 2, a.next), { instanceOf: QueryError });
  await t.throwsAsync(model.listKeys('bob', 'docs', '', 1001, ''), { instanceOf: QueryError });
  await t.throwsAsync(model.listKeys('bob', 'docs', '', 2, 'not a token!'), { instanceOf: QueryError });

  const nodes1 = await model.listNodes(NodeRole.NODE_ROLE_UNSPECIFIED, 4, '');
  const nodes2 = await model.listNodes(NodeRole.NODE_ROLE_UNSPECIFIED, 4, nodes1.next);
  const nodes3 = await model.listNodes(NodeRole.NODE_ROLE_UNSPECIFIED, 4, nodes2.next);
  const ids = [...nodes1.nodes, ...nodes2.nodes, ...nodes3.nodes].map((n) => Buffer.from(n.id).toString('hex'));
  t.is(ids.length, chain.net.genesis.nodes.length);
  t.deepEqual(ids, [...ids].sort());
  t.is(nodes3.next, '');
});

test('restart mid-stream on RocksDB: resuming from the cursor ends byte-identical to a full replay', async (t) => {
  const { chain, blocks } = await chainWithKeys(4);
  const dirA = mkdtempSync(join(tmpdir(), 'wolk-indexer-a-'));
  const dirB = mkdtempSync(join(tmpdir(), 'wolk-indexer-b-'));
  t.teardown(() => {
    rmSync(dirA, { recursive: true, force: true });
    rmSync(dirB, { recursive: true, force: true });
  });
  // A: apply half, close (as a killed process would leave it after its last synced batch), reopen, resume.
  let kv = await openRocksKv(dirA);
  let model = modelOf(chain, kv);
  const half = Math.floor(blocks.length / 2);
  for (const b of blocks.slice(0, half)) await model.apply(b);
  await kv.close();
  kv = await openRocksKv(dirA);
  model = modelOf(chain, kv);
  const resumeAt = (await model.cursor())!.round + 1;
  t.is(resumeAt, half);
  // A re-sent block already applied (a follower reconnecting) is refused, not applied twice.
  await t.throwsAsync(model.apply(blocks[half - 1]!), { instanceOf: BlockRejected });
  for (const b of blocks.slice(resumeAt)) await model.apply(b);
  const a = await dump(kv);
  await kv.close();
  // B: one full replay.
  const kvB = await openRocksKv(dirB);
  const full = modelOf(chain, kvB);
  for (const b of blocks) await full.apply(b);
  t.deepEqual(a, await dump(kvB));
  t.is((await full.listKeys('alice', 'photos', '', 0, '')).keys.length, 4);
  await kvB.close();
});

test('block 0 of another network is refused', async (t) => {
  const { blocks } = await chainWithKeys(0);
  const other = await makeChain();
  const model = modelOf(other);
  await t.throwsAsync(model.apply(blocks[0]!), { instanceOf: BlockRejected, message: /genesis seed/ });
});
