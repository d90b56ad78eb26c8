// Block storage against real storers (in this process, over gRPC on real sockets, RocksDB underneath):
// a proposer writes each block's chunks to storers before proposing; a node with an empty RocksDB, the
// genesis file and a certified checkpoint reads and proves keys written several blocks earlier by
// fetching state-tree nodes from the storers, and a storer that serves corrupted bytes is detected and
// passed over. With every storer down, blocks are still assembled within the budget.
import test from 'ava';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { StorerServiceClient, type GetShareResponse, type SetSharesResponse } from '../../../gen/wolk/storer/v1/storer.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../lib/log/logger.js';
import { verifySmtProof } from '../../../lib/smt/index.js';
import { openRocksKv } from '../../../lib/storage/rocksdb.js';
import { sha256 } from '../../../lib/crypto/index.js';
import { applyCertified } from '../../../services/consensus/catchup.js';
import { verifyCheckpoint } from '../../../services/consensus/checkpoint.js';
import { Ledger } from '../../../services/consensus/ledger/ledger.js';
import { accountStateKey as accountKey, pathStateKey as pathKey } from '../../../lib/chain/state-keys.js';
import { StorerChunks, type StoreSummary } from '../../../services/consensus/remote-state.js';
import { createStorerNode } from '../../../services/storer/node.js';
import { startInProcess } from '../../helpers/service.js';
import { checkpointOf, committeeOf, finalize } from './block-storage-fixture.js';
import { makeNet, newUser, setBucket, setName } from './ledger-fixture.js';
import { logSeedOnFailure } from '../../helpers/seed.js';
import { unsignedWrite } from '../../../lib/chain/write-request.js';

// Its fixtures draw keys and data from the seeded test PRNG: a failure prints the seed that replays it.
logSeedOnFailure(test);

