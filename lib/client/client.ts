// The TypeScript client of a Wolk gateway (docs/http-api.md): claim a name, put a file (hashed
// locally first, then streamed with a signed SetKey intent), get it (the filehash of what arrives
// is checked against the ETag), list, and fetch + verify a key's proof offline. Node only, no
// service code: the CLI (cli/) is a thin shell over this.
import { createHash } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { GetStateProofResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import { KeyRecord } from '../../gen/wolk/common/v1/state.js';
import { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
import { FileHasher } from '../merkle/index.js';
import { checkCertificate, checkQuorum, verifyProofResponse } from './proof.js';
import { BlockHeader } from '../../gen/wolk/common/v1/chain.js';
import type { Genesis } from '../chain/genesis.js';
import { signWolkRequest, type ClientKey } from './signing.js';
import { setBucketTransaction, setKeyTransaction, setNameTransaction, signTransaction } from './tx.js';
import { pathStateKey } from '../chain/state-keys.js';
import { gatewayPath, parseWolkUri } from './uri.js';
import { send, text, gatewayOrigin, type GatewayResponse } from './transport.js';
import { nonceAllocator } from './nonces.js';
import { problemOf, WolkHttpError } from './errors.js';
import { offersResumable, putResumable, RESUMABLE_MIN_BYTES } from './resumable.js';
import type { Readable } from 'node:stream';

/** Times a transaction is signed again with a fresh nonce after a refusal for its nonce (`nonce` in the 409). */
export const NONCE_ATTEMPTS = 5;
/** Times a PUT refused with 503 /problems/busy (no upload slot; nothing stored or submitted) is sent again. */
export const BUSY_ATTEMPTS = 12;
/** Longest pause between two tries after a 503 busy, whatever its Retry-After says (seconds). */
const BUSY_MAX_PAUSE_S = 30;

/**
 * What a long call is doing: hashing the file, sending it, waiting for the gateway's answer after the
 * last byte went out (storers fetch and commit replicas, then the SetKey must become final), or
 * downloading.
 */
export type ProgressPhase = 'hashing' | 'uploading' | 'waiting' | 'downloading';
export type Progress = (done: number, total: number, phase: ProgressPhase) => void;

/** What the gateway answers when a SetKey names no content type (GET's Content-Type). */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/**
 * One key, the same shape in every result of this client and in every line of the CLI's JSON output
 * (docs/cli.md): sizes are JSON numbers of bytes (exact to 2^53 - 1, far above any file size limit),
 * rounds decimal strings (uint64), hashes lowercase hex, and the content type what GET answers
 * (application/octet-stream when the SetKey named none).
 */
export interface KeyInfo {
  readonly uri: string;
  readonly key: string;
  readonly filehash: string;
  readonly size: number;
  readonly contentType: string;
  /** The round whose block made the key's current record (absent while an upload is not final). */
  readonly round?: string;
}

/** A size from JSON (number, or a uint64 as a decimal string) as a number of bytes. */
function sizeOf(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new Error(`the gateway sent a size that is not a whole number of bytes: ${JSON.stringify(v)}`);
  return n;
}

function keyInfo(owner: string, collection: string, key: string, f: { filehash: string; size: unknown; contentType?: string | undefined; round?: string | undefined }): KeyInfo {
  return {
    uri: `wolk://${owner}/${collection}/${key}`,
    key,
    filehash: f.filehash,
    size: sizeOf(f.size),
    contentType: f.contentType || DEFAULT_CONTENT_TYPE,
    ...(f.round ? { round: f.round } : {}),
  };
}

export { WolkHttpError } from './errors.js';

export interface ChainInfo {
  chainId: string;
  finalizedRound: string;
  replication: number;
  chunkSize: number;
  maxFileBytes: number;
}

/** The states of an upload (GET /status/uploads/{id}); `final`, `failed` and `rejected` are the last. */
export type UploadState = 'storing' | 'submitted' | 'final' | 'failed' | 'rejected';
const LAST_STATES: readonly UploadState[] = ['final', 'failed', 'rejected'];

/**
 * A PUT's outcome: the key (KeyInfo) and its upload. `state` is `final` when the gateway answered 201;
 * otherwise (202: asked for with respondAsync, or finality took longer than the gateway waits) the
 * upload goes on and `uploadId` / `statusUrl` say where to follow it (waitUpload, `wolk status`).
 */
export interface PutResult extends KeyInfo {
  readonly state: UploadState;
  readonly txid?: string;
  readonly storers?: string[];
  readonly phasesMs?: { readonly spool?: number; readonly commit?: number; readonly finality?: number };
  readonly uploadId?: string;
  readonly statusUrl?: string;
  /** Sent as a resumable (tus) upload: its URL, where this run started, the bytes it sent, the cuts it recovered from. */
  readonly resumable?: { readonly uploadUrl: string; readonly resumedAt: number; readonly sent: number; readonly retries: number };
}

export interface PutOptions {
  readonly contentType?: string;
  readonly onProgress?: Progress;
  /** Answer 202 at once (Prefer: respond-async); always one PUT. */
  readonly respondAsync?: boolean;
  /** Send large files resumably (lib/client/resumable.ts) when the gateway offers it. */
  readonly resumable?: {
    /** Upload state files (defaultUploadStateDir() for `wolk put`). */
    readonly stateDir: string;
    /** Smallest file sent resumably (default RESUMABLE_MIN_BYTES). */
    readonly minBytes?: number;
    readonly say?: (line: string) => void;
    readonly retryDelaysMs?: readonly number[];
  };
}

/** GET /status/uploads/{id}: an upload the gateway answered 202 for. */
export interface UploadStatus {
  readonly uploadId: string;
  readonly statusUrl: string;
  readonly state: UploadState;
  readonly uri: string;
  readonly filehash: string;
  readonly size: number;
  readonly round?: string;
  readonly txid?: string;
  readonly storers?: string[];
  readonly phasesMs?: PutResult['phasesMs'];
  readonly problem?: Record<string, unknown>;
}

export interface ProofReport {
  readonly uri: string;
  readonly filehash: string;
  /** Bytes (a number, as in every key of the CLI's output). */
  readonly size: number;
  readonly round: string;
  readonly stateRoot: string;
  /** The SMT proof leads from the key's record to the header's state root. */
  readonly stateProof: boolean;
  /** The header hashes to the certificate's block hash and every cert vote's signature holds. */
  readonly certificate: boolean;
  readonly certVotes: number;
  readonly certWeight: number;
  /** The cert votes' credentials and weights make a cert quorum of the genesis committee; null: not checked (no genesis given). */
  readonly quorum: boolean | null;
  readonly verified: boolean;
  readonly reason?: string;
}

/** A 409 refusal for the transaction's nonce: 'used' (spent by another) or 'gap' (dropped waiting for earlier ones). */
function nonceTrouble(err: unknown): 'used' | 'gap' | null {
  if (!(err instanceof WolkHttpError) || err.status !== 409 || err.problem['type'] !== '/problems/transaction-rejected') return null;
  const n = err.problem['nonce'];
  return n === 'used' || n === 'gap' ? n : null;
}

/**
 * A refusal after which the transaction is certainly not on chain and never will be: every 4xx (the
 * gateway checks everything it can before it stores or submits; a 409 transaction-rejected is a
 * verdict of consensus), and the 503s that say nothing was submitted (no upload slot, too few storers).
 * Anything else (5xx, a connection lost midway) may have reached the chain.
 */
function certainlyNotOnChain(err: unknown): boolean {
  if (!(err instanceof WolkHttpError)) return false;
  if (err.status >= 400 && err.status < 500) return true;
  return err.status === 503 && (err.problem['type'] === '/problems/busy' || err.problem['type'] === '/problems/not-enough-storers');
}


async function jsonOf(res: GatewayResponse): Promise<Record<string, unknown>> {
  const body = await text(res);
  try {
    return (body ? JSON.parse(body) : {}) as Record<string, unknown>;
  } catch {
    throw new Error(`the gateway answered ${res.status} with a body that is not JSON: ${body.slice(0, 200)}`);
  }
}

/** An upload id, from the id itself or from its status URL (absolute or /status/uploads/ID). */
export function uploadIdOf(idOrUrl: string): string {
  const m = /^(?:[a-z]+:\/\/[^/]+)?(?:\/status\/uploads\/)?([A-Za-z0-9_-]+)$/.exec(idOrUrl.trim());
  if (!m) throw new Error(`expected an upload id or its status URL (…/status/uploads/ID), got "${idOrUrl}"`);
  return m[1]!;
}

/** GET /wolk/OWNER/COLLECTION/?settings */
export interface BucketSettings {
  readonly owner: string;
  readonly collection: string;
  readonly replication: number;
  readonly chunkSize: number;
  readonly maxFileSize: number;
  readonly onChain: boolean;
}

export class WolkClient {
  constructor(
    readonly gateway: string,
    private readonly key?: ClientKey,
    /** The network's genesis: with it, proofs also check the certificate's quorum weight. */
    private readonly genesis?: Genesis,
  ) {}

  private needKey(): ClientKey {
    if (!this.key) throw new Error('this operation needs a key (wolk keygen, WOLK_KEY)');
    return this.key;
  }

  /** GET a JSON resource of the gateway (path as built by gatewayPath, plus a query). */
  async json<T>(pathAndQuery: string, signal?: AbortSignal): Promise<T> {
    const res = await send(this.gateway, 'GET', pathAndQuery, signal ? { signal } : {});
    if (res.status >= 400) throw await problemOf(res);
    return (await jsonOf(res)) as T;
  }

  /** A signed PUT of a SignedTransaction (claim, SetBucket). */
  private async putTransaction(path: string, stx: SignedTransaction, key: ClientKey): Promise<Record<string, unknown>> {
    const body = Buffer.from(SignedTransaction.encode(stx).finish());
    const auth = signWolkRequest({ method: 'PUT', path, bodySha256: createHash('sha256').update(body).digest(), key });
    const res = await send(this.gateway, 'PUT', path, { body, headers: { ...auth, 'content-type': 'application/x-protobuf', 'content-length': String(body.length) } });
    if (res.status >= 400) throw await problemOf(res);
    return jsonOf(res);
  }

  chain(): Promise<ChainInfo> {
    return this.json<ChainInfo>('/chain');
  }

  status(): Promise<unknown> {
    return this.json('/status');
  }

  async nonce(): Promise<bigint> {
    const a = await this.json<{ nonce: string }>(`/accounts/${Buffer.from(this.needKey().publicKey).toString('hex')}`);
    return BigInt(a.nonce);
  }

  /**
   * Runs `attempt` with a nonce of this key's allocator (lib/client/nonces.ts): consecutive nonces for
   * calls that run side by side in this process. A refusal for the nonce (409 with `nonce`) signs again
   * with a fresh one, at most NONCE_ATTEMPTS times; after a gap it first waits for this process's calls
   * with smaller nonces to end. The same signed transaction is never sent twice here: a transaction that
   * may be on chain (an answer lost, a 5xx) ends the call, and its nonce is kept from reuse.
   */
  private async withNonce<T>(chainId: string, key: ClientKey, attempt: (nonce: bigint) => Promise<T>): Promise<T> {
    const lease = await nonceAllocator(chainId, Buffer.from(key.publicKey).toString('hex')).take(() => this.nonce());
    let free = false;
    try {
      for (let n = 1; ; n++) {
        try {
          return await attempt(lease.nonce);
        } catch (err) {
          const trouble = nonceTrouble(err);
          if (trouble !== null && n < NONCE_ATTEMPTS) {
            if (trouble === 'gap') await lease.earlierSettled();
            await lease.renew(() => this.nonce());
            continue;
          }
          free = certainlyNotOnChain(err);
          throw err;
        }
      }
    } finally {
      if (free) lease.release();
      else lease.spent();
    }
  }

  /** Claims OWNER for this key (a SetName on chain; first claim wins). */
  async claim(name: string): Promise<Record<string, unknown>> {
    const key = this.needKey();
    const info = await this.chain();
    return this.withNonce(info.chainId, key, (nonce) => this.putTransaction(gatewayPath({ owner: name }), signTransaction(setNameTransaction(name, key.publicKey, nonce, info.chainId), key), key));
  }

  /** A collection's settings (what the chain holds, the network's defaults filled in; `onChain: false` when it has no SetBucket yet). */
  async bucket(uri: string): Promise<BucketSettings> {
    const u = parseWolkUri(uri);
    if (!u.collection || u.key) throw new Error(`a collection is wolk://OWNER/COLLECTION/, got ${uri}`);
    return this.json<BucketSettings>(`${gatewayPath({ owner: u.owner, collection: u.collection })}?settings`);
  }

  /** Creates a collection or changes its settings (a SetBucket on chain; 0 or absent = the network's default). */
  async makeBucket(uri: string, settings: { replication?: number; chunkSize?: number; maxFileSize?: bigint }): Promise<Record<string, unknown>> {
    const key = this.needKey();
    const u = parseWolkUri(uri);
    if (!u.collection || u.key) throw new Error(`a collection is wolk://OWNER/COLLECTION/, got ${uri}`);
    const { owner, collection } = u;
    const info = await this.chain();
    return this.withNonce(info.chainId, key, (nonce) =>
      this.putTransaction(gatewayPath({ owner, collection }), signTransaction(setBucketTransaction(owner, collection, settings, key.publicKey, nonce, info.chainId), key), key),
    );
  }

  /**
   * Uploads a file: hashes it (filehash + sha-256), signs the SetKey intent and the request, streams it.
   * With `resumable`, a file of at least its minBytes (RESUMABLE_MIN_BYTES) goes through the gateway's
   * tus uploads when it offers them (putResumable: a cut is retried, a rerun resumes); `respondAsync`
   * always uses one PUT.
   */
  async put(file: string, uri: string, o: PutOptions = {}): Promise<PutResult> {
    const key = this.needKey();
    const u = parseWolkUri(uri);
    if (!u.collection || !u.key) throw new Error(`put needs wolk://OWNER/COLLECTION/KEY, got ${uri}`);
    // The collection's chunk size (its SetBucket; the network's when it has none) decides the filehash.
    const [info, bucket] = await Promise.all([this.chain(), this.bucket(`wolk://${u.owner}/${u.collection}/`)]);
    const size = statSync(file).size;
    if (o.resumable && !o.respondAsync && size >= (o.resumable.minBytes ?? RESUMABLE_MIN_BYTES) && (await offersResumable(this.gateway))) {
      const r = o.resumable;
      const res = await this.withNonce(info.chainId, key, (nonce) =>
        putResumable(this.gateway, key, file, uri, { chunkSize: async () => bucket.chunkSize || info.chunkSize, chainId: async () => info.chainId, nonce: async () => nonce }, {
          stateDir: r.stateDir,
          ...(o.contentType !== undefined ? { contentType: o.contentType } : {}),
          ...(o.onProgress ? { onProgress: o.onProgress } : {}),
          ...(r.say ? { say: r.say } : {}),
          ...(r.retryDelaysMs ? { retryDelaysMs: r.retryDelaysMs } : {}),
        }),
      );
      const resumed = { uploadUrl: res.uploadUrl, resumedAt: res.resumedAt, sent: res.sent, retries: res.retries };
      return { ...this.putResult(u.owner, u.collection, u.key, res.status, res.body, res.headers, o.contentType), resumable: resumed };
    }
    const sha = createHash('sha256');
    const hasher = new FileHasher({ chunkSize: bucket.chunkSize || info.chunkSize });
    let hashed = 0;
    for await (const piece of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      sha.update(piece);
      hasher.update(piece);
      hashed += piece.length;
      o.onProgress?.(hashed, size, 'hashing');
    }
    const d = hasher.digest();
    const bodySha256 = sha.digest();
    const path = gatewayPath(u);
    const [owner, collection, k] = [u.owner, u.collection, u.key];
    const res = await this.withNonce(info.chainId, key, async (nonce) => {
      const tx = setKeyTransaction(
        { owner, collection, key: k, file: { filehash: Buffer.from(d.filehash), size: BigInt(d.size), chunkSize: d.chunkSize }, contentType: o.contentType ?? '' },
        key.publicKey,
        nonce,
        info.chainId,
      );
      const wolkTransaction = Buffer.from(SignedTransaction.encode(signTransaction(tx, key)).finish()).toString('base64');
      // No upload slot free (503 busy): nothing was stored or submitted, so the same transaction goes again after Retry-After.
      for (let busy = 1; ; busy++) {
        const headers: Record<string, string> = {
          ...signWolkRequest({ method: 'PUT', path, bodySha256, key }),
          'content-length': String(size),
          'content-type': o.contentType || 'application/octet-stream',
          'wolk-transaction': wolkTransaction,
          ...(o.respondAsync ? { prefer: 'respond-async' } : {}),
        };
        let sent = 0;
        const src = createReadStream(file, { highWaterMark: 1 << 20 });
        src.on('data', (c) => {
          sent += c.length;
          o.onProgress?.(sent, size, 'uploading');
        });
        const r = await send(this.gateway, 'PUT', path, { headers, body: src as Readable, onBodySent: () => o.onProgress?.(size, size, 'waiting') });
        if (r.status < 400) return r;
        // Refused (perhaps before the body was read): stop reading the file for this try.
        src.destroy();
        const err = await problemOf(r);
        if (r.status !== 503 || err.problem['type'] !== '/problems/busy' || busy >= BUSY_ATTEMPTS) throw err;
        const after = Number(r.headers['retry-after']);
        const pause = Math.min(BUSY_MAX_PAUSE_S, Number.isFinite(after) && after > 0 ? after : 5);
        await new Promise((resolve) => setTimeout(resolve, pause * 1000));
      }
    });
    return this.putResult(u.owner, u.collection, u.key, res.status, await jsonOf(res), res.headers, o.contentType);
  }

  /** A stored upload's answer (201 final, 202 accepted) as a PutResult. */
  private putResult(owner: string, collection: string, key: string, httpStatus: number, body: Record<string, unknown>, headers: GatewayResponse['headers'], contentType: string | undefined): PutResult {
    const stored = keyInfo(owner, collection, key, { filehash: String(body['filehash'] ?? ''), size: body['size'], contentType, round: body['round'] as string | undefined });
    const extra = {
      ...(typeof body['txid'] === 'string' ? { txid: body['txid'] } : {}),
      ...(Array.isArray(body['storers']) ? { storers: body['storers'] as string[] } : {}),
      ...(body['phasesMs'] ? { phasesMs: body['phasesMs'] as PutResult['phasesMs'] } : {}),
    };
    if (httpStatus === 201 || httpStatus === 200) return { ...stored, state: 'final', ...extra };
    // 202: accepted, not final yet; the body carries the state and the status path.
    const statusPath = typeof body['status'] === 'string' ? body['status'] : String(headers['location'] ?? '');
    const uploadId = uploadIdOf(statusPath);
    return { ...stored, state: (body['state'] as UploadState | undefined) ?? 'submitted', ...extra, uploadId, statusUrl: this.statusUrl(uploadId) };
  }

  private statusUrl(uploadId: string): string {
    return new URL(`/status/uploads/${uploadId}`, gatewayOrigin(this.gateway)).href;
  }

  /** GET /status/uploads/{id}: where an upload answered 202 stands now. */
  async uploadStatus(idOrUrl: string, signal?: AbortSignal): Promise<UploadStatus> {
    const uploadId = uploadIdOf(idOrUrl);
    const s = await this.json<Record<string, unknown>>(`/status/uploads/${uploadId}`, signal);
    const uri = `wolk://${String(s['owner'])}/${String(s['collection'])}/${String(s['key'])}`;
    return {
      uploadId,
      statusUrl: this.statusUrl(uploadId),
      state: s['state'] as UploadState,
      uri,
      filehash: String(s['filehash'] ?? ''),
      size: sizeOf(s['size']),
      ...(typeof s['round'] === 'string' ? { round: s['round'] } : {}),
      ...(typeof s['txid'] === 'string' ? { txid: s['txid'] } : {}),
      ...(Array.isArray(s['storers']) ? { storers: s['storers'] as string[] } : {}),
      ...(s['phasesMs'] ? { phasesMs: s['phasesMs'] as PutResult['phasesMs'] } : {}),
      ...(s['problem'] && typeof s['problem'] === 'object' ? { problem: s['problem'] as Record<string, unknown> } : {}),
    };
  }

  /**
   * Follows an upload until it is final, failed or rejected, or until `timeoutMs` passes (then the last
   * state seen is returned, not final). Polls every `intervalMs`; `onState` hears each new state.
   */
  async waitUpload(idOrUrl: string, o: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal; onState?: (s: UploadStatus) => void; now?: () => number }): Promise<UploadStatus> {
    const now = o.now ?? Date.now;
    const deadline = now() + o.timeoutMs;
    let last: UploadState | undefined;
    for (;;) {
      const s = await this.uploadStatus(idOrUrl, o.signal);
      if (s.state !== last) o.onState?.(s);
      last = s.state;
      if (LAST_STATES.includes(s.state) || now() >= deadline) return s;
      const pause = Math.min(o.intervalMs ?? 1000, Math.max(0, deadline - now()));
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, pause);
        o.signal?.addEventListener('abort', () => (clearTimeout(timer), reject(o.signal!.reason as Error)), { once: true });
      });
    }
  }

  /**
   * Downloads a key into `out`. A whole-file GET is re-hashed as it arrives and must give the filehash
   * the gateway names (ETag) and, when given, `filehash` (e.g. from a verified proof); a mismatch
   * throws after the last byte. Bytes reach `out` before they are verified: to a file, use getFile.
   */
  async get(uri: string, out: Writable, o: { onProgress?: Progress; range?: string; chunkSize?: number; filehash?: string } = {}): Promise<KeyInfo> {
    const u = parseWolkUri(uri);
    if (!u.collection || !u.key) throw new Error(`get needs wolk://OWNER/COLLECTION/KEY, got ${uri}`);
    const res = await send(this.gateway, 'GET', gatewayPath(u), o.range ? { headers: { range: o.range } } : {});
    if (res.status >= 400) throw await problemOf(res);
    const total = Number(res.headers['content-length'] ?? 0);
    const etag = String(res.headers['etag'] ?? '').replace(/"/g, '');
    if (o.filehash !== undefined && etag !== o.filehash) {
      res.body.destroy();
      throw new Error(`the gateway serves filehash ${etag || '(none)'} for ${uri}, the proven record says ${o.filehash}`);
    }
    const hasher = res.status === 200 && o.chunkSize ? new FileHasher({ chunkSize: o.chunkSize }) : undefined;
    let done = 0;
    for await (const piece of res.body as AsyncIterable<Buffer>) {
      hasher?.update(piece);
      done += piece.length;
      if (!out.write(piece)) await new Promise((r) => out.once('drain', r));
      o.onProgress?.(done, total, 'downloading');
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (hasher) {
      const got = Buffer.from(hasher.digest().filehash).toString('hex');
      if (got !== etag) throw new Error(`the downloaded bytes hash to ${got}, the chain says ${etag}`);
    }
    return keyInfo(u.owner, u.collection, u.key, { filehash: etag, size: done, contentType: String(res.headers['content-type'] ?? '') });
  }

  /**
   * Downloads a key to `file` so that no unverified byte is ever left there: the bytes go to a
   * temporary file beside it (created exclusively, so a missing directory fails before any request),
   * are re-hashed against `filehash` (the proven record's) and only then renamed over `file`; on any
   * failure the temporary file is removed and `file` is untouched.
   */
  async getFile(uri: string, file: string, o: { chunkSize: number; filehash: string; onProgress?: Progress }): Promise<KeyInfo> {
    if (!(o.chunkSize > 0)) throw new Error(`cannot verify a download of ${uri} without the record's chunk size`);
    const tmp = join(dirname(file), `.${basename(file)}.wolk-${randomBytes(6).toString('hex')}.part`);
    const handle = await open(tmp, 'wx', 0o600).catch((err: NodeJS.ErrnoException) => {
      throw new Error(`cannot write ${file}: ${err.code === 'ENOENT' ? `the directory ${dirname(file)} does not exist` : err.message}`);
    });
    const out = createWriteStream('', { fd: handle.fd, autoClose: true });
    let renamed = false;
    try {
      const r = await this.get(uri, out, { chunkSize: o.chunkSize, filehash: o.filehash, ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
      await rename(tmp, file);
      renamed = true;
      return r;
    } finally {
      if (!out.destroyed) out.destroy();
      if (!renamed) await rm(tmp, { force: true });
    }
  }

  /** Every key of a collection (the gateway pages listings: `next` is followed to the end). */
  async list(uri: string, o: { prefix?: string } = {}): Promise<{ keys: KeyInfo[] }> {
    const u = parseWolkUri(uri);
    if (!u.collection || u.key) throw new Error(`ls needs wolk://OWNER/COLLECTION/, got ${uri}`);
    const keys: KeyInfo[] = [];
    let next: string | undefined;
    do {
      const q = new URLSearchParams({ limit: '1000', ...(o.prefix ? { prefix: o.prefix } : {}), ...(next ? { page: next } : {}) });
      const page = await this.json<{ keys: { key: string; filehash: string; size: unknown; contentType?: string; round?: string }[]; next?: string }>(`${gatewayPath({ owner: u.owner, collection: u.collection })}?${q}`);
      for (const k of page.keys) keys.push(keyInfo(u.owner, u.collection, k.key, k));
      next = page.next;
    } while (next);
    return { keys };
  }

  /** Fetches `?proof` and verifies it here, offline: nothing the gateway says is taken on trust. */
  async proof(uri: string): Promise<ProofReport & { chunkSize: number }> {
    const u = parseWolkUri(uri);
    if (!u.collection || !u.key) throw new Error(`proof needs wolk://OWNER/COLLECTION/KEY, got ${uri}`);
    const j = await this.json<{ proof: string; parentHeader?: string }>(`${gatewayPath(u)}?proof`);
    return { ...verifyProofJson(u.owner, u.collection, u.key, j.proof, this.genesis ? { genesis: this.genesis, parentHeader: j.parentHeader } : undefined), ...chunkSizeOf(j.proof) };
  }
}

function chunkSizeOf(proofB64: string): { chunkSize: number } {
  const r = GetStateProofResponse.decode(Buffer.from(proofB64, 'base64'));
  const v = r.proof?.value;
  return { chunkSize: v ? (KeyRecord.decode(v).file?.chunkSize ?? 0) : 0 };
}

/** Verifies a `?proof` answer's proof field for wolk://owner/collection/key. */
export function verifyProofJson(owner: string, collection: string, key: string, proofB64: string, committee?: { genesis: Genesis; parentHeader: string | undefined }): ProofReport {
  const uri = `wolk://${owner}/${collection}/${key}`;
  const r = GetStateProofResponse.decode(Buffer.from(proofB64, 'base64'));
  const stateKey = pathStateKey(owner, collection, key);
  const checked = verifyProofResponse(r, stateKey);
  const header = r.header;
  const base = { uri, round: (header?.round ?? 0n).toString(), stateRoot: Buffer.from(header?.stateRoot ?? []).toString('hex') };
  if (!checked.ok || !checked.value) {
    return { ...base, filehash: '', size: 0, stateProof: false, certificate: false, certVotes: 0, certWeight: 0, quorum: null, verified: false, reason: checked.ok ? 'the key is absent' : checked.reason };
  }
  const rec = KeyRecord.decode(checked.value);
  const recordMatches = rec.owner === owner && rec.collection === collection && rec.key === key;
  const cert = checkCertificate(header!, r.certificate);
  const parent = committee?.parentHeader ? BlockHeader.decode(Buffer.from(committee.parentHeader, 'base64')) : undefined;
  const quorum = committee ? checkQuorum(committee.genesis, header!, r.certificate, parent) : null;
  const verified = recordMatches && cert.ok && quorum?.ok !== false;
  return {
    ...base,
    filehash: Buffer.from(rec.file?.filehash ?? []).toString('hex'),
    size: Number(rec.file?.size ?? 0n),
    stateProof: recordMatches,
    certificate: cert.ok,
    certVotes: cert.validVotes,
    certWeight: cert.weight,
    quorum: quorum === null ? null : quorum.ok,
    verified,
    ...(verified
      ? {}
      : { reason: !recordMatches ? 'the record names another key' : !cert.blockHashMatches ? 'the header does not hash to the certified block' : !cert.ok ? 'a cert vote does not verify' : quorum && !quorum.ok ? quorum.reason : 'not verified' }),
  };
}
