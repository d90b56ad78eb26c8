// The TypeScript client of a Wolk gateway (docs/http-api.md): claim a name, put a file (hashed
// locally first, then streamed with a signed SetKey intent), get it (the filehash of what arrives
// is checked against the ETag), list, and fetch + verify a key's proof offline. Node only, no
// service code: the CLI (cli/) is a thin shell over this.
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
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

export type Progress = (done: number, total: number, phase: string) => void;

export class WolkHttpError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Record<string, unknown>,
  ) {
    super(`${status} ${String(problem['title'] ?? '')}: ${String(problem['detail'] ?? '')}`);
    this.name = 'WolkHttpError';
  }
}

export interface ChainInfo {
  chainId: string;
  finalizedRound: string;
  replication: number;
  chunkSize: number;
  maxFileBytes: number;
}

export interface PutResult {
  filehash: string;
  size: number;
  round?: string;
  txid?: string;
  storers?: string[];
  status?: string;
}

export interface ProofReport {
  readonly uri: string;
  readonly filehash: string;
  readonly size: string;
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

async function problemOf(res: Response): Promise<WolkHttpError> {
  const text = await res.text();
  try {
    return new WolkHttpError(res.status, JSON.parse(text) as Record<string, unknown>);
  } catch {
    return new WolkHttpError(res.status, { title: res.statusText, detail: text });
  }
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

  async json<T>(path: string, init?: RequestInit): Promise<T> {
    const res = await fetch(new URL(path, this.gateway), init);
    if (!res.ok) throw await problemOf(res);
    return (await res.json()) as T;
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

  /** Claims OWNER for this key (a SetName on chain; first claim wins). */
  async claim(name: string): Promise<Record<string, unknown>> {
    const key = this.needKey();
    const [info, nonce] = await Promise.all([this.chain(), this.nonce()]);
    const stx = signTransaction(setNameTransaction(name, key.publicKey, nonce, info.chainId), key);
    const body = Buffer.from(SignedTransaction.encode(stx).finish());
    const path = gatewayPath({ owner: name });
    const auth = signWolkRequest({ method: 'PUT', path, bodySha256: createHash('sha256').update(body).digest(), key });
    const res = await fetch(new URL(path, this.gateway), { method: 'PUT', body, headers: { ...auth, 'content-type': 'application/x-protobuf' } });
    if (!res.ok) throw await problemOf(res);
    return (await res.json()) as Record<string, unknown>;
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
    const [info, nonce] = await Promise.all([this.chain(), this.nonce()]);
    const stx = signTransaction(setBucketTransaction(u.owner, u.collection, settings, key.publicKey, nonce, info.chainId), key);
    const body = Buffer.from(SignedTransaction.encode(stx).finish());
    const path = gatewayPath({ owner: u.owner, collection: u.collection });
    const auth = signWolkRequest({ method: 'PUT', path, bodySha256: createHash('sha256').update(body).digest(), key });
    const res = await fetch(new URL(path, this.gateway), { method: 'PUT', body, headers: { ...auth, 'content-type': 'application/x-protobuf' } });
    if (!res.ok) throw await problemOf(res);
    return (await res.json()) as Record<string, unknown>;
  }

  /** Uploads a file: hashes it (filehash + sha-256), signs the SetKey intent and the request, streams it. */
  async put(file: string, uri: string, o: { contentType?: string; onProgress?: Progress; respondAsync?: boolean } = {}): Promise<PutResult> {
    const key = this.needKey();
    const u = parseWolkUri(uri);
    if (!u.collection || !u.key) throw new Error(`put needs wolk://OWNER/COLLECTION/KEY, got ${uri}`);
    // The collection's chunk size (its SetBucket; the network's when it has none) decides the filehash.
    const [info, bucket] = await Promise.all([this.chain(), this.bucket(`wolk://${u.owner}/${u.collection}/`)]);
    const size = statSync(file).size;
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
    const nonce = await this.nonce();
    const tx = setKeyTransaction(
      { owner: u.owner, collection: u.collection, key: u.key, file: { filehash: Buffer.from(d.filehash), size: BigInt(d.size), chunkSize: d.chunkSize }, contentType: o.contentType ?? '' },
      key.publicKey,
      nonce,
      info.chainId,
    );
    const stx = signTransaction(tx, key);
    const path = gatewayPath(u);
    const auth = signWolkRequest({ method: 'PUT', path, bodySha256: sha.digest(), key });
    const headers: Record<string, string> = {
      ...auth,
      'content-length': String(size),
      'content-type': o.contentType || 'application/octet-stream',
      'wolk-transaction': Buffer.from(SignedTransaction.encode(stx).finish()).toString('base64'),
      ...(o.respondAsync ? { prefer: 'respond-async' } : {}),
    };
    const target = new URL(path, this.gateway);
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, { method: 'PUT', headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      });
      req.on('error', reject);
      let sent = 0;
      const src = createReadStream(file, { highWaterMark: 1 << 20 });
      src.on('data', (c) => {
        sent += c.length;
        o.onProgress?.(sent, size, 'uploading');
      });
      src.on('error', reject);
      src.pipe(req);
    });
    const parsed = (body ? JSON.parse(body) : {}) as Record<string, unknown>;
    if (status >= 400) throw new WolkHttpError(status, parsed);
    return parsed as unknown as PutResult;
  }

  /**
   * Downloads a key into `out`. A whole-file GET is re-hashed as it arrives and must give the filehash
   * the chain holds (ETag); a mismatch throws after the last byte.
   */
  async get(uri: string, out: Writable, o: { onProgress?: Progress; range?: string; chunkSize?: number } = {}): Promise<{ size: number; filehash: string; contentType: string }> {
    const u = parseWolkUri(uri);
    const res = await fetch(new URL(gatewayPath(u), this.gateway), o.range ? { headers: { range: o.range } } : {});
    if (!res.ok || !res.body) throw await problemOf(res);
    const total = Number(res.headers.get('content-length') ?? 0);
    const etag = (res.headers.get('etag') ?? '').replace(/"/g, '');
    const hasher = res.status === 200 && o.chunkSize ? new FileHasher({ chunkSize: o.chunkSize }) : undefined;
    let done = 0;
    for await (const piece of res.body as unknown as AsyncIterable<Uint8Array>) {
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
    return { size: done, filehash: etag, contentType: res.headers.get('content-type') ?? '' };
  }

  /** Every key of a collection (the gateway pages listings: `next` is followed to the end). */
  async list(uri: string, o: { prefix?: string } = {}): Promise<{ keys: { key: string; filehash: string; size: string; contentType: string; round: string }[] }> {
    const u = parseWolkUri(uri);
    if (!u.collection) throw new Error(`ls needs wolk://OWNER/COLLECTION/, got ${uri}`);
    const keys: { key: string; filehash: string; size: string; contentType: string; round: string }[] = [];
    let next: string | undefined;
    do {
      const q = new URLSearchParams({ limit: '1000', ...(o.prefix ? { prefix: o.prefix } : {}), ...(next ? { page: next } : {}) });
      const page = await this.json<{ keys: typeof keys; next?: string }>(`${gatewayPath({ owner: u.owner, collection: u.collection })}?${q}`);
      keys.push(...page.keys);
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
    return { ...base, filehash: '', size: '0', stateProof: false, certificate: false, certVotes: 0, certWeight: 0, quorum: null, verified: false, reason: checked.ok ? 'the key is absent' : checked.reason };
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
    size: (rec.file?.size ?? 0n).toString(),
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
