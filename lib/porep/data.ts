// How a seal proof opens the DATA a replica encodes, behind a small interface: a file sealed as its own
// sector opens 4 KiB chunks against its filehash (lib/merkle/file.ts branches, so the chain checks the
// replica against the filehash it already knows); a sector packing many small files can later open its
// chunks against its own data root with another implementation of the same two interfaces.
//
// Node i is bytes [32i, 32i + 32) of the data: inside chunk floor(32i / C) at offset 32i mod C (C is a
// multiple of 32), zero-padded past the end. Nodes wholly past the end (a sector larger than its data)
// are zeros and need no opening.
import { CryptoError, CryptoErrorCode, assertBytes } from '../crypto/errors.js';
import { DEFAULT_CHUNK_SIZE, FileHasher, assertChunkSize, verifyFileMultiproof } from '../merkle/file.js';
import { MerkleTree, isHash } from '../merkle/tree.js';
import { NODE_SIZE } from './params.js';
import { createHash } from 'node:crypto';

/** Chunks opened against a data commitment by one multiproof (chunk indices strictly increasing). */
export interface DataOpening {
  readonly chunkIndices: readonly number[];
  readonly chunks: readonly Uint8Array[];
  readonly proof: readonly Uint8Array[];
}

/** The prover's side: the data and what it needs to open chunks. */
export interface DataSource {
  readonly size: number;
  readonly chunkSize: number;
  open(chunkIndices: readonly number[]): DataOpening;
}

/** The verifier's side: checks openings against a commitment it already trusts. Never throws. */
export interface DataCommitment {
  readonly size: number;
  readonly chunkSize: number;
  verify(opening: DataOpening): boolean;
}

/** The chunk holding node i, or null for a node wholly past the data. */
export function chunkOfNode(index: number, size: number, chunkSize: number): number | null {
  const offset = index * NODE_SIZE;
  return offset < size ? Math.floor(offset / chunkSize) : null;
}

/** d_i from the chunk that holds it (zero-padded), or zeros when there is no chunk (past the data). */
export function nodeFromChunk(index: number, chunkSize: number, chunk: Uint8Array | null): Uint8Array {
  const out = new Uint8Array(NODE_SIZE);
  if (chunk) {
    const off = (index * NODE_SIZE) % chunkSize;
    out.set(chunk.subarray(off, Math.min(off + NODE_SIZE, chunk.length)));
  }
  return out;
}

/** A file held in memory, opened against its filehash. Memory: the file plus 2 × 32 bytes per chunk. */
export function fileDataSource(bytes: Uint8Array, chunkSize = DEFAULT_CHUNK_SIZE): DataSource & { readonly filehash: Uint8Array } {
  assertBytes(bytes, undefined, 'porep: data');
  assertChunkSize(chunkSize);
  const leaves: Uint8Array[] = [];
  const digest = new FileHasher({ chunkSize, onChunk: (_i, _chunk, leaf) => leaves.push(leaf) }).update(bytes).digest();
  const tree = MerkleTree.fromLeaves(leaves);
  return {
    size: bytes.length,
    chunkSize,
    filehash: digest.filehash,
    open(chunkIndices) {
      for (const c of chunkIndices) {
        if (!Number.isSafeInteger(c) || c < 0 || c * chunkSize >= bytes.length) {
          throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `porep: chunk ${c} is outside a file of ${bytes.length} bytes`);
        }
      }
      const mp = tree.multiproof(chunkIndices);
      return {
        chunkIndices: mp.indices,
        chunks: mp.indices.map((c) => bytes.slice(c * chunkSize, Math.min((c + 1) * chunkSize, bytes.length))),
        proof: mp.hashes,
      };
    },
  };
}

/** A file's filehash as the data commitment (lib/merkle/file.ts multiproofs). */
export function fileDataCommitment(filehash: Uint8Array, size: number, chunkSize = DEFAULT_CHUNK_SIZE): DataCommitment {
  assertBytes(filehash, 32, 'porep: filehash');
  assertChunkSize(chunkSize);
  if (!Number.isSafeInteger(size) || size < 0) throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `porep: size: expected a safe integer >= 0, got ${size}`);
  const fh = filehash.slice();
  return {
    size,
    chunkSize,
    verify(opening) {
      if (!opening || !Array.isArray(opening.chunkIndices) || !Array.isArray(opening.chunks) || !Array.isArray(opening.proof)) return false;
      if (opening.chunkIndices.length === 0) return opening.chunks.length === 0 && opening.proof.length === 0;
      if (!opening.proof.every(isHash)) return false;
      return verifyFileMultiproof(fh, size, chunkSize, opening.chunkIndices, opening.chunks, opening.proof);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A block's chunk set (issue 15 item 6; docs/porep.md "Block chunk sets"). Its chunks are sealed as one
// piece of data laid out in slots: chunk j (in NewChunks.chunk_ids order) at bytes [jC, jC + len_j),
// zero-padded to (j + 1)C, where C is the set's chunk size (the smallest valid chunk size no chunk
// exceeds, lib/chain/commitment.ts chunkSetShape). The data is n·C bytes for n chunks. A chunk is
// opened by its bytes alone: the verifier holds the block's chunk ids, and SHA-256 of the bytes must
// be the id in that slot, so no proof hashes travel.

/** Bytes of a chunk set's sealed data: one slot of `chunkSize` per chunk. */
export function chunkSetDataBytes(chunks: number, chunkSize: number): number {
  assertChunkSize(chunkSize);
  if (!Number.isSafeInteger(chunks) || chunks < 0) throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `porep: chunk count: expected a safe integer >= 0, got ${chunks}`);
  return chunks * chunkSize;
}

/** The prover's side of a chunk set: `chunkAt(j)` gives chunk j's bytes (at most chunkSize). */
export function chunkSetDataSource(count: number, chunkSize: number, chunkAt: (j: number) => Uint8Array): DataSource {
  const size = chunkSetDataBytes(count, chunkSize);
  return {
    size,
    chunkSize,
    open(chunkIndices) {
      for (const c of chunkIndices) {
        if (!Number.isSafeInteger(c) || c < 0 || c >= count) throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `porep: chunk ${c} is outside a set of ${count} chunks`);
      }
      return { chunkIndices: [...chunkIndices], chunks: chunkIndices.map((c) => chunkAt(c)), proof: [] };
    },
  };
}

/** The verifier's side of a chunk set: each opened chunk must hash to the id of its slot. */
export function chunkSetDataCommitment(chunkIds: readonly Uint8Array[], chunkSize: number): DataCommitment {
  const size = chunkSetDataBytes(chunkIds.length, chunkSize);
  const ids = chunkIds.map((id) => {
    assertBytes(id, 32, 'porep: chunk id');
    return Buffer.from(id).toString('hex');
  });
  return {
    size,
    chunkSize,
    verify(opening) {
      if (!opening || !Array.isArray(opening.chunkIndices) || !Array.isArray(opening.chunks) || !Array.isArray(opening.proof)) return false;
      if (opening.proof.length !== 0 || opening.chunks.length !== opening.chunkIndices.length) return false;
      let last = -1;
      for (let x = 0; x < opening.chunkIndices.length; x++) {
        const j = opening.chunkIndices[x]!;
        const chunk = opening.chunks[x];
        if (!Number.isSafeInteger(j) || j <= last || j >= ids.length) return false;
        last = j;
        if (!(chunk instanceof Uint8Array) || chunk.length > chunkSize) return false;
        if (createHash('sha256').update(chunk).digest('hex') !== ids[j]) return false;
      }
      return true;
    },
  };
}
