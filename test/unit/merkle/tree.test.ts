import test from 'ava';
import {
  EMPTY_TREE_ROOT,
  MerkleTree,
  TreeAccumulator,
  decodeHashes,
  encodeHashes,
  leafHash,
  nodeHash,
  rootOfLeaves,
  verifyBranch,
  verifyMultiproof,
} from '../../../lib/merkle/index.js';
import { hex, prng, referenceLeaf, referenceRoot, unhex } from './helpers.js';

// RFC 6962 reference vectors, as published with Certificate Transparency's reference implementation
// (google/certificate-transparency cpp/merkletree/merkle_tree_test.cc; also transparency-dev/merkle):
// eight leaf inputs, the tree head for each size 1..8, and audit paths.
const CT_INPUTS = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(unhex);
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
// [leaf index (0-based), tree size, audit path]
const CT_PATHS: Array<[number, number, string[]]> = [
  [0, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [5, 8, ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [1, 5, ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
];
const CT_LEAVES = CT_INPUTS.map(leafHash);

test('RFC 6962 vectors: the tree head of every size 0..8, three ways', (t) => {
  t.is(hex(EMPTY_TREE_ROOT), CT_ROOTS[0]);
  for (let n = 0; n <= 8; n++) {
    const leaves = CT_LEAVES.slice(0, n);
    t.is(hex(rootOfLeaves(leaves)), CT_ROOTS[n], `rootOfLeaves, size ${n}`);
    t.is(hex(MerkleTree.fromLeaves(leaves).root()), CT_ROOTS[n], `MerkleTree, size ${n}`);
    const acc = new TreeAccumulator();
    leaves.forEach((l) => acc.push(l));
    t.is(hex(acc.root()), CT_ROOTS[n], `TreeAccumulator, size ${n}`);
  }
});

test('RFC 6962 vectors: audit paths are produced and verified', (t) => {
  for (const [index, size, path] of CT_PATHS) {
    const tree = MerkleTree.fromLeaves(CT_LEAVES.slice(0, size));
    t.deepEqual(tree.branch(index).map(hex), path, `leaf ${index} of ${size}`);
    t.true(verifyBranch(unhex(CT_ROOTS[size]!), size, index, CT_LEAVES[index]!, path.map(unhex)));
  }
});

test('the level-by-level tree equals the RFC 6962 recursion for sizes 0..70 and around powers of two', (t) => {
  const r = prng(1);
  const sizes = [...Array.from({ length: 71 }, (_, i) => i), 127, 128, 129, 255, 256, 257, 1000, 1025];
  for (const n of sizes) {
    const leaves = Array.from({ length: n }, () => referenceLeaf(r.bytes(r.int(40))));
    const expected = hex(referenceRoot(leaves));
    t.is(hex(MerkleTree.fromLeaves(leaves).root()), expected, `size ${n}`);
    // the storer's form: leaf hashes concatenated
    const flat = new Uint8Array(n * 32);
    leaves.forEach((l, i) => flat.set(l, i * 32));
    t.is(hex(rootOfLeaves(flat)), expected, `flat, size ${n}`);
  }
});

test('every leaf of every tree up to 40 leaves: its branch verifies, and each tampering fails', (t) => {
  const r = prng(2);
  for (let n = 1; n <= 40; n++) {
    const leaves = Array.from({ length: n }, (_, i) => referenceLeaf(Uint8Array.of(n, i)));
    const tree = MerkleTree.fromLeaves(leaves);
    const root = tree.root();
    for (let i = 0; i < n; i++) {
      const b = tree.branch(i);
      t.true(verifyBranch(root, n, i, leaves[i]!, b), `leaf ${i}/${n}`);
      t.is(b.length, auditPathLength(i, n));
      // the wrong index: every other position
      for (let j = 0; j < n; j++) if (j !== i) t.false(verifyBranch(root, n, j, leaves[i]!, b), `leaf ${i} at ${j} of ${n}`);
      t.false(verifyBranch(root, n, n, leaves[i]!, b));
      t.false(verifyBranch(root, n, -1, leaves[i]!, b));
      // another leaf, a flipped bit
      t.false(verifyBranch(root, n, i, referenceLeaf(Uint8Array.of(200, i)), b));
      const flipped = leaves[i]!.slice();
      flipped[r.int(32)]! ^= 1 << r.int(8);
      t.false(verifyBranch(root, n, i, flipped, b));
      if (b.length > 0) {
        t.false(verifyBranch(root, n, i, leaves[i]!, b.slice(0, -1)), 'truncated');
        const bad = b.map((h) => h.slice());
        bad[r.int(bad.length)]![r.int(32)]! ^= 1;
        t.false(verifyBranch(root, n, i, leaves[i]!, bad), 'a sibling flipped');
      }
      t.false(verifyBranch(root, n, i, leaves[i]!, [...b, leaves[0]!]), 'extended');
      t.false(verifyBranch(root, n, i, leaves[i]!, [leaves[0]!, ...b]), 'extended at the front');
    }
  }
});

test('a wrong leaf count is rejected whenever it changes the proof shape', (t) => {
  // The root alone does not commit to the count (RFC 6962 signs tree_size beside it); the filehash
  // does. Here: every count whose audit path for the leaf differs in shape must fail.
  for (let n = 1; n <= 24; n++) {
    const leaves = Array.from({ length: n }, (_, i) => referenceLeaf(Uint8Array.of(i)));
    const tree = MerkleTree.fromLeaves(leaves);
    for (let i = 0; i < n; i++) {
      const b = tree.branch(i);
      for (let m = 1; m <= 24; m++) {
        if (m === n || !shapeDiffers(i, n, m)) continue;
        t.false(verifyBranch(tree.root(), m, i, leaves[i]!, b), `leaf ${i}: ${n} leaves claimed as ${m}`);
      }
    }
  }
});

test('domain separation: an inner node cannot be passed off as a leaf of its two children', (t) => {
  const leaves = CT_LEAVES.slice(0, 4);
  const tree = MerkleTree.fromLeaves(leaves);
  const n01 = nodeHash(leaves[0]!, leaves[1]!);
  const n23 = nodeHash(leaves[2]!, leaves[3]!);
  const concat = new Uint8Array(64);
  concat.set(leaves[0]!, 0);
  concat.set(leaves[1]!, 32);
  // Without the 0x00/0x01 prefixes, the data l0 ‖ l1 would hash to n01 and prove as a 2-leaf tree.
  t.true(verifyBranch(tree.root(), 2, 0, n01, [n23]), 'the node itself does (as a leaf hash of a 2-leaf tree)');
  t.false(verifyBranch(tree.root(), 2, 0, leafHash(concat), [n23]), 'but no leaf data hashes to it');
  t.notDeepEqual(leafHash(concat), n01);
});

test('multiproofs: random subsets of random trees verify; shared nodes are sent once', (t) => {
  const r = prng(3);
  for (let round = 0; round < 300; round++) {
    const n = 1 + r.int(300);
    const leaves = Array.from({ length: n }, () => referenceLeaf(r.bytes(8)));
    const tree = MerkleTree.fromLeaves(leaves);
    const root = tree.root();
    const want = Array.from({ length: 1 + r.int(Math.min(n, 70)) }, () => r.int(n));
    const proof = tree.multiproof(want);
    const idx = proof.indices;
    t.deepEqual([...idx], [...new Set(want)].sort((a, b) => a - b));
    const lh = idx.map((i) => leaves[i]!);
    t.true(verifyMultiproof(root, n, idx, lh, proof.hashes), `round ${round}`);
    const separate = idx.reduce((s, i) => s + tree.branch(i).length, 0);
    t.true(proof.hashes.length <= separate);
    // no hash twice
    t.is(new Set(proof.hashes.map(hex)).size, proof.hashes.length);
    if (proof.hashes.length > 0) {
      t.false(verifyMultiproof(root, n, idx, lh, proof.hashes.slice(1)), 'truncated');
    }
    t.false(verifyMultiproof(root, n, idx, lh, [...proof.hashes, leaves[0]!]), 'extended');
    const bad = lh.slice();
    bad[r.int(bad.length)] = referenceLeaf(Uint8Array.of(255, 255));
    t.false(verifyMultiproof(root, n, idx, bad, proof.hashes), 'a wrong leaf');
    if (idx.length > 1) t.false(verifyMultiproof(root, n, [...idx].reverse(), [...lh].reverse(), proof.hashes), 'unsorted indices');
    if (idx[idx.length - 1]! + 1 < n) {
      const shifted = idx.map((i, j) => (j === idx.length - 1 ? i + 1 : i));
      t.false(verifyMultiproof(root, n, shifted, lh, proof.hashes), 'a wrong index');
    }
  }
});

test('a multiproof of one leaf is its branch; of all leaves it is empty', (t) => {
  const leaves = Array.from({ length: 13 }, (_, i) => referenceLeaf(Uint8Array.of(i)));
  const tree = MerkleTree.fromLeaves(leaves);
  for (let i = 0; i < 13; i++) t.deepEqual(tree.multiproof([i]).hashes, tree.branch(i));
  const all = tree.multiproof(leaves.map((_, i) => i));
  t.is(all.hashes.length, 0);
  t.true(verifyMultiproof(tree.root(), 13, all.indices, leaves, []));
});

test('hostile inputs make verification answer false, never throw', (t) => {
  const leaves = CT_LEAVES;
  const tree = MerkleTree.fromLeaves(leaves);
  const root = tree.root();
  const b = tree.branch(3);
  const cases: Array<[number, number, Uint8Array, Uint8Array[]]> = [
    [0, 3, leaves[3]!, b],
    [-8, 3, leaves[3]!, b],
    [Number.NaN, 3, leaves[3]!, b],
    [8, 3.5, leaves[3]!, b],
    [8, 3, leaves[3]!.subarray(1), b],
    [8, 3, leaves[3]!, [b[0]!, b[1]!.subarray(0, 31), b[2]!]],
    [2 ** 60, 3, leaves[3]!, b],
  ];
  for (const [n, i, l, br] of cases) t.false(verifyBranch(root, n, i, l, br));
  t.false(verifyBranch(root.subarray(0, 31), 8, 3, leaves[3]!, b));
  t.false(verifyMultiproof(root, 8, [], [], []));
  t.false(verifyMultiproof(root, 8, [1, 1], [leaves[1]!, leaves[1]!], tree.multiproof([1]).hashes));
  t.throws(() => tree.branch(8), { message: /leaf index 8 outside \[0, 8\)/ });
  t.throws(() => MerkleTree.fromLeaves(new Uint8Array(33)), { message: /multiple of 32/ });
});

test('proofs round-trip through their wire form', (t) => {
  const tree = MerkleTree.fromLeaves(CT_LEAVES);
  const b = tree.branch(6);
  t.deepEqual(decodeHashes(encodeHashes(b)), b);
  t.is(encodeHashes(b).length, 32 * b.length);
  t.is(decodeHashes(new Uint8Array(33)), null);
});

/** RFC 6962 §2.1.1 PATH length, from the recursion. */
function auditPathLength(i: number, n: number): number {
  if (n <= 1) return 0;
  let k = 1;
  while (k * 2 < n) k *= 2;
  return 1 + (i < k ? auditPathLength(i, k) : auditPathLength(i - k, n - k));
}

/** Whether leaf i's path in an n-leaf tree differs in left/right pattern or length from an m-leaf tree's. */
function shapeDiffers(i: number, n: number, m: number): boolean {
  if (i >= m) return true;
  return pattern(i, n) !== pattern(i, m);
}

function pattern(i: number, n: number): string {
  if (n <= 1) return '';
  let k = 1;
  while (k * 2 < n) k *= 2;
  return i < k ? pattern(i, k) + 'L' : pattern(i - k, n - k) + 'R';
}

test('MerkleTree.bytesFor is the bytes of every level a tree of that many leaves holds', (t) => {
  for (const n of [1, 2, 3, 7, 64, 1000, 2048, 3125]) {
    const tree = MerkleTree.fromLeaves(Array.from({ length: n }, (_, i) => leafHash(new Uint8Array([i & 0xff, i >> 8]))));
    t.is(MerkleTree.bytesFor(n), tree.toLevels().reduce((sum, l) => sum + l.length, 0), `${n} leaves`);
  }
});

test('a tree moved as its levels (toLevels, fromLevels) is the same tree; a level of the wrong shape is refused', (t) => {
  for (const n of [1, 2, 3, 7, 64, 1000]) {
    const leaves = Array.from({ length: n }, (_, i) => leafHash(new Uint8Array([i & 0xff, i >> 8])));
    const tree = MerkleTree.fromLeaves(leaves);
    const moved = MerkleTree.fromLevels(tree.toLevels().map((l) => l.slice()));
    t.deepEqual(moved.root(), tree.root(), `${n} leaves: root`);
    for (const i of [0, n - 1, n >> 1]) t.deepEqual(moved.branch(i), tree.branch(i), `${n} leaves: branch ${i}`);
  }
  const levels = MerkleTree.fromLeaves(Array.from({ length: 5 }, (_, i) => leafHash(new Uint8Array([i])))).toLevels();
  t.throws(() => MerkleTree.fromLevels([]), { instanceOf: RangeError });
  t.throws(() => MerkleTree.fromLevels([levels[0]!, levels[2]!]), { instanceOf: RangeError, message: /level 1/ });
  t.throws(() => MerkleTree.fromLevels([levels[0]!.subarray(0, 31)]), { instanceOf: RangeError, message: /multiple of 32/ });
  t.throws(() => MerkleTree.fromLevels(levels.slice(0, 2)), { instanceOf: RangeError, message: /at most one/ });
});
