// Resumable uploads from the client side (tus 1.0 at the gateway: docs/http-api.md "Resumable
// uploads"). The file is hashed first (filehash + size: the signed SetKey must name them before any
// byte is sent), the upload is created with a POST signed exactly as a PUT (RFC 9421 over the empty
// body, the SetKey in Wolk-Transaction), and its URL is kept in a small state file (under
// ~/.wolk/uploads for `wolk put`) keyed by the gateway, the target key and the local file (absolute
// path, size, mtime). Within one run a lost connection, a gateway restart or a busy gateway is retried
// with backoff from the gateway's offset (HEAD); running the same upload again after the process was
// killed finds the state file, skips hashing, asks for the offset and sends only the rest (PATCH).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
import { FileHasher } from '../merkle/index.js';
import { problemOf, WolkHttpError } from './errors.js';
import { signWolkRequest, type ClientKey } from './signing.js';
import { setKeyTransaction, signTransaction } from './tx.js';
import { GatewayUnreachableError, send, text, type GatewayResponse } from './transport.js';
import { gatewayPath, parseWolkUri } from './uri.js';

export const TUS_VERSION = '1.0.0';

/** `wolk put` sends files of at least this size resumably when the gateway offers tus (smaller ones: one PUT). */
export const RESUMABLE_MIN_BYTES = 8 * 1024 * 1024;

/** Pauses before each retry of a transfer that failed for a transient reason (then the run gives up; a rerun resumes). */
export const RETRY_DELAYS_MS: readonly number[] = [500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000];

/** Where `wolk put` keeps its upload state files. */
export function defaultUploadStateDir(): string {
  return join(homedir(), '.wolk', 'uploads');
}

/** What is kept between runs of one upload (STATE_DIR/<sha256 of gateway, uri, file, size, mtime>.json). */
export interface SavedUpload {
  readonly v: 1;
  readonly gateway: string;
  readonly uri: string;
  /** The local file, absolute, with the size and mtime it had when the upload was created. */
  readonly file: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly filehash: string;
  readonly chunkSize: number;
  /** /uploads/{id} on the gateway. */
  readonly uploadUrl: string;
}

export interface ResumableProgress {
  (done: number, total: number, phase: 'hashing' | 'uploading' | 'waiting'): void;
}

export interface ResumableOptions {
  /** Where upload URLs are kept between runs (defaultUploadStateDir() for `wolk put`). */
  readonly stateDir: string;
  readonly contentType?: string;
  readonly onProgress?: ResumableProgress;
  /** One line for the user ("resuming at 120.0 MB of 500.0 MB"). */
  readonly say?: (line: string) => void;
  /** Bytes per PATCH request (default: the whole rest in one). */
  readonly patchBytes?: number;
  /** Pauses between tries after transient failures (default RETRY_DELAYS_MS). */
  readonly retryDelaysMs?: readonly number[];
}

export interface ResumableResult {
  /** The gateway's final answer: 201 (final) or 202 (submitted, not final yet). */
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: GatewayResponse['headers'];
  readonly filehash: string;
  readonly size: number;
  readonly uploadUrl: string;
  /** Where this run started sending (0 for a fresh upload; the gateway's offset for a resumed one). */
  readonly resumedAt: number;
  /** Bytes this run sent in PATCH bodies (more than size - resumedAt only when a try was cut). */
  readonly sent: number;
  /** Transient failures this run recovered from. */
  readonly retries: number;
}

/** The headers of a creation request (POST on the file's path): signed like a PUT over the empty body. */
export function creationHeaders(path: string, stx: SignedTransaction, size: number, key: ClientKey): Record<string, string> {
  const auth = signWolkRequest({ method: 'POST', path, bodySha256: createHash('sha256').digest(), key });
  return {
    ...auth,
    'tus-resumable': TUS_VERSION,
    'upload-length': String(size),
    'wolk-transaction': Buffer.from(SignedTransaction.encode(stx).finish()).toString('base64'),
    'content-length': '0',
  };
}

/** Whether the gateway offers tus 1.0 uploads (OPTIONS /uploads/). */
export async function offersResumable(gateway: string): Promise<boolean> {
  const res = await send(gateway, 'OPTIONS', '/uploads/');
  res.body.resume();
  const versions = String(res.headers['tus-version'] ?? '').split(',').map((v) => v.trim());
  return res.status === 204 && versions.includes(TUS_VERSION);
}

async function fileIdentity(file: string): Promise<{ file: string; size: number; mtimeMs: number }> {
  const s = await stat(file);
  return { file: resolve(file), size: s.size, mtimeMs: Math.floor(s.mtimeMs) };
}

function stateFile(dir: string, gateway: string, uri: string, id: { file: string; size: number; mtimeMs: number }): string {
  return join(dir, `${createHash('sha256').update(JSON.stringify([gateway, uri, id.file, id.size, id.mtimeMs])).digest('hex')}.json`);
}

