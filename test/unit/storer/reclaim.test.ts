// Space reclamation (services/storer/{coverage,reclaimer}.ts) with real RocksDB and blob files on disk
// and certified blocks made by the real ledger: what the chain names this storer for stays, the rest
// goes once the deadline has passed on this storer's clock and on the chain; an overwrite and a Repair
// end coverage; a file asked for again starts its deadline again; a crash right after the commit point
// of a deletion leaves nothing that init() does not clean, and nothing a covered file needs.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeRole } from '../../../gen/wolk/common/v1/node.js';
import { RepairReason } from '../../../gen/wolk/common/v1/tx.js';
import { createCertificateVerifier } from '../../../lib/chain/certificate.js';
import { BlockRejected } from '../../../lib/chain/certified-block.js';
import { sha256 } from '../../../lib/crypto/hash.js';
import { createLogger } from '../../../lib/log/logger.js';
import { openFsBlobStore } from '../../../lib/storage/blob-fs.js';
import { openRocksKv } from '../../../lib/storage/rocksdb.js';
import { txChunks } from '../../../services/consensus/block-data.js';
import { Coverage } from '../../../services/storer/coverage.js';
import { FileStore } from '../../../services/storer/files.js';
import { Reclaimer } from '../../../services/storer/reclaimer.js';
import { ShareStore } from '../../../services/storer/shares.js';
import { commitment, setKey, txOf, type User } from '../consensus/ledger-fixture.js';
import { makeChain, userWithBucket, type TestChain } from '../indexer/chain.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { infoOf } from './client.js';
import { fileRecordKey, parseSegmentName, pendingKey } from '../../../services/storer/layout.js';
import type { BlobStore } from '../../../lib/storage/blob.js';

const seeded = testRandom('unit/storer/reclaim.test.ts');
logSeedOnFailure(test);

const quiet = createLogger({ level: 'error', write: () => undefined });
const AFTER = 5 * 60_000;
const userOf = (k: { signPublicKey: Uint8Array; signSecretKey: Uint8Array }): User => ({ publicKey: Buffer.from(k.signPublicKey), secretKey: k.signSecretKey, nonce: 0n });

async function* once(b: Uint8Array): AsyncIterable<Uint8Array> {
  yield b;
}

/** A storer's stores on disk for storer `me` of the chain, with clocks the test moves. */
async function openStorer(dir: string, chain: TestChain, me = 0) {
  const kv = await openRocksKv(join(dir, 'db'));
  const blobs = await openFsBlobStore(join(dir, 'blobs'));
  const clock = { files: Date.now(), reclaim: Date.now() };
  const storerId = chain.net.storers[me]!.signPublicKey;
  const files = new FileStore({ kv, blobs, storerId, logger: quiet, maxFileBytes: 1 << 24, maxConcurrentUploads: 4, segmentBytes: 8192, now: () => clock.files });
  const shares = new ShareStore(kv);
  await files.init();
  await shares.init();
  const coverage = new Coverage(kv, { genesisSeedHex: chain.net.genesis.seed, certificates: createCertificateVerifier(chain.net.genesis), storerId });
  const reclaimer = new Reclaimer({ files, shares, kv, coverage, afterMs: AFTER, now: () => clock.reclaim, logger: quiet });
  const follow = async () => {
    for (let r = ((await coverage.cursor())?.round ?? -1) + 1; r <= chain.ledger.tip().round; r++) await coverage.apply(await chain.certified(r));
  };
  const close = async () => {
    await blobs.close();
    await kv.close();
  };
  return { kv, blobs, files, shares, coverage, reclaimer, clock, follow, close };
}

/** The files whose segments are on disk (hex filehashes, sorted). */
async function segmentFiles(blobs: BlobStore): Promise<string[]> {
  const out = new Set<string>();
  for await (const name of blobs.list('f/')) {
    const p = parseSegmentName(name);
    if (p) out.add(p.filehashHex);
  }
  return [...out].sort();
}

