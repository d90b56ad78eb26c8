// BlobStore on a KvStore (RocksDB in production, memory in tests): the alternative to blob-fs.ts for
// file bytes, kept so the two can be measured side by side (bench/storer.ts; docs/storer.md).
//
// Keys, under one caller-chosen bucket byte:
//   bucket ‖ 0x00 ‖ name                      → u64be(size) ‖ u32be(piece count)   (the object's head)
//   bucket ‖ 0x01 ‖ name ‖ 0x00 ‖ u32be(i)    → piece i (PIECE_BYTES each, the last shorter)
// Names never contain 0x00, so heads sort in name order and one name's pieces never interleave with
// another's. A put replaces head and pieces in ONE synchronous batch (atomic and durable); a range
// read touches only the pieces it needs.
import { KeyedLock } from '../async/keyed-lock.js';
import type { BlobStat, BlobStore } from './blob.js';
import { assertBlobName } from './blob.js';
import { StorageError } from './errors.js';
import { prefixEnd, type Bucket, type KvOp, type KvStore } from './kv.js';

export const PIECE_BYTES = 256 * 1024;

const HEAD = 0x00;
const PIECE = 0x01;
const enc = new TextEncoder();
const dec = new TextDecoder();

function assertPrefix(prefix: string): void {
  if (!/^[A-Za-z0-9._/-]*$/.test(prefix)) throw new RangeError(`invalid blob prefix ${JSON.stringify(prefix)}: expected [A-Za-z0-9._/-]*`);
}

function assertRange(offset: number, length: number | undefined): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset must be a non-negative integer, got ${offset}`);
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) throw new RangeError(`length must be a non-negative integer, got ${length}`);
}

export interface KvBlobOptions {
  /** The bucket byte all keys of this store start with (the storer uses Bucket.fileChunk). */
  readonly bucket: Bucket;
  /** Close the KvStore when the blob store closes (default false: the caller owns it). */
  readonly ownsKv?: boolean;
}

export function createKvBlobStore(kv: KvStore, options: KvBlobOptions): BlobStore {
  const bucket = options.bucket as number;
  let closed = false;
  // Puts and removes of one name are serialized: each reads the old head to delete its pieces.
  const locks = new KeyedLock();

  const headKey = (name: string) => {
    const n = enc.encode(name);
    const k = new Uint8Array(2 + n.length);
    k[0] = bucket;
    k[1] = HEAD;
    k.set(n, 2);
    return k;
  };
  const pieceKey = (name: string, i: number) => {
    const n = enc.encode(name);
    const k = new Uint8Array(2 + n.length + 1 + 4);
    k[0] = bucket;
    k[1] = PIECE;
    k.set(n, 2);
    k[2 + n.length] = 0;
    new DataView(k.buffer).setUint32(3 + n.length, i, false);
    return k;
  };
  const readHead = async (name: string): Promise<{ size: number; pieces: number } | null> => {
    const v = await kv.get(headKey(name));
    if (v === null) return null;
    const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
    return { size: Number(view.getBigUint64(0, false)), pieces: view.getUint32(8, false) };
  };

  async function run<T>(op: string, name: string, fn: () => Promise<T>): Promise<T> {
    if (closed) throw new StorageError(op, `kv-blob/${name}`, new Error('store is closed'));
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw new StorageError(op, `kv-blob/${name}`, err as Error);
    }
  }

  function exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return locks.run(name, fn);
  }

  return {
    async put(name, data) {
      assertBlobName(name);
      await run('put', name, () =>
        exclusive(name, async () => {
          const old = await readHead(name);
          const pieces = Math.ceil(data.byteLength / PIECE_BYTES);
          const ops: KvOp[] = [];
          for (let i = pieces; i < (old?.pieces ?? 0); i++) ops.push({ type: 'del', key: pieceKey(name, i) });
          for (let i = 0; i < pieces; i++) {
            // A copy: the caller may reuse its buffer before the batch is written.
            ops.push({ type: 'put', key: pieceKey(name, i), value: data.slice(i * PIECE_BYTES, Math.min(data.byteLength, (i + 1) * PIECE_BYTES)) });
          }
          const head = new Uint8Array(12);
          const view = new DataView(head.buffer);
          view.setBigUint64(0, BigInt(data.byteLength), false);
          view.setUint32(8, pieces, false);
          ops.push({ type: 'put', key: headKey(name), value: head });
          await kv.batch(ops, { sync: true });
        }),
      );
    },

    async get(name, offset = 0, length) {
      assertBlobName(name);
      assertRange(offset, length);
      return run('get', name, async () => {
        const head = await readHead(name);
        if (head === null) return null;
        const start = Math.min(offset, head.size);
        const end = length === undefined ? head.size : Math.min(head.size, start + length);
        const out = new Uint8Array(end - start);
        for (let i = Math.floor(start / PIECE_BYTES); i * PIECE_BYTES < end; i++) {
          const piece = await kv.get(pieceKey(name, i));
          // A head without its pieces cannot happen (one batch writes both); if it does, say so.
          if (piece === null) throw new Error(`piece ${i} of ${name} is missing`);
          const pStart = i * PIECE_BYTES;
          const from = Math.max(start, pStart) - pStart;
          const to = Math.min(end, pStart + piece.length) - pStart;
          out.set(piece.subarray(from, to), pStart + from - start);
        }
        return out;
      });
    },

    async stat(name) {
      assertBlobName(name);
      return run('stat', name, async (): Promise<BlobStat | null> => {
        const head = await readHead(name);
        return head === null ? null : { size: head.size };
      });
    },

    async remove(name) {
      assertBlobName(name);
      await run('remove', name, () =>
        exclusive(name, async () => {
          const head = await readHead(name);
          if (head === null) return;
          const ops: KvOp[] = [{ type: 'del', key: headKey(name) }];
          for (let i = 0; i < head.pieces; i++) ops.push({ type: 'del', key: pieceKey(name, i) });
          await kv.batch(ops, { sync: true });
        }),
      );
    },

    list(prefix) {
      assertPrefix(prefix);
      return {
        async *[Symbol.asyncIterator]() {
          if (closed) throw new StorageError('list', `kv-blob/${prefix}*`, new Error('store is closed'));
          const gte = headKey(prefix);
          const lt = prefixEnd(gte);
          for await (const e of kv.range({ gte, lt })) yield dec.decode(e.key.subarray(2));
        },
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      if (options.ownsKv) await kv.close();
    },
  };
}
