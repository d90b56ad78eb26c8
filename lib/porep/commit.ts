// Commitments to a sealed sector (docs/porep.md "Commitments"):
//
//   c_i          = SHA-256("wolk/porep/column/v1" ‖ label(1, i) ‖ … ‖ label(L, i))     column hash
//   comm_c       = MTH(LH(c_0), …, LH(c_{n−1}))                                        lib/merkle/tree.ts
//   comm_r_last  = MTH(LH(r_0), …, LH(r_{n−1}))
//   comm_r       = SHA-256("wolk/porep/comm-r/v1" ‖ comm_c ‖ comm_r_last)
//
// comm_r is what goes on chain. comm_c commits to every label of every layer (what the seal proof opens);
// comm_r_last to the replica (what audits open). The trees are RFC 6962 trees over 32-byte leaves, so
// their branches are lib/merkle's, and the node count n (fixed by the sector) gives their shape.
import { CryptoError, CryptoErrorCode, assertBytes } from '../crypto/errors.js';
import { sha256One } from '../merkle/sha256.js';
import { MerkleDomain, MerkleTree, equal32, hashPieces, isHash } from '../merkle/tree.js';
import { NODE_SIZE, assertNodes } from './params.js';
import type { LayerStore } from './layer-store.js';

export const COLUMN_TAG = new TextEncoder().encode('wolk/porep/column/v1');
export const COMM_R_TAG = new TextEncoder().encode('wolk/porep/comm-r/v1');
const LEAF_HEADER = Uint8Array.of(MerkleDomain.leaf);
const WORDS = NODE_SIZE / 4;

export interface ReplicaCommitment {
  readonly commC: Uint8Array;
  readonly commRLast: Uint8Array;
  /** What goes on chain. */
  readonly commR: Uint8Array;
}

/** comm_r = SHA-256("wolk/porep/comm-r/v1" ‖ comm_c ‖ comm_r_last). */
export function commROf(commC: Uint8Array, commRLast: Uint8Array): Uint8Array {
  assertBytes(commC, 32, 'porep: comm_c');
  assertBytes(commRLast, 32, 'porep: comm_r_last');
  const buf = new Uint8Array(COMM_R_TAG.length + 64);
  buf.set(COMM_R_TAG, 0);
  buf.set(commC, COMM_R_TAG.length);
  buf.set(commRLast, COMM_R_TAG.length + 32);
  return sha256One(buf);
}

/** True iff comm_r is the hash of these two roots. Never throws. */
export function commRMatches(commR: unknown, commC: unknown, commRLast: unknown): boolean {
  return isHash(commR) && isHash(commC) && isHash(commRLast) && equal32(commROf(commC, commRLast), commR);
}

/** c_i from one column (L × 32 bytes, layer 1 first). */
export function columnHash(column: Uint8Array): Uint8Array {
  return hashPieces(column, column.length, COLUMN_TAG);
}

/** LH(x) for every 32-byte node of `nodes`: the leaves of comm_c's and comm_r_last's trees. */
export function nodeLeaves(nodes: Uint8Array): Uint8Array {
  return hashPieces(nodes, NODE_SIZE, LEAF_HEADER);
}

export interface CommittedReplica {
  readonly commitment: ReplicaCommitment;
  /** Tree over LH(c_i): opened by the seal proof. 2 × 32 bytes per node. */
  readonly treeC: MerkleTree;
  /** Tree over LH(r_i): opened by the seal proof and every audit. 2 × 32 bytes per node. */
  readonly treeR: MerkleTree;
}

/**
 * comm_c of a sector: reads every layer back from `store` in windows of `window` nodes (memory:
 * L × window × 32 bytes for the columns, plus the tree: 2 × 32 bytes per node).
 */