/** Records an upload of `file` (as it is now on disk) so a later run of the same upload resumes it. */
export async function saveUpload(stateDir: string, file: string, u: Pick<SavedUpload, 'gateway' | 'uri' | 'filehash' | 'chunkSize' | 'uploadUrl'>): Promise<string> {
  const id = await fileIdentity(file);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = stateFile(stateDir, u.gateway, u.uri, id);
  const rec: SavedUpload = { v: 1, ...u, ...id };
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(rec), { mode: 0o600 });
  await rename(tmp, path);
  return path;
}

async function loadUpload(path: string, gateway: string, uri: string, id: { file: string; size: number; mtimeMs: number }): Promise<SavedUpload | undefined> {
  try {
    const s = JSON.parse(await readFile(path, 'utf8')) as SavedUpload;
    const same = s.v === 1 && s.gateway === gateway && s.uri === uri && s.file === id.file && s.size === id.size && s.mtimeMs === id.mtimeMs;
    return same && typeof s.uploadUrl === 'string' && s.uploadUrl.startsWith('/uploads/') && /^[0-9a-f]{64}$/.test(s.filehash) ? s : undefined;
  } catch {
    return undefined; // no earlier run of this upload
  }
}

/** Hashes `file` for the SetKey: filehash, size (and reports progress). */
export async function hashForUpload(file: string, chunkSize: number, onProgress?: ResumableProgress): Promise<{ filehash: Buffer; size: number; chunkSize: number }> {
  const { size } = await stat(file);
  const hasher = new FileHasher({ chunkSize });
  let hashed = 0;
  for await (const piece of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    hasher.update(piece);
    hashed += piece.length;
    onProgress?.(hashed, size, 'hashing');
  }
  const d = hasher.digest();
  return { filehash: Buffer.from(d.filehash), size: d.size, chunkSize: d.chunkSize };
}

/** A failure worth another try from the gateway's offset: the connection, a restart, a busy or unready gateway. */
function transient(err: unknown): boolean {
  if (err instanceof GatewayUnreachableError) return true;
  if (err instanceof WolkHttpError) return err.status === 502 || err.status === 504 || (err.status === 503 && err.problem['type'] !== '/problems/not-enough-storers') || err.status === 408;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNREFUSED';
}

/**
 * Uploads `file` to `uri` resumably. `chain` gives the chunk size, the chain id and the account nonce,
 * asked only when a new upload must be created (a resumed one carries the SetKey it was created with).
 */
