// Resumable uploads at the gateway: the tus 1.0.0 protocol (https://tus.io/protocols/resumable-upload)
// with its creation, termination and expiration extensions (issue #22 part 2, docs/http-api.md
// "Resumable uploads"). What goes on chain is what the user signed, exactly as for a PUT:
//   POST /wolk/{owner}/{collection}/{key}   creation: signed like a PUT (RFC 9421 over an empty body)
//       with the signed SetKey (filehash, size, chunk size) in Wolk-Transaction and Upload-Length =
//       the SetKey's size; every check of a PUT runs here (put-file.ts checkWrite). 201 with
//       Location: /uploads/{id}, a 256-bit random capability.
//   HEAD   /uploads/{id}   the durable offset (Upload-Offset), Upload-Length, Upload-Expires
//   PATCH  /uploads/{id}   bytes at Upload-Offset (application/offset+octet-stream); 204 with the new
//       offset once it is fsynced. The PATCH that brings the offset to Upload-Length verifies the whole
//       file against the signed filehash and stores it like a PUT (N commitments, SetKey, finality):
//       201 / 202 / the PUT's refusals, with Upload-Offset.
//   DELETE /uploads/{id}   termination: 204, the bytes are removed
//   OPTIONS                 discovery: Tus-Version, Tus-Extension, Tus-Max-Size
// A PATCH's bytes are appended to the upload's data file and made durable every CHECKPOINT_BYTES and
// when the request ends however it ends (a client that went away keeps what arrived). Uploads left
// alone for WOLK_RESUMABLE_EXPIRY_MS are reclaimed; an owner holds at most
// WOLK_RESUMABLE_OWNER_BYTES of unfinished uploads (507 beyond), the gateway WOLK_RESUMABLE_TOTAL_BYTES.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { sendProblem } from '../../../lib/http/problem.js';
import { FileHasher } from '../../../lib/merkle/index.js';
import { bodyOptions, hex, type ApiContext, type Routed } from '../context.js';
import { checkWrite, requireSignedFile, type FilePath, type Stored, type UploadFlow } from '../put-file.js';
import { HttpProblem, problem, toProblem } from '../problems.js';
import { bucketSettings, requireOwner } from '../records.js';
import { header, readSmallBody } from '../request.js';
import { spooledSource } from '../source.js';
import { bodyPieces, SpoolError } from '../spool.js';
import { isUploadId, newUploadId, UploadDir, type UploadRecord } from './state.js';

export const TUS_VERSION = '1.0.0';
export const TUS_EXTENSIONS = 'creation,termination,expiration';
/** A PATCH makes what arrived durable (fsync, then the offset recorded) at least this often. */
export const CHECKPOINT_BYTES = 8 << 20;

export interface ResumableConfig {
  /** WOLK_DATA_DIR/uploads */
  readonly dir: string;
  /** WOLK_RESUMABLE_EXPIRY_MS: an upload no PATCH touched for this long is reclaimed. */
  readonly expiryMs: number;
  /** WOLK_RESUMABLE_OWNER_BYTES: most bytes (by Upload-Length) of one owner's unfinished uploads. */
  readonly ownerBytes: number;
  /** WOLK_RESUMABLE_TOTAL_BYTES: most bytes of all unfinished uploads on this gateway. */
  readonly totalBytes: number;
}

export interface ResumableUploads {
  /** POST (creation) or OPTIONS on /wolk/{owner}/{collection}/{key}. */
  handleFile(r: Routed, p: FilePath): Promise<void>;
  /** HEAD, PATCH, DELETE, OPTIONS on /uploads/{id} (and OPTIONS /uploads/). */
  handleUpload(r: Routed): Promise<void>;
  /** Removes every upload past its expiry that no request is working on; how many went. */
  reap(): Promise<number>;
  /** Uploads known (read from disk on first use). */
  count(): Promise<number>;
}

/** In memory, per upload: the record and who is working on it. */
interface Live {
  rec: UploadRecord;
  /** The PATCH receiving bytes now, if any: aborted when a newer PATCH takes over. */
  patch?: { abort: AbortController; done: Promise<void> };
  /** The store step in progress (the completing PATCH, or a retry of it). */
  completing?: Promise<Completion>;
}

type Completion = { readonly stored: Stored } | { readonly refused: HttpProblem };

const tusHeaders = (extra: Record<string, string> = {}) => ({ 'tus-resumable': TUS_VERSION, ...extra });

