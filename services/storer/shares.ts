// Chunks by chunk id (SetShare / GetShare / VerifyShare): each chunk is one RocksDB value under
// chunk ‖ SHA-256(chunk), written with a synchronous write before SetShare answers.
import { sha256 } from '../../lib/crypto/hash.js';
import { invalidArgument, notFound } from '../../lib/grpc/errors.js';
import { MAX_CHUNK_SIZE } from '../../lib/merkle/index.js';
import type { KvStore } from '../../lib/storage/kv.js';
import { prefixEnd } from '../../lib/storage/kv.js';
import { LRUCache } from 'lru-cache';
import { chunkKey, chunkPrefix, hex } from './layout.js';

/** SetShares: chunks per call at most (storer.proto). */
export const MAX_CHUNKS_PER_CALL = 1024;

/** INVALID_ARGUMENT for more than MAX_CHUNKS_PER_CALL chunks or one above MAX_CHUNK_SIZE (checked before anything is stored). */
export function checkChunkSizes(datas: readonly Uint8Array[]): void {
  if (datas.length > MAX_CHUNKS_PER_CALL) throw invalidArgument(`${datas.length} chunks in one call: at most ${MAX_CHUNKS_PER_CALL}`);
  datas.forEach((d, i) => {
    if (d.length > MAX_CHUNK_SIZE) throw invalidArgument(`chunk ${i} has ${d.length} bytes: at most ${MAX_CHUNK_SIZE}; nothing was stored`);
  });
}

export class ShareStore {
  /** Chunks stored and their bytes (GetInfo). */
  count = 0;
  bytes = 0;
  /** Writes in progress by chunk id, so concurrent puts of one new chunk write (and count) it once. */
  private readonly writing = new Map<string, Promise<void>>();

  /** Deletions in progress by chunk id (reclaim): a write of one of them waits, then writes it again. */
  private readonly deleting = new Map<string, Promise<void>>();
  /** Told the ids of every chunk written or checked for a commitment, before anything is awaited (the reclaimer restarts their clock). */
  onUse: (ids: readonly Uint8Array[]) => void = () => undefined;
  /**
   * Lengths of chunks known to be held (written, or read, by this store), by id: SetShares of a chunk
   * already here and CommitChunks' lengths answer from it instead of reading the whole value (every
   * proposer of every period sends a block's chunks, and the reads were 23 % of a storer's main thread
   * under the consensus benchmark, 2026-12-07). Every deletion goes through this store and drops its ids.
   */
  private readonly held: LRUCache<string, number>;
  /** Deletions started so far: a read that a deletion may have overtaken does not fill `held`. */
  private deletionEpoch = 0;

  constructor(
    private readonly kv: KvStore,
    heldCapacity = 100_000,
  ) {
    this.held = new LRUCache<string, number>({ max: Math.max(1, heldCapacity) });
  }

  /** Waits for the deletions in progress among `ids`. */
  private async afterDeletions(ids: readonly Uint8Array[]): Promise<void> {
    if (this.deleting.size === 0) return;
    const waits = ids.flatMap((id) => {
      const d = this.deleting.get(hex(id));
      return d ? [d] : [];
    });
    await Promise.all(waits);
  }

  /**
   * Deletes the chunks for which `stillReclaimable(id)` holds at the moment the deletion starts (checked
   * synchronously, so a write that used a chunk before it is not deleted, and one after waits for the
   * deletion and then stores the chunk again). One synchronous batch. Returns the chunks and bytes freed.
   */
  async reclaim(ids: readonly Uint8Array[], stillReclaimable: (id: Uint8Array) => boolean): Promise<{ chunks: number; bytes: number }> {
    const held = await this.getMany(ids);
    const gone = ids.flatMap((id, i) => (held[i] && !this.deleting.has(hex(id)) && !this.writing.has(hex(id)) && stillReclaimable(id) ? [{ id, bytes: held[i].length }] : []));
    if (gone.length === 0) return { chunks: 0, bytes: 0 };
    this.deletionEpoch++;
    for (const g of gone) this.held.delete(hex(g.id));
    const write = this.kv.batch(gone.map((g) => ({ type: 'del' as const, key: chunkKey(g.id) })), { sync: true });
    for (const g of gone) this.deleting.set(hex(g.id), write.catch(() => undefined));
    let bytes = 0;
    try {
      await write;
      for (const g of gone) {
        this.count--;
        this.bytes -= g.bytes;
        bytes += g.bytes;
      }
    } finally {
      for (const g of gone) this.deleting.delete(hex(g.id));
    }
    return { chunks: gone.length, bytes };
  }

  /** Counts what is stored (one scan at start: reads every chunk once). */
  async init(): Promise<void> {
    const prefix = chunkPrefix();
    for await (const e of this.kv.range({ gte: prefix, lt: prefixEnd(prefix) })) {
      this.count++;
      this.bytes += e.value.length;
    }
  }