const hashFn = { hash: (...p: Uint8Array[]) => sha256(...p) };
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('state from storers: a fresh node with only a certified checkpoint proves old keys; a corrupting storer is passed over', async (t) => {
  const storers = await Promise.all([
    startInProcess('storer', createStorerNode, { WOLK_FAULTS: 'corrupt-reads' }),
    startInProcess('storer', createStorerNode),
    startInProcess('storer', createStorerNode),
  ]);
  t.teardown(async () => {
    for (const s of storers) await s.close();
  });
  const net = makeNet({ storers: 3, replication: 2 });
  const refs = storers.map((s, i) => ({ id: net.storers[i]!.id, endpoint: s.endpoints['grpc']! }));
  const writer = new StorerChunks({ storers: refs, replicas: 2, callTimeoutMs: 20_000, logger: silentLogger });
  t.teardown(() => writer.close());
  const summaries: StoreSummary[] = [];
  const kvA = await openRocksKv(join(mkdtempSync(join(tmpdir(), 'wolk-bs-a-')), 'db'));
  t.teardown(() => kvA.close());
  const a = await Ledger.open({
    kv: kvA,
    genesis: net.genesis,
    crypto: hashFn,
    blockStore: { store: async (_r, cs) => summaries.push(await writer.store(cs, 60_000)) },
  });
  const c = committeeOf(net);
  const users = Array.from({ length: 4 }, newUser);
  await finalize(a, c, [setName(users[0]!, 'alice'), setName(users[1]!, 'bob')]);
  await finalize(a, c, [setBucket(users[0]!, 'alice', 'photos')]);
  await finalize(a, c, [setName(users[2]!, 'carol')]);
  for (let i = 0; i < 3; i++) await finalize(a, c, [setName(users[3]!, `dave${i}`)]);
  t.is(a.tip().round, 6);
  t.true(summaries.length >= 6);
  for (const s of summaries) t.deepEqual(s, { chunks: s.chunks, complete: s.chunks, short: 0, pending: 0 }, 'every chunk on 2 storers before proposing');

  // The fresh node: its own empty RocksDB, the genesis file, and the checkpoint a peer would serve.
  const reader = new StorerChunks({ storers: refs, replicas: 2, callTimeoutMs: 20_000, logger: silentLogger });
  t.teardown(() => reader.close());
  const kv = await openRocksKv(join(mkdtempSync(join(tmpdir(), 'wolk-bs-fresh-')), 'db'));
  t.teardown(() => kv.close());
  const cp = verifyCheckpoint(await checkpointOf(a), { crypto: c.verifier, params: c.params, committee: a.committee() });
  const fresh = await Ledger.open({ kv, genesis: net.genesis, crypto: hashFn, nodeSource: reader.nodeSource(), checkpoint: cp });
  t.is(fresh.tip().round, 6);
  const root = (await fresh.tree.rootAt(6))!;
  t.is(hex(root), hex(new Uint8Array(cp.header.stateRoot)));
  // keys written 6, 5 and 4 blocks before the checkpoint, and one never written
  for (const key of [pathKey('alice'), pathKey('bob'), pathKey('alice', 'photos'), pathKey('carol'), accountKey(users[0]!.publicKey), pathKey('dave2'), pathKey('mallory')]) {
    const [value, proof] = await Promise.all([fresh.tree.get(root, key), fresh.tree.prove(root, key)]);
    const expected = await a.tree.get(root, key);
    t.is(value === null ? null : hex(value), expected === null ? null : hex(expected));
    t.true(verifySmtProof(root, key, value, proof), 'the proof verifies against the certified header');
  }
  t.true(reader.counters.fetched > 10, `objects fetched from storers: ${reader.counters.fetched}`);
  t.true(reader.counters.corruptAnswers > 0, 'the corrupting storer answered first for some chunks and was detected');
  t.is(reader.counters.missing, 0);

  // What was fetched is kept: a second node object on the same store needs no storer.
  const before = reader.counters.fetched;
  t.truthy(await fresh.tree.get(root, pathKey('alice')));
  t.is(reader.counters.fetched, before);

  // Catch-up past the checkpoint (catchup.ts applyCertified, as StreamBlocks delivers blocks): each
  // certificate checked, each block executed on state fetched from storers.
  await finalize(a, c, [setName(users[0]!, 'alice2'), setName(newUser(), 'frank')]);
  await finalize(a, c, [setBucket(users[1]!, 'bob', 'docs')]);
  const parts = { ledger: fresh, peers: undefined as never, crypto: c.verifier, params: c.params, logger: silentLogger };
  for (const r of [7, 8]) {
    const cb = (await a.certifiedBlock(r))!;
    await applyCertified(parts, { block: { block: cb.block, certificate: cb.certificate, blockHash: Buffer.alloc(0) } });
  }
  t.is(fresh.tip().round, 8);
  t.deepEqual(fresh.tip().hash, a.tip().hash);
  const root8 = (await fresh.tree.rootAt(8))!;
  t.is(hex((await fresh.tree.get(root8, pathKey('bob', 'docs')))!), hex((await a.tree.get(root8, pathKey('bob', 'docs')))!));
});

test('with every storer down, a block is still assembled within the budget (liveness) and names the same chunks', async (t) => {
  const net = makeNet({ storers: 2, replication: 2 });
  // endpoints nobody listens on
  const refs = net.storers.map((k, i) => ({ id: k.id, endpoint: `127.0.0.1:${1 + i}` }));
  const writer = new StorerChunks({ storers: refs, replicas: 2, callTimeoutMs: 30_000, logger: silentLogger });
  t.teardown(() => writer.close());
  let summary: StoreSummary | undefined;
  const kv = await openRocksKv(join(mkdtempSync(join(tmpdir(), 'wolk-bs-down-')), 'db'));
  t.teardown(() => kv.close());
  const a = await Ledger.open({ kv, genesis: net.genesis, crypto: hashFn, blockStore: { store: async (_r, cs) => (summary = await writer.store(cs, 300)) } });
  const t0 = Date.now();
  const { payload } = await a.assemble(1, [setName(newUser(), 'erin')]);
  t.true(Date.now() - t0 < 20_000, 'assembly did not wait for the storers beyond the budget');
  t.truthy(summary);
  t.is(summary!.complete, 0);
  t.is(summary!.chunks, payload.newChunks!.chunkIds.length, 'the block still lists all its chunks');
});

