// BlobStore as files on the data volume (WOLK_STORE=rocksdb keeps file bytes here, metadata in RocksDB).
//
// Durability: put() writes a temporary file, fsyncs it, renames it over the final name and fsyncs the
// directory, so after a crash a name holds either the old or the new content, never a torn mix, and a
// resolved put() survives power loss (POSIX rename is atomic; the directory fsync makes the rename
// itself durable). Temporaries live in <root>/tmp and are removed on open.
//
// Layout: a name's last segment is a file, every earlier segment a directory whose name carries a '+'
// suffix (a character blob names cannot contain). That lets 'f/abc' be an object and at the same time
// the prefix of 'f/abc/0' (file objects/f+/abc beside directory objects/f+/abc+/) without a clash.
import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { BlobStat, BlobStore } from './blob.js';
import { assertBlobName } from './blob.js';
import { StorageError } from './errors.js';

const DIR_SUFFIX = '+';

export interface FsBlobOptions {
  /**
   * fsync files and directories (default true). Only benchmarks turn it off, to measure what the
   * fsyncs cost; a store that acknowledges data must keep it on.
   */
  readonly fsync?: boolean;
}

function assertPrefix(prefix: string): void {
  if (!/^[A-Za-z0-9._/-]*$/.test(prefix)) throw new RangeError(`invalid blob prefix ${JSON.stringify(prefix)}: expected [A-Za-z0-9._/-]*`);
}

