// Binary Merkle trees of RFC 6962 §2.1 shape (Certificate Transparency), the trees under every file
// hash and replica root (DESIGN §3). The exact definitions, so another language can reimplement them
// (also in docs/merkle.md):
//
//   leaf hash   LH(d)      = SHA-256(0x00 ‖ d)
//   node hash   NH(l, r)   = SHA-256(0x01 ‖ l ‖ r)
//   tree root   MTH([])    = SHA-256("")                         (RFC 6962: the empty tree)
//               MTH([h])   = h                                   (h already a leaf hash)
//               MTH(h[n])  = NH(MTH(h[0:k]), MTH(h[k:n]))        k = largest power of two < n
//
// The 0x00/0x01 prefixes separate leaves from nodes, so a 64-byte leaf can never pass as a node whose
// children are its halves (the second-preimage attack RFC 6962 §2.1 names). The same tree is built
// level by level: pair neighbours left to right and carry a last, unpaired node up unchanged; that is
// the form used here (levels, branches, multiproofs), and the tests check it against the recursion.
//
// Proofs (branches and multiproofs) list sibling hashes bottom-up, level by level, and within a level
// by increasing position; a level where the path node is the carried-up last node contributes nothing.
// For one leaf this is exactly RFC 6962's audit path. A root does not commit to the leaf count by
// itself (RFC 6962 signs tree_size beside it): callers bind the count, as the file hash does.
import { CryptoError, CryptoErrorCode } from '../crypto/errors.js';
import { sha256One } from './sha256.js';
import { nativeMerkle } from './native.js';

export const HASH_LENGTH = 32;

/** Domain bytes prefixed to every hashed preimage of lib/merkle (0x00/0x01 from RFC 6962 §2.1). */
export enum MerkleDomain {
  leaf = 0x00,
  node = 0x01,
  /** filehash, file.ts */
  file = 0x02,
  /** replica leaf, replica.ts */
  replicaLeaf = 0x03,
  /** replica root, replica.ts */
  replicaRoot = 0x04,
}

/** MTH of zero leaves: SHA-256 of the empty string (RFC 6962 §2.1). */
export const EMPTY_TREE_ROOT: Uint8Array = sha256One(new Uint8Array(0));

/** LH(d) = SHA-256(0x00 ‖ d). */
export function leafHash(data: Uint8Array): Uint8Array {
  const buf = new Uint8Array(data.length + 1);
  buf[0] = MerkleDomain.leaf;
  buf.set(data, 1);
  return sha256One(buf);
}

// One scratch buffer for every node hash: JS is single-threaded and sha256One is synchronous.
const nodeScratch = new Uint8Array(1 + 2 * HASH_LENGTH);
nodeScratch[0] = MerkleDomain.node;

/** NH(l, r) = SHA-256(0x01 ‖ l ‖ r). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_LENGTH);
  return sha256One(nodeScratch);
}

const NODE_HEADER = Uint8Array.of(MerkleDomain.node);

/**
 * NH of each pair in `pairs` (a concatenation of left ‖ right hashes, 64 bytes per pair), concatenated:
 * a level of a tree in one native call when the addon is built (hashPieces).
 */
function nodeHashesOfPairs(pairs: Uint8Array): Uint8Array {
  return hashPieces(pairs, 2 * HASH_LENGTH, NODE_HEADER);
}

/**
 * Streaming root: push leaf hashes in order, keep only one perfect subtree per set bit of the count
 * (at most 64 hashes, highest subtree first, in one flat buffer). Pushing a leaf merges it with the
 * top of the stack while the low bits of the count are 1; the root folds the stack right to left, which
 * is MTH's split at the largest power of two. `absorbChunks` does the same for a run of whole chunks in
 * one native call (lib/merkle/native.ts) when the addon is built.
 */
export class TreeAccumulator {
  private readonly stack = new Uint8Array(64 * HASH_LENGTH);
  private depth = 0;
  private n = 0;

  get count(): number {
    return this.n;
  }

  push(leaf: Uint8Array): void {
    let h = leaf;
    for (let m = this.n; m % 2 === 1; m = Math.floor(m / 2)) {
      this.depth--;
      h = nodeHash(this.stack.subarray(this.depth * HASH_LENGTH, (this.depth + 1) * HASH_LENGTH), h);
    }
    this.stack.set(h, this.depth * HASH_LENGTH);
    this.depth++;
    this.n++;
  }

  /**
   * Hashes `data` (whole chunks of `chunkSize`) as leaves `header ‖ chunk` (u64be(leaf index) at
   * `indexOffset` when >= 0) and pushes them, natively. Returns false, doing nothing, when the addon is
   * not available: the caller hashes the leaves itself then.
   */
  absorbChunks(data: Uint8Array, chunkSize: number, header: Uint8Array, indexOffset: number, leavesOut: Uint8Array | null): boolean {
    const native = nativeMerkle();
    if (!native) return false;
    const before = this.n;
    this.n = native.absorb(this.stack, before, data, chunkSize, header, indexOffset, before, leavesOut);
    this.depth = popcount(this.n);
    return true;
  }

