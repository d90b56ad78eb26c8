// The indexer's read-model layout in its KvStore (buckets from lib/storage/kv.ts, never reused):
//   indexKey    0x1e ‖ u8 len ‖ owner ‖ u8 len ‖ collection ‖ key (UTF-8)  → KeyRecord
//               keys of one collection sort together in byte order of the key (ListKeys, prefixes)
//   indexFile   0x1f ‖ filehash                                          → FileInfo
//               0x1f ‖ filehash ‖ storer id                              → StorageCommitment
//   indexNode   0x20 ‖ node id                                           → NodeRecord (balance filled in)
//   indexCursor 0x21                                                     → Cursor (last applied block)
//   indexStorerKey 0x22 ‖ storer id ‖ state key of the path              → the path's indexKey key
//               one entry per current commitment of a key (SetKey, Repair): ListStorerKeys
//   indexChunkSet 0x23 ‖ u64be(round)                                 → ChunkSetRecord of that block
//               every block with chunk commitments, as the block made it or as its last Repair left it
//   indexStorerChunkSet 0x24 ‖ storer id ‖ u64be(round)               → the round's indexChunkSet key
//               one entry per current commitment of a chunk set (block, chunk-set Repair):
//               ListStorerChunkSets, oldest block first (u64be sorts by round)
import { pathStateKey } from '../../lib/chain/state-keys.js';
import { u64be } from '../../lib/crypto/index.js';
import { Bucket, bucketKey } from '../../lib/storage/kv.js';

const INDEX_CHUNK_SET = Bucket.indexChunkSet;
const INDEX_STORER_CHUNK_SET = Bucket.indexStorerChunkSet;

const utf8 = new TextEncoder();

function short(s: string, what: string): Uint8Array {
  const b = utf8.encode(s);
  if (b.length > 255) throw new RangeError(`${what} is longer than 255 bytes`);
  return new Uint8Array([b.length, ...b]);
}

/** Prefix of every key of one collection. */
export function collectionPrefix(owner: string, collection: string): Uint8Array {
  return bucketKey(Bucket.indexKey, short(owner, 'owner'), short(collection, 'collection'));
}

export function keyRecordKey(owner: string, collection: string, key: string): Uint8Array {
  return bucketKey(Bucket.indexKey, short(owner, 'owner'), short(collection, 'collection'), utf8.encode(key));
}

export function fileInfoKey(filehash: Uint8Array): Uint8Array {
  return bucketKey(Bucket.indexFile, filehash);
}

export function fileLocationKey(filehash: Uint8Array, storerId: Uint8Array): Uint8Array {
  return bucketKey(Bucket.indexFile, filehash, storerId);
}

/** Prefix of a storer's entries in indexStorerKey. */
export function storerKeysPrefix(storerId: Uint8Array): Uint8Array {
  return bucketKey(Bucket.indexStorerKey, storerId);
}

export function storerKeyIndexKey(storerId: Uint8Array, owner: string, collection: string, key: string): Uint8Array {
  return bucketKey(Bucket.indexStorerKey, storerId, pathStateKey(owner, collection, key));
}

/** The ChunkSetRecord of the block of `round`. */
export function chunkSetKey(round: bigint): Uint8Array {
  return bucketKey(INDEX_CHUNK_SET, u64be(round));
}

/** Prefix of a storer's entries in indexStorerChunkSet. */
export function storerChunkSetsPrefix(storerId: Uint8Array): Uint8Array {
  return bucketKey(INDEX_STORER_CHUNK_SET, storerId);
}

export function storerChunkSetIndexKey(storerId: Uint8Array, round: bigint): Uint8Array {
  return bucketKey(INDEX_STORER_CHUNK_SET, storerId, u64be(round));
}

export function nodeKey(id: Uint8Array): Uint8Array {
  return bucketKey(Bucket.indexNode, id);
}

export const NODE_PREFIX = Uint8Array.of(Bucket.indexNode);
export const CURSOR_KEY = Uint8Array.of(Bucket.indexCursor);

/** The last block applied: its round, hash and seed (the next block must link to it). */
export interface Cursor {
  readonly round: number;
  readonly hash: Uint8Array;
  readonly seed: Uint8Array;
}

export function encodeCursor(c: Cursor): Uint8Array {
  const out = new Uint8Array(72);
  new DataView(out.buffer).setBigUint64(0, BigInt(c.round));
  out.set(c.hash, 8);
  out.set(c.seed, 40);
  return out;
}

export function decodeCursor(b: Uint8Array): Cursor {
  if (b.length !== 72) throw new Error(`indexer cursor is ${b.length} bytes, expected 72`);
  const round = Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0));
  return { round, hash: b.slice(8, 40), seed: b.slice(40, 72) };
}
