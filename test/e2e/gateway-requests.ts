// Hand-built gateway requests and what a user (or an operator) can check on a running devnet: signed
// PUTs whose parts can be spoiled one at a time, the chain as the gateway shows it, and whether any
// storer holds a file. Shared by the gateway's devnet tests and the e2e benchmark.
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
import { StorerServiceClient, type GetFileResponse } from '../../gen/wolk/storer/v1/storer.js';
import type { ClientKey } from '../../lib/client/signing.js';
import { signWolkRequest } from '../../lib/client/signing.js';
import { setKeyTransaction, signTransaction } from '../../lib/client/tx.js';
import { hashFile } from '../../lib/merkle/index.js';
import { pollUntil } from '../helpers/poll.js';

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  json(): Record<string, unknown>;
}

/** GET a JSON document from the gateway. */
export async function getJson<T>(gateway: string, path: string): Promise<T> {
  const res = await fetch(new URL(path, gateway));
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export async function chainOf(gateway: string): Promise<{ chainId: string; finalizedRound: bigint; chunkSize: number }> {
  const c = await getJson<{ chainId: string; finalizedRound: string; chunkSize: number }>(gateway, '/chain');
  return { chainId: c.chainId, finalizedRound: BigInt(c.finalizedRound), chunkSize: c.chunkSize };
}

export async function nonceOf(gateway: string, key: ClientKey): Promise<bigint> {
  const a = await getJson<{ nonce: string }>(gateway, `/accounts/${Buffer.from(key.publicKey).toString('hex')}`);
  return BigInt(a.nonce);
}

/** Waits until the chain has finalized `rounds` more blocks than now (so anything in a mempool had its chance). */
export async function waitRounds(gateway: string, rounds: number, timeoutMs = 120_000): Promise<bigint> {
  const start = (await chainOf(gateway)).finalizedRound;
  return pollUntil(async () => (await chainOf(gateway)).finalizedRound, {
    what: `the chain to finalize ${rounds} blocks after round ${start}`,
    deadlineMs: timeoutMs,
    intervalMs: 250,
    until: (now) => now >= start + BigInt(rounds),
  });
}

export interface PutSpec {
  /** /wolk/OWNER/COLLECTION/KEY */
  readonly path: string;
  readonly body: Buffer;
  /** Who signs the SetKey and the request. */
  readonly key: ClientKey;
  readonly nonce: bigint;
  readonly chainId: string;
  readonly chunkSize: number;
  /** Sign the HTTP request with this key instead (the keyid still names `key`). */
  readonly requestSecretKey?: Uint8Array;
  /** Put the SHA-256 of these bytes into Content-Digest instead of the body's. */
  readonly digestOf?: Buffer;
  /** Drop Signature-Input and Signature. */
  readonly unsigned?: boolean;
  /** Declare this file (filehash, size) in the SetKey instead of the body's. */
  readonly declaredFile?: { filehash: Buffer; size: bigint };
}

export interface PreparedPut {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly filehash: string;
}

/** The headers of a signed PUT exactly as lib/client/client.ts makes them, with one part spoilable. */
export function preparePut(s: PutSpec): PreparedPut {
  const d = hashFile(s.body, s.chunkSize);
  const file = s.declaredFile ?? { filehash: Buffer.from(d.filehash), size: BigInt(d.size) };
  const [owner, collection, key] = s.path.slice('/wolk/'.length).split('/') as [string, string, string];
  const stx = signTransaction(
    setKeyTransaction({ owner, collection, key: decodeURIComponent(key), file: { ...file, chunkSize: s.chunkSize }, contentType: 'application/octet-stream' }, s.key.publicKey, s.nonce, s.chainId),
    s.key,
  );
  const signer: ClientKey = s.requestSecretKey ? { secretKey: s.requestSecretKey, publicKey: s.key.publicKey } : s.key;
  const auth = signWolkRequest({ method: 'PUT', path: s.path, bodySha256: createHash('sha256').update(s.digestOf ?? s.body).digest(), key: signer });
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'wolk-transaction': Buffer.from(SignedTransaction.encode(stx).finish()).toString('base64'),
    'content-digest': auth['content-digest'],
  };
  if (!s.unsigned) {
    headers['signature-input'] = auth['signature-input'];
    headers['signature'] = auth['signature'];
  }
  return { path: s.path, headers, filehash: Buffer.from(file.filehash).toString('hex') };
}