  root(): Uint8Array {
    if (this.depth === 0) return EMPTY_TREE_ROOT.slice();
    const at = (i: number) => this.stack.subarray(i * HASH_LENGTH, (i + 1) * HASH_LENGTH);
    let h: Uint8Array = at(this.depth - 1).slice();
    for (let i = this.depth - 2; i >= 0; i--) h = nodeHash(at(i), h);
    return h;
  }
}

/**
 * SHA-256(header ‖ piece) for every `pieceSize`-byte piece of `data`, concatenated: natively in one call
 * when native/merkle is built (its batch leaf hasher), else one Node crypto call per piece.
 */
export function hashPieces(data: Uint8Array, pieceSize: number, header: Uint8Array): Uint8Array {
  const count = data.length / pieceSize;
  const out = new Uint8Array(count * 32);
  const native = count > 0 ? nativeMerkle() : null;
  if (native) {
    native.pieces(data, pieceSize, header, out);
    return out;
  }
  const buf = new Uint8Array(header.length + pieceSize);
  buf.set(header, 0);
  for (let i = 0; i < count; i++) {
    buf.set(data.subarray(i * pieceSize, (i + 1) * pieceSize), header.length);
    out.set(sha256One(buf), i * 32);
  }
  return out;
}

const LEAF_HEADER = Uint8Array.of(MerkleDomain.leaf);

/**
 * LH of every chunk of `data` (chunks of `chunkSize`, the last one may be short), in order: the whole
 * chunks in one native call when the addon is built (hashPieces), so a verifier pays neither Node's
 * per-call overhead nor leafHash's copy of each chunk. The hashes are views of one buffer.
 */
export function leafHashesOf(data: Uint8Array, chunkSize: number): Uint8Array[] {
  const whole = Math.floor(data.length / chunkSize);
  const flat = hashPieces(data.subarray(0, whole * chunkSize), chunkSize, LEAF_HEADER);
  const out: Uint8Array[] = [];
  for (let i = 0; i < whole; i++) out.push(flat.subarray(i * HASH_LENGTH, (i + 1) * HASH_LENGTH));
  if (whole * chunkSize < data.length) out.push(leafHash(data.subarray(whole * chunkSize)));
  return out;
}

function popcount(n: number): number {
  let c = 0;
  for (let m = n; m > 0; m = Math.floor(m / 2)) c += m % 2;
  return c;
}

/** MTH over leaf hashes given as an array or as one concatenation (32 bytes each). */
export function rootOfLeaves(leaves: readonly Uint8Array[] | Uint8Array): Uint8Array {
  const acc = new TreeAccumulator();
  const flat = toFlat(leaves);
  for (let o = 0; o < flat.length; o += HASH_LENGTH) acc.push(flat.subarray(o, o + HASH_LENGTH));
  return acc.root();
}

/** Proof for several leaves: shared nodes are sent once. `indices` are sorted and distinct. */
export interface Multiproof {
  readonly indices: readonly number[];
  readonly hashes: readonly Uint8Array[];
}

/**
 * A whole tree held as levels (each one concatenation of 32-byte hashes): 2 × 32 bytes per leaf.
 * The storer keeps a file's leaf hashes (32 bytes per chunk) and builds this to answer challenges.
 */
export class MerkleTree {
  private constructor(private readonly levels: Uint8Array[]) {}

  static fromLeaves(leaves: readonly Uint8Array[] | Uint8Array): MerkleTree {
    let level = Uint8Array.from(toFlat(leaves));
    const levels = [level];
    while (level.length > HASH_LENGTH) {
      const count = level.length / HASH_LENGTH;
      const nextCount = Math.ceil(count / 2);
      const next = new Uint8Array(nextCount * HASH_LENGTH);
      const pairs = Math.floor(count / 2);
      next.set(nodeHashesOfPairs(level.subarray(0, pairs * 2 * HASH_LENGTH)), 0);
      if (count % 2 === 1) next.set(level.subarray((count - 1) * HASH_LENGTH), (nextCount - 1) * HASH_LENGTH);
      levels.push(next);
      level = next;
    }
    return new MerkleTree(levels);
  }

