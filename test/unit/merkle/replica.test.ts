import test from 'ava';
import {
  MerkleTree,
  ReplicaHasher,
  hashFile,
  hashReplica,
  replicaLeafHash,
  replicaRootOf,
  verifyReplicaBranch,
  verifyReplicaMultiproof,
  verifyFileMultiproof,
  challengeIndices,
} from '../../../lib/merkle/index.js';
import { chunksOf, prng, referenceRoot, sha, u32, u64 } from './helpers.js';

const C = 4096;

/** Replica root straight from docs/merkle.md. */
function referenceReplicaRoot(storerId: Uint8Array, filehash: Uint8Array, data: Uint8Array, c: number): Uint8Array {
  const leaves = chunksOf(data, c).map((chunk, i) => sha(Uint8Array.of(3), storerId, filehash, u64(i), chunk));
  return sha(Uint8Array.of(4), storerId, filehash, u64(data.length), u32(c), referenceRoot(leaves));
}

function replicaTree(storerId: Uint8Array, filehash: Uint8Array, data: Uint8Array): MerkleTree {
  return MerkleTree.fromLeaves(chunksOf(data, C).map((chunk, i) => replicaLeafHash(storerId, filehash, i, chunk)));
}

test('streaming replica root equals the reference, for edge sizes and random pieces', (t) => {
  const r = prng(21);
  const id = r.bytes(32);
  for (const size of [0, 1, C - 1, C, C + 1, 7 * C + 5]) {
    const data = r.bytes(size);
    const fh = hashFile(data, C).filehash;
    const expected = referenceReplicaRoot(id, fh, data, C);
    t.deepEqual(hashReplica(id, fh, data, C).replicaRoot, expected, `size ${size}`);
    const h = new ReplicaHasher(id, fh, { chunkSize: C });
    for (let o = 0; o < size; ) {
      const len = Math.min(size - o, 1 + r.int(2 * C));
      h.update(data.subarray(o, o + len));
      o += len;
    }
    const d = h.digest();
    t.deepEqual(d.replicaRoot, expected);
    t.deepEqual(replicaRootOf(id, fh, size, C, replicaTree(id, fh, data).root()), expected);
  }
});

test('the same file under two storer ids: two roots, and one storer\'s branches fail for the other', (t) => {
  const r = prng(22);
  const alice = r.bytes(32);
  const bob = r.bytes(32);
  const data = r.bytes(6 * C + 99);
  const { filehash, size } = hashFile(data, C);
  const ra = hashReplica(alice, filehash, data, C).replicaRoot;
  const rb = hashReplica(bob, filehash, data, C).replicaRoot;
  t.notDeepEqual(ra, rb);
  const ta = replicaTree(alice, filehash, data);
  const tb = replicaTree(bob, filehash, data);
  const chunks = chunksOf(data, C);
  for (let i = 0; i < chunks.length; i++) {
    const ba = ta.branch(i);
    t.true(verifyReplicaBranch(ra, alice, filehash, size, C, i, chunks[i]!, ba), `alice chunk ${i}`);
    t.true(verifyReplicaBranch(rb, bob, filehash, size, C, i, chunks[i]!, tb.branch(i)), `bob chunk ${i}`);
    t.false(verifyReplicaBranch(rb, bob, filehash, size, C, i, chunks[i]!, ba), 'alice\'s branch under bob\'s root');
    t.false(verifyReplicaBranch(ra, bob, filehash, size, C, i, chunks[i]!, ba), 'alice\'s root claimed by bob');
  }
  // the empty file's replica roots differ per storer too
  const empty = hashFile(new Uint8Array(0), C).filehash;
  t.notDeepEqual(hashReplica(alice, empty, new Uint8Array(0)).replicaRoot, hashReplica(bob, empty, new Uint8Array(0)).replicaRoot);
});

test('replica branches are bound to index, file, size and chunk bytes', (t) => {
  const r = prng(23);
  const id = r.bytes(32);
  // repeated chunks: equal bytes at indices 0 and 2 still make different leaves
  const a = r.bytes(C);
  const data = new Uint8Array(4 * C);
  data.set(a, 0);
  data.set(r.bytes(C), C);
  data.set(a, 2 * C);
  data.set(r.bytes(C), 3 * C);
  const { filehash, size } = hashFile(data, C);
  const root = hashReplica(id, filehash, data, C).replicaRoot;
  const tree = replicaTree(id, filehash, data);
  const b0 = tree.branch(0);
  t.true(verifyReplicaBranch(root, id, filehash, size, C, 0, a, b0));
  t.false(verifyReplicaBranch(root, id, filehash, size, C, 2, a, b0), 'same bytes, other index');
  t.false(verifyReplicaBranch(root, id, filehash, size, C, 0, a, tree.branch(2)));
  t.false(verifyReplicaBranch(root, id, r.bytes(32), size, C, 0, a, b0), 'other filehash');
  t.false(verifyReplicaBranch(root, id, filehash, size + C, C, 0, a, b0), 'other size');
  t.false(verifyReplicaBranch(root, id, filehash, size, C, 0, r.bytes(C), b0), 'other bytes');
  t.false(verifyReplicaBranch(root, id.subarray(1), filehash, size, C, 0, a, b0), 'malformed id: false, not a throw');
  t.throws(() => new ReplicaHasher(new Uint8Array(31), filehash), { message: /storerId: expected 32 bytes, got 31/ });
});

test('challenged chunks by one multiproof: file and replica', (t) => {
  const r = prng(24);
  const id = r.bytes(32);
  const data = r.bytes(40 * C + 7);
  const { filehash, size } = hashFile(data, C);
  const chunks = chunksOf(data, C);
  const fileTree = MerkleTree.fromLeaves(chunks.map((c) => sha(Uint8Array.of(0), c)));
  const repTree = replicaTree(id, filehash, data);
  const root = hashReplica(id, filehash, data, C).replicaRoot;
  const idx = challengeIndices(r.bytes(32), chunks.length, 6);
  const picked = idx.map((i) => chunks[i]!);
  const fp = fileTree.multiproof(idx).hashes;
  const rp = repTree.multiproof(idx).hashes;
  t.true(verifyFileMultiproof(filehash, size, C, idx, picked, fp));
  t.true(verifyReplicaMultiproof(root, id, filehash, size, C, idx, picked, rp));
  t.false(verifyReplicaMultiproof(root, r.bytes(32), filehash, size, C, idx, picked, rp), 'another storer');
  t.false(verifyFileMultiproof(filehash, size + 1, C, idx, picked, fp), 'another size');
  t.false(verifyFileMultiproof(filehash, size, C, idx, [...picked.slice(1), picked[0]!], fp), 'chunks swapped');
  t.false(verifyFileMultiproof(filehash, size, C, idx, picked, fp.slice(1)), 'truncated');
});
