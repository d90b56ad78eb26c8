// The /wolk/... HTTP API (docs/http-api.md): signed PUT of a file or of an owner name, verified GET
// and HEAD with Range, ?proof, listing. Errors are RFC 9457 problem+json; every check that can refuse
// a write runs before anything is stored or submitted.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GetStateProofResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import { BlockHeader } from '../../gen/wolk/common/v1/chain.js';
import { BucketRecord, KeyRecord, NameRecord } from '../../gen/wolk/common/v1/state.js';
import { SignedTransaction, type SetKey } from '../../gen/wolk/common/v1/tx.js';
import { sendJson, sendProblem, type Problem } from '../../lib/http/problem.js';
import { SignatureError, WOLK_COVERED, parseContentDigest, verifyRequest, type VerifiedSignature } from '../../lib/http/signatures.js';
import { contentRange, parseRange } from '../../lib/http/range.js';
import { isValidChunkSize } from '../../lib/merkle/index.js';
import type { Logger } from '../../lib/log/logger.js';
import { COLLECTION_RE, NAME_RE, cosignSetKey, isValidKey, pathStateKey, txId, verifyUserSignature } from '../../lib/client/tx.js';
import { ChainError, type Chain } from './chain.js';
import { readVerified, ReadFailed, storerOrder } from './read.js';
import type { Registry } from './registry.js';
import type { ReplayCache } from './replay.js';
import type { Clients } from './rpc.js';
import { SpoolError, spoolBody } from './spool.js';
import { FETCH_SPARE, type SpoolRegistry } from './source.js';
import { NotEnoughStorers, collectCommitments } from './upload.js';
import { wolkTracer } from '../../lib/telemetry/tracing.js';
import { ListError, listCollection, parseListQuery } from './list.js';
import type { IndexerView } from './indexer.js';

export interface ApiDeps {
  readonly logger: Logger;
  readonly chain: Chain;
  readonly clients: Clients;
  readonly registry: Registry;
  /** WOLK_INDEXER: listings and the storers' reputation order for GET (optional). */
  readonly indexer?: IndexerView | undefined;
  readonly replay: ReplayCache;
  readonly spools: SpoolRegistry;
  readonly spoolDir: string;
  readonly gatewayKey: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  readonly source: string;
  readonly replication: number;
  readonly chunkSize: number;
  readonly maxFileBytes: number;
  readonly maxConcurrentUploads: number;
  readonly signatureWindowSeconds: number;
  readonly commitDeadlineMs: number;
  /** The commit deadline grows by size / this (seconds): big files take longer to fetch. */
  readonly commitMinBytesPerSecond: number;
  readonly finalityTimeoutMs: number;
  readonly now?: () => number;
}

/** A refusal: becomes problem+json. */
export class HttpProblem extends Error {
  constructor(
    readonly problem: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem.detail ?? problem.title);
  }
}

const problem = (status: number, type: string, title: string, detail: string, ext: Record<string, unknown> = {}) =>
  new HttpProblem({ type: `/problems/${type}`, title, status, detail, ...ext });

