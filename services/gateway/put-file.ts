// The upload flow, PUT /wolk/{owner}/{collection}/{key} (docs/http-api.md "Upload", DESIGN §4):
// every check that can refuse the write runs before anything is stored or submitted; then the body is
// spooled and hashed while the storers are already asked (the signed SetKey names the file, so they can
// be solicited at once and fetch its bytes as they arrive: issue 21, "uploads streamed through"), N
// storers commit, and once the body is checked against the signed file and its Content-Digest the
// gateway co-signs and submits the SetKey and waits for it to be final. Uploads answered 202 are
// followed at /status/uploads/{id}.
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FileInfo as FileRef } from '../../gen/wolk/common/v1/storage.js';
import type { SetKey, SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
import { cosignSetKey } from '../../lib/client/tx.js';
import { txId } from '../../lib/chain/tx-bytes.js';
import type { Problem } from '../../lib/http/problem.js';
import { sendJson } from '../../lib/http/problem.js';
import { isValidChunkSize } from '../../lib/merkle/index.js';
import { wolkTracer } from '../../lib/telemetry/tracing.js';
import type { VerifiedSignature } from '../../lib/http/signatures.js';
import { authenticate, requireUserSignature } from './auth.js';
import type { ChainStatus } from './chain.js';
import { bodyOptions, hex, type ApiContext, type Routed } from './context.js';
import { awaitFinal, followTx, rejectionMembers, submitTx, type TxOutcome } from './finality.js';
import { TxRejected, problem, toProblem } from './problems.js';
import { bucketSettings, requireOwner, type BucketSettings } from './records.js';
import { contentDigest, declaredLength, prefersAsync, transactionHeader } from './request.js';
import { FETCH_SPARE, type UploadSource } from './source.js';
import { createUploadSlots, slotRefusalText } from './slots.js';
import { SpoolError, SpoolTail, spoolBody, spoolPath, type Spooled } from './spool.js';
import { collectCommitments, seedAfter } from './upload.js';

export interface UploadStatus {
  /** rejected: consensus refused the transaction (`problem` says why); failed: the upload stopped before. */
  state: 'storing' | 'submitted' | 'final' | 'rejected' | 'failed';
  owner: string;
  collection: string;
  key: string;
  filehash: string;
  size: number;
  txid?: string;
  round?: string;
  storers?: string[];
  /** How long each phase took: body to disk, N commitments, submit to final (ms). */
  phasesMs?: { spool: number; commit?: number; finality?: number };
  problem?: Problem;
}

export interface FilePath {
  readonly owner: string;
  readonly collection: string;
  readonly key: string;
}

/** Uploads remembered for their status URL (the oldest forgotten first). */
const REMEMBERED_UPLOADS = 10_000;

/** A write that passed every check that can refuse it before its body is read (checkWrite). */
export interface CheckedWrite {
  readonly sig: VerifiedSignature;
  readonly stx: SignedTransaction;
  /** The signed SetKey's file: what the body must hash to. */
  readonly file: FileRef;
  readonly contentType: string;
  readonly bucket: BucketSettings;
  readonly chainStatus: ChainStatus;
  /** The most bytes the body may have (the gateway's and the collection's limits). */
  readonly maxBytes: number;
  /** Content-Length, when sent. */
  readonly length: number | undefined;
  /** The sha-256 of Content-Digest (RFC 9530), covered by the signature: what the body must hash to. */
  readonly digest: Uint8Array;
}

export interface StoreRequest {
  readonly p: FilePath;
  readonly rawPath: string;
  readonly write: Pick<CheckedWrite, 'stx' | 'bucket' | 'chainStatus'>;
  /** The signed SetKey's file: what the storers are asked to commit to. */
  readonly file: { readonly filehash: Uint8Array; readonly size: number; readonly chunkSize: number };
  /** Where the storers fetch it: the spool as the body arrives (a PUT), or a complete one. */
  readonly source: UploadSource;
  /**
   * The body, on disk and checked against the signed SetKey (requireSignedFile) and its Content-Digest.
   * Nothing is answered early or submitted before it resolves; when it rejects, the storers' requests
   * are cancelled and its refusal is the answer.
   */
  readonly body: Promise<unknown>;
  /** When the body began to arrive (phasesMs.spool). */
  readonly startedAt: number;
  /** Answer the client now (202 with the status URL); the upload goes on without it. */
  readonly answerEarly?: (statusUrl: string, status: UploadStatus) => void;
  /** Ends the finality wait (the client went away). */
  readonly waitSignal?: AbortSignal | undefined;
}

export interface Stored {
  readonly uploadId: string;
  readonly statusUrl: string;
  readonly status: UploadStatus;
  /** False: the SetKey was submitted but not final within WOLK_FINALITY_TIMEOUT_MS (answer 202). */
  readonly final: boolean;
}

export interface UploadFlow {
  put(r: Routed, p: FilePath): Promise<void>;
  /** The spooled, checked body to the chain (the second half of a PUT; resumable uploads end here). */
  store(s: StoreRequest): Promise<Stored | 'answered'>;
  /** An upload slot for `owner` at `address` (503 busy when none is free). */
  takeSlot(owner: string, address: string | undefined): { release(): void };
  /** Logs a refusal of an upload (info for the client's fault, warn for the gateway's). */
  logRefusal(rawPath: string, err: unknown, uploadId?: string): void;
  /** An upload's status; one answered 202 and still `submitted` is looked up on chain first. */
  status(id: string, signal?: AbortSignal): Promise<UploadStatus | undefined>;
  readonly uploads: ReadonlyMap<string, UploadStatus>;
  /** Uploads holding a slot now (from the checks' end to their answer). */
  readonly active: number;
}

/**
 * Every check of a file write that can refuse it before its body is read (docs/http-api.md "Upload"):
 * the RFC 9421 signature and nonce, the SetKey intent (sender = signer, path, user signature, file),
 * the sizes, the owner, the collection's chunk size and limit, the chain id. A PUT and the creation of
 * a resumable upload both pass through here.
 */
export async function checkWrite(ctx: ApiContext, r: Routed, p: FilePath, declaredSize?: number): Promise<CheckedWrite> {
  const { req, rawPath } = r;
  const sig = await authenticate(ctx, req, rawPath);
  const stx = transactionHeader(req);
  const tx = stx.tx;
  if (!tx || tx.body?.$case !== 'setKey') throw problem(400, 'malformed-transaction', 'Bad Request', 'Wolk-Transaction must hold a SetKey');
  const intent: SetKey = tx.body.value;
  if (!Buffer.from(tx.sender).equals(Buffer.from(sig.publicKey))) throw problem(403, 'not-owner', 'Forbidden', 'the transaction sender is not the key that signed the request');
  if (intent.owner !== p.owner || intent.collection !== p.collection || intent.key !== p.key) throw problem(400, 'transaction-mismatch', 'Bad Request', 'the SetKey names another path than the request');
  requireUserSignature(stx, true);
  const file = intent.file;
  if (!file || !isValidChunkSize(file.chunkSize)) throw problem(400, 'malformed-transaction', 'Bad Request', 'the SetKey must name the file (filehash, size, chunk size 4096-32768, a power of two)');
  // Checked in this order since issue 25.1: a malformed or missing digest is the request's fault, before who owns what.
  const digest = contentDigest(req);
  if (!digest) throw problem(400, 'missing-digest', 'Bad Request', 'Content-Digest with sha-256 is required (RFC 9530)');
  const length = declaredSize ?? declaredLength(req);
  if (length !== undefined && length > ctx.maxFileBytes) {
    throw problem(413, 'too-large', 'Content Too Large', `the body (${length} bytes) is larger than this gateway accepts (${ctx.maxFileBytes} bytes)`, { maxBytes: ctx.maxFileBytes });
  }
  if (BigInt(ctx.maxFileBytes) < file.size) throw problem(413, 'too-large', 'Content Too Large', `the file (${file.size} bytes) is larger than this gateway accepts (${ctx.maxFileBytes} bytes)`, { maxBytes: ctx.maxFileBytes });
  await requireOwner(ctx, p.owner, sig.publicKey);
  // Whatever consensus would refuse after the storers did their work is refused here, first.
  const bucket = await bucketSettings(ctx, p.owner, p.collection);
  if (file.chunkSize !== bucket.chunkSize) {
    throw problem(400, 'wrong-chunk-size', 'Bad Request', `files of wolk://${p.owner}/${p.collection} use chunks of ${bucket.chunkSize} bytes; the SetKey says ${file.chunkSize}`, { chunkSize: bucket.chunkSize });
  }
  const maxBytes = bucket.maxFileBytes;
  if ((length !== undefined && length > maxBytes) || BigInt(maxBytes) < file.size) {
    throw problem(413, 'too-large', 'Content Too Large', `wolk://${p.owner}/${p.collection} takes files of at most ${maxBytes} bytes`, { maxBytes });
  }
  const chainStatus = await ctx.chain.status();
  if (tx.chainId !== chainStatus.chainId) throw problem(400, 'wrong-chain', 'Bad Request', `the transaction is for "${tx.chainId}", this network is "${chainStatus.chainId}"`);
  return { sig, stx, file, contentType: intent.contentType, bucket, chainStatus, maxBytes, length, digest };
}

/** 422 unless the spooled bytes are the file the user signed (filehash and size of the SetKey). */
export function requireSignedFile(spooled: Pick<Spooled, 'digest'>, file: FileRef): void {
  const d = spooled.digest;
  if (!Buffer.from(d.filehash).equals(Buffer.from(file.filehash)) || BigInt(d.size) !== file.size) {
    throw problem(422, 'filehash-mismatch', 'Unprocessable Content', `the body's filehash/size (${hex(d.filehash)}, ${d.size}) differ from the signed SetKey's`);
  }
}

/** The answer of a stored upload: 201 once final, 202 with its status URL otherwise. */
export function sendStored(res: ServerResponse, rawPath: string, stored: Stored, extraHeaders: Record<string, string> = {}): void {
  const { status, statusUrl } = stored;
  if (!stored.final) {
    sendJson(res, 202, { status: statusUrl, ...status }, { location: statusUrl, ...extraHeaders });
    return;
  }
  sendJson(res, 201, { filehash: status.filehash, size: status.size, round: status.round, txid: status.txid, storers: status.storers, phasesMs: status.phasesMs }, { location: rawPath, etag: `"${status.filehash}"`, ...extraHeaders });
}

export function createUploadFlow(ctx: ApiContext): UploadFlow {
  const uploads = new Map<string, UploadStatus>();
  // For an upload answered 202 (its finality wait ended before the block), how to learn its outcome
  // when its status is asked for: the gateway does no work in the background for it.
  const pending = new Map<string, (signal?: AbortSignal) => Promise<TxOutcome | null>>();
  const remember = (id: string, s: UploadStatus) => {
    if (uploads.size >= REMEMBERED_UPLOADS) {
      const oldest = uploads.keys().next().value as string;
      uploads.delete(oldest);
      pending.delete(oldest);
    }
    uploads.set(id, s);
  };
  const status = async (id: string, signal?: AbortSignal): Promise<UploadStatus | undefined> => {
    const s = uploads.get(id);
    const follow = pending.get(id);
    if (!s || s.state !== 'submitted' || !follow) return s;
    const outcome = await follow(signal);
    if (outcome?.state === 'final') {
      s.state = 'final';
      s.round = outcome.round.toString();
      pending.delete(id);
    } else if (outcome?.state === 'rejected') {
      s.state = 'rejected';
      s.problem = toProblem(new TxRejected(outcome.reason, rejectionMembers(outcome)))?.problem;
      pending.delete(id);
    }
    return s;
  };
  const slots = createUploadSlots(ctx.maxConcurrentUploads);
  const commitDeadlineFor = (size: number) => ctx.commitDeadlineMs + Math.ceil((size / ctx.commitMinBytesPerSecond) * 1000);

  /** Every refusal of an upload is logged with its reason: a client's fault at info, the gateway's or the network's at warn. */
  function logRefusal(rawPath: string, err: unknown, uploadId?: string): void {
    const answer = toProblem(err);
    if (!answer) return; // not a refusal: a bug, logged as such by the HTTP front
    const { status, type, detail } = answer.problem;
    const fields = { path: rawPath, status, type, reason: detail, ...(uploadId ? { uploadId } : {}) };
    if (status >= 500) ctx.logger.warn('upload refused', fields);
    else ctx.logger.info('upload refused', fields);
  }

  async function put(r: Routed, p: FilePath): Promise<void> {
    try {
      await attempt(r, p);
    } catch (err) {
      logRefusal(r.rawPath, err);
      throw err;
    }
  }

  async function attempt(r: Routed, p: FilePath): Promise<void> {
    const { req, res, rawPath, signal } = r;
    const w = await checkWrite(ctx, r, p);
    const { file, length, maxBytes, digest: declaredDigest } = w;
    const slot = takeSlot(p.owner, r.address);
    const startedAt = ctx.clock.now();
    // The body is spooled while the storers already fetch it from the spool (SpoolTail); `stop` ends
    // the spooling when the upload fails before its body has arrived.
    const stop = new AbortController();
    const tail = new SpoolTail(spoolPath(ctx.spoolDir));
    const options = bodyOptions(ctx, r);
    const body = wolkTracer().startActiveSpan('wolk.gateway.spool', async (span) => {
      try {
        const spooled = await spoolBody(req, {
          dir: ctx.spoolDir,
          maxBytes,
          chunkSize: file.chunkSize,
          ...(length !== undefined ? { declaredLength: length } : {}),
          ...options,
          signal: options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal,
          tail,
        });
        span.setAttribute('wolk.size', spooled.size);
        try {
          if (!Buffer.from(spooled.sha256).equals(Buffer.from(declaredDigest))) {
            throw problem(422, 'digest-mismatch', 'Unprocessable Content', 'the body does not match its Content-Digest (RFC 9530)');
          }
          requireSignedFile(spooled, file);
          tail.complete();
        } catch (err) {
          // Not the signed file: another upload of it serves the storers instead (SpoolRegistry.get).
          tail.fail(err as Error);
          spooled.remove();
          throw err;
        }
        return spooled;
      } finally {
        span.end();
      }
    });
    const respondAsync = prefersAsync(req);
    try {
      const stored = await store({
        p,
        rawPath,
        write: w,
        file: { filehash: file.filehash, size: Number(file.size), chunkSize: file.chunkSize },
        source: { filehash: file.filehash, size: Number(file.size), chunkSize: file.chunkSize, pieces: (offset, end, sig) => tail.pieces(offset, end, sig), failed: () => tail.failed, checked: () => tail.checked },
        body,
        startedAt,
        // An async upload goes on after its answer (its client may hang up); a synchronous one ends with its client.
        ...(respondAsync ? { answerEarly: (statusUrl: string, status: UploadStatus) => sendJson(res, 202, { status: statusUrl, ...status }, { location: statusUrl, 'preference-applied': 'respond-async' }) } : { waitSignal: signal }),
      });
      if (stored === 'answered') return;
      sendStored(res, rawPath, stored);
    } finally {
      stop.abort(new SpoolError('aborted', 'the upload ended before its body'));
      const spooled = await body.catch(() => undefined);
      spooled?.remove();
      slot.release();
    }
  }

  function takeSlot(owner: string, address: string | undefined): { release(): void } {
    const holder = { owner, address: address ?? 'unknown' };
    const slot = slots.take(holder);
    if (!('release' in slot)) {
      throw problem(503, 'busy', 'Service Unavailable', slotRefusalText(slot, holder, ctx.maxConcurrentUploads), { scope: slot.scope, limit: slot.limit }, { 'retry-after': '5' });
    }
    return slot;
  }

  /**
   * From a body (arriving or spooled) to the chain: the storers are asked while it arrives, N commit,
   * and once the body is checked against the signed SetKey the gateway co-signs and submits, and waits
   * for finality (DESIGN §4 steps 3-6). The caller owns the spool file and the upload slot. With
   * `answerEarly` the client is answered (202) once the body is checked, and a later failure is only
   * recorded in the status and the log ('answered').
   */
  async function store(s: StoreRequest): Promise<Stored | 'answered'> {
    const { p, rawPath, file } = s;
    const { stx, bucket, chainStatus } = s.write;
    const phasesMs: NonNullable<UploadStatus['phasesMs']> = { spool: 0 };
    const status: UploadStatus = { state: 'storing', owner: p.owner, collection: p.collection, key: p.key, filehash: hex(file.filehash), size: file.size, phasesMs };
    // Hex, not base64url: an id is typed as `wolk status ID`, and one starting with '-' read as an option.
    const uploadId = randomBytes(12).toString('hex');
    remember(uploadId, status);
    const statusUrl = `/status/uploads/${uploadId}`;

    const cancel = new AbortController();
    let spooledAt = 0;
    const bodyDone = s.body.then(() => {
      spooledAt = ctx.clock.now();
      phasesMs.spool = spooledAt - s.startedAt;
    });
    bodyDone.catch((err: unknown) => cancel.abort(err));
    // Another upload of the same file whose body is still arriving would serve the storers (they
    // fetch by filehash, and share a fetch in flight): its body may not be the file. This one then
    // waits for its own body and is served checked (SpoolRegistry.get prefers checked sources).
    const waitForBody = ctx.spools.streaming(file.filehash);
    let release: () => void = () => undefined;
    try {
      if (waitForBody) await bodyDone;
      // The storers are asked now and fetch the body as it arrives; a body that fails cancels them.
      release = ctx.spools.add(s.source, bucket.replication + FETCH_SPARE);
      const collecting = wolkTracer().startActiveSpan('wolk.gateway.solicit', async (span) => {
        span.setAttributes({ 'wolk.filehash': status.filehash, 'wolk.size': file.size, 'wolk.replication': bucket.replication });
        try {
          const seedRound = chainStatus.finalizedRound;
          const block = await ctx.chain.block(seedRound);
          const seed = block.block?.header?.seed;
          if (!seed || seed.length !== 32) throw problem(503, 'chain-unavailable', 'Service Unavailable', `the finalized block ${seedRound} has no seed`);
          return await collectCommitments(ctx.clients, ctx.registry, ctx.logger, {
            file: { filehash: Buffer.from(file.filehash), size: BigInt(file.size), chunkSize: file.chunkSize },
            seed,
            seedRound,
            source: ctx.source,
            replication: bucket.replication,
            // From the body's end: storers cannot finish before it.
            deadlineMs: commitDeadlineFor(file.size),
            clockStarts: bodyDone,
            signal: cancel.signal,
            gateway: ctx.gatewayKey,
            onUnusable: () => ctx.spools.raise(file.filehash),
            nextSeed: (after, signal) => seedAfter(ctx.chain, after, signal),
            porep: ctx.genesis?.params.porep,
          });
        } finally {
          span.end();
        }
      });
      collecting.catch(() => undefined); // awaited below, after the body
      // A bad body is refused for what it is, not for the storers' requests it cancelled.
      await bodyDone;
      s.answerEarly?.(statusUrl, status);
      const committed = await collecting;
      const committedAt = ctx.clock.now();
      phasesMs.commit = committedAt - spooledAt;
      const signed = cosignSetKey(stx, committed.commitments, ctx.gatewayKey);
      const id = txId(signed);
      status.txid = hex(id);
      status.storers = committed.commitments.map((c) => hex(c.storerId));
      await submitTx(ctx, signed);
      status.state = 'submitted';
      const follow = followTx(ctx, signed, chainStatus.finalizedRound);
      const outcome = await wolkTracer().startActiveSpan('wolk.gateway.finality', async (span) => {
        try {
          return await awaitFinal(ctx, follow, { timeoutMs: ctx.finalityTimeoutMs, signal: s.waitSignal });
        } finally {
          span.end();
        }
      });
      phasesMs.finality = ctx.clock.now() - committedAt;
      if (outcome?.state === 'rejected') throw new TxRejected(outcome.reason, rejectionMembers(outcome));
      const round = outcome?.round ?? null;
      if (round !== null) {
        status.state = 'final';
        status.round = round.toString();
      }
      if (round === null) pending.set(uploadId, follow);
      ctx.logger.info(round !== null ? 'upload final' : 'upload submitted, not final yet', { path: rawPath, size: file.size, filehash: status.filehash, storers: status.storers, phasesMs });
      if (s.answerEarly) return 'answered';
      return { uploadId, statusUrl, status, final: round !== null };
    } catch (err) {
      cancel.abort(err);
      status.state = err instanceof TxRejected ? 'rejected' : 'failed';
      const answer = toProblem(err);
      if (answer) status.problem = answer.problem;
      if (s.answerEarly) {
        // Answered 202 already: the refusal is in the status and the log.
        if (answer) logRefusal(rawPath, err, uploadId);
        else ctx.logger.error('async upload failed', { uploadId, error: err });
        return 'answered';
      }
      throw err;
    } finally {
      release();
    }
  }

  return {
    put,
    store,
    takeSlot,
    logRefusal,
    status,
    uploads,
    get active() {
      return slots.active;
    },
  };
}
