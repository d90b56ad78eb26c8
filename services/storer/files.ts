// Whole files on the storer (DESIGN §3, §7): streamed in while hashing, committed atomically, streamed
// out by range, and their Merkle trees for proofs. No gRPC here: handlers (server.ts) and Solicit
// (solicit.ts) feed it byte streams and turn its results into messages.
//
// Crash safety (docs/storer.md): bytes go to segment blobs of a fresh upload id, each durable when
// written; leaf hashes go to RocksDB under that upload id as they fill, after an in-progress marker.
// The commit is ONE synchronous RocksDB batch: the FileRecord (naming the upload id), the last leaf
// groups, and the marker's deletion. Before that batch nothing of the file is visible (reads go through
// the record); after it, all of it is durable. What a crash or a failed upload left behind (segments
// of an upload no record names, leaves of an upload whose marker remains) is removed by init().
import { LRUCache } from 'lru-cache';
import { randomBytes } from 'node:crypto';
import { KeyedLock } from '../../lib/async/keyed-lock.js';
import type { BlobStore } from '../../lib/storage/blob.js';
import type { KvOp, KvStore } from '../../lib/storage/kv.js';
import { prefixEnd } from '../../lib/storage/kv.js';
import { WolkError, invalidArgument, notFound, resourceExhausted } from '../../lib/grpc/errors.js';
import type { Logger } from '../../lib/log/logger.js';
import { FileHasher, MerkleTree, ReplicaHasher, isValidChunkSize } from '../../lib/merkle/index.js';
import {
  LEAF_GROUP,
  SEGMENT_BYTES,
  decodeFileRecord,
  encodeFileRecord,
  fileRecordKey,
  fileRecordPrefix,
  hex,
  leafGroupKey,
  leafPrefix,
  parseSegmentName,
  pendingKey,
  pendingPrefix,
  replicaGroupKey,
  replicaPrefix,
  segmentName,
  type FileRecord,
} from './layout.js';

/** A file's identity as the storer checks it (from a FileInfo). */
export interface FileId {
  readonly filehash: Uint8Array;
  readonly size: number;
  readonly chunkSize: number;
}

export interface FileStoreDeps {
  readonly kv: KvStore;
  readonly blobs: BlobStore;
  /** 32-byte Ed25519 id: replica leaves are bound to it. */
  readonly storerId: Uint8Array;
  readonly logger: Logger;
  readonly maxFileBytes: number;
  readonly maxConcurrentUploads: number;
  /** Bytes per segment blob (default SEGMENT_BYTES); tests use small ones to cross segment edges. */
  readonly segmentBytes?: number;
  /** Free bytes of the data volume now (statfs); undefined where it cannot be told (RADOS). */
  readonly freeBytes?: () => Promise<number | undefined>;
  /** The clock (default Date.now): FileRecord.storedAtMs, which the reclamation deadline counts from. */
  readonly now?: () => number;
}

/** Checks a FileInfo from the wire: INVALID_ARGUMENT for malformed fields, RESOURCE_EXHAUSTED above the size limit. */
export function checkFileInfo(info: { filehash: Uint8Array; size: bigint; chunkSize: number } | undefined, maxFileBytes: number, what = 'info'): FileId {
  if (!info) throw invalidArgument(`${what} is missing: the file's filehash, size and chunk_size`);
  if (info.filehash.length !== 32) throw invalidArgument(`${what}.filehash: expected 32 bytes, got ${info.filehash.length}`);
  if (!isValidChunkSize(info.chunkSize)) throw invalidArgument(`${what}.chunk_size: expected a power of two from 4096 to 32768, got ${info.chunkSize}`);
  if (info.size > BigInt(maxFileBytes)) throw resourceExhausted(`file of ${info.size} bytes exceeds this storer's limit of ${maxFileBytes} bytes (WOLK_MAX_FILE_BYTES)`);
  return { filehash: Uint8Array.from(info.filehash), size: Number(info.size), chunkSize: info.chunkSize };
}

/** Segment writes an upload keeps in flight while the next segment fills (memory: one buffer each, plus one). */
const SEGMENTS_IN_FLIGHT = 2;