  /**
   * A tree from the levels another thread built (toLevels there): each level ceil(previous / 2) hashes,
   * down to one. The shape is checked, the hashes are not: the caller checks the root it expects.
   */
  static fromLevels(levels: readonly Uint8Array[]): MerkleTree {
    if (levels.length === 0) throw new RangeError('merkle: a tree needs at least its leaf level');
    for (let i = 0; i < levels.length; i++) {
      const len = levels[i]!.length;
      if (len % HASH_LENGTH !== 0) throw new RangeError(`merkle: level ${i} is ${len} bytes, not a multiple of ${HASH_LENGTH}`);
      if (i > 0) {
        const want = Math.ceil(levels[i - 1]!.length / HASH_LENGTH / 2) * HASH_LENGTH;
        if (len !== want) throw new RangeError(`merkle: level ${i} is ${len} bytes, expected ${want}`);
      }
    }
    const top = levels[levels.length - 1]!.length;
    if (top > HASH_LENGTH) throw new RangeError(`merkle: the last level has ${top / HASH_LENGTH} hashes, expected at most one`);
    return new MerkleTree([...levels]);
  }

  /**
   * The tree's own level buffers, leaves first, for moving the tree to another thread (transfer them
   * and use fromLevels there). Not copies: the tree must not be used after they are transferred.
   */
  toLevels(): readonly Uint8Array[] {
    return this.levels;
  }

  get leafCount(): number {
    return this.levels[0]!.length / HASH_LENGTH;
  }

  /** Bytes a tree of `leafCount` leaves holds (every level, as fromLeaves builds them): for bounding caches. */
  static bytesFor(leafCount: number): number {
    let total = leafCount;
    for (let n = leafCount; n > 1; ) {
      n = Math.ceil(n / 2);
      total += n;
    }
    return total * HASH_LENGTH;
  }

  root(): Uint8Array {
    const top = this.levels[this.levels.length - 1]!;
    return top.length === 0 ? EMPTY_TREE_ROOT.slice() : top.slice(0, HASH_LENGTH);
  }

  leaf(index: number): Uint8Array {
    this.assertIndex(index);
    return this.at(0, index);
  }

  /** RFC 6962 §2.1.1 audit path of leaf `index`, bottom-up. */
  branch(index: number): Uint8Array[] {
    this.assertIndex(index);
    return this.multiproof([index]).hashes.slice();
  }

  /** The siblings needed to recompute the root from the leaves at `indices` (any order, duplicates ok). */
  multiproof(indices: readonly number[]): Multiproof {
    for (const i of indices) this.assertIndex(i);
    let pos = [...new Set(indices)].sort((a, b) => a - b);
    const sorted = pos.slice();
    const hashes: Uint8Array[] = [];
    for (let l = 0; l < this.levels.length - 1; l++) {
      const size = this.levels[l]!.length / HASH_LENGTH;
      const next: number[] = [];
      for (let j = 0; j < pos.length; ) {
        const q = pos[j]!;
        if (q % 2 === 0) {
          if (pos[j + 1] === q + 1) j += 2;
          else {
            if (q + 1 < size) hashes.push(this.at(l, q + 1));
            j++;
          }
        } else {
          hashes.push(this.at(l, q - 1));
          j++;
        }
        next.push(Math.floor(q / 2));
      }
      pos = next;
    }
    return { indices: sorted, hashes };
  }

  private at(level: number, index: number): Uint8Array {
    return this.levels[level]!.slice(index * HASH_LENGTH, (index + 1) * HASH_LENGTH);
  }

  private assertIndex(index: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.leafCount) {
      throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `merkle: leaf index ${index} outside [0, ${this.leafCount})`);
    }
  }
}

/**
 * Recomputes the root from leaves at strictly increasing `indices` and the proof hashes, in the
 * order MerkleTree.multiproof emits them. Null on any malformed input: an index out of range or out
 * of order, a hash that is not 32 bytes, too few proof hashes, or any left over.
 */
