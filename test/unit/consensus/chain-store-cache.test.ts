// Recent headers and certificates in memory (services/consensus/chain-store.ts) and version roots
// (lib/smt/tree.ts rootAt): what was stored or read once is answered without RocksDB, the same
// values as on disk, and a store opened afresh reads them once.
import test from 'ava';
import { BlockHeader, type Block, type Certificate } from '../../../gen/wolk/common/v1/chain.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import type { KvStore } from '../../../lib/storage/kv.js';
import { SparseMerkleTree } from '../../../lib/smt/index.js';
import { ChainStore } from '../../../services/consensus/chain-store.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

const seeded = testRandom('unit/consensus/chain-store-cache.test.ts');
logSeedOnFailure(test);

function countingKv(): KvStore & { gets: number } {
  const inner = createMemoryKv();
  const kv = { ...inner, gets: 0, get: async (key: Uint8Array) => (kv.gets++, inner.get(key)) };
  return kv;
}

function blockOf(round: number): Block {
  const header = BlockHeader.fromPartial({ round: BigInt(round), seed: Buffer.from(seeded.bytes(32)), stateRoot: Buffer.from(seeded.bytes(32)), previousHash: Buffer.from(seeded.bytes(32)) });
  return { header, txs: [], newChunks: undefined };
}

test('headers and certificates of stored rounds are answered from memory, equal to what is on disk', async (t) => {
  const kv = countingKv();
  const chain = new ChainStore(kv);
  const certificate: Certificate = { round: 2n, period: 0n, blockHash: Buffer.from(seeded.bytes(32)), votes: [], equivocations: [] };
  await chain.put(1, seeded.bytes(32), blockOf(1), undefined);
  await chain.put(2, seeded.bytes(32), blockOf(2), certificate);
  const gets = kv.gets;
  const h2 = await chain.header(2);
  const c2 = await chain.certifiedHeader(2);
  const c1 = await chain.certifiedHeader(1);
  t.is(kv.gets, gets, 'no read for rounds this store just wrote');
  t.deepEqual(c2?.certificate, certificate);
  t.is(c1?.certificate, undefined, 'a round without a certificate (genesis-like) stays without');

  const fresh = new ChainStore(kv);
  const before = kv.gets;
  t.deepEqual(await fresh.header(2), h2, 'a store opened afresh reads the same header');
  const read = kv.gets - before;
  t.true(read > 0);
  t.deepEqual(await fresh.certifiedHeader(2), c2);
  t.deepEqual(await fresh.header(2), h2);
  t.is(kv.gets - before, read, 'and then answers from memory');
  t.is(await fresh.header(3), null, 'a round not stored is null');
});

test('version roots: committed or read once, answered from memory; a caller\'s change to the answer does not reach the cache', async (t) => {
  const kv = countingKv();
  const tree = new SparseMerkleTree({ kv });
  const root = await tree.update(SparseMerkleTree.emptyRoot, [{ key: seeded.bytes(32), value: seeded.bytes(10) }]);
  await tree.commitVersion(7, root);
  const gets = kv.gets;
  const got = await tree.rootAt(7);
  t.deepEqual(got, root);
  t.is(kv.gets, gets, 'no read for a version this tree committed');
  got![0] ^= 1;
  t.deepEqual(await tree.rootAt(7), root, 'the answer is a copy');
  const other = new SparseMerkleTree({ kv });
  t.deepEqual(await other.rootAt(7), root);
  const after = kv.gets;
  t.deepEqual(await other.rootAt(7), root);
  t.is(kv.gets, after, 'read once, then from memory');
  t.is(await other.rootAt(8), null);
});