export async function putResumable(
  gateway: string,
  key: ClientKey,
  file: string,
  uri: string,
  chain: { chunkSize: () => Promise<number>; chainId: () => Promise<string>; nonce: () => Promise<bigint> },
  o: ResumableOptions,
): Promise<ResumableResult> {
  const u = parseWolkUri(uri);
  if (!u.collection || !u.key) throw new Error(`put needs wolk://OWNER/COLLECTION/KEY, got ${uri}`);
  const path = gatewayPath(u);
  const id = await fileIdentity(file);
  const size = id.size;
  const savedPath = stateFile(o.stateDir, gateway, uri, id);
  const delays = o.retryDelaysMs ?? RETRY_DELAYS_MS;
  let saved = await loadUpload(savedPath, gateway, uri, id);
  let offset = 0;
  let sent = 0;
  let retries = 0;
  let failedInARow = 0;
  let resumedAt: number | undefined;

  /** Waits before the next try, or gives up with what a rerun would do. */
  const again = async (err: unknown): Promise<void> => {
    if (failedInARow >= delays.length) {
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(`${why}; gave up after ${failedInARow} tries. Run the same command again to resume from what the gateway holds${saved ? ` (${saved.uploadUrl.slice(0, 20)}…)` : ''}`, { cause: err });
    }
    const ms = delays[failedInARow++]!;
    retries++;
    o.say?.(`${err instanceof Error ? err.message : String(err)}; trying again in ${(ms / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, ms));
  };

  /** The gateway's offset for the saved upload; undefined when it no longer has it. */
  const headOffset = async (s: SavedUpload): Promise<number | undefined> => {
    for (;;) {
      try {
        const head = await send(gateway, 'HEAD', s.uploadUrl, { headers: { 'tus-resumable': TUS_VERSION } });
        head.body.resume();
        if (head.status === 404 || head.status === 410) return undefined;
        const at = Number(head.headers['upload-offset']);
        if (head.status === 200 && Number.isSafeInteger(at) && at >= 0 && at <= size) return at;
        throw new WolkHttpError(head.status, { title: 'HEAD of the upload', detail: `answered ${head.status} without a usable Upload-Offset` });
      } catch (err) {
        if (!transient(err)) throw err;
        await again(err);
      }
    }
  };

  if (saved) {
    const at = await headOffset(saved);
    if (at === undefined) {
      o.say?.(`the earlier upload is gone at the gateway (expired, terminated or refused); starting again`);
      await rm(savedPath, { force: true });
      saved = undefined;
    } else {
      offset = at;
      resumedAt = at;
      o.say?.(`resuming at ${fmt(offset)} of ${fmt(size)}`);
    }
  }
  if (!saved) {
    const d = await hashForUpload(file, await chain.chunkSize(), o.onProgress);
    if (d.size !== size) throw new Error(`${file} changed while it was hashed (${size} bytes before, ${d.size} after)`);
    const [chainId, nonce] = await Promise.all([chain.chainId(), chain.nonce()]);
    const tx = setKeyTransaction(
      { owner: u.owner, collection: u.collection, key: u.key, file: { filehash: d.filehash, size: BigInt(d.size), chunkSize: d.chunkSize }, contentType: o.contentType ?? '' },
      key.publicKey,
      nonce,
      chainId,
    );
    const stx = signTransaction(tx, key);
    let loc: string | undefined;
    for (;;) {
      try {
        // Each try is signed again: a signature's nonce is single-use at the gateway (its replay cache).
        const res = await send(gateway, 'POST', path, { headers: creationHeaders(path, stx, d.size, key) });
        if (res.status !== 201) throw await problemOf(res);
        res.body.resume();
        loc = typeof res.headers['location'] === 'string' ? res.headers['location'] : undefined;
        break;
      } catch (err) {
        if (!transient(err)) throw err;
        await again(err);
      }
    }
    if (!loc?.startsWith('/uploads/')) throw new Error(`the gateway created an upload without a usable Location (${String(loc)})`);
    failedInARow = 0;
    saved = { v: 1, gateway, uri, ...id, filehash: d.filehash.toString('hex'), chunkSize: d.chunkSize, uploadUrl: loc };
    await saveUpload(o.stateDir, file, saved);
    resumedAt = 0;
  }
  const upload = saved;

  for (;;) {
    const end = o.patchBytes ? Math.min(size, offset + o.patchBytes) : size;
    const base = offset;
    const src = end > offset ? createReadStream(file, { start: offset, end: end - 1, highWaterMark: 1 << 20 }) : undefined;
    let here = 0;
    src?.on('data', (c) => {
      here += c.length;
      sent += c.length;
      o.onProgress?.(base + here, size, 'uploading');
    });
    let res: GatewayResponse;
    try {
      res = await send(gateway, 'PATCH', upload.uploadUrl, {
        headers: { 'tus-resumable': TUS_VERSION, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream', 'content-length': String(end - offset) },
        body: src ?? new Uint8Array(0),
        ...(end === size ? { onBodySent: () => o.onProgress?.(size, size, 'waiting') } : {}),
      });
    } catch (err) {
      src?.destroy();
      if (!transient(err)) throw err;
      await again(err);
      const at = await headOffset(upload);
      if (at === undefined) {
        await rm(savedPath, { force: true });
        throw new Error(`the gateway no longer has the upload ${upload.uploadUrl.slice(0, 20)}… (expired or refused); run the command again to start over`);
      }
      if (at > offset) failedInARow = 0;
      offset = at;
      continue;
    }
    const got = Number(res.headers['upload-offset']);
    if (res.status === 204 && Number.isSafeInteger(got)) {
      res.body.resume();
      if (got > offset) failedInARow = 0;
      offset = got;
      continue;
    }
    if (res.status === 201 || res.status === 202 || res.status === 200) {
      const body = JSON.parse(await text(res)) as Record<string, unknown>;
      await rm(savedPath, { force: true });
      return { status: res.status, body, headers: res.headers, filehash: upload.filehash, size, uploadUrl: upload.uploadUrl, resumedAt: resumedAt ?? 0, sent, retries };
    }
    src?.destroy();
    const err = await problemOf(res);
    if (res.status === 409 && err.problem['type'] === '/problems/offset-mismatch' && Number.isSafeInteger(got)) {
      // An earlier PATCH (of a try that was cut, or another run) moved the offset: continue from where the gateway is.
      await again(err);
      offset = got;
      continue;
    }
    if (transient(err)) {
      await again(err);
      const at = await headOffset(upload);
      if (at === undefined) {
        await rm(savedPath, { force: true });
        throw err;
      }
      offset = at;
      continue;
    }
    // The gateway dropped the upload (its bytes did not hash to the SetKey, the SetKey was refused) or never had it: no resuming it.
    if (res.status === 404 || res.status === 410 || res.status === 409 || res.status === 422 || res.status === 403) await rm(savedPath, { force: true });
    throw err;
  }
}

function fmt(n: number): string {
  return n < 1e6 ? `${n} B` : `${(n / 1e6).toFixed(1)} MB`;
}
