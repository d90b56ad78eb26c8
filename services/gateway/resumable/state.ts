// The resumable uploads' state on disk, so that an upload survives a gateway restart (docs/http-api.md
// "Resumable uploads"). One directory per upload under WOLK_DATA_DIR/uploads/<id>/:
//   state.json  the record below, replaced atomically (temporary file, fsync, rename, directory fsync)
//   data        the bytes received, appended in order; only the first `offset` bytes count
// `offset` is written only after the data file was fsynced up to it, so an offset the gateway has ever
// answered is durable. At start the data file is cut back to the recorded offset (bytes written after
// the last checkpoint by a process that was killed are not trusted: they may be torn).
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readdir, readFile, rename, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { mkdirp } from '../../../lib/fs/mkdirp.js';

/** Where an upload stands: bytes still arriving (or all there, not yet stored), or stored on chain (or answered 202). */
export type UploadPhase = 'receiving' | 'stored';

/** What an upload's creation fixed, and how far it got. Plain JSON. */
export interface UploadRecord {
  readonly v: 1;
  /** 32 random bytes, base64url: the capability in the upload URL. */
  readonly id: string;
  readonly owner: string;
  readonly collection: string;
  readonly key: string;
  /** Hex public key of the user who signed the creation. */
  readonly signer: string;
  /** Upload-Length: the file's size, as the signed SetKey says. */
  readonly length: number;
  readonly chunkSize: number;
  /** Hex filehash of the signed SetKey. */
  readonly filehash: string;
  /** Base64 SignedTransaction: the user's signed SetKey intent. */
  readonly stx: string;
  readonly createdAt: number;
  /** Durable bytes received. */
  offset: number;
  /** Unix ms after which the upload is reclaimed (moved on by every PATCH). */
  expiresAt: number;
  phase: UploadPhase;
  /** Once stored: the answer the completing PATCH gave (repeated to a client that asks again). */
  result?: { readonly status: 201 | 202; readonly body: Record<string, unknown>; readonly location: string };
}

const ID_RE = /^[A-Za-z0-9_-]{43}$/;

export function newUploadId(): string {
  return randomBytes(32).toString('base64url');
}

export function isUploadId(id: string): boolean {
  return ID_RE.test(id);
}

async function fsyncPath(path: string, flags = constants.O_RDONLY): Promise<void> {
  const h = await open(path, flags);
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

export class UploadDir {
  constructor(readonly root: string) {}

  dirOf(id: string): string {
    return join(this.root, id);
  }

  dataOf(id: string): string {
    return join(this.root, id, 'data');
  }

  /** Makes the upload's directory with an empty data file and its first record, all durable. */
  async create(rec: UploadRecord): Promise<void> {
    mkdirp(this.root, 0o700);
    const dir = this.dirOf(rec.id);
    mkdirp(dir, 0o700);
    const h = await open(this.dataOf(rec.id), 'wx', 0o600);
    try {
      await h.sync();
    } finally {
      await h.close();
    }
    await this.save(rec);
    await fsyncPath(this.root);
  }

  /** Replaces the record atomically and durably. */
  async save(rec: UploadRecord): Promise<void> {
    const dir = this.dirOf(rec.id);
    const tmp = join(dir, `state.${randomBytes(4).toString('hex')}.tmp`);
    const h = await open(tmp, 'wx', 0o600);
    try {
      await h.writeFile(JSON.stringify(rec));
      await h.sync();
    } finally {
      await h.close();
    }
    await rename(tmp, join(dir, 'state.json'));
    await fsyncPath(dir);
  }

  /** Removes the upload's bytes, keeping its record (a stored upload remembers its answer until it expires). */
  async dropData(id: string): Promise<void> {
    await rm(this.dataOf(id), { force: true });
  }

  async remove(id: string): Promise<void> {
    await rm(this.dirOf(id), { recursive: true, force: true });
  }

  /**
   * Every upload on disk, data files cut back to their durable offset. Directories without a readable
   * record (a crash during creation) are removed. `onDropped` hears each one removed and why.
   */
  async load(onDropped: (id: string, why: string) => void): Promise<UploadRecord[]> {
    mkdirp(this.root, 0o700);
    const out: UploadRecord[] = [];
    for (const id of await readdir(this.root)) {
      if (!isUploadId(id)) continue;
      let rec: UploadRecord;
      try {
        rec = JSON.parse(await readFile(join(this.dirOf(id), 'state.json'), 'utf8')) as UploadRecord;
        if (rec.v !== 1 || rec.id !== id || !Number.isSafeInteger(rec.offset) || rec.offset < 0 || rec.offset > rec.length) throw new Error('not an upload record');
      } catch (err) {
        await this.remove(id);
        onDropped(id, `unreadable state (${(err as Error).message})`);
        continue;
      }
      if (rec.phase === 'receiving') {
        try {
          await truncate(this.dataOf(id), rec.offset);
        } catch (err) {
          await this.remove(id);
          onDropped(id, `its data file is gone (${(err as Error).message})`);
          continue;
        }
      }
      // Stale temporary records from a crash between write and rename.
      for (const name of await readdir(this.dirOf(id))) if (name.endsWith('.tmp')) await rm(join(this.dirOf(id), name), { force: true });
      out.push(rec);
    }
    return out;
  }
}
