// Resumable uploads from the client side (tus 1.0 at the gateway: docs/http-api.md "Resumable
// uploads"). The file is hashed first (filehash + size: the signed SetKey must name them before any
// byte is sent), the upload is created with a POST signed exactly as a PUT (RFC 9421 over the empty
// body, the SetKey in Wolk-Transaction), and its URL is kept in a small state file under the user's
// wolk directory keyed by the target key and the filehash. Running the same upload again after a cut
// finds that file, asks the gateway for its offset (HEAD) and sends only the rest (PATCH).
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
import { FileHasher } from '../merkle/index.js';
import { signWolkRequest, type ClientKey } from './signing.js';
import { setKeyTransaction, signTransaction } from './tx.js';
import { send, text, type GatewayResponse } from './transport.js';
import { gatewayPath, parseWolkUri } from './uri.js';

export const TUS_VERSION = '1.0.0';

/** What is kept between runs of one upload (STATE_DIR/<sha256(uri, filehash)>.json). */
interface SavedUpload {
  readonly gateway: string;
  readonly uri: string;
  readonly filehash: string;
  readonly size: number;
  readonly uploadUrl: string;
}

export interface ResumableProgress {
  (done: number, total: number, phase: 'hashing' | 'uploading' | 'waiting'): void;
}

export interface ResumableOptions {
  /** Where upload URLs are kept between runs (e.g. ~/.wolk/uploads). */
  readonly stateDir: string;
  readonly contentType?: string;
  readonly onProgress?: ResumableProgress;
  /** One line for the user ("resuming at 120.0 MB of 500.0 MB"). */
  readonly say?: (line: string) => void;
  /** Bytes per PATCH request (default: the whole rest in one). */
  readonly patchBytes?: number;
}

export interface ResumableResult {
  /** The gateway's final answer: 201 (final) or 202 (submitted, not final yet). */
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly filehash: string;
  readonly size: number;
  /** Where this run started sending (0 for a fresh upload). */
  readonly resumedAt: number;
  /** Bytes this run sent in PATCH bodies. */
  readonly sent: number;
}

export class ResumableHttpError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Record<string, unknown>,
  ) {
    super(`${status} ${String(problem['title'] ?? '')}: ${String(problem['detail'] ?? '')}`);
    this.name = 'ResumableHttpError';
  }
}

async function problemOf(res: GatewayResponse): Promise<ResumableHttpError> {
  const body = await text(res);
  try {
    return new ResumableHttpError(res.status, JSON.parse(body) as Record<string, unknown>);
  } catch {
    return new ResumableHttpError(res.status, { detail: body.slice(0, 300) });
  }
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

const stateFile = (dir: string, uri: string, filehash: string) => join(dir, `${createHash('sha256').update(`${uri}\0${filehash}`).digest('hex')}.json`);

/** Hashes `file` for the SetKey: filehash, size (and reports progress). */
export async function hashForUpload(file: string, chunkSize: number, onProgress?: ResumableProgress): Promise<{ filehash: Buffer; size: number; chunkSize: number }> {
  const size = statSync(file).size;
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

/**
 * Uploads `file` to `uri` resumably. `chain` gives the chain id and the account nonce, asked only when a
 * new upload must be created (a resumed one carries the SetKey it was created with).
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
  const d = await hashForUpload(file, await chain.chunkSize(), o.onProgress);
  const filehash = d.filehash.toString('hex');
  await mkdir(o.stateDir, { recursive: true, mode: 0o700 });
  const saved = stateFile(o.stateDir, uri, filehash);
  let uploadUrl: string | undefined;
  let offset = 0;
  try {
    const s = JSON.parse(await readFile(saved, 'utf8')) as SavedUpload;
    if (s.gateway === gateway && s.filehash === filehash && s.size === d.size) uploadUrl = s.uploadUrl;
  } catch {
    // no earlier run of this upload
  }
  if (uploadUrl) {
    const head = await send(gateway, 'HEAD', uploadUrl, { headers: { 'tus-resumable': TUS_VERSION } });
    head.body.resume();
    const at = Number(head.headers['upload-offset']);
    if (head.status === 200 && Number.isSafeInteger(at)) {
      offset = at;
      o.say?.(`resuming at ${fmt(offset)} of ${fmt(d.size)} (${uploadUrl.slice(0, 20)}…)`);
    } else {
      o.say?.(`the earlier upload is gone at the gateway (${head.status}); starting again`);
      uploadUrl = undefined;
    }
  }
  if (!uploadUrl) {
    const [chainId, nonce] = await Promise.all([chain.chainId(), chain.nonce()]);
    const tx = setKeyTransaction(
      { owner: u.owner, collection: u.collection, key: u.key, file: { filehash: d.filehash, size: BigInt(d.size), chunkSize: d.chunkSize }, contentType: o.contentType ?? '' },
      key.publicKey,
      nonce,
      chainId,
    );
    const res = await send(gateway, 'POST', path, { headers: creationHeaders(path, signTransaction(tx, key), d.size, key) });
    if (res.status !== 201) throw await problemOf(res);
    res.body.resume();
    const loc = res.headers['location'];
    if (typeof loc !== 'string' || !loc.startsWith('/uploads/')) throw new Error(`the gateway created an upload without a usable Location (${String(loc)})`);
    uploadUrl = loc;
    const rec: SavedUpload = { gateway, uri, filehash, size: d.size, uploadUrl };
    const tmp = `${saved}.tmp`;
    await writeFile(tmp, JSON.stringify(rec), { mode: 0o600 });
    await rename(tmp, saved);
  }
  const resumedAt = offset;
  let sent = 0;
  for (let attempt = 0; ; attempt++) {
    const end = o.patchBytes ? Math.min(d.size, offset + o.patchBytes) : d.size;
    const src = end > offset ? createReadStream(file, { start: offset, end: end - 1, highWaterMark: 1 << 20 }) : undefined;
    const base = offset;
    let here = 0;
    src?.on('data', (c) => {
      here += c.length;
      sent += c.length;
      o.onProgress?.(base + here, d.size, 'uploading');
    });
    const res = await send(gateway, 'PATCH', uploadUrl, {
      headers: { 'tus-resumable': TUS_VERSION, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream', 'content-length': String(end - offset) },
      body: src ?? new Uint8Array(0),
      ...(end === d.size ? { onBodySent: () => o.onProgress?.(d.size, d.size, 'waiting') } : {}),
    });
    const got = Number(res.headers['upload-offset']);
    if (res.status === 409 && Number.isSafeInteger(got) && attempt < 3) {
      // Another PATCH moved the offset (an earlier run's, finishing): continue from where the gateway is.
      res.body.resume();
      offset = got;
      continue;
    }
    if (res.status === 204) {
      res.body.resume();
      offset = got;
      continue;
    }
    if (res.status === 201 || res.status === 202 || res.status === 200) {
      const body = JSON.parse(await text(res)) as Record<string, unknown>;
      await rm(saved, { force: true });
      return { status: res.status, body, filehash, size: d.size, resumedAt, sent };
    }
    const err = await problemOf(res);
    // An upload the gateway dropped (its bytes did not hash to the SetKey, or the SetKey was refused) cannot be resumed.
    if (res.status === 404 || res.status === 410 || res.status === 409 || res.status === 422) await rm(saved, { force: true });
    throw err;
  }
}

function fmt(n: number): string {
  return n < 1e6 ? `${n} B` : `${(n / 1e6).toFixed(1)} MB`;
}
