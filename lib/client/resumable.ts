// Resumable uploads from `wolk put` and the SDK (tus 1.0 at the gateway: docs/http-api.md "Resumable
// uploads"): the protocol is lib/client/tus.ts (shared with the web console); here are its Node parts.
// The upload's URL is kept in a small state file (under ~/.wolk/uploads for `wolk put`) keyed by the
// gateway, the target key and the local file (absolute path, size, mtime). Within one run a lost
// connection, a gateway restart or a busy gateway is retried with backoff from the gateway's offset
// (HEAD); running the same upload again after the process was killed finds the state file, skips
// hashing, asks for the offset and sends only the rest (PATCH).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { ClientKey } from './signing.js';
import { hashForSetKey, offersTus, uploadTus, type TusChain, type TusProgress, type TusResult, type TusStore, type TusTransport } from './tus.js';
import { GatewayUnreachableError, send, text, type GatewayResponse } from './transport.js';

export { creationHeaders, RESUMABLE_MIN_BYTES, RETRY_DELAYS_MS, TUS_VERSION } from './tus.js';

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

export type ResumableProgress = TusProgress;

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

export type ResumableResult = TusResult<GatewayResponse['headers']>;

/** Whether the gateway offers tus 1.0 uploads (OPTIONS /uploads/). */
export async function offersResumable(gateway: string): Promise<boolean> {
  const res = await send(gateway, 'OPTIONS', '/uploads/');
  res.body.resume();
  return offersTus(res.status, typeof res.headers['tus-version'] === 'string' ? res.headers['tus-version'] : undefined);
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
  const d = await hashForSetKey(localFile(file, size), chunkSize, onProgress);
  return { filehash: Buffer.from(d.filehash), size: d.size, chunkSize: d.chunkSize };
}

function localFile(file: string, size: number): { size: number; pieces(): AsyncIterable<Uint8Array> } {
  return { size, pieces: () => createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer> };
}

/** The tus transport over node:http (transport.ts: the path goes on the wire as given), bodies read from `file`. */
function nodeTransport(gateway: string, file: string): TusTransport<GatewayResponse['headers']> {
  return {
    async request(method, path, r) {
      let src: Readable | undefined;
      if (r.body && r.body.end > r.body.start) {
        const stream = createReadStream(file, { start: r.body.start, end: r.body.end - 1, highWaterMark: 1 << 20 });
        let n = 0;
        stream.on('data', (c) => r.onSent?.((n += c.length)));
        src = stream;
      }
      let res: GatewayResponse;
      try {
        res = await send(gateway, method, path, {
          headers: r.headers,
          ...(r.body ? { body: src ?? new Uint8Array(0) } : {}),
          ...(r.onBodySent ? { onBodySent: r.onBodySent } : {}),
        });
      } catch (err) {
        src?.destroy();
        throw err;
      }
      // Answered before taking the whole body (a refusal): stop reading the file.
      if (res.status >= 300) src?.destroy();
      return {
        status: res.status,
        headers: res.headers,
        header: (name) => {
          const v = res.headers[name];
          return typeof v === 'string' ? v : undefined;
        },
        text: () => text(res),
        discard: () => void res.body.resume(),
      };
    },
    lost(err) {
      if (err instanceof GatewayUnreachableError) return true;
      const code = (err as NodeJS.ErrnoException | undefined)?.code;
      return code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNREFUSED';
    },
  };
}

/**
 * Uploads `file` to `uri` resumably (tus.ts uploadTus), its URL kept in a state file under o.stateDir.
 * `chain` gives the chunk size, the chain id and the account nonce, asked only when a new upload must
 * be created (a resumed one carries the SetKey it was created with).
 */
export async function putResumable(gateway: string, key: ClientKey, file: string, uri: string, chain: TusChain, o: ResumableOptions): Promise<ResumableResult> {
  const id = await fileIdentity(file);
  const savedPath = stateFile(o.stateDir, gateway, uri, id);
  const store: TusStore = {
    load: () => loadUpload(savedPath, gateway, uri, id),
    save: async (s) => void (await saveUpload(o.stateDir, file, { gateway, uri, ...s })),
    remove: () => rm(savedPath, { force: true }),
  };
  return uploadTus(nodeTransport(gateway, file), localFile(file, id.size), store, key, uri, chain, {
    ...(o.contentType !== undefined ? { contentType: o.contentType } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    ...(o.say ? { say: o.say } : {}),
    ...(o.patchBytes !== undefined ? { patchBytes: o.patchBytes } : {}),
    ...(o.retryDelaysMs ? { retryDelaysMs: o.retryDelaysMs } : {}),
  });
}