export interface UploadStatus {
  state: 'storing' | 'submitted' | 'final' | 'failed';
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

interface Parsed {
  readonly owner: string;
  readonly collection?: string;
  readonly key?: string;
  readonly listing: boolean;
}

/** /wolk/{owner}[/{collection}/[{key}]] with percent-decoding; 400 on an invalid name. */
export function parseWolkPath(rawPath: string): Parsed {
  const rest = rawPath.slice('/wolk/'.length);
  const slash = rest.indexOf('/');
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw problem(400, 'malformed-path', 'Bad Request', 'the path has a broken percent-encoding');
    }
  };
  const owner = dec(slash < 0 ? rest : rest.slice(0, slash));
  if (!NAME_RE.test(owner)) throw problem(400, 'malformed-path', 'Bad Request', `"${owner}" is not an owner name (1-63 of [a-z0-9-], not starting or ending with '-')`);
  if (slash < 0 || slash === rest.length - 1) return { owner, listing: false };
  const rest2 = rest.slice(slash + 1);
  const slash2 = rest2.indexOf('/');
  if (slash2 < 0) throw problem(400, 'malformed-path', 'Bad Request', 'expected /wolk/OWNER/COLLECTION/KEY or /wolk/OWNER/COLLECTION/');
  const collection = dec(rest2.slice(0, slash2));
  if (!COLLECTION_RE.test(collection)) throw problem(400, 'malformed-path', 'Bad Request', `"${collection}" is not a collection name (1-63 of [a-z0-9._-])`);
  const keyRaw = rest2.slice(slash2 + 1);
  if (keyRaw === '') return { owner, collection, listing: true };
  const key = dec(keyRaw);
  if (!isValidKey(key)) throw problem(400, 'malformed-path', 'Bad Request', 'a key is 1 to 1024 bytes of UTF-8 without NUL');
  return { owner, collection, key, listing: false };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export function createApi(deps: ApiDeps) {
  const now = deps.now ?? (() => Math.floor(Date.now() / 1000));
  const uploads = new Map<string, UploadStatus>();
  const rememberUpload = (id: string, s: UploadStatus) => {
    if (uploads.size >= 10_000) uploads.delete(uploads.keys().next().value as string);
    uploads.set(id, s);
  };
  let activeUploads = 0;
  const commitDeadlineFor = (size: number) => deps.commitDeadlineMs + Math.ceil((size / deps.commitMinBytesPerSecond) * 1000);

  function chainProblem(err: unknown): never {
    if (err instanceof ChainError) {
      if (err.kind === 'unavailable') throw problem(503, 'chain-unavailable', 'Service Unavailable', err.message);
      throw problem(502, 'chain-error', 'Bad Gateway', err.message);
    }
    throw err;
  }

  /** RFC 9421 verification + replay check: 401 / 409. */
  async function authenticate(req: IncomingMessage, rawPath: string): Promise<VerifiedSignature> {
    let sig: VerifiedSignature;
    try {
      sig = verifyRequest({ method: req.method ?? '', path: rawPath, header: (n) => header(req, n) }, { required: WOLK_COVERED, now: now(), windowSeconds: deps.signatureWindowSeconds });
    } catch (err) {
      if (err instanceof SignatureError) {
        throw new HttpProblem(
          { type: `/problems/${err.code === 'expired' ? 'stale-signature' : 'bad-signature'}`, title: 'Unauthorized', status: 401, detail: err.message },
          { 'www-authenticate': 'Signature' },
        );
      }
      throw err;
    }
    const verdict = await deps.replay.check(sig.publicKey, sig.nonce, sig.created, now());
    if (verdict === 'replay') throw problem(409, 'replayed-nonce', 'Conflict', 'this nonce was already used with this key: sign every request with a fresh nonce');
    if (verdict === 'full') throw problem(503, 'busy', 'Service Unavailable', 'too many signed requests within the signature window; retry shortly');
    return sig;
  }

  /** The public key that owns `owner` on chain, or null if unclaimed. */
  async function ownerKey(owner: string): Promise<Uint8Array | null> {
    const v = await deps.chain.state(pathStateKey(owner)).catch(chainProblem);
    if (!v.value) return null;
    return new Uint8Array(NameRecord.decode(v.value).owner);
  }

  async function requireOwner(owner: string, signer: Uint8Array): Promise<void> {
    const key = await ownerKey(owner);
    if (!key) throw problem(403, 'unclaimed-owner', 'Forbidden', `the name "${owner}" is not claimed; claim it first (PUT /wolk/${owner}, or wolk claim ${owner})`);
    if (!Buffer.from(key).equals(Buffer.from(signer))) throw problem(403, 'not-owner', 'Forbidden', `"${owner}" belongs to another key`);
  }

  /**
   * The collection's settings as the chain holds them (SetBucket), with the network's defaults for what
   * it leaves at 0 or when the collection does not exist yet (its first SetKey creates it so).
   */
  async function bucketOf(owner: string, collection: string): Promise<{ replication: number; chunkSize: number; maxFileBytes: number; onChain: boolean }> {
    const v = await deps.chain.state(pathStateKey(owner, collection)).catch(chainProblem);
    const settings = v.value ? BucketRecord.decode(v.value).settings : undefined;
    const limit = Number(settings?.maxFileSize ?? 0n);
    return {
      replication: settings?.replication || deps.replication,
      chunkSize: settings?.chunkSize || deps.chunkSize,
      maxFileBytes: limit > 0 ? Math.min(limit, deps.maxFileBytes) : deps.maxFileBytes,
      onChain: v.value !== null,
    };
  }

  function readTransaction(req: IncomingMessage): SignedTransaction {
    const raw = header(req, 'wolk-transaction');
    if (!raw) throw problem(400, 'missing-transaction', 'Bad Request', 'a PUT carries the signed SetKey intent in the Wolk-Transaction header (base64 SignedTransaction)');
    try {
      return SignedTransaction.decode(Buffer.from(raw, 'base64'));
    } catch {
      throw problem(400, 'malformed-transaction', 'Bad Request', 'Wolk-Transaction is not a base64 SignedTransaction');
    }
  }

  async function waitFinal(stateKey: Uint8Array, id: Uint8Array, timeoutMs: number, signal?: AbortSignal): Promise<bigint | null> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end && !signal?.aborted) {
      try {
        const v = await deps.chain.state(stateKey);
        if (v.value) {
          const rec = KeyRecord.decode(v.value);
          if (Buffer.from(rec.txId).equals(Buffer.from(id))) return rec.round;
        }
      } catch {
        // a node may be catching up; keep polling until the deadline
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return null;
  }

  async function putFile(req: IncomingMessage, res: ServerResponse, rawPath: string, p: Parsed & { collection: string; key: string }): Promise<void> {
    const sig = await authenticate(req, rawPath);
    const stx = readTransaction(req);
    const tx = stx.tx;
    if (!tx || tx.body?.$case !== 'setKey') throw problem(400, 'malformed-transaction', 'Bad Request', 'Wolk-Transaction must hold a SetKey');
    const intent: SetKey = tx.body.value;
    if (!Buffer.from(tx.sender).equals(Buffer.from(sig.publicKey))) throw problem(403, 'not-owner', 'Forbidden', 'the transaction sender is not the key that signed the request');
    if (intent.owner !== p.owner || intent.collection !== p.collection || intent.key !== p.key) throw problem(400, 'transaction-mismatch', 'Bad Request', 'the SetKey names another path than the request');
    if (!verifyUserSignature(stx)) throw new HttpProblem({ type: '/problems/bad-signature', title: 'Unauthorized', status: 401, detail: 'the transaction signature does not verify' }, { 'www-authenticate': 'Signature' });
    const file = intent.file;
    if (!file || !isValidChunkSize(file.chunkSize)) throw problem(400, 'malformed-transaction', 'Bad Request', 'the SetKey must name the file (filehash, size, chunk size 4096-32768, a power of two)');
    const contentDigest = header(req, 'content-digest');
    const declaredDigest = contentDigest ? parseContentDigest(contentDigest) : null;
    if (!declaredDigest) throw problem(400, 'missing-digest', 'Bad Request', 'Content-Digest with sha-256 is required (RFC 9530)');
    const lengthHeader = header(req, 'content-length');
    const declaredLength = lengthHeader !== undefined ? Number(lengthHeader) : undefined;
    if (declaredLength !== undefined && declaredLength > deps.maxFileBytes) {
      throw problem(413, 'too-large', 'Content Too Large', `the body (${declaredLength} bytes) is larger than this gateway accepts (${deps.maxFileBytes} bytes)`, { maxBytes: deps.maxFileBytes });
    }
    if (BigInt(deps.maxFileBytes) < file.size) throw problem(413, 'too-large', 'Content Too Large', `the file (${file.size} bytes) is larger than this gateway accepts (${deps.maxFileBytes} bytes)`, { maxBytes: deps.maxFileBytes });
    await requireOwner(p.owner, sig.publicKey);
    // Whatever consensus would refuse after the storers did their work is refused here, first.
    const bucket = await bucketOf(p.owner, p.collection);
    if (file.chunkSize !== bucket.chunkSize) {
      throw problem(400, 'wrong-chunk-size', 'Bad Request', `files of wolk://${p.owner}/${p.collection} use chunks of ${bucket.chunkSize} bytes; the SetKey says ${file.chunkSize}`, { chunkSize: bucket.chunkSize });
    }
    const maxBytes = bucket.maxFileBytes;
    if ((declaredLength !== undefined && declaredLength > maxBytes) || BigInt(maxBytes) < file.size) {
      throw problem(413, 'too-large', 'Content Too Large', `wolk://${p.owner}/${p.collection} takes files of at most ${maxBytes} bytes`, { maxBytes });
    }
    const chainStatus = await deps.chain.status().catch(chainProblem);
    if (tx.chainId !== chainStatus.chainId) throw problem(400, 'wrong-chain', 'Bad Request', `the transaction is for "${tx.chainId}", this network is "${chainStatus.chainId}"`);
    if (activeUploads >= deps.maxConcurrentUploads) throw problem(503, 'busy', 'Service Unavailable', `this gateway is serving ${activeUploads} uploads; retry shortly`);

    activeUploads++;
    const startedAt = Date.now();
    let spool;
    try {
      try {
        spool = await wolkTracer().startActiveSpan('wolk.gateway.spool', async (span) => {
          try {
            const spooled = await spoolBody(req, { dir: deps.spoolDir, maxBytes, chunkSize: file.chunkSize, ...(declaredLength !== undefined ? { declaredLength } : {}) });
            span.setAttribute('wolk.size', spooled.size);
            return spooled;
          } finally {
            span.end();
          }
        });
      } catch (err) {
        if (err instanceof SpoolError && err.code === 'too-large') throw problem(413, 'too-large', 'Content Too Large', err.message, { maxBytes });
        if (err instanceof SpoolError) throw problem(400, 'incomplete-body', 'Bad Request', err.message);
        throw err;
      }
      if (!Buffer.from(spool.sha256).equals(Buffer.from(declaredDigest))) {
        throw problem(422, 'digest-mismatch', 'Unprocessable Content', 'the body does not match its Content-Digest (RFC 9530)');
      }
      const d = spool.digest;
      if (!Buffer.from(d.filehash).equals(Buffer.from(file.filehash)) || BigInt(d.size) !== file.size) {
        throw problem(422, 'filehash-mismatch', 'Unprocessable Content', `the body's filehash/size (${hex(d.filehash)}, ${d.size}) differ from the signed SetKey's`);
      }
    } catch (err) {
      spool?.remove();
      activeUploads--;
      throw err;
    }

    const spooledAt = Date.now();
    const phasesMs: NonNullable<UploadStatus['phasesMs']> = { spool: spooledAt - startedAt };
    const status: UploadStatus = { state: 'storing', owner: p.owner, collection: p.collection, key: p.key, filehash: hex(spool.digest.filehash), size: spool.size, phasesMs };
    const uploadId = randomBytes(12).toString('base64url');
    rememberUpload(uploadId, status);
    const statusUrl = `/status/uploads/${uploadId}`;
    const respondAsync = /\brespond-async\b/i.test(header(req, 'prefer') ?? '');
    if (respondAsync) sendJson(res, 202, { status: statusUrl, ...status }, { location: statusUrl, 'preference-applied': 'respond-async' });

    const release = deps.spools.add(spool, bucket.replication + FETCH_SPARE);
    const stateKey = pathStateKey(p.owner, p.collection, p.key);
    try {
      const committed = await wolkTracer().startActiveSpan('wolk.gateway.solicit', async (span) => {
        span.setAttributes({ 'wolk.filehash': status.filehash, 'wolk.size': spool.size, 'wolk.replication': bucket.replication });
        try {
          const seedRound = chainStatus.finalizedRound;
          const block = await deps.chain.block(seedRound).catch(chainProblem);
          const seed = block.block?.header?.seed;
          if (!seed || seed.length !== 32) throw problem(503, 'chain-unavailable', 'Service Unavailable', `the finalized block ${seedRound} has no seed`);
          return await collectCommitments(deps.clients, deps.registry, deps.logger, {
            file: { filehash: Buffer.from(spool.digest.filehash), size: BigInt(spool.size), chunkSize: spool.digest.chunkSize },
            seed,
            seedRound,
            source: deps.source,
            replication: bucket.replication,
            deadlineMs: commitDeadlineFor(spool.size),
            gateway: deps.gatewayKey,
            onUnusable: () => deps.spools.raise(spool.digest.filehash),
          });
        } catch (err) {
          if (err instanceof NotEnoughStorers) {
            throw problem(503, 'not-enough-storers', 'Service Unavailable', `${err.message}; nothing was written to the chain`, { wanted: err.wanted, got: err.got, failures: err.failures });
          }
          throw err;
        } finally {
          span.end();
        }
      });
      const committedAt = Date.now();
      phasesMs.commit = committedAt - spooledAt;
      const signed = cosignSetKey(stx, committed.commitments, deps.gatewayKey);
      const id = txId(signed);
      status.txid = hex(id);
      status.storers = committed.commitments.map((c) => hex(c.storerId));
      await deps.chain.submit(signed).catch((err: unknown) => {
        if (err instanceof ChainError && err.kind === 'rejected') throw problem(409, 'transaction-rejected', 'Conflict', err.message);
        chainProblem(err);
      });
      status.state = 'submitted';
      const round = await wolkTracer().startActiveSpan('wolk.gateway.finality', async (span) => {
        try {
          return await waitFinal(stateKey, id, deps.finalityTimeoutMs);
        } finally {
          span.end();
        }
      });
      phasesMs.finality = Date.now() - committedAt;
      if (round !== null) {
        status.state = 'final';
        status.round = round.toString();
      }
      deps.logger.info(round !== null ? 'upload final' : 'upload submitted, not final yet', { path: rawPath, size: spool.size, filehash: status.filehash, storers: status.storers, phasesMs });
      if (respondAsync) return;
      if (round === null) {
        sendJson(res, 202, { status: statusUrl, ...status }, { location: statusUrl });
        return;
      }
      sendJson(res, 201, { filehash: status.filehash, size: status.size, round: status.round, txid: status.txid, storers: status.storers, phasesMs }, { location: rawPath, etag: `"${status.filehash}"` });
    } catch (err) {
      status.state = 'failed';
      if (err instanceof HttpProblem) status.problem = err.problem;
      if (respondAsync) {
        deps.logger.warn('async upload failed', { uploadId, error: err });
        return;
      }
      throw err;
    } finally {
      release();
      spool.remove();
      activeUploads--;
    }
  }

  /** A signed request whose body is a user-signed SignedTransaction (application/x-protobuf, at most 64 KiB). */
  async function readSignedTransaction(req: IncomingMessage, rawPath: string, holding: string): Promise<{ sig: VerifiedSignature; stx: SignedTransaction }> {
    const sig = await authenticate(req, rawPath);
    const body = await readSmallBody(req, 64 * 1024);
    const declared = parseContentDigest(header(req, 'content-digest') ?? '');
    const { createHash } = await import('node:crypto');
    if (!declared || !createHash('sha256').update(body).digest().equals(Buffer.from(declared))) {
      throw problem(422, 'digest-mismatch', 'Unprocessable Content', 'the body does not match its Content-Digest (RFC 9530)');
    }
    try {
      return { sig, stx: SignedTransaction.decode(body) };
    } catch {
      throw problem(400, 'malformed-transaction', 'Bad Request', `the body must be a SignedTransaction (application/x-protobuf) holding a ${holding}`);
    }
  }

  /** Submits a user's transaction; a ledger refusal is 409. */
  async function submitUserTx(stx: SignedTransaction): Promise<void> {
    await deps.chain.submit(stx).catch((err: unknown) => {
      if (err instanceof ChainError && err.kind === 'rejected') throw problem(409, 'transaction-rejected', 'Conflict', err.message);
      chainProblem(err);
    });
  }

  /** PUT /wolk/{owner}: claims the name with a user-signed SetName (body: SignedTransaction). */
  async function putName(req: IncomingMessage, res: ServerResponse, rawPath: string, owner: string): Promise<void> {
    const { sig, stx } = await readSignedTransaction(req, rawPath, 'SetName');
    const tx = stx.tx;
    if (!tx || tx.body?.$case !== 'setName' || tx.body.value.name !== owner) throw problem(400, 'transaction-mismatch', 'Bad Request', `the body must be a SetName of "${owner}"`);
    if (!Buffer.from(tx.sender).equals(Buffer.from(sig.publicKey)) || !Buffer.from(tx.body.value.owner).equals(Buffer.from(sig.publicKey))) {
      throw problem(403, 'not-owner', 'Forbidden', 'the SetName must be sent by, and name as owner, the key that signed the request');
    }
    if (!verifyUserSignature(stx)) throw new HttpProblem({ type: '/problems/bad-signature', title: 'Unauthorized', status: 401, detail: 'the transaction signature does not verify' });
    const current = await ownerKey(owner);
    if (current && !Buffer.from(current).equals(Buffer.from(sig.publicKey))) throw problem(409, 'name-taken', 'Conflict', `"${owner}" is already claimed by another key`);
    const nameKey = pathStateKey(owner);
    if (current) {
      const v = await deps.chain.state(nameKey).catch(chainProblem);
      const rec = NameRecord.decode(v.value!);
      return sendJson(res, 200, { name: owner, owner: hex(rec.owner), round: rec.round.toString() });
    }
    const id = txId(stx);
    await submitUserTx(stx);
    const end = Date.now() + deps.finalityTimeoutMs;
    while (Date.now() < end) {
      const v = await deps.chain.state(nameKey).catch(() => null);
      if (v?.value) {
        const rec = NameRecord.decode(v.value);
        if (!Buffer.from(rec.owner).equals(Buffer.from(sig.publicKey))) throw problem(409, 'name-taken', 'Conflict', `"${owner}" was claimed by another key first`);
        return sendJson(res, 201, { name: owner, owner: hex(rec.owner), round: rec.round.toString(), txid: hex(id) }, { location: rawPath });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    sendJson(res, 202, { name: owner, txid: hex(id), state: 'submitted' });
  }

  /** A collection's settings as a client needs them: what the chain holds, with the network's defaults filled in. */
  async function bucketJson(owner: string, collection: string): Promise<Record<string, unknown>> {
    const b = await bucketOf(owner, collection);
    return { owner, collection, replication: b.replication, chunkSize: b.chunkSize, maxFileSize: b.maxFileBytes, onChain: b.onChain };
  }

  /**
   * PUT /wolk/{owner}/{collection}/: creates a collection or changes its settings with a user-signed
   * SetBucket (body: SignedTransaction). 201 once final, 200 if the chain already holds these settings,
   * 202 if finality takes longer than the gateway waits; 409 for a chunk-size change (files were cut
   * with it) or a ledger refusal.
   */
  async function putBucket(req: IncomingMessage, res: ServerResponse, rawPath: string, owner: string, collection: string): Promise<void> {
    const { sig, stx } = await readSignedTransaction(req, rawPath, 'SetBucket');
    const tx = stx.tx;
    if (!tx || tx.body?.$case !== 'setBucket' || tx.body.value.owner !== owner || tx.body.value.collection !== collection) {
      throw problem(400, 'transaction-mismatch', 'Bad Request', `the body must be a SetBucket of "${owner}/${collection}"`);
    }
    if (!Buffer.from(tx.sender).equals(Buffer.from(sig.publicKey))) throw problem(403, 'not-owner', 'Forbidden', 'the SetBucket must be sent by the key that signed the request');
    if (!verifyUserSignature(stx)) throw new HttpProblem({ type: '/problems/bad-signature', title: 'Unauthorized', status: 401, detail: 'the transaction signature does not verify' });
    await requireOwner(owner, sig.publicKey);
    const want = { replication: tx.body.value.settings?.replication ?? 0, maxFileSize: tx.body.value.settings?.maxFileSize ?? 0n, chunkSize: tx.body.value.settings?.chunkSize ?? 0 };
    if (want.replication < 0 || (want.chunkSize !== 0 && !isValidChunkSize(want.chunkSize))) {
      throw problem(400, 'bad-settings', 'Bad Request', `chunk_size ${want.chunkSize} must be 0 (the network's) or a power of two from 4096 to 32768`);
    }
    const bucketKey = pathStateKey(owner, collection);
    const read = async () => {
      const v = await deps.chain.state(bucketKey).catch(chainProblem);
      return v.value ? BucketRecord.decode(v.value) : null;
    };
    const same = (r: BucketRecord | null) =>
      r !== null && (r.settings?.replication ?? 0) === want.replication && (r.settings?.maxFileSize ?? 0n) === want.maxFileSize && (r.settings?.chunkSize ?? 0) === want.chunkSize;
    const before = await read();
    if (same(before)) return sendJson(res, 200, { ...(await bucketJson(owner, collection)), round: before!.round.toString() });
    if (before && (before.settings?.chunkSize ?? 0) !== want.chunkSize) {
      throw problem(409, 'chunk-size-fixed', 'Conflict', `the chunk size of ${owner}/${collection} is ${before.settings?.chunkSize || deps.chunkSize} and cannot change (its files were cut with it)`);
    }
    const id = txId(stx);
    await submitUserTx(stx);
    const end = Date.now() + deps.finalityTimeoutMs;
    while (Date.now() < end) {
      const r = await read().catch(() => null);
      if (same(r)) return sendJson(res, 201, { ...(await bucketJson(owner, collection)), round: r!.round.toString(), txid: hex(id) }, { location: rawPath + '?settings' });
      await new Promise((r) => setTimeout(r, 200));
    }
    sendJson(res, 202, { owner, collection, txid: hex(id), state: 'submitted' });
  }

  async function getName(res: ServerResponse, owner: string): Promise<void> {
    const v = await deps.chain.state(pathStateKey(owner)).catch(chainProblem);
    if (!v.value) throw problem(404, 'not-found', 'Not Found', `the name "${owner}" is not claimed`);
    const rec = NameRecord.decode(v.value);
    sendJson(res, 200, { name: rec.name, owner: hex(rec.owner), round: rec.round.toString() });
  }

  async function lookup(p: Parsed & { collection: string; key: string }) {
    const v = await deps.chain.state(pathStateKey(p.owner, p.collection, p.key)).catch(chainProblem);
    if (!v.value) throw problem(404, 'not-found', 'Not Found', `wolk://${p.owner}/${p.collection}/${p.key} is not on chain`);
    return { record: KeyRecord.decode(v.value), proof: v };
  }

  async function getFile(req: IncomingMessage, res: ServerResponse, url: URL, p: Parsed & { collection: string; key: string }): Promise<void> {
    const { record, proof } = await lookup(p);
    const file = record.file!;
    const filehash = hex(file.filehash);
    if (url.searchParams.has('proof')) {
      // The parent's header too: its seed is what the certificate's credentials were drawn with, so a
      // client holding the genesis can check the cert votes' sortition weights reach the quorum.
      const round = proof.response.header?.round ?? 0n;
      const parent = round > 0n ? await deps.chain.block(round - 1n).catch(() => null) : null;
      const parentHeader = parent?.block?.header ? Buffer.from(BlockHeader.encode(parent.block.header).finish()).toString('base64') : undefined;
      return sendJson(res, 200, {
        uri: `wolk://${p.owner}/${p.collection}/${p.key}`,
        stateKey: hex(pathStateKey(p.owner, p.collection, p.key)),
        round: proof.round.toString(),
        stateRoot: hex(proof.response.header?.stateRoot ?? new Uint8Array()),
        record: { filehash, size: file.size.toString(), chunkSize: file.chunkSize, contentType: record.contentType, txid: hex(record.txId), round: record.round.toString(), storers: record.commitments.map((c) => hex(c.storerId)) },
        // The whole GetStateProofResponse (SMT proof, header, certificate), base64 protobuf: what an
        // offline verifier checks (lib/client/proof.ts).
        proof: Buffer.from(GetStateProofResponse.encode(proof.response).finish()).toString('base64'),
        ...(parentHeader ? { parentHeader } : {}),
      });
    }
    const size = Number(file.size);
    const etag = `"${filehash}"`;
    const base: Record<string, string> = {
      etag,
      'content-type': record.contentType || 'application/octet-stream',
      'accept-ranges': 'bytes',
      'wolk-round': record.round.toString(),
    };
    if (header(req, 'if-none-match')?.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
      res.writeHead(304, base);
      res.end();
      return;
    }
    const range = parseRange(header(req, 'range'), size);
    if (range.kind === 'unsatisfiable') {
      throw new HttpProblem({ type: '/problems/range-not-satisfiable', title: 'Range Not Satisfiable', status: 416, detail: `the file has ${size} bytes` }, { 'content-range': `bytes */${size}` });
    }
    const [start, end] = range.kind === 'range' ? [range.start, range.end] : [0, size - 1];
    const length = Math.max(0, end - start + 1);
    const headers = { ...base, 'content-length': String(length), ...(range.kind === 'range' ? { 'content-range': contentRange(start, end, size) } : {}) };
    if (req.method === 'HEAD' || length === 0) {
      res.writeHead(range.kind === 'range' ? 206 : 200, headers);
      res.end();
      return;
    }
    // Best reputation first when the indexer ranks the file's storers; commitment order otherwise.
    const ranked = deps.indexer ? await deps.indexer.fileLocations(file.filehash).catch((err: unknown) => (deps.logger.debug('no storer ranking from the indexer', { error: err }), null)) : null;
    const endpoints: string[] = [];
    for (const c of storerOrder(record.commitments.map((x) => hex(x.storerId)), ranked)) {
      const e = (await deps.registry.endpointOf(c.id)) ?? c.indexedEndpoint;
      if (e) endpoints.push(e);
    }
    if (endpoints.length === 0) throw problem(503, 'no-storers', 'Service Unavailable', 'no storer of this file can be reached');
    const controller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    let started = false;
    const write = async (bytes: Buffer) => {
      if (!started) {
        res.writeHead(range.kind === 'range' ? 206 : 200, headers);
        started = true;
      }
      if (!res.write(bytes)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    };
    try {
      await readVerified(deps.clients, deps.logger, { filehash: file.filehash, size, chunkSize: file.chunkSize, start, end, endpoints, write, signal: controller.signal });
      res.end();
    } catch (err) {
      if (err instanceof ReadFailed && !started) throw problem(502, 'storers-failed', 'Bad Gateway', err.message);
      deps.logger.warn('read failed mid-stream', { error: err });
      res.destroy();
    }
  }

  return {
    uploads,
    async handle(req: IncomingMessage, res: ServerResponse, url: URL, rawPath: string): Promise<void> {
      const p = parseWolkPath(rawPath);
      const method = req.method ?? 'GET';
      if (p.collection === undefined) {
        if (method === 'PUT') return putName(req, res, rawPath, p.owner);
        if (method === 'GET') return getName(res, p.owner);
        throw new HttpProblem({ status: 405, title: 'Method Not Allowed', detail: 'use GET or PUT' }, { allow: 'GET, PUT' });
      }
      if (p.listing) {
        if (method === 'PUT') return putBucket(req, res, rawPath, p.owner, p.collection);
        if (method !== 'GET') throw new HttpProblem({ status: 405, title: 'Method Not Allowed', detail: 'use GET or PUT' }, { allow: 'GET, PUT' });
        if (url.searchParams.has('settings')) return sendJson(res, 200, await bucketJson(p.owner, p.collection));
        const listing = await Promise.resolve()
          .then(() => listCollection(deps, p.owner, p.collection!, parseListQuery(url.searchParams)))
          .catch((err: unknown) => {
          if (err instanceof ListError) throw problem(err.kind === 'bad-request' ? 400 : 503, err.kind === 'bad-request' ? 'bad-listing-query' : 'listing-unavailable', err.kind === 'bad-request' ? 'Bad Request' : 'Service Unavailable', err.message);
          throw err;
        });
        return sendJson(res, 200, { owner: p.owner, collection: p.collection, ...listing });
      }
      const full = p as Parsed & { collection: string; key: string };
      if (method === 'PUT') return putFile(req, res, rawPath, full);
      if (method === 'GET' || method === 'HEAD') return getFile(req, res, url, full);
      throw new HttpProblem({ status: 405, title: 'Method Not Allowed', detail: 'use GET, HEAD or PUT' }, { allow: 'GET, HEAD, PUT' });
    },
    uploadStatus(id: string): UploadStatus | undefined {
      return uploads.get(id);
    },
  };
}

async function readSmallBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const piece of req as AsyncIterable<Buffer>) {
    n += piece.length;
    if (n > max) throw problem(413, 'too-large', 'Content Too Large', `this request's body may have at most ${max} bytes`);
    parts.push(piece);
  }
  return Buffer.concat(parts);
}
