// BlobStore on native Ceph RADOS (WOLK_STORE=rados://POOL[/NAMESPACE], ceph.conf from CEPH_CONF): one RADOS
// object per blob, named exactly as the blob, through the wolk_rados addon (rados-native.ts).
//
// Objects: put is rados_write_full, atomic and acknowledged only once the OSDs have committed it, so it is
// durable when the promise resolves. A single write is limited by osd_max_write_size (90 MB by default;
// the object itself by osd_max_object_size, 128 MiB), so callers split files into segments: one object
// per range of chunks (see docs/ceph.md for the measured segment size). Names are the blob names checked
// by assertBlobName ('/' is just a character to RADOS: there are no directories). list() walks the
// namespace and sorts: fine for a storer's per-file listings in a dedicated namespace, not for millions.
import type { BlobStat, BlobStore } from './blob.js';
import { assertBlobName } from './blob.js';
import { StorageError } from './errors.js';
import { RADOS_MAX_WRITE_BYTES, radosConnect, type RadosConnectOptions, type RadosIoCtx } from './rados-native.js';

export interface RadosBlobOptions {
  /** Path of the cluster's ceph.conf (CEPH_CONF). */
  readonly confPath: string;
  readonly pool: string;
  /** RADOS namespace inside the pool; '' (default) is the pool's default namespace. */
  readonly namespace?: string;
  /** Cephx client name, default client.admin (in Rook: the CephClient's, e.g. client.wolk-storer). */
  readonly client?: string;
  /** ceph.conf overrides, e.g. timeouts (see DEFAULT_RADOS_SETTINGS) or `keyring`. */
  readonly settings?: Readonly<Record<string, string>>;
}

/** Parses `rados://POOL` or `rados://POOL/NAMESPACE` (the WOLK_STORE form). */
export function parseRadosStoreUrl(url: string): { pool: string; namespace: string } {
  const m = /^rados:\/\/([A-Za-z0-9._-]+)(?:\/([A-Za-z0-9._-]+))?\/?$/.exec(url.trim());
  if (!m) throw new RangeError(`expected rados://POOL or rados://POOL/NAMESPACE (pool and namespace of [A-Za-z0-9._-]), got "${url}"`);
  return { pool: m[1]!, namespace: m[2] ?? '' };
}

function assertPrefix(prefix: string): void {
  if (!/^[A-Za-z0-9._/-]*$/.test(prefix)) throw new RangeError(`invalid blob prefix ${JSON.stringify(prefix)}: expected [A-Za-z0-9._/-]*`);
}

function assertRange(offset: number, length: number | undefined): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset must be a non-negative integer, got ${offset}`);
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
    throw new RangeError(`length must be a non-negative integer, got ${length}`);
  }
}

export async function openRadosBlobStore(options: RadosBlobOptions): Promise<BlobStore> {
  const ns = options.namespace ?? '';
  const where = `rados://${options.pool}${ns ? '/' + ns : ''}`;
  const connectOptions: RadosConnectOptions = {
    namespace: ns,
    ...(options.client !== undefined ? { client: options.client } : {}),
    ...(options.settings ? { settings: options.settings } : {}),
  };
  let io: RadosIoCtx;
  try {
    io = await radosConnect(options.confPath, options.pool, connectOptions);
  } catch (err) {
    throw new StorageError('open', `${where} (${options.confPath})`, err as Error);
  }
  let closed = false;

  // Every call: check the store is open, then translate driver errors into StorageError naming the object.
  async function run<T>(op: string, name: string, fn: () => Promise<T>): Promise<T> {
    if (closed) throw new StorageError(op, `${where}/${name}`, new Error('store is closed'));
    try {
      return await fn();
    } catch (err) {
      throw new StorageError(op, `${where}/${name}`, err as Error);
    }
  }

  return {
    async put(name: string, data: Uint8Array): Promise<void> {
      assertBlobName(name);
      if (data.byteLength > RADOS_MAX_WRITE_BYTES) {
        throw new StorageError('put', `${where}/${name}`, new Error(`object of ${data.byteLength} bytes exceeds the RADOS single-write limit of ${RADOS_MAX_WRITE_BYTES} bytes (osd_max_write_size): split it into segments`));
      }
      await run('put', name, () => io.writeFull(name, data));
    },
    async get(name: string, offset = 0, length?: number): Promise<Uint8Array | null> {
      assertBlobName(name);
      assertRange(offset, length);
      return run('get', name, () => io.read(name, offset, length));
    },
    async stat(name: string): Promise<BlobStat | null> {
      assertBlobName(name);
      const s = await run('stat', name, () => io.stat(name));
      return s === null ? null : { size: s.size };
    },
    async remove(name: string): Promise<void> {
      assertBlobName(name);
      await run('remove', name, () => io.remove(name));
    },
    list(prefix: string): AsyncIterable<string> {
      assertPrefix(prefix);
      return {
        async *[Symbol.asyncIterator]() {
          yield* await run('list', `${prefix}*`, () => io.list(prefix));
        },
      };
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await io.close();
    },
  };
}
