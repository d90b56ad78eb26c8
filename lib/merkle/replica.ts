// Replica roots: a storer's commitment to its own copy of a file (DESIGN §3, StorageCommitment).
// Definitions (also in docs/merkle.md):
//
//   replica leaf i   RL_i = SHA-256(0x03 ‖ storerId(32) ‖ filehash(32) ‖ u64be(i) ‖ chunk_i)
//   replica tree     MTH(RL_0, …, RL_{n-1})              (tree.ts; chunks cut as in file.ts)
//   replicaRoot      SHA-256(0x04 ‖ storerId ‖ filehash ‖ u64be(size) ‖ u32be(C) ‖ replicaTreeRoot)
//
// Why the identity goes into every leaf, not only the root: a leaf can then be computed only from the
// chunk's bytes and this storer's id, so one storer's tree or branches are useless to another (their
// leaves differ), and answering a challenge needs the data, not a copy of someone else's tree. The
// index in each leaf pins each chunk to its position, so equal chunks do not make interchangeable
// leaves. The root binds size and C (fixing the leaf count, as the filehash does) and the identity
// again, so even the empty file's replica roots differ per storer.
import { CryptoError, CryptoErrorCode, assertBytes } from '../crypto/errors.js';
import { sha256One } from './sha256.js';
import { HASH_LENGTH, MerkleDomain, equal32, isHash } from './tree.js';
import { ChunkStream, DEFAULT_CHUNK_SIZE, assertChunkSize, headedLeafHash, treeRootFromChunk, treeRootFromChunks, type ChunkCallback } from './file.js';

export const STORER_ID_LENGTH = 32;
const HEADER_LENGTH = 1 + STORER_ID_LENGTH + HASH_LENGTH + 8;
const INDEX_OFFSET = 1 + STORER_ID_LENGTH + HASH_LENGTH;

function replicaHeader(storerId: Uint8Array, filehash: Uint8Array): Uint8Array {
  assertBytes(storerId, STORER_ID_LENGTH, 'replica: storerId');
  assertBytes(filehash, HASH_LENGTH, 'replica: filehash');
  const h = new Uint8Array(HEADER_LENGTH);
  h[0] = MerkleDomain.replicaLeaf;
  h.set(storerId, 1);
  h.set(filehash, 1 + STORER_ID_LENGTH);
  return h;
}

/** RL_i for one chunk (when the storer rebuilds replica leaves from stored chunks). */
export function replicaLeafHash(storerId: Uint8Array, filehash: Uint8Array, index: number, chunk: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `replica: chunk index: expected a safe integer >= 0, got ${index}`);
  }
  assertBytes(chunk, undefined, 'replica: chunk');
  return headedLeafHash(replicaHeader(storerId, filehash), INDEX_OFFSET, chunk, index);
}

/** replicaRoot from the replica tree's root. */
export function replicaRootOf(storerId: Uint8Array, filehash: Uint8Array, size: number, chunkSize: number, treeRoot: Uint8Array): Uint8Array {
  assertBytes(storerId, STORER_ID_LENGTH, 'replica: storerId');
  assertBytes(filehash, HASH_LENGTH, 'replica: filehash');
  assertBytes(treeRoot, HASH_LENGTH, 'replica: treeRoot');
  assertChunkSize(chunkSize);
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `replica: size: expected a safe integer >= 0, got ${size}`);
  }
  const buf = new Uint8Array(1 + STORER_ID_LENGTH + HASH_LENGTH + 8 + 4 + HASH_LENGTH);
  const view = new DataView(buf.buffer);
  buf[0] = MerkleDomain.replicaRoot;
  buf.set(storerId, 1);
  buf.set(filehash, 33);
  view.setBigUint64(65, BigInt(size), false);
  view.setUint32(73, chunkSize, false);
  buf.set(treeRoot, 77);
  return sha256One(buf);
}

export interface ReplicaDigest {
  readonly replicaRoot: Uint8Array;
  /** The replica tree's root (MTH over replica leaves). */
  readonly root: Uint8Array;
  readonly size: number;
  readonly chunkCount: number;
  readonly chunkSize: number;
}

export interface ReplicaHasherOptions {
  readonly chunkSize?: number;
  /** Sees every chunk and its replica leaf hash (e.g. to persist the leaves for later branches). */
  readonly onChunk?: ChunkCallback;
}

/** Streaming replica root, like FileHasher; the filehash must be known first (from the store request). */
export class ReplicaHasher {
  private readonly stream: ChunkStream;

  constructor(
    private readonly storerId: Uint8Array,
    private readonly filehash: Uint8Array,
    options: ReplicaHasherOptions = {},
  ) {
    const header = replicaHeader(storerId, filehash);
    this.storerId = Uint8Array.from(storerId);
    this.filehash = Uint8Array.from(filehash);
    this.stream = new ChunkStream(options.chunkSize ?? DEFAULT_CHUNK_SIZE, header, INDEX_OFFSET, options.onChunk ?? null);
  }

  update(bytes: Uint8Array): this {
    this.stream.update(bytes);
    return this;
  }

  digest(): ReplicaDigest {
    const { root, size, chunkCount } = this.stream.finish();
    const chunkSize = this.stream.chunkSize;
    return { replicaRoot: replicaRootOf(this.storerId, this.filehash, size, chunkSize, root), root, size, chunkCount, chunkSize };
  }
}

/** replicaRoot of a whole file held in memory. */
export function hashReplica(storerId: Uint8Array, filehash: Uint8Array, bytes: Uint8Array, chunkSize = DEFAULT_CHUNK_SIZE): ReplicaDigest {
  return new ReplicaHasher(storerId, filehash, { chunkSize }).update(bytes).digest();
}

/**
 * True iff `chunk` is chunk `index` of the replica that `storerId` committed to with `replicaRoot`,
 * for the file (filehash, size, C). A branch of another storer, index or file fails. Never throws.
 */
export function verifyReplicaBranch(
  replicaRoot: Uint8Array,
  storerId: Uint8Array,
  filehash: Uint8Array,
  size: number,
  chunkSize: number,
  index: number,
  chunk: Uint8Array,
  branch: readonly Uint8Array[],
): boolean {
  if (!isHash(replicaRoot) || !isHash(filehash) || !(storerId instanceof Uint8Array) || storerId.length !== STORER_ID_LENGTH) return false;
  const header = replicaHeader(storerId, filehash);
  const root = treeRootFromChunk(size, chunkSize, index, chunk, header, INDEX_OFFSET, branch);
  return root !== null && equal32(replicaRootOf(storerId, filehash, size, chunkSize, root), replicaRoot);
}

/** verifyReplicaBranch for several chunks and one multiproof (indices strictly increasing). */
export function verifyReplicaMultiproof(
  replicaRoot: Uint8Array,
  storerId: Uint8Array,
  filehash: Uint8Array,
  size: number,
  chunkSize: number,
  indices: readonly number[],
  chunks: readonly Uint8Array[],
  proof: readonly Uint8Array[],
): boolean {
  if (!isHash(replicaRoot) || !isHash(filehash) || !(storerId instanceof Uint8Array) || storerId.length !== STORER_ID_LENGTH) return false;
  const header = replicaHeader(storerId, filehash);
  const root = treeRootFromChunks(size, chunkSize, indices, chunks, header, INDEX_OFFSET, proof);
  return root !== null && equal32(replicaRootOf(storerId, filehash, size, chunkSize, root), replicaRoot);
}