/**
 * Collects 32-byte leaf hashes in LEAF_GROUP-sized buffers and writes each full group to RocksDB at
 * once (a plain write: the commit's sync batch makes it durable), so memory stays one group per tree
 * whatever the file size.
 */
class LeafSink {
  private group = new Uint8Array(LEAF_GROUP * 32);
  private fill = 0;
  private index = 0;
  private readonly writes: Promise<void>[] = [];

  constructor(
    private readonly kv: KvStore,
    private readonly keyOf: (group: number) => Uint8Array,
  ) {}

  push(leaf: Uint8Array): void {
    this.group.set(leaf, this.fill * 32);
    if (++this.fill === LEAF_GROUP) {
      const w = this.kv.put(this.keyOf(this.index++), this.group);
      w.catch(() => undefined); // awaited in drain()
      this.writes.push(w);
      this.group = new Uint8Array(LEAF_GROUP * 32);
      this.fill = 0;
    }
  }

  /** Waits for the groups written so far. */
  async drain(): Promise<void> {
    const ws = this.writes.splice(0);
    await Promise.all(ws);
  }

  /** The last, partial group as a put for the commit batch (none when empty). */
  lastOp(): KvOp[] {
    return this.fill === 0 ? [] : [{ type: 'put', key: this.keyOf(this.index), value: this.group.subarray(0, this.fill * 32) }];
  }
}

/** The next item, or the abort, whichever is first. A fresh listener per item: racing every item
 * against one long-lived pending promise would pile up reactions that keep every item alive. */
