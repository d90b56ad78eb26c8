// Files as chunks and their file hash (DESIGN §3), streamed with flat memory. Definitions (also in
// docs/merkle.md):
//
//   C          chunk size: a power of two in [4096, 32768] (default 4096). Powers of two keep chunks
//              aligned with disk blocks and pages; a free choice in between would buy nothing.
//   chunks     the file's bytes cut at multiples of C; every chunk is C bytes but the last, which holds
//              the rest (1..C bytes). A file of size 0 has zero chunks.
//   chunkID    SHA-256(chunk)                        (a chunk stored alone, by content)
//   treeRoot   MTH(LH(chunk_0), …, LH(chunk_{n-1}))  (tree.ts; MTH([]) = SHA-256("") for size 0)
//   filehash   SHA-256(0x02 ‖ u64be(size) ‖ u32be(C) ‖ treeRoot)
//
// Binding size and C into the filehash fixes the leaf count and every chunk's length, so a branch
// cannot be checked against a tree of another size (the tree root alone does not commit to its leaf
// count) and a file cannot be passed off as a prefix or extension of itself.
import { CryptoError, CryptoErrorCode } from '../crypto/errors.js';
import { sha256One } from './sha256.js';
import { HASH_LENGTH, MerkleDomain, TreeAccumulator, equal32, isHash, rootFromMultiproof } from './tree.js';

export const MIN_CHUNK_SIZE = 4096;
export const MAX_CHUNK_SIZE = 32768;
export const DEFAULT_CHUNK_SIZE = 4096;

export function isValidChunkSize(c: unknown): c is number {
  return typeof c === 'number' && Number.isInteger(c) && c >= MIN_CHUNK_SIZE && c <= MAX_CHUNK_SIZE && (c & (c - 1)) === 0;
}

export function assertChunkSize(c: unknown): asserts c is number {
  if (!isValidChunkSize(c)) {
    throw new CryptoError(
      CryptoErrorCode.OUT_OF_RANGE,
      `merkle: chunk size: expected a power of two in [${MIN_CHUNK_SIZE}, ${MAX_CHUNK_SIZE}], got ${String(c)}`,
    );
  }
}

function assertSize(size: unknown): asserts size is number {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `merkle: file size: expected a safe integer >= 0, got ${String(size)}`);
  }
}

/** Number of chunks of a file: ceil(size / C). */
export function chunkCountOf(size: number, chunkSize: number): number {
  assertSize(size);
  assertChunkSize(chunkSize);
  return Math.ceil(size / chunkSize);
}

/** Length of chunk `index`: C, or the remainder for the last one. */
export function chunkLengthAt(size: number, chunkSize: number, index: number): number {
  const n = chunkCountOf(size, chunkSize);
  if (!Number.isSafeInteger(index) || index < 0 || index >= n) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `merkle: chunk index ${index} outside [0, ${n})`);
  }
  return index < n - 1 ? chunkSize : size - (n - 1) * chunkSize;
}

/** chunkID = SHA-256(chunk). */
export function chunkId(chunk: Uint8Array): Uint8Array {
  return sha256One(chunk);
}

/** filehash = SHA-256(0x02 ‖ u64be(size) ‖ u32be(C) ‖ treeRoot). */
export function fileHashOf(size: number, chunkSize: number, treeRoot: Uint8Array): Uint8Array {
  assertSize(size);
  assertChunkSize(chunkSize);
  const buf = new Uint8Array(1 + 8 + 4 + HASH_LENGTH);
  const view = new DataView(buf.buffer);
  buf[0] = MerkleDomain.file;
  view.setBigUint64(1, BigInt(size), false);
  view.setUint32(9, chunkSize, false);
  buf.set(treeRoot, 13);
  return sha256One(buf);
}

export interface FileDigest {
  readonly filehash: Uint8Array;
  /** treeRoot: MTH over the chunks' leaf hashes. */
  readonly root: Uint8Array;
  readonly size: number;
  readonly chunkCount: number;
  readonly chunkSize: number;
}

/**
 * Called once per chunk, in order. `chunk` is a view into the hasher's scratch buffer, valid only
 * during the call: copy it to keep it. `leaf` is owned by the callee.
 */
export type ChunkCallback = (index: number, chunk: Uint8Array, leaf: Uint8Array) => void;

