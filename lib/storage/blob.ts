// Named byte objects: where a storer keeps file bytes. Implementations side by side: files on the data
// volume (blob-fs.ts), RocksDB (blob-kv.ts) and native Ceph RADOS (blob-rados.ts, WOLK_STORE=rados://POOL).
// One shared compliance suite (test/unit/storage/blob-suite.ts) runs against each.
//
// Objects are written whole (RADOS write_full semantics) and are durable when put() resolves; callers
// that need a large file split it into segments (one object per range of chunks) so no object is too big
// to write in one call and reads can start mid-file.

export interface BlobStat {
  readonly size: number;
}

export interface BlobStore {
  /** Writes the whole object, replacing any previous content; durable when the promise resolves. */
  put(name: string, data: Uint8Array): Promise<void>;
  /** Reads [offset, offset+length) (clamped to the object); null when the object does not exist. */
  get(name: string, offset?: number, length?: number): Promise<Uint8Array | null>;
  stat(name: string): Promise<BlobStat | null>;
  /** Removes the object; removing a missing object is not an error. */
  remove(name: string): Promise<void>;
  /** Names starting with `prefix`, in byte order. */
  list(prefix: string): AsyncIterable<string>;
  close(): Promise<void>;
}

/** Object names are printable ASCII without '/' runs that could escape a directory: [A-Za-z0-9._-/]. */
export function assertBlobName(name: string): void {
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(name) || name.split('/').some((p) => p === '.' || p === '..')) {
    throw new RangeError(`invalid blob name ${JSON.stringify(name)}: expected [A-Za-z0-9._-] segments separated by "/"`);
  }
}
