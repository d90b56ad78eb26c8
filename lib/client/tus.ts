// The client side of the gateway's resumable uploads (tus 1.0: docs/http-api.md "Resumable uploads"),
// with no Node module of its own, so `wolk put` (lib/client/resumable.ts: a local file, node:http, state
// files) and the web console (console/src/pages/upload.ts: a File, XMLHttpRequest, localStorage) run the
// same protocol code. What differs is passed in: how a request is sent and how a cut connection shows
// (TusTransport), the file's bytes (TusFile), and where the upload URL is kept between runs (TusStore).
//
// The protocol: hash the file first (the signed SetKey names its filehash and size before any byte is
// sent), create the upload with a POST signed exactly as a PUT (RFC 9421 over the empty body, the SetKey
// in Wolk-Transaction), keep its URL, and PATCH the bytes from the gateway's offset. A lost connection,
// a gateway restart or a busy gateway is retried with backoff from the offset HEAD reports; a later run
// of the same upload finds the kept URL, skips hashing and sends only the rest.
import { createHash } from 'node:crypto';
import { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
import { FileHasher } from '../merkle/file.js';
import { WolkHttpError } from './errors.js';
import { signWolkRequest, type ClientKey } from './signing.js';
import { setKeyTransaction, signTransaction } from './tx.js';
import { gatewayPath, parseWolkUri } from './uri.js';

export const TUS_VERSION = '1.0.0';

/** Files of at least this size go resumably when the gateway offers tus (`wolk put`, the SDK, the console); smaller ones: one PUT. */
export const RESUMABLE_MIN_BYTES = 8 * 1024 * 1024;

/** Pauses before each retry of a transfer that failed for a transient reason (then the run gives up; a rerun resumes). */
export const RETRY_DELAYS_MS: readonly number[] = [500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000];

/** One answer of the gateway; H is the transport's own header type (handed back in the result). */
export interface TusResponse<H> {
  readonly status: number;
  readonly headers: H;
  header(name: string): string | undefined;
  /** The whole body as text. */
  text(): Promise<string>;
  /** Drops the body unread. */
  discard(): void;
}

export interface TusRequest {
  readonly headers: Readonly<Record<string, string>>;
  /** The file's bytes [start, end) as the body (a PATCH); none otherwise. */
  readonly body?: { readonly start: number; readonly end: number };
  /** Bytes of this request's body sent so far (for progress). */
  readonly onSent?: (bytes: number) => void;
  /** The whole body has been handed over (what follows is the gateway's work). */
  readonly onBodySent?: () => void;
}

export interface TusTransport<H> {
  /** Sends `method path` (the path exactly as given) to the gateway. */
  request(method: string, path: string, r: TusRequest): Promise<TusResponse<H>>;
  /** Whether an error `request` threw is a connection that could not be made or was cut (worth another try). */
  lost(err: unknown): boolean;
}

export interface TusFile {
  readonly size: number;
  /** The file's bytes from the start, in pieces (hashed before the upload is created). */
  pieces(): AsyncIterable<Uint8Array>;
}

/** What is kept between runs of one upload. */
export interface TusSaved {
  readonly filehash: string;
  readonly chunkSize: number;
  /** /uploads/{id} on the gateway. */
  readonly uploadUrl: string;
}

/** Where one upload's URL is kept between runs (a state file, localStorage). */
export interface TusStore {
  load(): Promise<TusSaved | undefined>;
  save(s: TusSaved): Promise<void>;
  remove(): Promise<void>;
}

export interface TusChain {
  chunkSize(): Promise<number>;
  chainId(): Promise<string>;
  nonce(): Promise<bigint>;
}

export interface TusProgress {
  (done: number, total: number, phase: 'hashing' | 'uploading' | 'waiting'): void;
}

export interface TusOptions {
  readonly contentType?: string;
  readonly onProgress?: TusProgress;
  /** One line for the user ("resuming at 120.0 MB of 500.0 MB"). */
  readonly say?: (line: string) => void;
  /** Bytes per PATCH request (default: the whole rest in one). */
  readonly patchBytes?: number;
  /** Pauses between tries after transient failures (default RETRY_DELAYS_MS). */
  readonly retryDelaysMs?: readonly number[];
  /** What resumes the upload after this run gave up (default "Run the same command again"). */
  readonly rerun?: string;
}

export interface TusResult<H> {
  /** The gateway's final answer: 201 (final) or 202 (submitted, not final yet). */
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: H;
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

/** Whether an OPTIONS answer offers tus 1.0 uploads. */
export function offersTus(status: number, tusVersion: string | undefined): boolean {
  return status === 204 && String(tusVersion ?? '').split(',').map((v) => v.trim()).includes(TUS_VERSION);
}

/** Hashes the file for the SetKey: filehash, size, chunk size (and reports progress). */
export async function hashForSetKey(file: TusFile, chunkSize: number, onProgress?: TusProgress): Promise<{ filehash: Uint8Array; size: number; chunkSize: number }> {
  const hasher = new FileHasher({ chunkSize });
  let hashed = 0;
  for await (const piece of file.pieces()) {
    hasher.update(piece);
    hashed += piece.length;
    onProgress?.(hashed, file.size, 'hashing');
  }
  const d = hasher.digest();
  return { filehash: d.filehash, size: d.size, chunkSize: d.chunkSize };
}

/** A refusal's body as a WolkHttpError (a body that is not JSON becomes its detail). */
async function problemOf<H>(res: TusResponse<H>): Promise<WolkHttpError> {
  const body = await res.text();
  try {
    return new WolkHttpError(res.status, JSON.parse(body) as Record<string, unknown>);
  } catch {
    return new WolkHttpError(res.status, { title: '', detail: body });
  }
}

/** A failure worth another try from the gateway's offset: the connection, a restart, a busy or unready gateway. */
function transient<H>(io: TusTransport<H>, err: unknown): boolean {
  if (err instanceof WolkHttpError) return err.status === 502 || err.status === 504 || (err.status === 503 && err.problem['type'] !== '/problems/not-enough-storers') || err.status === 408;
  return io.lost(err);
}

/**
 * Uploads `file` to `uri` resumably. `chain` gives the chunk size, the chain id and the account nonce,
 * asked only when a new upload must be created (a resumed one carries the SetKey it was created with).
 */
export async function uploadTus<H>(io: TusTransport<H>, file: TusFile, store: TusStore, key: ClientKey, uri: string, chain: TusChain, o: TusOptions = {}): Promise<TusResult<H>> {
  const u = parseWolkUri(uri);
  if (!u.collection || !u.key) throw new Error(`put needs wolk://OWNER/COLLECTION/KEY, got ${uri}`);
  const path = gatewayPath(u);
  const size = file.size;
  const delays = o.retryDelaysMs ?? RETRY_DELAYS_MS;
  let saved = await store.load();
  let offset = 0;
  let sent = 0;
  let retries = 0;
  let failedInARow = 0;
  let resumedAt: number | undefined;

  /** Waits before the next try, or gives up with what a rerun would do. */
  const again = async (err: unknown): Promise<void> => {
    if (failedInARow >= delays.length) {
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(`${why}; gave up after ${failedInARow} tries. ${o.rerun ?? 'Run the same command again'} to resume from what the gateway holds${saved ? ` (${saved.uploadUrl.slice(0, 20)}…)` : ''}`, { cause: err });
    }
    const ms = delays[failedInARow++]!;
    retries++;
    o.say?.(`${err instanceof Error ? err.message : String(err)}; trying again in ${(ms / 1000).toFixed(1)} s`);
    await new Promise((r) => setTimeout(r, ms));
  };

  /** The gateway's offset for the saved upload; undefined when it no longer has it. */
  const headOffset = async (s: TusSaved): Promise<number | undefined> => {
    for (;;) {
      try {
        const head = await io.request('HEAD', s.uploadUrl, { headers: { 'tus-resumable': TUS_VERSION } });
        head.discard();
        if (head.status === 404 || head.status === 410) return undefined;
        const at = Number(head.header('upload-offset'));
        if (head.status === 200 && Number.isSafeInteger(at) && at >= 0 && at <= size) return at;
        throw new WolkHttpError(head.status, { title: 'HEAD of the upload', detail: `answered ${head.status} without a usable Upload-Offset` });
      } catch (err) {
        if (!transient(io, err)) throw err;
        await again(err);
      }
    }
  };

  if (saved) {
    const at = await headOffset(saved);
    if (at === undefined) {
      o.say?.(`the earlier upload is gone at the gateway (expired, terminated or refused); starting again`);
      await store.remove();
      saved = undefined;
    } else {
      offset = at;
      resumedAt = at;
      o.say?.(`resuming at ${fmt(offset)} of ${fmt(size)}`);
    }
  }
  if (!saved) {
    const d = await hashForSetKey(file, await chain.chunkSize(), o.onProgress);
    if (d.size !== size) throw new Error(`the file changed while it was hashed (${size} bytes before, ${d.size} after)`);
    const [chainId, nonce] = await Promise.all([chain.chainId(), chain.nonce()]);
    const tx = setKeyTransaction(
      { owner: u.owner, collection: u.collection, key: u.key, file: { filehash: Buffer.from(d.filehash), size: BigInt(d.size), chunkSize: d.chunkSize }, contentType: o.contentType ?? '' },
      key.publicKey,
      nonce,
      chainId,
    );
    const stx = signTransaction(tx, key);
    let loc: string | undefined;
    for (;;) {
      try {
        // Each try is signed again: a signature's nonce is single-use at the gateway (its replay cache).
        const res = await io.request('POST', path, { headers: creationHeaders(path, stx, d.size, key) });
        if (res.status !== 201) throw await problemOf(res);
        res.discard();
        loc = res.header('location');
        break;
      } catch (err) {
        if (!transient(io, err)) throw err;
        await again(err);
      }
    }
    if (!loc?.startsWith('/uploads/')) throw new Error(`the gateway created an upload without a usable Location (${String(loc)})`);
    failedInARow = 0;
    saved = { filehash: Buffer.from(d.filehash).toString('hex'), chunkSize: d.chunkSize, uploadUrl: loc };
    await store.save(saved);
    resumedAt = 0;
  }
  const upload = saved;

  for (;;) {
    const end = o.patchBytes ? Math.min(size, offset + o.patchBytes) : size;
    const base = offset;
    let here = 0;
    let res: TusResponse<H>;
    try {
      res = await io.request('PATCH', upload.uploadUrl, {
        headers: { 'tus-resumable': TUS_VERSION, 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream', 'content-length': String(end - offset) },
        body: { start: offset, end },
        onSent: (n) => {
          sent += n - here;
          here = n;
          o.onProgress?.(base + here, size, 'uploading');
        },
        ...(end === size ? { onBodySent: () => o.onProgress?.(size, size, 'waiting') } : {}),
      });
    } catch (err) {
      if (!transient(io, err)) throw err;
      await again(err);
      const at = await headOffset(upload);
      if (at === undefined) {
        await store.remove();
        throw new Error(`the gateway no longer has the upload ${upload.uploadUrl.slice(0, 20)}… (expired or refused); ${o.rerun ?? 'run the command again'} to start over`);
      }
      if (at > offset) failedInARow = 0;
      o.say?.(`resuming at ${fmt(at)} of ${fmt(size)}`);
      offset = at;
      continue;
    }
    const got = Number(res.header('upload-offset'));
    if (res.status === 204 && Number.isSafeInteger(got)) {
      res.discard();
      if (got > offset) failedInARow = 0;
      offset = got;
      continue;
    }
    if (res.status === 201 || res.status === 202 || res.status === 200) {
      const body = JSON.parse(await res.text()) as Record<string, unknown>;
      await store.remove();
      return { status: res.status, body, headers: res.headers, filehash: upload.filehash, size, uploadUrl: upload.uploadUrl, resumedAt: resumedAt ?? 0, sent, retries };
    }
    const err = await problemOf(res);
    if (res.status === 409 && err.problem['type'] === '/problems/offset-mismatch' && Number.isSafeInteger(got)) {
      // An earlier PATCH (of a try that was cut, or another run) moved the offset: continue from where the gateway is.
      await again(err);
      offset = got;
      continue;
    }
    if (transient(io, err)) {
      await again(err);
      const at = await headOffset(upload);
      if (at === undefined) {
        await store.remove();
        throw err;
      }
      offset = at;
      continue;
    }
    // The gateway dropped the upload (its bytes did not hash to the SetKey, the SetKey was refused) or never had it: no resuming it.
    if (res.status === 404 || res.status === 410 || res.status === 409 || res.status === 422 || res.status === 403) await store.remove();
    throw err;
  }
}

function fmt(n: number): string {
  return n < 1e6 ? `${n} B` : `${(n / 1e6).toFixed(1)} MB`;
}