/**
 * Cuts a byte stream into chunks and hashes each as `header ‖ chunk` (u64be(chunk index) written into the
 * header at `indexOffset` when it is not null), feeding a TreeAccumulator. Runs of whole chunks that arrive
 * in one piece go to the native batch hasher when it is built (tree.ts absorbChunks); the rest, and every
 * chunk without the addon, is copied into one scratch buffer and hashed with one one-shot SHA-256.
 * Memory: C + header + 64 hashes (+ 32 bytes per chunk of the piece being absorbed, when `onChunk` is set).
 */
export class ChunkStream {
  private readonly scratch: Uint8Array;
  private readonly scratchView: DataView;
  private readonly header: Uint8Array;
  private readonly headerLength: number;
  private fill = 0;
  private total = 0;
  private readonly acc = new TreeAccumulator();
  private done = false;

  constructor(
    readonly chunkSize: number,
    header: Uint8Array,
    /** Where the chunk index goes in the header (u64 big-endian), or null when leaves carry no index. */
    private readonly indexOffset: number | null,
    private readonly onChunk: ChunkCallback | null,
  ) {
    assertChunkSize(chunkSize);
    if (indexOffset !== null && (!Number.isSafeInteger(indexOffset) || indexOffset < 0 || indexOffset + 8 > header.length)) {
      throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `merkle: index offset ${indexOffset} does not fit a ${header.length}-byte header`);
    }
    this.header = Uint8Array.from(header);
    this.scratch = new Uint8Array(header.length + chunkSize);
    this.scratch.set(header, 0);
    this.scratchView = new DataView(this.scratch.buffer);
    this.headerLength = header.length;
  }

  update(bytes: Uint8Array): void {
    if (this.done) throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, 'merkle: update() after digest()');
    if (!(bytes instanceof Uint8Array)) {
      throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `merkle: update(): expected Uint8Array, got ${typeof bytes}`);
    }
    const c = this.chunkSize;
    let o = 0;
    while (o < bytes.length) {
      if (this.fill === 0 && bytes.length - o >= c) {
        const whole = Math.floor((bytes.length - o) / c) * c;
        if (this.absorb(bytes.subarray(o, o + whole))) {
          o += whole;
          continue;
        }
      }
      const take = Math.min(c - this.fill, bytes.length - o);
      this.scratch.set(take === bytes.length ? bytes : bytes.subarray(o, o + take), this.headerLength + this.fill);
      this.fill += take;
      o += take;
      if (this.fill === c) this.flush();
    }
    this.total += bytes.length;
  }

  finish(): { root: Uint8Array; size: number; chunkCount: number } {
    if (this.done) throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, 'merkle: digest() called twice');
    if (this.fill > 0) this.flush();
    this.done = true;
    return { root: this.acc.root(), size: this.total, chunkCount: this.acc.count };
  }

  /** Whole chunks in one native call; false when the addon is not there. */
  private absorb(run: Uint8Array): boolean {
    const c = this.chunkSize;
    const first = this.acc.count;
    const count = run.length / c;
    const leaves = this.onChunk ? new Uint8Array(count * HASH_LENGTH) : null;
    if (!this.acc.absorbChunks(run, c, this.header, this.indexOffset ?? -1, leaves)) return false;
    if (this.onChunk && leaves) {
      for (let i = 0; i < count; i++) {
        this.onChunk(first + i, run.subarray(i * c, (i + 1) * c), leaves.subarray(i * HASH_LENGTH, (i + 1) * HASH_LENGTH));
      }
    }
    return true;
  }

  private flush(): void {
    const index = this.acc.count;
    if (this.indexOffset !== null) this.scratchView.setBigUint64(this.indexOffset, BigInt(index), false);
    const leaf = sha256One(this.scratch.subarray(0, this.headerLength + this.fill));
    this.acc.push(leaf);
    this.onChunk?.(index, this.scratch.subarray(this.headerLength, this.headerLength + this.fill), leaf);
    this.fill = 0;
  }
}

const LEAF_HEADER = Uint8Array.of(MerkleDomain.leaf);

export interface FileHasherOptions {
  readonly chunkSize?: number;
  /** Sees every chunk and its leaf hash (e.g. to store them while hashing). */
  readonly onChunk?: ChunkCallback;
}

/** Streaming filehash: feed the file in pieces of any size, then digest(). */
export class FileHasher {
  private readonly stream: ChunkStream;

  constructor(options: FileHasherOptions | number = {}) {
    const o = typeof options === 'number' ? { chunkSize: options } : options;
    this.stream = new ChunkStream(o.chunkSize ?? DEFAULT_CHUNK_SIZE, LEAF_HEADER, null, o.onChunk ?? null);
  }