export function createResumable(ctx: ApiContext, flow: UploadFlow, config: ResumableConfig): ResumableUploads {
  const disk = new UploadDir(config.dir);
  const live = new Map<string, Live>();
  let loaded: Promise<void> | undefined;
  const ready = () =>
    (loaded ??= disk
      .load((id, why) => ctx.logger.warn('resumable upload dropped at start', { id, why }))
      .then((recs) => {
        for (const rec of recs) live.set(rec.id, { rec });
        if (recs.length > 0) ctx.logger.info('resumable uploads read from disk', { uploads: recs.length });
      }));

  const expires = (rec: UploadRecord) => ({ 'upload-expires': new Date(rec.expiresAt).toUTCString() });
  const offsetHeaders = (rec: UploadRecord) => tusHeaders({ 'upload-offset': String(rec.offset), 'upload-length': String(rec.length), ...expires(rec) });
  const filePath = (rec: UploadRecord) => `/wolk/${encodeURIComponent(rec.owner)}/${encodeURIComponent(rec.collection)}/${rec.key.split('/').map(encodeURIComponent).join('/')}`;

  function requireTus(r: Routed): void {
    const v = header(r.req, 'tus-resumable');
    if (v === undefined) throw problem(412, 'tus-version', 'Precondition Failed', `Tus-Resumable: ${TUS_VERSION} is required on every request of a resumable upload`, {}, { 'tus-version': TUS_VERSION });
    if (v.trim() !== TUS_VERSION) throw problem(412, 'tus-version', 'Precondition Failed', `this gateway speaks tus ${TUS_VERSION}, the request says ${v}`, {}, { 'tus-version': TUS_VERSION });
  }

  function options(res: ServerResponse): void {
    res.writeHead(204, { 'tus-resumable': TUS_VERSION, 'tus-version': TUS_VERSION, 'tus-extension': TUS_EXTENSIONS, 'tus-max-size': String(ctx.maxFileBytes) });
    res.end();
  }

  /** 404 for an id this gateway never had (or reclaimed), 410 for one past its expiry. */
  async function find(id: string): Promise<Live> {
    await ready();
    const u = isUploadId(id) ? live.get(id) : undefined;
    if (!u) throw problem(404, 'no-such-upload', 'Not Found', 'no resumable upload with that URL on this gateway (never created, finished and expired, terminated, or reclaimed)', {}, tusHeaders());
    if (u.rec.expiresAt <= ctx.clock.now() && !u.patch && !u.completing) {
      await forget(u, 'expired');
      throw problem(410, 'upload-expired', 'Gone', `the upload expired at ${new Date(u.rec.expiresAt).toISOString()} and was reclaimed; create a new one`, {}, tusHeaders());
    }
    return u;
  }

  async function forget(u: Live, why: string): Promise<void> {
    live.delete(u.rec.id);
    await disk.remove(u.rec.id);
    ctx.logger.info('resumable upload removed', { id: u.rec.id.slice(0, 8), path: filePath(u.rec), why, offset: u.rec.offset, length: u.rec.length });
  }

  /** Bytes reserved by unfinished uploads (by Upload-Length), of one owner or of all. */
  function reserved(owner?: string): number {
    let n = 0;
    for (const u of live.values()) if (u.rec.phase === 'receiving' && (owner === undefined || u.rec.owner === owner)) n += u.rec.length;
    return n;
  }

  async function reap(): Promise<number> {
    await ready();
    const now = ctx.clock.now();
    let n = 0;
    for (const u of [...live.values()]) {
      if (u.rec.expiresAt > now || u.patch || u.completing) continue;
      await forget(u, 'expired');
      n++;
    }
    return n;
  }

  // ---- creation (POST /wolk/{owner}/{collection}/{key}) ----

  async function create(r: Routed, p: FilePath): Promise<void> {
    const { req, res } = r;
    requireTus(r);
    if (header(req, 'upload-defer-length') !== undefined) throw problem(400, 'length-required', 'Bad Request', 'Upload-Defer-Length is not supported: the size is part of the signed SetKey, send Upload-Length', {}, tusHeaders());
    const rawLength = header(req, 'upload-length');
    if (rawLength === undefined || !/^\d{1,16}$/.test(rawLength.trim())) throw problem(400, 'length-required', 'Bad Request', `Upload-Length must be the file's size in bytes${rawLength === undefined ? '' : `, got "${rawLength.slice(0, 40)}"`}`, {}, tusHeaders());
    const length = Number(rawLength.trim());
    const w = await checkWrite(ctx, r, p, length);
    // The creation request has no content: its Content-Digest (covered by the signature) is that of the empty body.
    const body = await readSmallBody(req, 0, bodyOptions(ctx, r));
    if (!createHash('sha256').update(body).digest().equals(Buffer.from(w.digest))) {
      throw problem(422, 'digest-mismatch', 'Unprocessable Content', 'the creation request has no body: its Content-Digest must be sha-256 of the empty string (RFC 9530)');
    }
    if (BigInt(length) !== w.file.size) throw problem(400, 'length-mismatch', 'Bad Request', `Upload-Length (${length}) differs from the size in the signed SetKey (${w.file.size})`, {}, tusHeaders());
    await reap();
    const mine = reserved(p.owner);
    if (mine + length > config.ownerBytes) {
      throw problem(507, 'upload-quota', 'Insufficient Storage', `"${p.owner}" has ${mine} bytes of unfinished resumable uploads on this gateway; ${length} more would pass its limit of ${config.ownerBytes} (finish, terminate with DELETE, or let them expire)`, { limit: config.ownerBytes, reserved: mine }, tusHeaders());
    }
    const all = reserved();
    if (all + length > config.totalBytes) {
      throw problem(507, 'gateway-full', 'Insufficient Storage', `this gateway holds ${all} bytes of unfinished resumable uploads; ${length} more would pass its limit of ${config.totalBytes}; retry later or use another gateway`, { limit: config.totalBytes }, { ...tusHeaders(), 'retry-after': '60' });
    }
    const now = ctx.clock.now();
    const rec: UploadRecord = {
      v: 1,
      id: newUploadId(),
      owner: p.owner,
      collection: p.collection,
      key: p.key,
      signer: hex(w.sig.publicKey),
      length,
      chunkSize: w.file.chunkSize,
      filehash: hex(w.file.filehash),
      stx: Buffer.from(SignedTransaction.encode(w.stx).finish()).toString('base64'),
      createdAt: now,
      offset: 0,
      expiresAt: now + config.expiryMs,
      phase: 'receiving',
    };
    await disk.create(rec);
    live.set(rec.id, { rec });
    ctx.logger.info('resumable upload created', { id: rec.id.slice(0, 8), path: r.rawPath, length, filehash: rec.filehash });
    res.writeHead(201, { ...tusHeaders(expires(rec)), location: `/uploads/${rec.id}`, 'upload-offset': '0', 'content-length': '0' });
    res.end();
  }

  // ---- PATCH: bytes at an offset ----

  async function patch(r: Routed, u: Live): Promise<void> {
    const { req, res } = r;
    const ct = header(req, 'content-type');
    if (ct?.split(';')[0]?.trim().toLowerCase() !== 'application/offset+octet-stream') {
      throw problem(415, 'wrong-content-type', 'Unsupported Media Type', 'a PATCH carries Content-Type: application/offset+octet-stream', {}, tusHeaders());
    }
    const rawOffset = header(req, 'upload-offset');
    if (rawOffset === undefined || !/^\d{1,16}$/.test(rawOffset.trim())) throw problem(400, 'offset-required', 'Bad Request', 'a PATCH carries Upload-Offset: the byte the body starts at', {}, tusHeaders());
    const at = Number(rawOffset.trim());
    // A newer PATCH takes over: the one before it is most likely from a client that went away unseen.
    if (u.patch) {
      u.patch.abort.abort(new SpoolError('aborted', 'a newer PATCH of this upload took over'));
      await u.patch.done;
    }
    if (u.rec.phase === 'stored' && u.rec.result) return sendResult(res, u.rec);
    if (at !== u.rec.offset) {
      throw problem(409, 'offset-mismatch', 'Conflict', `Upload-Offset is ${at}, the upload holds ${u.rec.offset} bytes: HEAD it and continue from there`, { offset: u.rec.offset }, offsetHeaders(u.rec));
    }
    const declared = header(req, 'content-length');
    if (declared !== undefined && at + Number(declared) > u.rec.length) {
      throw problem(413, 'past-length', 'Content Too Large', `${declared} bytes at ${at} go past Upload-Length ${u.rec.length}`, { maxBytes: u.rec.length - at }, offsetHeaders(u.rec));
    }
    if (u.rec.offset < u.rec.length) {
      const slot = flow.takeSlot(u.rec.owner, r.address);
      const abort = new AbortController();
      let settle!: () => void;
      u.patch = { abort, done: new Promise<void>((resolve) => (settle = resolve)) };
      try {
        await receive(r, u, abort.signal);
      } finally {
        slot.release();
        u.patch = undefined;
        settle();
      }
    }
    if (u.rec.offset < u.rec.length) {
      res.writeHead(204, offsetHeaders(u.rec));
      res.end();
      return;
    }
    const done = await complete(u, r.address);
    if ('refused' in done) {
      const { problem: p, headers } = done.refused;
      sendProblem(res, p, { ...headers, ...(live.has(u.rec.id) ? offsetHeaders(u.rec) : tusHeaders()) });
      return;
    }
    sendResult(res, u.rec);
  }

  /** Appends the body at rec.offset; durable at every checkpoint and at the end, whatever ends it. */
  async function receive(r: Routed, u: Live, takeover: AbortSignal): Promise<void> {
    const rec = u.rec;
    const h = await open(disk.dataOf(rec.id), 'r+');
    let pos = rec.offset;
    let sinceCheckpoint = 0;
    const checkpoint = async () => {
      if (pos === rec.offset) return;
      await h.sync();
      rec.offset = pos;
      rec.expiresAt = ctx.clock.now() + config.expiryMs;
      await disk.save(rec);
      sinceCheckpoint = 0;
    };
    let failure: unknown;
    try {
      const signal = AbortSignal.any([r.body, takeover]);
      for await (const piece of bodyPieces(r.req, { signal, idleMs: ctx.bodyIdleTimeoutMs })) {
        if (pos + piece.length > rec.length) throw problem(413, 'past-length', 'Content Too Large', `the body goes past Upload-Length ${rec.length}`, { maxBytes: rec.length - rec.offset });
        let written = 0;
        while (written < piece.length) written += (await h.write(piece, written, piece.length - written, pos + written)).bytesWritten;
        pos += piece.length;
        sinceCheckpoint += piece.length;
        if (sinceCheckpoint >= CHECKPOINT_BYTES) await checkpoint();
      }
    } catch (err) {
      failure = err;
    }
    try {
      // What arrived is kept (tus: "the Server SHOULD always attempt to store as much of the received data as possible").
      await checkpoint();
    } finally {
      await h.close();
    }
    if (failure === undefined) return;
    if (failure instanceof SpoolError && failure.code === 'aborted') {
      // The client went away or a newer PATCH took over: nobody to answer; the next HEAD tells the offset.
      throw new HttpProblem({ type: '/problems/incomplete-body', title: 'Bad Request', status: 400, detail: `${failure.message}; ${rec.offset} bytes are kept` }, offsetHeaders(rec));
    }
    const answer = toProblem(failure);
    if (answer) throw new HttpProblem(answer.problem, { ...answer.headers, ...offsetHeaders(rec) });
    throw failure;
  }

  /** The whole file is here: verify it against the signed SetKey and store it like a PUT (once; later callers join). */
  function complete(u: Live, address: string | undefined): Promise<Completion> {
    u.completing ??= completeOnce(u, address).finally(() => {
      u.completing = undefined;
    });
    return u.completing;
  }

  async function completeOnce(u: Live, address: string | undefined): Promise<Completion> {
    const rec = u.rec;
    const p = { owner: rec.owner, collection: rec.collection, key: rec.key };
    const rawPath = filePath(rec);
    const startedAt = ctx.clock.now();
    const path = disk.dataOf(rec.id);
    const hasher = new FileHasher({ chunkSize: rec.chunkSize });
    for await (const piece of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) hasher.update(piece);
    const digest = hasher.digest();
    const stx = SignedTransaction.decode(Buffer.from(rec.stx, 'base64'));
    const signed = stx.tx?.body?.$case === 'setKey' ? stx.tx.body.value.file : undefined;
    try {
      if (!signed) throw new Error('the stored transaction holds no SetKey');
      requireSignedFile({ digest }, signed);
    } catch (err) {
      // Bytes other than the signed file can never complete this upload: it is dropped.
      await forget(u, 'filehash mismatch');
      const answer = toProblem(err) ?? problem(422, 'filehash-mismatch', 'Unprocessable Content', (err as Error).message);
      flow.logRefusal(rawPath, answer);
      return { refused: answer };
    }
    let slot: { release(): void } | undefined;
    try {
      slot = flow.takeSlot(rec.owner, address);
      // Owner, settings and seed round as they are now, not as at creation (the upload may have taken hours).
      await requireOwner(ctx, rec.owner, Buffer.from(rec.signer, 'hex'));
      const bucket = await bucketSettings(ctx, rec.owner, rec.collection);
      const chainStatus = await ctx.chain.status();
      const stored = await flow.store({
        p,
        rawPath,
        write: { stx, bucket, chainStatus },
        file: { filehash: digest.filehash, size: digest.size, chunkSize: digest.chunkSize },
        // The bytes stay until the outcome is known: a failure the client can retry keeps them.
        source: spooledSource({ path, size: digest.size, sha256: new Uint8Array(0), digest, remove: () => undefined }),
        body: Promise.resolve(),
        startedAt,
      });
      if (stored === 'answered') throw new Error('a resumable upload is never answered early');
      rec.phase = 'stored';
      rec.result = { status: stored.final ? 201 : 202, body: resultBody(stored), location: stored.final ? rawPath : stored.statusUrl };
      rec.expiresAt = ctx.clock.now() + config.expiryMs;
      await disk.save(rec);
      await disk.dropData(rec.id);
      return { stored };
    } catch (err) {
      const answer = toProblem(err);
      if (!answer) throw err;
      flow.logRefusal(rawPath, err, rec.id.slice(0, 8));
      // Consensus refused the signed SetKey (its nonce is spent): it can never go on chain; drop the bytes.
      if (answer.problem.status === 409 || answer.problem.status === 422 || answer.problem.status === 403) await forget(u, String(answer.problem.type));
      return { refused: answer };
    } finally {
      slot?.release();
    }
  }

  function resultBody(s: Stored): Record<string, unknown> {
    const st = s.status;
    if (!s.final) return { status: s.statusUrl, ...st };
    return { filehash: st.filehash, size: st.size, round: st.round, txid: st.txid, storers: st.storers, phasesMs: st.phasesMs };
  }

  function sendResult(res: ServerResponse, rec: UploadRecord): void {
    const result = rec.result!;
    const body = JSON.stringify(result.body);
    res.writeHead(result.status, {
      ...offsetHeaders(rec),
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      location: result.location,
      ...(result.status === 201 ? { etag: `"${rec.filehash}"` } : {}),
    });
    res.end(body);
  }

  // ---- the routes ----

  async function handleFile(r: Routed, p: FilePath): Promise<void> {
    if (r.req.method === 'OPTIONS') return options(r.res);
    return create(r, p);
  }

  async function handleUpload(r: Routed): Promise<void> {
    const { req, res } = r;
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') return options(res);
    const id = r.rawPath.slice('/uploads/'.length);
    if (method !== 'HEAD' && method !== 'PATCH' && method !== 'DELETE') {
      throw problem(405, 'method-not-allowed', 'Method Not Allowed', 'an upload URL takes HEAD, PATCH, DELETE or OPTIONS', {}, { allow: 'HEAD, PATCH, DELETE, OPTIONS', ...tusHeaders() });
    }
    requireTus(r);
    const u = await find(id);
    // The capability URL stands for the creation's signature: its writes count against that key.
    if (method !== 'HEAD') ctx.rates?.key.take(u.rec.signer);
    if (method === 'HEAD') {
      res.writeHead(200, { ...offsetHeaders(u.rec), 'cache-control': 'no-store', 'wolk-upload-state': u.rec.phase, ...(u.rec.result ? { location: u.rec.result.location } : {}) });
      res.end();
      return;
    }
    if (method === 'DELETE') {
      if (u.completing) throw problem(409, 'upload-completing', 'Conflict', 'the upload is being stored on chain now; it cannot be terminated', {}, tusHeaders());
      if (u.patch) {
        u.patch.abort.abort(new SpoolError('aborted', 'the upload was terminated'));
        await u.patch.done;
      }
      await forget(u, 'terminated');
      res.writeHead(204, tusHeaders());
      res.end();
      return;
    }
    return patch(r, u);
  }

  return {
    handleFile,
    handleUpload,
    reap,
    async count() {
      await ready();
      return live.size;
    },
  };
}