function nextOrAbort<T>(it: AsyncIterator<T>, signal: AbortSignal): Promise<IteratorResult<T>> {
  const reason = () => (signal.reason instanceof Error ? signal.reason : new WolkError('CANCELLED', 'call cancelled'));
  if (signal.aborted) return Promise.reject(reason());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    it.next().then(
      (r) => {
        signal.removeEventListener('abort', onAbort);
        resolve(r);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** Iterates `source` until it ends or `signal` aborts (a cancelled stream may never end by itself). */
async function* untilAborted<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncIterable<T> {
  const it = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      const r = await nextOrAbort(it, signal);
      if (r.done) return;
      yield r.value;
    }
  } finally {
    void Promise.resolve(it.return?.()).catch(() => undefined);
  }
}

interface Trees {
  readonly file: MerkleTree;
  readonly replica: MerkleTree;
}

const TREE_CACHE_BYTES = 64 * 1024 * 1024;

export class FileStore {
  private readonly kv: KvStore;
  private readonly blobs: BlobStore;
  private readonly log: Logger;
  private readonly segmentBytes: number;
  private uploads = 0;
  private readonly locks = new KeyedLock();
  /** Trees of recently proven files, bounded by their bytes (a file's two trees: 4 × 32 bytes per chunk). */
  private readonly trees = new LRUCache<string, Promise<Trees>>({ maxSize: TREE_CACHE_BYTES });
  /** Committed files and their total size (GetInfo). */
  files = 0;
  bytes = 0;

  /** Bytes reserved by uploads in progress (reserveSpace). */
  private reservedBytes = 0;

  private readonly now: () => number;

  constructor(private readonly deps: FileStoreDeps) {
    this.now = deps.now ?? Date.now;
    this.kv = deps.kv;
    this.blobs = deps.blobs;
    this.log = deps.logger.child({ module: 'files' });
    this.segmentBytes = deps.segmentBytes ?? SEGMENT_BYTES;
  }

  get activeUploads(): number {
    return this.uploads;
  }

  /**
   * Start-up: counts committed files and removes every segment no committed record names (uploads
   * that failed, were cancelled, or were cut short by a crash before their commit).
   */
  async init(): Promise<{ files: number; removedSegments: number }> {
    const committed = new Map<string, string>();
    const prefix = fileRecordPrefix();
    for await (const e of this.kv.range({ gte: prefix, lt: prefixEnd(prefix) })) {
      const r = decodeFileRecord(e.value);
      committed.set(hex(e.key.subarray(prefix.length)), r.uploadId);
      this.files++;
      this.bytes += r.size;
    }
    // Leaves of uploads that never committed: each left its in-progress marker.
    const pending = pendingPrefix();
    const unfinished: { filehash: Uint8Array; uploadId: string }[] = [];
    for await (const e of this.kv.range({ gte: pending, lt: prefixEnd(pending) })) {
      unfinished.push({ filehash: Uint8Array.from(e.value), uploadId: hex(e.key.subarray(pending.length)) });
    }
    for (const u of unfinished) await this.removeLeaves(u.filehash, u.uploadId);
    const garbage: string[] = [];
    for await (const name of this.blobs.list('f/')) {
      const p = parseSegmentName(name);
      if (!p || committed.get(p.filehashHex) !== p.uploadId) garbage.push(name);
    }
    for (const name of garbage) await this.blobs.remove(name);
    if (garbage.length > 0 || unfinished.length > 0) {
      this.log.info('removed what uncommitted uploads left', { segments: garbage.length, leafSets: unfinished.length });
    }
    return { files: this.files, removedSegments: garbage.length };
  }

  async get(filehash: Uint8Array): Promise<FileRecord | null> {
    const v = await this.kv.get(fileRecordKey(filehash));
    return v === null ? null : decodeFileRecord(v);
  }

  async require(filehash: Uint8Array): Promise<FileRecord> {
    if (filehash.length !== 32) throw invalidArgument(`filehash: expected 32 bytes, got ${filehash.length}`);
    const r = await this.get(filehash);
    if (!r) throw notFound(`this storer has no file ${hex(filehash)}`);
    return r;
  }

  /** Takes one of WOLK_MAX_CONCURRENT_UPLOADS slots or refuses; call the returned function to give it back. */
  acquireUpload(): () => void {
    if (this.uploads >= this.deps.maxConcurrentUploads) {
      throw resourceExhausted(`${this.uploads} uploads already in progress, the limit is ${this.deps.maxConcurrentUploads} (WOLK_MAX_CONCURRENT_UPLOADS); retry later`);
    }
    this.uploads++;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.uploads--;
      }
    };
  }

  /**
   * Reserves room for an upload of `bytes` or refuses (RESOURCE_EXHAUSTED): the volume's free bytes less
   * what the uploads in progress have reserved must hold it. Concurrent uploads that each fit alone but
   * not together are refused up front instead of all failing on a full disk mid-write. Conservative: a
   * reservation is held whole until the upload ends, while its bytes already written also lower the
   * free space. Call the returned function when the upload ends (committed or not).
   */
  async reserveSpace(bytes: number): Promise<() => void> {
    const free = this.deps.freeBytes ? await this.deps.freeBytes() : undefined;
    if (free !== undefined && bytes > free - this.reservedBytes) {
      const held = this.reservedBytes > 0 ? `, ${this.reservedBytes} of them reserved by uploads in progress` : '';
      throw resourceExhausted(`a file of ${bytes} bytes does not fit on the data volume (${free} bytes free${held})`);
    }
    this.reservedBytes += bytes;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.reservedBytes -= bytes;
      }
    };
  }

  /**
   * Streams a file in: hashes (filehash and this storer's replica leaves) while writing segments, then
   * commits iff the bytes are exactly `id.size` long and hash to `id.filehash`. On any failure, the
   * upload's segments and leaves are removed and nothing is visible. Memory: two segment buffers and
   * one 128 KiB leaf group per tree, whatever the file size.
   */
  async ingest(id: FileId, pieces: AsyncIterable<Uint8Array>, signal: AbortSignal): Promise<{ record: FileRecord; created: boolean }> {
    const existing = await this.touch(id.filehash);
    if (existing) return { record: existing, created: false };
    const fhHex = hex(id.filehash);
    const uploadId = randomBytes(8).toString('hex');
    const leaves = new LeafSink(this.kv, (g) => leafGroupKey(id.filehash, uploadId, g));
    const replicaLeaves = new LeafSink(this.kv, (g) => replicaGroupKey(id.filehash, uploadId, g));
    const fileHasher = new FileHasher({ chunkSize: id.chunkSize, onChunk: (_i, _c, leaf) => leaves.push(leaf) });
    const replicaHasher = new ReplicaHasher(this.deps.storerId, id.filehash, { chunkSize: id.chunkSize, onChunk: (_i, _c, leaf) => replicaLeaves.push(leaf) });
    const segBytes = Math.max(1, Math.min(this.segmentBytes, id.size));
    // A small pool of segment buffers: one fills while up to SEGMENTS_IN_FLIGHT earlier ones are being
    // written (each write ends with an fsync; overlapping them keeps the disk and the hashing busy).
    const pool = Math.min(SEGMENTS_IN_FLIGHT + 1, Math.ceil(id.size / segBytes) || 1);
    const buffers = Array.from({ length: pool }, () => new Uint8Array(segBytes));
    let cur = 0;
    let fill = 0;
    let segments = 0;
    let total = 0;
    // Segment writes in flight, oldest first; each uses its buffer until it settles.
    const writing: Promise<void>[] = [];
    const settleAll = () => Promise.all(writing.splice(0)).then(() => undefined);

    const flush = async () => {
      const p = this.blobs.put(segmentName(fhHex, uploadId, segments++), buffers[cur]!.subarray(0, fill));
      p.catch(() => undefined); // awaited below; this only keeps an early failure from counting as unhandled
      writing.push(p);
      cur = (cur + 1) % pool;
      fill = 0;
      // The next buffer is free once the write that used it has settled (the oldest in flight).
      if (writing.length >= pool) await writing.shift();
      await leaves.drain();
      await replicaLeaves.drain();
    };

    let started = false;
    try {
      // Before any leaf: the marker by which a crash's leftovers are found (WAL order keeps it first).
      await this.kv.put(pendingKey(uploadId), id.filehash);
      started = true;
      for await (const piece of untilAborted(pieces, signal)) {
        if (total + piece.length > id.size) throw invalidArgument(`the stream carries more than the ${id.size} bytes announced in info.size`);
        fileHasher.update(piece);
        replicaHasher.update(piece);
        total += piece.length;
        let o = 0;
        while (o < piece.length) {
          const take = Math.min(segBytes - fill, piece.length - o);
          buffers[cur]!.set(take === piece.length ? piece : piece.subarray(o, o + take), fill);
          fill += take;
          o += take;
          if (fill === segBytes) await flush();
        }
      }
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new WolkError('CANCELLED', 'call cancelled');
      if (total !== id.size) throw invalidArgument(`the stream ended after ${total} of the ${id.size} bytes announced in info.size`);
      const digest = fileHasher.digest();
      if (Buffer.compare(Buffer.from(digest.filehash), Buffer.from(id.filehash)) !== 0) {
        throw invalidArgument(`the bytes hash to ${hex(digest.filehash)}, not to the filehash announced (${fhHex}) with chunk size ${id.chunkSize}`);
      }
      const replica = replicaHasher.digest();
      if (fill > 0) await flush();
      await settleAll();
      await leaves.drain();
      await replicaLeaves.drain();
      const record: FileRecord = {
        size: id.size,
        chunkSize: id.chunkSize,
        uploadId,
        segmentBytes: this.segmentBytes,
        treeRoot: digest.root,
        replicaRoot: replica.replicaRoot,
        storedAtMs: this.now(),
      };
      return await this.commit(id.filehash, record, [...leaves.lastOp(), ...replicaLeaves.lastOp()], segments);
    } catch (err) {
      await Promise.allSettled(writing.splice(0));
      await leaves.drain().catch(() => undefined);
      await replicaLeaves.drain().catch(() => undefined);
      await this.removeUpload(fhHex, uploadId, segments);
      if (started) await this.removeLeaves(id.filehash, uploadId).catch((e: unknown) => this.log.warn('could not remove the leaves of a failed upload', { error: e }));
      throw err;
    }
  }

  /** The commit point: one synchronous batch, serialized per filehash (a second upload of it is dropped). */
  private commit(filehash: Uint8Array, record: FileRecord, lastLeaves: KvOp[], segments: number) {
    return this.exclusive(hex(filehash), async (): Promise<{ record: FileRecord; created: boolean }> => {
      const existing = await this.touchHeld(filehash);
      if (existing) {
        await this.removeUpload(hex(filehash), record.uploadId, segments);
        await this.removeLeaves(filehash, record.uploadId);
        return { record: existing, created: false };
      }
      const ops: KvOp[] = [
        { type: 'put', key: fileRecordKey(filehash), value: encodeFileRecord(record) },
        ...lastLeaves,
        { type: 'del', key: pendingKey(record.uploadId) },
      ];
      await this.kv.batch(ops, { sync: true });
      this.files++;
      this.bytes += record.size;
      return { record, created: true };
    });
  }

  /**
   * The committed file, its storedAtMs moved to now (durably) when it is older than a second: a file
   * asked for again (SetFile, Solicit) may be named by a SetKey still to come, so the reclamation
   * deadline starts again (reclaimer.ts). Serialized with reclaim(): after a reclaim, null.
   */
  touch(filehash: Uint8Array): Promise<FileRecord | null> {
    return this.exclusive(hex(filehash), () => this.touchHeld(filehash));
  }

  /** touch() for a caller that holds the file's lock. */
  private async touchHeld(filehash: Uint8Array): Promise<FileRecord | null> {
    const r = await this.get(filehash);
    if (!r) return null;
    const now = this.now();
    if (now - r.storedAtMs < 1000) return r;
    const touched: FileRecord = { ...r, storedAtMs: now };
    await this.kv.put(fileRecordKey(filehash), encodeFileRecord(touched), { sync: true });
    return touched;
  }

  /**
   * Deletes a committed file if `reclaimable(record)` still holds once the file's lock is taken (the
   * record may have been touched or covered since the caller looked). Crash-safe: ONE synchronous batch
   * deletes the record (the commit point: from then on the file does not exist) and puts back the
   * upload's in-progress marker; then segments and leaves go. A crash in between leaves exactly what
   * init() removes at the next start (segments no record names, leaves of a marked upload), never a
   * record whose bytes are gone. Returns the bytes freed, or null when the file stays (or was gone).
   */
  reclaim(filehash: Uint8Array, reclaimable: (r: FileRecord) => Promise<boolean>): Promise<number | null> {
    return this.exclusive(hex(filehash), async () => {
      const r = await this.get(filehash);
      if (!r || !(await reclaimable(r))) return null;
      await this.kv.batch(
        [
          { type: 'del', key: fileRecordKey(filehash) },
          { type: 'put', key: pendingKey(r.uploadId), value: Uint8Array.from(filehash) },
        ],
        { sync: true },
      );
      this.files--;
      this.bytes -= r.size;
      this.forgetTrees(hex(filehash));
      await this.removeUpload(hex(filehash), r.uploadId, Math.ceil(r.size / r.segmentBytes));
      await this.removeLeaves(filehash, r.uploadId);
      return r.size;
    });
  }

  private forgetTrees(key: string): void {
    this.trees.delete(key);
  }

  /** Committed files' records, in filehash order (the reclaimer's scan). */
  async *records(): AsyncGenerator<{ filehash: Uint8Array; record: FileRecord }> {
    const prefix = fileRecordPrefix();
    for await (const e of this.kv.range({ gte: prefix, lt: prefixEnd(prefix) })) yield { filehash: Uint8Array.from(e.key.subarray(prefix.length)), record: decodeFileRecord(e.value) };
  }

  private async removeUpload(fhHex: string, uploadId: string, segments: number): Promise<void> {
    for (let s = 0; s < segments; s++) {
      try {
        await this.blobs.remove(segmentName(fhHex, uploadId, s));
      } catch (err) {
        // Left for the next start's clean-up; the file is not committed, so it is invisible anyway.
        this.log.warn('could not remove a segment of a failed upload', { file: fhHex, uploadId, segment: s, error: err });
      }
    }
  }

  /** Deletes an uncommitted upload's leaf groups and its in-progress marker. */
  private async removeLeaves(filehash: Uint8Array, uploadId: string): Promise<void> {
    for (const prefix of [leafPrefix(filehash, uploadId), replicaPrefix(filehash, uploadId)]) {
      const ops: KvOp[] = [];
      for await (const e of this.kv.range({ gte: prefix, lt: prefixEnd(prefix) })) ops.push({ type: 'del', key: Uint8Array.from(e.key) });
      await this.kv.batch(ops);
    }
    await this.kv.del(pendingKey(uploadId), { sync: true });
  }

  private exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(key, fn);
  }

  /**
   * Bytes [start, end) in pieces that end on multiples of `pieceBytes` (a power of two, so pieces are
   * chunk-aligned and never cross a segment), reading one piece ahead of the consumer.
   */
  async *read(filehash: Uint8Array, record: FileRecord, start: number, end: number, pieceBytes: number): AsyncGenerator<{ offset: number; data: Uint8Array }> {
    const fhHex = hex(filehash);
    const fetch = async (pos: number) => {
      const seg = Math.floor(pos / record.segmentBytes);
      const segStart = seg * record.segmentBytes;
      const pieceEnd = Math.min(end, (Math.floor(pos / pieceBytes) + 1) * pieceBytes, segStart + record.segmentBytes);
      const data = await this.blobs.get(segmentName(fhHex, record.uploadId, seg), pos - segStart, pieceEnd - pos);
      if (data === null || data.length !== pieceEnd - pos) {
        throw new WolkError('INTERNAL', `bytes ${pos}-${pieceEnd - 1} of file ${fhHex} are missing on this storer`);
      }
      return { offset: pos, data };
    };
    let next = start < end ? fetch(start) : null;
    next?.catch(() => undefined);
    while (next) {
      const piece = await next;
      const after = piece.offset + piece.data.length;
      next = after < end ? fetch(after) : null;
      next?.catch(() => undefined);
      yield piece;
    }
  }

  /** Chunk `index` of a committed file. */
  async readChunk(filehash: Uint8Array, record: FileRecord, index: number): Promise<Uint8Array> {
    const start = index * record.chunkSize;
    const end = Math.min(record.size, start + record.chunkSize);
    const parts: Uint8Array[] = [];
    for await (const p of this.read(filehash, record, start, end, record.chunkSize)) parts.push(p.data);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** The file tree and this storer's replica tree, rebuilt from the stored leaf hashes (cached, bounded). */
  treesOf(filehash: Uint8Array, record: FileRecord): Promise<Trees> {
    const key = hex(filehash);
    const hit = this.trees.get(key);
    if (hit) return hit;
    const leafCount = Math.ceil(record.size / record.chunkSize);
    const trees = (async () => {
      const load = async (prefix: Uint8Array) => {
        const parts: Uint8Array[] = [];
        for await (const e of this.kv.range({ gte: prefix, lt: prefixEnd(prefix) })) parts.push(e.value);
        const flat = Buffer.concat(parts);
        if (flat.length !== leafCount * 32) throw new WolkError('INTERNAL', `leaf hashes of ${key} are incomplete (${flat.length / 32} of ${leafCount})`);
        return MerkleTree.fromLeaves(new Uint8Array(flat.buffer, flat.byteOffset, flat.length));
      };
      return { file: await load(leafPrefix(filehash, record.uploadId)), replica: await load(replicaPrefix(filehash, record.uploadId)) };
    })();
    // Trees larger than the whole cache are not kept (lru-cache skips them): built again per proof.
    this.trees.set(key, trees, { size: Math.max(1, leafCount * 32 * 4) });
    trees.catch(() => {
      if (this.trees.peek(key) === trees) this.trees.delete(key);
    });
    return trees;
  }

  /** Fault switch drop-after-commit: deletes a file's bytes, keeping its record (a lazy storer). */
  async dropBytes(filehash: Uint8Array): Promise<void> {
    const record = await this.get(filehash);
    if (!record) return;
    const segments = Math.ceil(record.size / record.segmentBytes);
    await this.removeUpload(hex(filehash), record.uploadId, segments);
  }
}
