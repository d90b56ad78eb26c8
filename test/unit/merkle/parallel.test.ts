import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createParallelHasher, hashFile, hashReplica } from '../../../lib/merkle/index.js';
import { chunksOf, prng, referenceLeaf } from './helpers.js';

test('parallel filehash and replica root equal the single-threaded ones, from memory and from disk', async (t) => {
  // small tasks (8 KiB) so that even small files span several aligned blocks and a partial last one
  const hasher = createParallelHasher({ workers: 2, taskBytes: 8192 });
  t.teardown(() => hasher.close());
  const r = prng(41);
  const dir = mkdtempSync(join(tmpdir(), 'wolk-parallel-'));
  const id = r.bytes(32);
  for (const c of [4096, 32768]) {
    for (const size of [0, 1, c - 1, c, c + 1, 3 * c, 7 * c + 3, 33 * c + 1]) {
      const data = r.bytes(size);
      const single = hashFile(data, c);
      const fromMemory = await hasher.hashFile(data, { chunkSize: c });
      t.deepEqual(fromMemory.filehash, single.filehash, `C=${c} size=${size}`);
      t.is(fromMemory.chunkCount, single.chunkCount);
      const leaves = chunksOf(data, c).map(referenceLeaf);
      t.deepEqual(fromMemory.leaves, Uint8Array.from(leaves.flatMap((l) => [...l])));
      const path = join(dir, `f-${c}-${size}`);
      writeFileSync(path, data);
      t.deepEqual((await hasher.hashFile({ path }, { chunkSize: c })).filehash, single.filehash, 'from disk');
      const rep = await hasher.hashReplica(id, single.filehash, { path }, { chunkSize: c });
      t.deepEqual(rep.replicaRoot, hashReplica(id, single.filehash, data, c).replicaRoot, 'replica from disk');
    }
  }
  // a view into a larger shared buffer
  const shared = new Uint8Array(new SharedArrayBuffer(50_000));
  shared.set(r.bytes(50_000));
  const view = shared.subarray(1000, 41_000);
  t.deepEqual((await hasher.hashFile(view)).filehash, hashFile(view).filehash);
  await t.throwsAsync(hasher.hashFile({ path: join(dir, 'missing') }));
});
