// KvStore in memory, with the same ordering and batch semantics as RocksDB: for unit tests and the
// deterministic simulator. Values are copied in and out so callers cannot mutate stored bytes.
import type { KvEntry, KvOp, KvRangeOptions, KvStore } from './kv.js';
import { StorageError } from './errors.js';

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

const hexOf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export function createMemoryKv(): KvStore {
  // hex key → entry; sorted lazily for range scans.
  const map = new Map<string, KvEntry>();
  let closed = false;
  const ensureOpen = (op: string) => {
    if (closed) throw new StorageError(op, 'memory', new Error('database is closed'));
  };
  const apply = (op: KvOp) => {
    if (op.type === 'put') map.set(hexOf(op.key), { key: Uint8Array.from(op.key), value: Uint8Array.from(op.value) });
    else map.delete(hexOf(op.key));
  };
  return {
    async get(key) {
      ensureOpen('get');
      const e = map.get(hexOf(key));
      return e ? Uint8Array.from(e.value) : null;
    },
    async put(key, value) {
      ensureOpen('put');
      apply({ type: 'put', key, value });
    },
    async del(key) {
      ensureOpen('del');
      apply({ type: 'del', key });
    },
    async batch(ops) {
      ensureOpen('batch');
      for (const op of ops) apply(op);
    },
    range(o: KvRangeOptions = {}): AsyncIterable<KvEntry> {
      ensureOpen('range');
      let entries = [...map.values()].filter(
        (e) => (!o.gte || compareBytes(e.key, o.gte) >= 0) && (!o.lt || compareBytes(e.key, o.lt) < 0),
      );
      entries.sort((a, b) => compareBytes(a.key, b.key));
      if (o.reverse) entries.reverse();
      if (o.limit !== undefined && o.limit >= 0) entries = entries.slice(0, o.limit);
      const snapshot = entries.map((e) => ({ key: Uint8Array.from(e.key), value: Uint8Array.from(e.value) }));
      return {
        async *[Symbol.asyncIterator]() {
          yield* snapshot;
        },
      };
    },
    async close() {
      closed = true;
    },
  };
}
