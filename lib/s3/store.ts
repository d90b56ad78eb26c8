// The endpoint's own files under its data directory: what Wolk does not keep but S3 clients expect.
//   spool/                 request bodies while they are hashed (removed once stored or refused)
//   objects/<sha256>.json  per object written through this endpoint: its S3 ETag (MD5, or the
//                          multipart form), user metadata and time, valid only while the key's filehash
//                          is the one recorded (a later upload by other means makes it stale)
//   buckets.json           buckets created or seen through this endpoint (Wolk has no listing of an
//                          owner's collections, so ListBuckets answers these)
//   multipart/<id>/        one upload: meta.json, part-N (the bytes), part-N.json (ETag, size)
// Writes go to a temporary name and are renamed: a crash never leaves half a record.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ObjectMeta {
  readonly filehash: string;
  readonly etag: string;
  readonly lastModified: string;
  readonly userMeta: Readonly<Record<string, string>>;
}

export interface UploadMeta {
  readonly bucket: string;
  readonly key: string;
  readonly contentType: string;
  readonly initiated: string;
  readonly userMeta: Readonly<Record<string, string>>;
}

export interface PartMeta {
  readonly partNumber: number;
  readonly etag: string;
  readonly size: number;
  readonly lastModified: string;
}

const UPLOAD_ID_RE = /^[0-9a-f]{32}$/;

export class LocalStore {
  readonly spoolDir: string;
  private readonly objectsDir: string;
  private readonly multipartDir: string;
  private readonly bucketsFile: string;

  constructor(readonly dir: string) {
    this.spoolDir = join(dir, 'spool');
    this.objectsDir = join(dir, 'objects');
    this.multipartDir = join(dir, 'multipart');
    this.bucketsFile = join(dir, 'buckets.json');
    for (const d of [this.spoolDir, this.objectsDir, this.multipartDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
  }

  /** A fresh file name in the spool. */
  spoolFile(): string {
    return join(this.spoolDir, `${randomBytes(12).toString('hex')}.part`);
  }

  private async writeAtomic(file: string, body: string): Promise<void> {
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, body, { mode: 0o600 });
    await rename(tmp, file);
  }

  private objectFile(bucket: string, key: string): string {
    return join(this.objectsDir, `${createHash('sha256').update(`${bucket}\0${key}`).digest('hex')}.json`);
  }

  async putObjectMeta(bucket: string, key: string, meta: ObjectMeta): Promise<void> {
    await this.writeAtomic(this.objectFile(bucket, key), JSON.stringify(meta));
  }

  /** The record of an object written here, if its filehash is still `filehash`. */
  async objectMeta(bucket: string, key: string, filehash: string): Promise<ObjectMeta | undefined> {
    try {
      const m = JSON.parse(await readFile(this.objectFile(bucket, key), 'utf8')) as ObjectMeta;
      return m.filehash === filehash ? m : undefined;
    } catch {
      return undefined;
    }
  }

  async buckets(): Promise<{ name: string; created: string }[]> {
    try {
      return JSON.parse(await readFile(this.bucketsFile, 'utf8')) as { name: string; created: string }[];
    } catch {
      return [];
    }
  }

  async rememberBucket(name: string, created: string): Promise<void> {
    const all = await this.buckets();
    if (all.some((b) => b.name === name)) return;
    all.push({ name, created });
    all.sort((a, b) => (a.name < b.name ? -1 : 1));
    await this.writeAtomic(this.bucketsFile, JSON.stringify(all));
  }

  uploadDir(uploadId: string): string | undefined {
    return UPLOAD_ID_RE.test(uploadId) ? join(this.multipartDir, uploadId) : undefined;
  }

  async createUpload(meta: UploadMeta): Promise<string> {
    const id = randomBytes(16).toString('hex');
    const dir = join(this.multipartDir, id);
    await mkdir(dir, { mode: 0o700 });
    await this.writeAtomic(join(dir, 'meta.json'), JSON.stringify(meta));
    return id;
  }

  async upload(uploadId: string): Promise<UploadMeta | undefined> {
    const dir = this.uploadDir(uploadId);
    if (!dir) return undefined;
    try {
      return JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as UploadMeta;
    } catch {
      return undefined;
    }
  }

  partFile(uploadId: string, partNumber: number): string {
    return join(this.uploadDir(uploadId)!, `part-${partNumber}`);
  }

  /** Moves a spooled part into place (replacing an earlier upload of the same number) and records it. */
  async putPart(uploadId: string, spooled: string, part: PartMeta): Promise<void> {
    const file = this.partFile(uploadId, part.partNumber);
    await rename(spooled, file);
    await this.writeAtomic(`${file}.json`, JSON.stringify(part));
  }

  async parts(uploadId: string): Promise<PartMeta[]> {
    const dir = this.uploadDir(uploadId);
    if (!dir) return [];
    const names = (await readdir(dir)).filter((n) => /^part-\d+\.json$/.test(n));
    const parts = await Promise.all(names.map(async (n) => JSON.parse(await readFile(join(dir, n), 'utf8')) as PartMeta));
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async removeUpload(uploadId: string): Promise<void> {
    const dir = this.uploadDir(uploadId);
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}