async function store(files: FileStore, data: Uint8Array) {
  const info = infoOf(data);
  await files.ingest({ filehash: info.filehash, size: data.length, chunkSize: 4096 }, once(data), new AbortController().signal);
  return info;
}

test('files: covered ones stay, uncovered ones go after the deadline; an overwrite and a Repair end coverage', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-reclaim-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // 5 storers of stake 1000, sortition expecting 4000: every storer is selected.
  const chain = await makeChain({ storers: 5, storerCommitteeSize: 4000, rewards: 1 });
  const { net, ledger } = chain;
  const s = await openStorer(dir, chain);
  t.teardown(s.close);
  const alice = await userWithBucket(chain, 'alice', 'photos');
  // Stored 10 min ago (by the file store's clock): past the 5 min deadline by the time the chain is read.
  s.clock.files = Date.now() - 10 * 60_000;
  const [kept, overwritten, repaired, other, never] = await Promise.all([1, 2, 3, 4, 5].map((i) => store(s.files, seeded.bytes(10_000 + i * 1000))));
  const commit = (file: typeof kept, storers: number[]) => {
    const seedRound = ledger.tip().round;
    return storers.map((i) => commitment(net.storers[i]!, file!, ledger.seedAt(seedRound)!, seedRound, 5000n, {}, 4000));
  };
  const put = (key: string, file: typeof kept, storers: number[]) => setKey(alice, net.gateway, { owner: 'alice', collection: 'photos', key, file: file! }, commit(file, storers));
  await chain.finalize([put('kept', kept, [0, 1, 2]), put('over', overwritten, [0, 1, 2]), put('other', other, [1, 2, 3])]);
  const repairedCommitments = commit(repaired, [0, 1, 2]);
  await chain.finalize([setKey(alice, net.gateway, { owner: 'alice', collection: 'photos', key: 'rep', file: repaired! }, repairedCommitments)]);
  const written = ledger.tip().round;
  // The key 'over' now holds another file on other storers: this storer no longer keeps `overwritten` for it.
  await chain.finalize([put('over', other, [1, 2, 3])]);
  // Storer 0 leaves the storer role, and a Repair replaces it in 'rep'.
  await chain.finalize([txOf(userOf(net.storers[0]!), { $case: 'updateNode', value: { roles: { roles: [NodeRole.NODE_ROLE_GATEWAY] } } })]);
  const at = ledger.tip().round;
  const replacement = commitment(net.storers[3]!, repaired!, ledger.seedAt(at)!, at, 4000n, {}, 4000);
  await chain.finalize([
    txOf(userOf(net.rewards[0]!), {
      $case: 'repair',
      value: { owner: 'alice', collection: 'photos', key: 'rep', recordRound: BigInt(written), chunkSetRound: 0n, replaced: [{ commitment: repairedCommitments[0]!, reason: RepairReason.REPAIR_REASON_DEREGISTERED }], commitments: [replacement] },
    }),
  ]);

  // Before the chain is followed: nothing is judged.
  t.is((await s.reclaimer.sweep()).chainMs, null);
  await s.follow();
  t.true(await s.coverage.fileCovered(kept.filehash));
  for (const f of [overwritten, repaired, other, never]) t.false(await s.coverage.fileCovered(f.filehash));
  const bytesBefore = s.files.bytes;

  // Not yet past the deadline on this storer's clock: nothing goes.
  s.clock.reclaim = s.clock.files + AFTER - 1;
  t.is((await s.reclaimer.sweep()).files, 0);
  s.clock.reclaim = Date.now();
  const r = await s.reclaimer.sweep();
  t.is(r.files, 4);
  t.is(r.fileBytes, bytesBefore - Number(kept.size));
  t.is(s.files.files, 1);
  t.is(s.files.bytes, Number(kept.size));
  t.truthy(await s.files.get(kept.filehash));
  for (const f of [overwritten, repaired, other, never]) t.is(await s.files.get(f.filehash), null);
  // Only the kept file's segments remain on disk.
  t.deepEqual(await segmentFiles(s.blobs), [Buffer.from(kept.filehash).toString('hex')]);
  // The kept file still reads and proves (its trees come from its leaves).
  const rec = (await s.files.get(kept.filehash))!;
  const trees = await s.files.treesOf(kept.filehash, rec);
  t.deepEqual(Buffer.from(trees.file.root()), Buffer.from(rec.treeRoot));
});

