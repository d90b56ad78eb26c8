// The native batch hasher (native/merkle, lib/merkle/native.ts) against the RFC 6962 reference and against
// the Node-crypto path: same leaves, same roots, for every way a stream can be cut into pieces.
import test from 'ava';
import { FileHasher, MerkleTree, ReplicaHasher, createParallelHasher, hashFile, rootFromMultiproof } from '../../../lib/merkle/index.js';
import { nativeMerkleAvailable, setNativeMerkle } from '../../../lib/merkle/native.js';
import { chunksOf, prng, referenceLeaf, referenceRoot, sha, u64 } from './helpers.js';

test.serial('the native addon is built (npm test builds it first: scripts/build-native.mjs)', (t) => {
  t.true(nativeMerkleAvailable, 'native/merkle/build/Release/wolk_merkle.node is missing or does not load');
});

/** Feeds `data` in pieces whose sizes come from the PRNG (from 1 byte to several chunks). */
function feed(h: { update(b: Uint8Array): unknown }, data: Uint8Array, r: ReturnType<typeof prng>, c: number): void {
  let o = 0;
  while (o < data.length) {
    const kind = r.int(4);
    const n = kind === 0 ? 1 + r.int(17) : kind === 1 ? c : kind === 2 ? c * (1 + r.int(9)) + r.int(3) : 1 + r.int(5 * c);
    h.update(data.subarray(o, Math.min(o + n, data.length)));
    o += n;
  }
}

test.serial('file hashing: native and Node-crypto paths agree with the RFC 6962 reference, leaves and roots', (t) => {
  const r = prng(7);
  for (const c of [4096, 8192, 32768]) {
    for (const size of [0, 1, c - 1, c, c + 1, 2 * c, 5 * c + 7, 64 * c, 65 * c + 1]) {
      const data = r.bytes(size);
      const ref = referenceRoot(chunksOf(data, c).map(referenceLeaf));
      const results: Uint8Array[] = [];
      for (const native of [true, false]) {
        setNativeMerkle(native);
        const seen: Uint8Array[] = [];
        const h = new FileHasher({ chunkSize: c, onChunk: (i, chunk, leaf) => {
          t.is(i, seen.length);
          t.deepEqual(leaf, referenceLeaf(chunk));
          seen.push(leaf);
        } });
        feed(h, data, r, c);
        const d = h.digest();
        t.deepEqual(d.root, ref, `C=${c} size=${size} native=${native}`);
        t.is(d.chunkCount, seen.length);
        results.push(d.filehash);
        t.deepEqual(hashFile(data, c).filehash, d.filehash, 'one piece');
      }
      t.deepEqual(results[0], results[1]);
    }
  }
  setNativeMerkle(true);
});

test.serial('replica hashing: the chunk index lands in every leaf on both paths', (t) => {
  const r = prng(11);
  const id = r.bytes(32);
  const c = 4096;
  for (const size of [1, c, 3 * c + 5, 40 * c]) {
    const data = r.bytes(size);
    const filehash = hashFile(data, c).filehash;
    const leaves = chunksOf(data, c).map((chunk, i) => sha(Uint8Array.of(3), id, filehash, u64(i), chunk));
    const roots = [true, false].map((native) => {
      setNativeMerkle(native);
      const h = new ReplicaHasher(id, filehash, { chunkSize: c });
      feed(h, data, r, c);
      return h.digest();
    });
    t.deepEqual(roots[0]!.root, referenceRoot(leaves), `size=${size}`);
    t.deepEqual(roots[0]!.replicaRoot, roots[1]!.replicaRoot);
  }
  setNativeMerkle(true);
});

test.serial('parallel workers use the addon and agree with the single-threaded result', async (t) => {
  const hasher = createParallelHasher({ workers: 2, taskBytes: 16384 });
  t.teardown(() => hasher.close());
  const r = prng(13);
  for (const size of [0, 4095, 4096, 16385, 100_000, 300_001]) {
    const data = r.bytes(size);
    t.deepEqual((await hasher.hashFile(data)).filehash, hashFile(data).filehash, `size=${size}`);
    const id = r.bytes(32);
    const fh = hashFile(data).filehash;
    const one = new ReplicaHasher(id, fh).update(data).digest();
    t.deepEqual((await hasher.hashReplica(id, fh, data)).replicaRoot, one.replicaRoot);
  }
});

test.serial('tree levels and multiproofs: native node batches and Node-crypto agree with the RFC 6962 reference, and a changed hash fails on both', (t) => {
  const r = prng(17);
  for (const n of [1, 2, 3, 7, 8, 9, 31, 64, 100, 1000, 1025]) {
    const leaves = Array.from({ length: n }, () => r.bytes(32));
    const ref = referenceRoot(leaves);
    // Index sets: one leaf, a contiguous run (a read segment), and a random scatter (audit challenges).
    const start = r.int(n);
    const runLength = 1 + r.int(n - start);
    const sets = [[r.int(n)], Array.from({ length: runLength }, (_, i) => start + i), [...new Set(Array.from({ length: 1 + r.int(40) }, () => r.int(n)))].sort((a, b) => a - b)];
    for (const native of [true, false]) {
      setNativeMerkle(native);
      const tree = MerkleTree.fromLeaves(leaves);
      t.deepEqual(tree.root(), ref, `n=${n} native=${native}: fromLeaves`);
      for (const indices of sets) {
        const proof = tree.multiproof(indices);
        const chosen = indices.map((i) => leaves[i]!);
        t.deepEqual(rootFromMultiproof(n, indices, chosen, proof.hashes), ref, `n=${n} native=${native} indices=${indices.length}`);
        const bad = chosen.map((h) => h.slice());
        bad[r.int(bad.length)]![r.int(32)]! ^= 1;
        t.notDeepEqual(rootFromMultiproof(n, indices, bad, proof.hashes), ref, `n=${n} native=${native}: a flipped bit changes the root`);
      }
    }
  }
  setNativeMerkle(true);
});