  update(bytes: Uint8Array): this {
    this.stream.update(bytes);
    return this;
  }

  digest(): FileDigest {
    const { root, size, chunkCount } = this.stream.finish();
    const chunkSize = this.stream.chunkSize;
    return { filehash: fileHashOf(size, chunkSize, root), root, size, chunkCount, chunkSize };
  }
}

/** filehash of bytes held in memory. */
export function hashFile(bytes: Uint8Array, chunkSize = DEFAULT_CHUNK_SIZE): FileDigest {
  return new FileHasher({ chunkSize }).update(bytes).digest();
}

/** filehash of a stream (a Node Readable without encoding, or any async iterable of bytes). */
export async function hashFileStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  chunkSize = DEFAULT_CHUNK_SIZE,
  onChunk?: ChunkCallback,
): Promise<FileDigest> {
  const hasher = new FileHasher(onChunk ? { chunkSize, onChunk } : { chunkSize });
  for await (const piece of source) hasher.update(piece);
  return hasher.digest();
}

/**
 * True iff `chunk` is chunk `index` of the file with this filehash, size and chunk size, by `branch`
 * (the chunk's audit path in the file's tree). Never throws on hostile input.
 */
export function verifyFileBranch(
  filehash: Uint8Array,
  size: number,
  chunkSize: number,
  index: number,
  chunk: Uint8Array,
  branch: readonly Uint8Array[],
): boolean {
  const root = treeRootFromChunk(size, chunkSize, index, chunk, LEAF_HEADER, null, branch);
  return root !== null && isHash(filehash) && equal32(fileHashOf(size, chunkSize, root), filehash);
}

/**
 * The leaf hash of chunk `index` under `header`: SHA-256(header ‖ chunk), with the index written as u64 BE
 * into the header at `indexOffset` when it is not null (replica leaves), as ChunkStream does.
 */
export function headedLeafHash(header: Uint8Array, indexOffset: number | null, chunk: Uint8Array, index: number): Uint8Array {
  const buf = new Uint8Array(header.length + chunk.length);
  buf.set(header, 0);
  buf.set(chunk, header.length);
  if (indexOffset !== null) new DataView(buf.buffer).setBigUint64(indexOffset, BigInt(index), false);
  return sha256One(buf);
}

/** Shared by file and replica branches: checks the chunk's length and recomputes the tree root. */
export function treeRootFromChunk(
  size: number,
  chunkSize: number,
  index: number,
  chunk: Uint8Array,
  header: Uint8Array,
  indexOffset: number | null,
  branch: readonly Uint8Array[],
): Uint8Array | null {
  return treeRootFromChunks(size, chunkSize, [index], [chunk], header, indexOffset, branch);
}

/**
 * True iff `chunks[j]` is chunk `indices[j]` of the file for every j, by one multiproof (MerkleTree.
 * multiproof; indices strictly increasing). Never throws on hostile input.
 */
export function verifyFileMultiproof(
  filehash: Uint8Array,
  size: number,
  chunkSize: number,
  indices: readonly number[],
  chunks: readonly Uint8Array[],
  proof: readonly Uint8Array[],
): boolean {
  const root = treeRootFromChunks(size, chunkSize, indices, chunks, LEAF_HEADER, null, proof);
  return root !== null && isHash(filehash) && equal32(fileHashOf(size, chunkSize, root), filehash);
}

/** Like treeRootFromChunk, for several chunks and one multiproof. */
export function treeRootFromChunks(
  size: number,
  chunkSize: number,
  indices: readonly number[],
  chunks: readonly Uint8Array[],
  header: Uint8Array,
  indexOffset: number | null,
  proof: readonly Uint8Array[],
): Uint8Array | null {
  if (!isValidChunkSize(chunkSize) || !Number.isSafeInteger(size) || size < 1) return null;
  if (!Array.isArray(indices) || !Array.isArray(chunks) || indices.length !== chunks.length) return null;
  const n = Math.ceil(size / chunkSize);
  const leaves: Uint8Array[] = [];
  for (let j = 0; j < indices.length; j++) {
    const index = indices[j]!;
    const chunk = chunks[j];
    if (!(chunk instanceof Uint8Array) || !Number.isSafeInteger(index) || index < 0 || index >= n) return null;
    const expected = index < n - 1 ? chunkSize : size - (n - 1) * chunkSize;
    if (chunk.length !== expected) return null;
    leaves.push(headedLeafHash(header, indexOffset, chunk, index));
  }
  return rootFromMultiproof(n, indices, leaves, proof);
}