test('the chain must have passed the deadline too: a storer behind the chain deletes nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-reclaim-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const chain = await makeChain();
  const s = await openStorer(dir, chain);
  t.teardown(s.close);
  await s.follow();
  // Stored now; this storer's clock says the deadline passed, the chain's last block is older than it.
  await store(s.files, seeded.bytes(5000));
  s.clock.reclaim = Date.now() + 2 * AFTER;
  t.is((await s.reclaimer.sweep()).files, 0);
  t.is(s.files.files, 1);
});

test('a file asked for again starts its deadline again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-reclaim-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const chain = await makeChain();
  const s = await openStorer(dir, chain);
  t.teardown(s.close);
  s.clock.files = Date.now() - 10 * 60_000;
  const data = seeded.bytes(6000);
  const info = await store(s.files, data);
  // Asked for again now (a second SetFile or Solicit of the same file).
  s.clock.files = Date.now();
  const again = await s.files.ingest({ filehash: info.filehash, size: data.length, chunkSize: 4096 }, once(data), new AbortController().signal);
  t.false(again.created);
  t.is(again.record.storedAtMs, s.clock.files);
  await chain.finalize([]);
  await s.follow();
  s.clock.reclaim = Date.now();
  t.is((await s.reclaimer.sweep()).files, 0);
  t.is(s.files.files, 1);
});

test('chunks: those of a certified block stay, others go after a full deadline uncovered; a write restarts the clock', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-reclaim-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const chain = await makeChain();
  const s = await openStorer(dir, chain);
  t.teardown(s.close);
  await userWithBucket(chain, 'bob', 'docs');
  const block = (await chain.certified(chain.ledger.tip().round)).block!;
  const ours = txChunks(block.txs, 4096).map((c) => c.data);
  t.true(ours.length > 0);
  t.true(ours.every((d) => block.newChunks!.chunkIds.some((id) => Buffer.compare(id, sha256(d)) === 0)), 'tx chunks are in the block chunk set');
  const losing = [seeded.bytes(4096), seeded.bytes(3000)];
  await s.shares.putMany([...ours, ...losing]);
  await s.follow();
  const start = Date.now();
  s.clock.reclaim = start - 2 * AFTER;
  t.is((await s.reclaimer.sweep()).chunks, 0, 'the first sweep only starts the clocks');
  // One losing chunk is written again (a proposer of a later round): its clock starts again.
  s.clock.reclaim = start - AFTER;
  await s.shares.put(losing[1]!, new Uint8Array(0));
  s.clock.reclaim = start;
  const r = await s.reclaimer.sweep();
  t.is(r.chunks, 1);
  t.is(r.chunkBytes, 4096);
  t.deepEqual(await s.shares.lengths([sha256(losing[0]!), sha256(losing[1]!)]), [null, 3000]);
  t.is(s.shares.count, ours.length + 1);
  for (const d of ours) t.truthy(await s.shares.require(sha256(d)));
});