/**
 * Sends a request with node:http (so a refusal that arrives while the body is still going out is read,
 * not lost to a reset). `body` may be bytes or a stream of pieces; without content-length in `headers`
 * a stream goes chunked.
 */
export function send(gateway: string, method: string, path: string, headers: Record<string, string>, body?: Buffer | AsyncIterable<Buffer>, timeoutMs = 600_000): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    let answered = false;
    const timer = setTimeout(() => {
      req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const req = request(new URL(path, gateway), { method, headers: Buffer.isBuffer(body) ? { ...headers, 'content-length': String(body.length) } : headers }, (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        const bytes = Buffer.concat(parts);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: bytes, json: () => JSON.parse(bytes.toString('utf8')) as Record<string, unknown> });
      });
    });
    req.on('error', (err) => {
      // A write error after the answer started (the gateway closed after refusing) is not a failure.
      if (answered) return;
      setTimeout(() => {
        if (!answered) {
          clearTimeout(timer);
          reject(err);
        }
      }, 2000);
    });
    if (body === undefined) return void req.end();
    if (Buffer.isBuffer(body)) return void req.end(body);
    void (async () => {
      try {
        for await (const piece of body) {
          if (answered || req.destroyed) break;
          if (!req.write(piece)) await new Promise<void>((r) => {
            const done = () => {
              req.off('drain', done);
              req.off('close', done);
              r();
            };
            req.on('drain', done);
            req.on('close', done);
          });
        }
      } finally {
        if (!req.destroyed) req.end();
      }
    })();
  });
}

/** Endpoints (of those given) whose storer holds any byte of the file: GetFile answers data, not NOT_FOUND. */
export async function storersHolding(endpoints: readonly string[], filehash: string): Promise<string[]> {
  const holding: string[] = [];
  for (const endpoint of endpoints) {
    const client = new StorerServiceClient(endpoint, credentials.createInsecure());
    try {
      const call = client.getFile({ filehash: Buffer.from(filehash, 'hex'), offset: 0n, length: 1n });
      try {
        for await (const m of call as AsyncIterable<GetFileResponse>) {
          void m;
          holding.push(endpoint);
          break;
        }
      } catch (err) {
        if ((err as ServiceError).code !== status.NOT_FOUND) throw new Error(`${endpoint} GetFile: ${(err as Error).message}`);
      } finally {
        call.cancel();
      }
    } finally {
      client.close();
    }
  }
  return holding;
}

/** Bytes [offset, offset+length) of a file as one storer serves them (no proof checked: what it sends). */
export async function storerBytes(endpoint: string, filehash: string, offset: number, length: number): Promise<Buffer> {
  const client = new StorerServiceClient(endpoint, credentials.createInsecure(), { 'grpc.max_receive_message_length': 16 << 20 });
  try {
    const parts: Buffer[] = [];
    for await (const m of client.getFile({ filehash: Buffer.from(filehash, 'hex'), offset: BigInt(offset), length: BigInt(length) }) as AsyncIterable<GetFileResponse>) {
      parts.push(Buffer.from(m.data));
    }
    return Buffer.concat(parts);
  } finally {
    client.close();
  }
}

/** Process name (storer-3) ↔ node id (hex) ↔ gRPC endpoint of every storer of a devnet. */
export function devnetStorers(dir: string): { name: string; id: string; endpoint: string }[] {
  const genesis = JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8')) as { nodes: { id: string; endpoint: string; roles: string[] }[] };
  const processes = JSON.parse(readFileSync(join(dir, 'processes.json'), 'utf8')) as { name: string; grpc: string }[];
  return genesis.nodes
    .filter((n) => n.roles.includes('storer'))
    .map((n) => ({ id: n.id, endpoint: n.endpoint, name: processes.find((p) => p.grpc === n.endpoint)?.name ?? '?' }));
}