function assertRange(offset: number, length: number | undefined): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset must be a non-negative integer, got ${offset}`);
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) throw new RangeError(`length must be a non-negative integer, got ${length}`);
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code;

async function fsyncPath(path: string): Promise<void> {
  const fh = await fsp.open(path, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function openFsBlobStore(root: string, options: FsBlobOptions = {}): Promise<BlobStore> {
  const doSync = options.fsync !== false;
  const objects = join(root, 'objects');
  const tmp = join(root, 'tmp');
  try {
    await fsp.mkdir(objects, { recursive: true });
    // Leftover temporaries are puts that never returned: nobody was told they are stored.
    await fsp.rm(tmp, { recursive: true, force: true });
    await fsp.mkdir(tmp, { recursive: true });
    if (doSync) await fsyncPath(root);
  } catch (err) {
    throw new StorageError('open', root, err as Error);
  }
  let closed = false;
  // Directory changes (mkdir, rename in, unlink, prune) are serialized: otherwise a remove pruning an
  // empty directory races a put landing in it, or another remove fsyncing it. File contents are
  // written and fsynced outside the lock, so puts still overlap on the expensive part.
  let dirLock: Promise<void> = Promise.resolve();
  const withDirLock = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = dirLock.then(fn);
    dirLock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  };

  /** objects/<seg+>/…/<last> for a name. */
  const pathOf = (name: string): { dir: string; file: string } => {
    const parts = name.split('/');
    const last = parts.pop()!;
    const dir = join(objects, ...parts.map((p) => p + DIR_SUFFIX));
    return { dir, file: join(dir, last) };
  };

  async function run<T>(op: string, where: string, fn: () => Promise<T>): Promise<T> {
    if (closed) throw new StorageError(op, where, new Error('store is closed'));
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StorageError || err instanceof RangeError) throw err;
      throw new StorageError(op, where, err as Error);
    }
  }

  /** mkdir -p, fsyncing the parent of every directory it creates so the new entries are durable. */
  async function ensureDir(dir: string): Promise<void> {
    const first = await fsp.mkdir(dir, { recursive: true });
    if (first === undefined || !doSync) return;
    // Every directory from `first` down to `dir` is new: fsync each one's parent, deepest first.
    let d = dir;
    for (;;) {
      const parent = join(d, '..');
      await fsyncPath(parent);
      if (d === first) break;
      d = parent;
    }
  }

  /** Removes now-empty directories from `dir` up to (not including) objects/; stops at the first non-empty one. */
  async function pruneDirs(dir: string): Promise<void> {
    let d = dir;
    while (d.length > objects.length && d.startsWith(objects)) {
      try {
        await fsp.rmdir(d);
      } catch {
        return; // not empty (or already gone): leave it
      }
      d = join(d, '..');
    }
  }

  return {
    async put(name: string, data: Uint8Array): Promise<void> {
      assertBlobName(name);
      await run('put', name, async () => {
        const { dir, file } = pathOf(name);
        const temp = join(tmp, `${randomBytes(12).toString('hex')}`);
        const fh = await fsp.open(temp, 'w', 0o600);
        try {
          await fh.writeFile(data);
          if (doSync) await fh.sync();
        } finally {
          await fh.close();
        }
        try {
          await withDirLock(async () => {
            await ensureDir(dir);
            await fsp.rename(temp, file);
            if (doSync) await fsyncPath(dir);
          });
        } catch (err) {
          await fsp.rm(temp, { force: true });
          throw err;
        }
      });
    },

    async get(name: string, offset = 0, length?: number): Promise<Uint8Array | null> {
      assertBlobName(name);
      assertRange(offset, length);
      return run('get', name, async () => {
        let fh: fsp.FileHandle;
        try {
          fh = await fsp.open(pathOf(name).file, 'r');
        } catch (err) {
          if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return null;
          throw err;
        }
        try {
          const size = (await fh.stat()).size;
          const start = Math.min(offset, size);
          const end = length === undefined ? size : Math.min(size, start + length);
          const out = new Uint8Array(end - start);
          let got = 0;
          while (got < out.length) {
            const { bytesRead } = await fh.read(out, got, out.length - got, start + got);
            if (bytesRead === 0) break;
            got += bytesRead;
          }
          return got === out.length ? out : out.subarray(0, got);
        } finally {
          await fh.close();
        }
      });
    },

    async stat(name: string): Promise<BlobStat | null> {
      assertBlobName(name);
      return run('stat', name, async () => {
        try {
          const s = await fsp.stat(pathOf(name).file);
          return s.isFile() ? { size: s.size } : null;
        } catch (err) {
          if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return null;
          throw err;
        }
      });
    },

    async remove(name: string): Promise<void> {
      assertBlobName(name);
      await run('remove', name, async () => {
        const { dir, file } = pathOf(name);
        await withDirLock(async () => {
          try {
            await fsp.unlink(file);
          } catch (err) {
            if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return;
            throw err;
          }
          if (doSync) await fsyncPath(dir);
          await pruneDirs(dir);
        });
      });
    },

    list(prefix: string): AsyncIterable<string> {
      assertPrefix(prefix);
      return {
        async *[Symbol.asyncIterator]() {
          const names = await run('list', `${prefix}*`, async () => {
            // Walk only the directories the prefix can reach: its complete segments are directories.
            const parts = prefix.split('/');
            const partial = parts.pop()!;
            const base = join(objects, ...parts.map((p) => p + DIR_SUFFIX));
            const out: string[] = [];
            const walk = async (dir: string, namePrefix: string, filter: string | null): Promise<void> => {
              let entries: import('node:fs').Dirent[];
              try {
                entries = await fsp.readdir(dir, { withFileTypes: true });
              } catch (err) {
                if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return;
                throw err;
              }
              for (const e of entries) {
                if (e.isDirectory() && e.name.endsWith(DIR_SUFFIX)) {
                  const seg = e.name.slice(0, -DIR_SUFFIX.length);
                  if (filter !== null && !(seg + '/').startsWith(filter)) continue;
                  await walk(join(dir, e.name), `${namePrefix}${seg}/`, null);
                } else if (e.isFile()) {
                  if (filter !== null && !e.name.startsWith(filter)) continue;
                  out.push(namePrefix + e.name);
                }
              }
            };
            await walk(base, parts.length > 0 ? parts.join('/') + '/' : '', partial);
            return out;
          });
          // Byte order of whole names (not per directory level): '-' < '.' < '/' < '0'.
          names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
          yield* names;
        },
      };
    },

    async close(): Promise<void> {
      closed = true;
    },
  };
}