test('SetShares: a batch of chunks stored in one call, ids in order; one oversized chunk stores nothing', async (t) => {
  const s = await startInProcess('storer', createStorerNode);
  t.teardown(() => s.close());
  const client = new StorerServiceClient(s.endpoints['grpc']!, credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
  t.teardown(() => client.close());
  const unary = <R>(f: (md: Metadata, o: { deadline: number }, cb: (e: ServiceError | null, r: R) => void) => unknown) =>
    new Promise<R>((resolve, reject) => f(new Metadata(), { deadline: Date.now() + 20_000 }, (e, r) => (e ? reject(e) : resolve(r))));
  const datas = Array.from({ length: 300 }, (_, i) => Buffer.from(`chunk ${i} `.repeat(1 + (i % 7))));
  datas.push(datas[5]!); // a duplicate in the same call
  const res = await unary<SetSharesResponse>((md, o, cb) => client.setShares({ data: datas, ...unsignedWrite() }, md, o, cb));
  t.deepEqual(res.chunkIds.map(hex), datas.map((d) => hex(sha256(d))));
  for (const i of [0, 5, 299]) {
    const got = await unary<GetShareResponse>((md, o, cb) => client.getShare({ chunkId: Buffer.from(sha256(datas[i]!)) }, md, o, cb));
    t.deepEqual(new Uint8Array(got.data), new Uint8Array(datas[i]!));
  }
  const fresh = Buffer.from('never stored');
  const err = await unary<SetSharesResponse>((md, o, cb) => client.setShares({ data: [fresh, Buffer.alloc(32769)], ...unsignedWrite() }, md, o, cb)).catch((e: ServiceError) => e);
  t.is((err as ServiceError).code, status.INVALID_ARGUMENT);
  const missing = await unary<GetShareResponse>((md, o, cb) => client.getShare({ chunkId: Buffer.from(sha256(fresh)) }, md, o, cb)).catch((e: ServiceError) => e);
  t.is((missing as ServiceError).code, status.NOT_FOUND, 'all or nothing');
});

test('a storer that is down is skipped: its chunks go to the next storers in their order, all reach R', async (t) => {
  const live = await Promise.all([startInProcess('storer', createStorerNode), startInProcess('storer', createStorerNode)]);
  const net = makeNet({ storers: 3, replication: 2 });
  const refs = [
    { id: net.storers[0]!.id, endpoint: live[0]!.endpoints['grpc']! },
    { id: net.storers[1]!.id, endpoint: '127.0.0.1:1' }, // nobody listens
    { id: net.storers[2]!.id, endpoint: live[1]!.endpoints['grpc']! },
  ];
  const w = new StorerChunks({ storers: refs, replicas: 2, callTimeoutMs: 20_000, logger: silentLogger });
  t.teardown(() => w.close());
  const chunks = Array.from({ length: 200 }, (_, i) => {
    const data = Buffer.from(`state object ${i}`);
    return { id: sha256(data), data };
  });
  const s = await w.store(chunks, 60_000);
  t.deepEqual(s, { chunks: 200, complete: 200, short: 0, pending: 0 });
  for (const c of chunks.slice(0, 20)) t.deepEqual(await w.get(c.id), new Uint8Array(c.data));
  t.is(w.counters.missing, 0);
  // The same chunks again (a block re-proposed in a later period): known to be on R storers, not resent.
  for (const s of live) await s.close();
  t.deepEqual(await w.store(chunks, 60_000), { chunks: 200, complete: 200, short: 0, pending: 0 });
});