export async function commitColumns(store: LayerStore, nodes: number, layers: number, window = 1 << 16): Promise<{ readonly commC: Uint8Array; readonly treeC: MerkleTree }> {
  assertNodes(nodes);
  const colBytes = layers * NODE_SIZE;
  const columnLeaves = new Uint8Array(nodes * 32);
  const columns = new Uint8Array(Math.min(window, nodes) * colBytes);
  const columnWords = new Uint32Array(columns.buffer);
  for (let start = 0; start < nodes; start += window) {
    const count = Math.min(window, nodes - start);
    for (let l = 1; l <= layers; l++) {
      const labels = await store.read(l, start, count);
      if (labels.byteOffset % 4 === 0) {
        // word copies: a subarray per node costs more than the hashing
        const from = new Uint32Array(labels.buffer, labels.byteOffset, count * WORDS);
        const colWords = layers * WORDS;
        for (let j = 0; j < count; j++) {
          const o = j * colWords + (l - 1) * WORDS;
          for (let w = 0; w < WORDS; w++) columnWords[o + w] = from[j * WORDS + w]!;
        }
      } else {
        for (let j = 0; j < count; j++) columns.set(labels.subarray(j * NODE_SIZE, (j + 1) * NODE_SIZE), j * colBytes + (l - 1) * NODE_SIZE);
      }
    }
    const c = hashPieces(columns.subarray(0, count * colBytes), colBytes, COLUMN_TAG);
    columnLeaves.set(nodeLeaves(c), start * 32);
  }
  const treeC = MerkleTree.fromLeaves(columnLeaves);
  return { commC: treeC.root(), treeC };
}

/** comm_r_last's tree over replica nodes (a whole sector's, or one file's range of a packed sector). */
export function replicaTree(replica: Uint8Array): MerkleTree {
  assertBytes(replica, undefined, 'porep: replica');
  if (replica.length === 0 || replica.length % NODE_SIZE !== 0) {
    throw new CryptoError(CryptoErrorCode.INVALID_LENGTH, `porep: replica: expected a positive multiple of ${NODE_SIZE} bytes, got ${replica.length}`);
  }
  return MerkleTree.fromLeaves(nodeLeaves(replica));
}

/**
 * Reads every layer back from `store` in windows of `window` nodes (memory: L × window × 32 bytes for
 * the columns, plus both trees) and builds comm_c, comm_r_last and comm_r.
 */
export async function commitReplica(store: LayerStore, replica: Uint8Array, layers: number, window = 1 << 16): Promise<CommittedReplica> {
  assertBytes(replica, undefined, 'porep: replica');
  if (replica.length === 0 || replica.length % NODE_SIZE !== 0) {
    throw new CryptoError(CryptoErrorCode.INVALID_LENGTH, `porep: replica: expected a positive multiple of ${NODE_SIZE} bytes, got ${replica.length}`);
  }
  const nodes = replica.length / NODE_SIZE;
  assertNodes(nodes);
  const { commC, treeC } = await commitColumns(store, nodes, layers, window);
  const treeR = replicaTree(replica);
  const commRLast = treeR.root();
  return { commitment: { commC, commRLast, commR: commROf(commC, commRLast) }, treeC, treeR };
}

/** The columns (L × 32 bytes each) of nodes `indices`, in that order: one readNodes per layer when the store has it. */
export async function readColumns(store: LayerStore, layers: number, indices: readonly number[]): Promise<Uint8Array[]> {
  if (!store.readNodes) {
    const out: Uint8Array[] = [];
    for (const i of indices) out.push(await readColumn(store, layers, i));
    return out;
  }
  const wanted = Uint32Array.from(indices);
  const columns = indices.map(() => new Uint8Array(layers * NODE_SIZE));
  for (let l = 1; l <= layers; l++) {
    const labels = await store.readNodes(l, wanted);
    if (labels.length !== wanted.length * NODE_SIZE) throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `porep: layer store answered ${labels.length} bytes for ${wanted.length} nodes of layer ${l}`);
    for (let j = 0; j < columns.length; j++) columns[j]!.set(labels.subarray(j * NODE_SIZE, (j + 1) * NODE_SIZE), (l - 1) * NODE_SIZE);
  }
  return columns;
}

/** One column (L × 32 bytes) read from the store. */
export async function readColumn(store: LayerStore, layers: number, index: number): Promise<Uint8Array> {
  const column = new Uint8Array(layers * NODE_SIZE);
  for (let l = 1; l <= layers; l++) column.set((await store.read(l, index, 1)).subarray(0, NODE_SIZE), (l - 1) * NODE_SIZE);
  return column;
}