export function rootFromMultiproof(
  leafCount: number,
  indices: readonly number[],
  leafHashes: readonly Uint8Array[],
  proof: readonly Uint8Array[],
): Uint8Array | null {
  if (!Number.isSafeInteger(leafCount) || leafCount < 1) return null;
  if (!Array.isArray(indices) || !Array.isArray(leafHashes) || !Array.isArray(proof)) return null;
  if (indices.length === 0 || indices.length !== leafHashes.length) return null;
  for (let j = 0; j < indices.length; j++) {
    const q = indices[j];
    if (!Number.isSafeInteger(q) || q! < 0 || q! >= leafCount) return null;
    if (j > 0 && q! <= indices[j - 1]!) return null;
    if (!isHash(leafHashes[j])) return null;
  }
  for (const h of proof) if (!isHash(h)) return null;

  let pos = indices.slice();
  let hashes = leafHashes.slice();
  let size = leafCount;
  let p = 0;
  // Each level: first the pairs to hash (left ‖ right, in order) and where each parent goes, then every
  // pair's NH in one batch (nodeHashesOfPairs), so a range of many leaves costs one native call per level.
  let pairs = new Uint8Array(0);
  while (size > 1) {
    const nextPos: number[] = [];
    const nextHashes: Uint8Array[] = [];
    /** Per parent: index into the batch of pairs, or -1 for a node carried up unchanged. */
    const slot: number[] = [];
    if (pairs.length < pos.length * 2 * HASH_LENGTH) pairs = new Uint8Array(pos.length * 2 * HASH_LENGTH);
    let n = 0;
    const pair = (left: Uint8Array, right: Uint8Array) => {
      pairs.set(left, n * 2 * HASH_LENGTH);
      pairs.set(right, n * 2 * HASH_LENGTH + HASH_LENGTH);
      slot.push(n++);
    };
    for (let j = 0; j < pos.length; ) {
      const q = pos[j]!;
      if (q % 2 === 0) {
        if (pos[j + 1] === q + 1) {
          pair(hashes[j]!, hashes[j + 1]!);
          j += 2;
        } else if (q + 1 < size) {
          if (p >= proof.length) return null;
          pair(hashes[j]!, proof[p++]!);
          j++;
        } else {
          nextHashes[slot.length] = hashes[j]!; // the last, unpaired node is carried up unchanged
          slot.push(-1);
          j++;
        }
      } else {
        if (p >= proof.length) return null;
        pair(proof[p++]!, hashes[j]!);
        j++;
      }
      nextPos.push(Math.floor(q / 2));
    }
    const parents = nodeHashesOfPairs(pairs.subarray(0, n * 2 * HASH_LENGTH));
    for (let k = 0; k < slot.length; k++) {
      const s = slot[k]!;
      if (s >= 0) nextHashes[k] = parents.subarray(s * HASH_LENGTH, (s + 1) * HASH_LENGTH);
    }
    pos = nextPos;
    hashes = nextHashes;
    size = Math.ceil(size / 2);
  }
  if (p !== proof.length) return null; // an extended proof is rejected, not ignored
  return leafCount > 1 ? hashes[0]!.slice() : hashes[0]!; // a root of its own, not a view of a level's batch
}

/** True iff `branch` proves `leaf` at `index` in the tree of `leafCount` leaves with root `root`. */
export function verifyBranch(root: Uint8Array, leafCount: number, index: number, leaf: Uint8Array, branch: readonly Uint8Array[]): boolean {
  const r = rootFromMultiproof(leafCount, [index], [leaf], branch);
  return r !== null && isHash(root) && equal32(r, root);
}

/** True iff the multiproof proves every (indices[j], leafHashes[j]) against `root`. */
export function verifyMultiproof(
  root: Uint8Array,
  leafCount: number,
  indices: readonly number[],
  leafHashes: readonly Uint8Array[],
  proof: readonly Uint8Array[],
): boolean {
  const r = rootFromMultiproof(leafCount, indices, leafHashes, proof);
  return r !== null && isHash(root) && equal32(r, root);
}

/** Wire form of a branch or multiproof: the hashes concatenated. */
export function encodeHashes(hashes: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * HASH_LENGTH);
  hashes.forEach((h, i) => out.set(h, i * HASH_LENGTH));
  return out;
}

/** Inverse of encodeHashes; null when the length is not a multiple of 32. */
export function decodeHashes(bytes: Uint8Array): Uint8Array[] | null {
  if (!(bytes instanceof Uint8Array) || bytes.length % HASH_LENGTH !== 0) return null;
  const out: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; o += HASH_LENGTH) out.push(bytes.slice(o, o + HASH_LENGTH));
  return out;
}

export function isHash(h: unknown): h is Uint8Array {
  return h instanceof Uint8Array && h.length === HASH_LENGTH;
}

/** Root comparison: roots are public, so a plain loop is fine (no secret to leak by timing). */
export function equal32(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function toFlat(leaves: readonly Uint8Array[] | Uint8Array): Uint8Array {
  if (leaves instanceof Uint8Array) {
    if (leaves.length % HASH_LENGTH !== 0) {
      throw new CryptoError(CryptoErrorCode.INVALID_LENGTH, `merkle: leaf hashes: expected a multiple of 32 bytes, got ${leaves.length}`);
    }
    return leaves;
  }
  const out = new Uint8Array(leaves.length * HASH_LENGTH);
  leaves.forEach((h, i) => {
    if (!isHash(h)) {
      throw new CryptoError(CryptoErrorCode.INVALID_LENGTH, `merkle: leaf hash ${i}: expected 32 bytes, got ${describeHash(h)}`);
    }
    out.set(h, i * HASH_LENGTH);
  });
  return out;
}

function describeHash(h: unknown): string {
  return h instanceof Uint8Array ? `${h.length} bytes` : typeof h;
}
