// The chunk store's record of held chunks (services/storer/shares.ts `held`): a chunk already here is not
// read again to be found present (SetShares of a chunk every proposer sends, CommitChunks' lengths), a
// deletion drops it so the chunk is written again when it comes back, and a read that a deletion may
// have overtaken does not mark a chunk held.
import test from 'ava';
import { sha256 } from '../../../lib/crypto/hash.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import type { KvStore } from '../../../lib/storage/kv.js';
import { chunkKey } from '../../../services/storer/layout.js';
import { ShareStore } from '../../../services/storer/shares.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';

const seeded = testRandom('unit/storer/shares-held.test.ts');
logSeedOnFailure(test);

/** A memory store that counts gets and can hold the next get until released. */
function countingKv() {
  const inner = createMemoryKv();
  let hold: { until: Promise<void>; reached: () => void } | null = null;
  const kv = {
    gets: 0,
    ...inner,
    async get(key: Uint8Array) {
      kv.gets++;
      const v = await inner.get(key);
      if (hold) {
        const h = hold;
        hold = null;
        h.reached();
        await h.until;
      }
      return v;
    },
    /** The next get reads, then waits for `release` before it answers; `reached` resolves once it has read. */
    holdNextGet() {
      let release!: () => void;
      let reached!: () => void;
      const until = new Promise<void>((r) => (release = r));
      const read = new Promise<void>((r) => (reached = r));
      hold = { until, reached };
      return { release, read };
    },
  };
  return kv as KvStore & typeof kv;
}

test('a chunk written or found here is not read again to be found present; lengths answer from the record', async (t) => {
  const kv = countingKv();
  const store = new ShareStore(kv);
  const chunks = Array.from({ length: 5 }, (_, i) => seeded.bytes(100 + i));
  await store.putMany(chunks);
  const afterFirst = kv.gets;
  await store.putMany(chunks);
  t.is(kv.gets, afterFirst, 'the second SetShares of the same chunks reads nothing');
  t.deepEqual(await store.lengths(chunks.map((c) => sha256(c))), chunks.map((c) => c.length));
  t.is(kv.gets, afterFirst, 'nor do their lengths');
  t.deepEqual(await store.lengths([sha256(seeded.bytes(10))]), [null], 'a chunk not here is read and not found');
  t.is(store.count, 5);

  // A fresh store over the same data: the first look reads, the next does not.
  const again = new ShareStore(kv);
  const before = kv.gets;
  t.deepEqual(await again.lengths(chunks.map((c) => sha256(c))), chunks.map((c) => c.length));
  const read = kv.gets - before;
  t.is(read, 5);
  await again.putMany(chunks);
  t.is(kv.gets - before, read, 'found by lengths: SetShares reads nothing more');
});

test('a deleted chunk is written again when it comes back; a read overtaken by a deletion does not mark it held', async (t) => {
  const kv = countingKv();
  const store = new ShareStore(kv);
  const chunk = seeded.bytes(300);
  const id = sha256(chunk);
  await store.putMany([chunk]);
  t.deepEqual(await store.reclaim([id], () => true), { chunks: 1, bytes: 300 });
  t.deepEqual(await store.lengths([id]), [null], 'gone after the deletion');
  await store.putMany([chunk]);
  t.deepEqual(await store.lengths([id]), [300], 'written again');
  t.not(await kv.get(chunkKey(id)), null, 'on disk again');

  // A fresh store (nothing recorded) reads the chunk; before its read answers, a deletion takes it.
  const other = new ShareStore(kv);
  const held = kv.holdNextGet();
  const looking = other.getMany([id]);
  await held.read;
  t.deepEqual(await other.reclaim([id], () => true), { chunks: 1, bytes: 300 }, 'the deletion runs while the read waits');
  held.release();
  t.is((await looking)[0]?.length, 300, 'the overtaken read saw the chunk');
  t.deepEqual(await other.lengths([id]), [null], 'but did not mark it held: the store reads again and finds it gone');
  await other.putMany([chunk]);
  t.deepEqual(await other.lengths([id]), [300], 'and a SetShares of it writes it again');
});