  /** Stores a chunk (idempotent); `expectedId`, when not empty, must be its SHA-256. */
  async put(data: Uint8Array, expectedId: Uint8Array): Promise<Uint8Array> {
    if (data.length > MAX_CHUNK_SIZE) throw invalidArgument(`chunk of ${data.length} bytes: at most ${MAX_CHUNK_SIZE}`);
    const id = sha256(data);
    if (expectedId.length > 0) {
      if (expectedId.length !== 32) throw invalidArgument(`chunk_id: expected 32 bytes, got ${expectedId.length}`);
      if (Buffer.compare(Buffer.from(expectedId), Buffer.from(id)) !== 0) {
        throw invalidArgument(`chunk_id ${hex(expectedId)} is not the SHA-256 of the data (${hex(id)}); nothing was stored`);
      }
    }
    const k = hex(id);
    this.onUse([id]);
    await this.afterDeletions([id]);
    const pending = this.writing.get(k);
    if (pending) {
      await pending;
      return id;
    }
    if (this.held.has(k) || (await this.kv.get(chunkKey(id))) !== null) return id;
    if (this.writing.has(k)) {
      await this.writing.get(k);
      return id;
    }
    const write = this.kv.put(chunkKey(id), data, { sync: true }).then(() => {
      this.count++;
      this.bytes += data.length;
      this.held.set(k, data.length);
    });
    this.writing.set(k, write);
    try {
      await write;
    } finally {
      this.writing.delete(k);
    }
    return id;
  }

  /**
   * Stores several chunks in one synchronous batch (SetShares); all are checked first, so a malformed
   * one stores nothing. Chunks already stored (or being stored) are not written again. Ids in order.
   */
  async putMany(datas: readonly Uint8Array[], hashed?: readonly Uint8Array[]): Promise<Uint8Array[]> {
    checkChunkSizes(datas);
    // `hashed`: the ids the caller computed already (SetShares checks its signature over them).
    const ids = hashed && hashed.length === datas.length ? [...hashed] : datas.map((d) => sha256(d));
    this.onUse(ids);
    await this.afterDeletions(ids);
    const fresh = new Map<string, { id: Uint8Array; data: Uint8Array }>();
    const waits: Promise<void>[] = [];
    await Promise.all(
      ids.map(async (id, i) => {
        const k = hex(id);
        const pending = this.writing.get(k);
        if (pending) return void waits.push(pending);
        if (fresh.has(k) || this.held.has(k)) return;
        const epoch = this.deletionEpoch;
        const stored = await this.kv.get(chunkKey(id));
        if (stored !== null) {
          if (epoch === this.deletionEpoch) this.held.set(k, stored.length);
          return;
        }
        fresh.set(k, { id, data: datas[i]! });
      }),
    );
    if (fresh.size > 0) {
      const write = this.kv.batch([...fresh.values()].map((c) => ({ type: 'put' as const, key: chunkKey(c.id), value: c.data })), { sync: true });
      for (const k of fresh.keys()) this.writing.set(k, write);
      try {
        await write;
        for (const [k, c] of fresh) {
          this.count++;
          this.bytes += c.data.length;
          this.held.set(k, c.data.length);
        }
      } finally {
        for (const k of fresh.keys()) this.writing.delete(k);
      }
    }
    await Promise.all(waits);
    return ids;
  }

  /** Deletes chunks (test fault drop-after-commit only): those held are removed in one batch. */
  async drop(ids: readonly Uint8Array[]): Promise<number> {
    const held = await this.getMany(ids);
    const ops = ids.flatMap((id, i) => (held[i] ? [{ type: 'del' as const, key: chunkKey(id) }] : []));
    if (ops.length === 0) return 0;
    this.deletionEpoch++;
    for (const id of ids) this.held.delete(hex(id));
    await this.kv.batch(ops, { sync: true });
    for (const v of held) {
      if (!v) continue;
      this.count--;
      this.bytes -= v.length;
    }
    return ops.length;
  }

  /** The stored length of each chunk id, or null where it is not held. */
  async lengths(ids: readonly Uint8Array[]): Promise<(number | null)[]> {
    // CommitChunks asks before it signs: the chunks it finds must outlive the commitment's deadline.
    this.onUse(ids);
    await this.afterDeletions(ids);
    const out = ids.map((id) => this.held.get(hex(id)) ?? null);
    const missing = ids.flatMap((id, i) => (out[i] === null ? [i] : []));
    if (missing.length > 0) {
      const read = await this.getMany(missing.map((i) => ids[i]!));
      missing.forEach((i, j) => (out[i] = read[j] === null ? null : read[j]!.length));
    }
    return out;
  }

  /** Each chunk, or null where it is not held (reads 256 at a time). */
  async getMany(ids: readonly Uint8Array[]): Promise<(Uint8Array | null)[]> {
    const out: (Uint8Array | null)[] = new Array<Uint8Array | null>(ids.length).fill(null);
    for (let i = 0; i < ids.length; i += 256) {
      await Promise.all(
        ids.slice(i, i + 256).map(async (id, j) => {
          const epoch = this.deletionEpoch;
          const v = await this.kv.get(chunkKey(id));
          out[i + j] = v;
          if (v !== null && epoch === this.deletionEpoch) this.held.set(hex(id), v.length);
        }),
      );
    }
    return out;
  }

  async require(chunkId: Uint8Array): Promise<Uint8Array> {
    if (chunkId.length !== 32) throw invalidArgument(`chunk_id: expected 32 bytes, got ${chunkId.length}`);
    const data = await this.kv.get(chunkKey(chunkId));
    if (data === null) throw notFound(`this storer has no chunk ${hex(chunkId)}`);
    return data;
  }
}
