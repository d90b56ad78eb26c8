// KvStore on RocksDB (npm `rocksdb`, an abstract-leveldown binding). Driver errors are translated here:
// not-found becomes null, everything else a StorageError naming the operation and the directory.
import { createRequire } from 'node:module';
import { mkdirp } from '../fs/mkdirp.js';
import type { KvEntry, KvOp, KvRangeOptions, KvStore, KvWriteOptions } from './kv.js';
import { StorageError } from './errors.js';

interface LevelIterator {
  next(cb: (err: Error | null | undefined, key?: Buffer, value?: Buffer) => void): void;
  end(cb: (err?: Error | null) => void): void;
}

interface LevelDown {
  open(options: Record<string, unknown>, cb: (err?: Error | null) => void): void;
  close(cb: (err?: Error | null) => void): void;
  get(key: Uint8Array, options: Record<string, unknown>, cb: (err: Error | null | undefined, value?: Buffer) => void): void;
  put(key: Uint8Array, value: Uint8Array, options: Record<string, unknown>, cb: (err?: Error | null) => void): void;
  del(key: Uint8Array, options: Record<string, unknown>, cb: (err?: Error | null) => void): void;
  batch(ops: Array<{ type: string; key: Uint8Array; value?: Uint8Array }>, options: Record<string, unknown>, cb: (err?: Error | null) => void): void;
  iterator(options: Record<string, unknown>): LevelIterator;
}

const require = createRequire(import.meta.url);
const rocksdb = require('rocksdb') as (location: string) => LevelDown;

/** The binding stringifies anything that is not a Buffer, so byte arrays are wrapped (no copy). */
function buf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function isNotFound(err: Error): boolean {
  return /NotFound/i.test(err.message);
}

function call<T>(op: string, dir: string, fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    fn((err, value) => {
      if (err) reject(new StorageError(op, dir, err));
      else resolve(value as T);
    });
  });
}

export interface RocksKvOptions {
  /** Block cache in bytes (default 8 MiB). */
  readonly cacheSize?: number;
  /** Memtable size in bytes (default 4 MiB). */
  readonly writeBufferSize?: number;
}

/** Opens (creating if missing) a RocksDB database in `dir`. */
export async function openRocksKv(dir: string, options: RocksKvOptions = {}): Promise<KvStore> {
  try {
    mkdirp(dir);
  } catch (err) {
    throw new StorageError('open', dir, err as Error);
  }
  const db = rocksdb(dir);
  await call<void>('open', dir, (cb) =>
    db.open(
      {
        createIfMissing: true,
        compression: true,
        cacheSize: options.cacheSize ?? 8 << 20,
        writeBufferSize: options.writeBufferSize ?? 4 << 20,
      },
      cb,
    ),
  );
  let closed = false;
  const ensureOpen = (op: string) => {
    if (closed) throw new StorageError(op, dir, new Error('database is closed'));
  };
  const writeOpts = (o?: KvWriteOptions) => ({ sync: o?.sync === true });

  return {
    async get(key) {
      ensureOpen('get');
      return new Promise<Uint8Array | null>((resolve, reject) => {
        db.get(buf(key), { asBuffer: true, fillCache: true }, (err, value) => {
          if (err) {
            if (isNotFound(err)) resolve(null);
            else reject(new StorageError('get', dir, err));
          } else resolve(value ?? null);
        });
      });
    },
    async put(key, value, o) {
      ensureOpen('put');
      await call<void>('put', dir, (cb) => db.put(buf(key), buf(value), writeOpts(o), cb));
    },
    async del(key, o) {
      ensureOpen('del');
      await call<void>('del', dir, (cb) => db.del(buf(key), writeOpts(o), cb));
    },
    async batch(ops: readonly KvOp[], o) {
      ensureOpen('batch');
      if (ops.length === 0) return;
      const list = ops.map((op) => (op.type === 'put' ? { type: 'put', key: buf(op.key), value: buf(op.value) } : { type: 'del', key: buf(op.key) }));
      await call<void>('batch', dir, (cb) => db.batch(list, writeOpts(o), cb));
    },
    range(o: KvRangeOptions = {}): AsyncIterable<KvEntry> {
      ensureOpen('range');
      const iterOptions: Record<string, unknown> = {
        keyAsBuffer: true,
        valueAsBuffer: true,
        reverse: o.reverse === true,
        limit: o.limit ?? -1,
      };
      if (o.gte) iterOptions['gte'] = buf(o.gte);
      if (o.lt) iterOptions['lt'] = buf(o.lt);
      return {
        [Symbol.asyncIterator](): AsyncIterator<KvEntry> {
          const it = db.iterator(iterOptions);
          let done = false;
          const end = () =>
            new Promise<void>((resolve) => {
              if (done) return resolve();
              done = true;
              it.end(() => resolve());
            });
          return {
            next: () =>
              new Promise<IteratorResult<KvEntry>>((resolve, reject) => {
                if (done) return resolve({ done: true, value: undefined });
                it.next((err, key, value) => {
                  if (err) {
                    void end().then(() => reject(new StorageError('range', dir, err)));
                  } else if (key === undefined || value === undefined) {
                    void end().then(() => resolve({ done: true, value: undefined }));
                  } else {
                    resolve({ done: false, value: { key, value } });
                  }
                });
              }),
            return: async () => {
              await end();
              return { done: true, value: undefined };
            },
          };
        },
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      await call<void>('close', dir, (cb) => db.close(cb));
    },
  };
}
