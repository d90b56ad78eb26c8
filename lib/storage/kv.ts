// The key-value store every stateful service persists through. Two implementations sit side by side:
// RocksDB on disk (rocksdb.ts, production) and in memory (memory.ts, for unit tests and the simulator).
// One shared compliance suite (test/unit/storage/kv-suite.ts) runs against each.

/** One write in an atomic batch. */
export type KvOp =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array };

export interface KvWriteOptions {
  /**
   * Durable before the promise resolves (RocksDB sync write / fsync of the WAL). Anything a service
   * acknowledges to a caller must be written with sync: true.
   */
  readonly sync?: boolean;
}

export interface KvRangeOptions {
  /** Inclusive lower bound. */
  readonly gte?: Uint8Array;
  /** Exclusive upper bound. */
  readonly lt?: Uint8Array;
  readonly reverse?: boolean;
  readonly limit?: number;
}

export interface KvEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

export interface KvStore {
  /** Returns null when the key is absent (driver not-found errors never escape). */
  get(key: Uint8Array): Promise<Uint8Array | null>;
  put(key: Uint8Array, value: Uint8Array, options?: KvWriteOptions): Promise<void>;
  del(key: Uint8Array, options?: KvWriteOptions): Promise<void>;
  /** Applies all ops atomically: after a crash either all or none are visible. */
  batch(ops: readonly KvOp[], options?: KvWriteOptions): Promise<void>;
  /** Iterates keys in byte order within the range. */
  range(options?: KvRangeOptions): AsyncIterable<KvEntry>;
  close(): Promise<void>;
}

/**
 * Key prefixes (buckets) of every store in the project. A number is never reused, even after its bucket
 * is retired, so old data can never be misread as a new kind.
 */
export enum Bucket {
  /** Node-local metadata (schema version, identity). */
  meta = 1,
  /** Storer: chunks by chunkID. */
  chunk = 2,
  /** Storer: file metadata by filehash. */
  file = 3,
  /** Storer: file bytes, by filehash ‖ chunk index. */
  fileChunk = 4,
  /** Storer: replica roots and commitments by filehash. */
  replica = 5,
  /** Storer: what certified blocks hold this storer responsible for (services/storer/coverage.ts). */
  coverage = 6,
  /** Sparse Merkle tree nodes by node hash. */
  smtNode = 10,
  /** Sparse Merkle tree roots by version (block round). */
  smtRoot = 11,
  /** Consensus: blocks by round. */
  block = 20,
  /** Consensus: certificates by round. */
  certificate = 21,
  /** Consensus: agreement state for crash recovery. */
  agreement = 22,
  /** Indexer: read model. */
  indexKey = 30,
  indexFile = 31,
  indexNode = 32,
  indexCursor = 33,
  /** Indexer: storer id ‖ key's state key → the key's indexKey (ListStorerKeys, docs/repair.md). */
  indexStorerKey = 34,
  /** Indexer: u64be(round) → the ChunkSetRecord of that block's chunk set (docs/repair.md §9). */
  indexChunkSet = 35,
  /** Indexer: storer id ‖ u64be(round) → the round's indexChunkSet key (ListStorerChunkSets). */
  indexStorerChunkSet = 36,
  /** Rewards: tallies by round. */
  tally = 40,
  /** Rewards: files and chunk sets the repairer found lost, by label (services/rewards/lost-store.ts). */
  lost = 41,
}

/** `bucket byte ‖ parts…`: keys of one bucket sort together and never collide with another's. */
export function bucketKey(bucket: Bucket, ...parts: Uint8Array[]): Uint8Array {
  let length = 1;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  out[0] = bucket;
  let offset = 1;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** The exclusive upper bound of every key starting with `prefix` (for range scans). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  throw new RangeError('prefixEnd: a prefix of only 0xff bytes has no upper bound');
}