test('a crash right after a deletion\'s commit point: the restart removes the rest, keeps every covered file whole', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-reclaim-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const chain = await makeChain();
  const s = await openStorer(dir, chain);
  const alice = await userWithBucket(chain, 'alice', 'photos');
  s.clock.files = Date.now() - 10 * 60_000;
  const kept = await store(s.files, seeded.bytes(20_000));
  const gone = await store(s.files, seeded.bytes(30_000));
  await chain.finalize([setKey(alice, chain.net.gateway, { owner: 'alice', collection: 'photos', key: 'k', file: kept }, chain.commitments(kept))]);
  await s.follow();
  // The deletion's commit point, then a crash: the segments and leaves are still there.
  s.clock.reclaim = Date.now();
  const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
  // What FileStore.reclaim() writes at its commit point, and nothing after it (the process dies there).
  const rec = (await s.files.get(gone.filehash))!;
  await s.kv.batch([{ type: 'del', key: fileRecordKey(gone.filehash) }, { type: 'put', key: pendingKey(rec.uploadId), value: Uint8Array.from(gone.filehash) }], { sync: true });
  t.deepEqual(await segmentFiles(s.blobs), [hexOf(kept.filehash), hexOf(gone.filehash)].sort());
  await s.close();

  const again = await openStorer(dir, chain);
  t.teardown(again.close);
  t.is(again.files.files, 1);
  t.deepEqual(await segmentFiles(again.blobs), [hexOf(kept.filehash)]);
  let leftovers = 0;
  for await (const e of again.kv.range()) if (Buffer.from(e.key).includes(Buffer.from(gone.filehash))) leftovers++;
  t.is(leftovers, 0, 'no leaves, marker or record of the deleted file remain');
  const r = (await again.files.get(kept.filehash))!;
  t.deepEqual(Buffer.from((await again.files.treesOf(kept.filehash, r)).file.root()), Buffer.from(r.treeRoot));
  // The coverage cursor survived the restart: following resumes after the last block.
  t.is((await again.coverage.cursor())!.round, chain.ledger.tip().round);
  await t.throwsAsync(again.coverage.apply(await chain.certified(1)), { instanceOf: BlockRejected });
});

test('sealed chunk sets no certified block names are released once due by both clocks, never before; the sweep passes the time each was last asked for', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-reclaim-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const chain = await makeChain();
  await userWithBucket(chain, 'carol', 'docs');
  const kv = await openRocksKv(join(dir, 'db'));
  const blobs = await openFsBlobStore(join(dir, 'blobs'));
  t.teardown(async () => {
    await blobs.close();
    await kv.close();
  });
  const storerId = chain.net.storers[0]!.signPublicKey;
  const files = new FileStore({ kv, blobs, storerId, logger: quiet, maxFileBytes: 1 << 20, maxConcurrentUploads: 1, segmentBytes: 8192 });
  const shares = new ShareStore(kv);
  await files.init();
  await shares.init();
  const coverage = new Coverage(kv, { genesisSeedHex: chain.net.genesis.seed, certificates: createCertificateVerifier(chain.net.genesis), storerId });
  for (let r = 0; r <= chain.ledger.tip().round; r++) await coverage.apply(await chain.certified(r));
  const chainMs = (await coverage.cursor())!.timestampMs;
  const [old, young] = [seeded.bytes(32), seeded.bytes(32)];
  const sets = new Map([
    [Buffer.from(old).toString('hex'), chainMs - 2 * AFTER],
    [Buffer.from(young).toString('hex'), chainMs - AFTER / 2],
  ]);
  const released: { set: string; lastAskedMs: number }[] = [];
  const sealed = {
    release: async () => undefined,
    listChunkSets: () => [...sets].map(([h, at]) => ({ setHash: Buffer.from(h, 'hex'), sealedAtMs: at })),
    releaseChunkSet: async (setHash: Uint8Array, lastAskedMs: number) => {
      released.push({ set: Buffer.from(setHash).toString('hex'), lastAskedMs });
      return sets.delete(Buffer.from(setHash).toString('hex'));
    },
  };
  const clock = { now: chainMs };
  const reclaimer = new Reclaimer({ files, shares, kv, coverage, afterMs: AFTER, now: () => clock.now, logger: quiet, sealed });
  await reclaimer.sweep();
  t.deepEqual(released, [{ set: Buffer.from(old).toString('hex'), lastAskedMs: chainMs - 2 * AFTER }], 'only the set past the deadline, with the time it was listed with');
  t.is(reclaimer.total.chunkSets, 1);
  // The chain has not moved: however late this storer's clock, the young set stays.
  clock.now = chainMs + 10 * AFTER;
  await reclaimer.sweep();
  t.is(released.length, 1, 'not due on the chain yet');
  t.true(sets.has(Buffer.from(young).toString('hex')));
});
