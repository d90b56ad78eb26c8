// The gateway's HTTP front (http.ts + api.ts) over an in-memory chain (memory-chain.ts), on an
// ephemeral port, with `storers` contract-following stand-in storers (fakes.ts) fetching uploads from
// the gateway's own GetFile source when a test needs uploads. Every handled request is kept with the
// promise of its handler, so a test can see when the gateway stopped working on it.
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NameRecord } from '../../../gen/wolk/common/v1/state.js';
import { SignedTransaction, type Transaction } from '../../../gen/wolk/common/v1/tx.js';
import { pathStateKey } from '../../../lib/chain/state-keys.js';
import { signWolkRequest, type ClientKey } from '../../../lib/client/signing.js';
import { setKeyTransaction, signTransaction } from '../../../lib/client/tx.js';
import { createGrpcServer } from '../../../lib/grpc/server.js';
import { hashFile } from '../../../lib/merkle/index.js';
import { silentLogger, type Logger } from '../../../lib/log/logger.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { createApi, type Api, type ApiDeps, type Routed } from '../../../services/gateway/api.js';
import { createGatewayHttpServer, type GatewayHttpDeps } from '../../../services/gateway/http.js';
import { createRegistry } from '../../../services/gateway/registry.js';
import { openReplayCache } from '../../../services/gateway/replay.js';
import { Clients } from '../../../services/gateway/rpc.js';
import { SpoolRegistry, registerSource } from '../../../services/gateway/source.js';
import { startFakeStorer, type FakeStorer } from './fakes.js';
import { memoryChain, type MemoryChain } from './memory-chain.js';

export interface Harness {
  readonly url: string;
  readonly chain: MemoryChain;
  readonly api: Api;
  readonly storers: readonly FakeStorer[];
  /** Handler promises, in arrival order. */
  readonly handled: { path: string; done: Promise<void> }[];
  close(): Promise<void>;
}

export async function startHarness(o: Partial<ApiDeps> & { logger?: Logger; storers?: number; limits?: GatewayHttpDeps['limits'] } = {}): Promise<Harness> {
  const chain = o.chain ? (o.chain as MemoryChain) : memoryChain();
  const clients = new Clients();
  const storers = await Promise.all(Array.from({ length: o.storers ?? 0 }, () => startFakeStorer()));
  const spools = new SpoolRegistry();
  const source = createGrpcServer({ logger: silentLogger, maxMessageBytes: 8 << 20 });
  registerSource(source, spools);
  const sourcePort = await source.listen('127.0.0.1', 0);
  const api = createApi({
    logger: silentLogger,
    chain,
    clients,
    registry: createRegistry(clients, undefined, storers.map((x) => x.endpoint), 3),
    replay: await openReplayCache(createMemoryKv(), { windowSeconds: 300, maxEntries: 10_000 }),
    spools,
    spoolDir: mkdtempSync(join(tmpdir(), 'wolk-harness-')),
    gatewayKey: { publicKey: new Uint8Array(32), secretKey: new Uint8Array(32) },
    source: `127.0.0.1:${sourcePort}`,
    replication: 3,
    chunkSize: 4096,
    maxFileBytes: 1 << 20,
    maxConcurrentUploads: 4,
    signatureWindowSeconds: 300,
    commitDeadlineMs: 5000,
    commitMinBytesPerSecond: 8 << 20,
    finalityTimeoutMs: 60_000,
    ...o,
  });
  const handled: Harness['handled'] = [];
  const observed: Api = {
    uploads: api.uploads,
    get activeUploads() {
      return api.activeUploads;
    },
    uploadStatus: (id, signal) => api.uploadStatus(id, signal),
    handle(r: Routed) {
      const done = api.handle(r);
      handled.push({ path: r.rawPath, done: done.catch(() => undefined) });
      return done;
    },
  };
  const server = createGatewayHttpServer({ logger: o.logger ?? silentLogger, processes: [], startedAt: Date.now(), api: observed, chain, ...(o.limits ? { limits: o.limits } : {}), ...(o.rates ? { rates: o.rates } : {}) });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    chain,
    api,
    storers,
    handled,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await source.shutdown(0);
      await Promise.all(storers.map((x) => x.close()));
      clients.close();
    },
  };
}

/** A signed PUT whose body is a signed transaction (name claims, collection settings). */
export function signedTxRequest(path: string, tx: Transaction, key: ClientKey): { body: Buffer; headers: Record<string, string> } {
  const body = Buffer.from(SignedTransaction.encode(signTransaction(tx, key)).finish());
  const auth = signWolkRequest({ method: 'PUT', path, bodySha256: createHash('sha256').update(body).digest(), key });
  return { body, headers: { ...auth, 'content-type': 'application/x-protobuf' } };
}

/** Puts `owner` on the chain as `key`'s name, as a finalized SetName would. */
export function claimed(chain: MemoryChain, owner: string, key: ClientKey): void {
  chain.set(pathStateKey(owner), NameRecord.encode({ name: owner, owner: Buffer.from(key.publicKey), round: 0n }).finish());
}

/** A signed file PUT with its SetKey intent at `nonce` (chunks of 4096), as the client library builds it. */
export function signedPut(path: string, body: Buffer, key: ClientKey, nonce: bigint, chainId: string, o: { respondAsync?: boolean } = {}): { stx: SignedTransaction; init: RequestInit } {
  const [owner, collection, k] = path.replace('/wolk/', '').split('/') as [string, string, string];
  const d = hashFile(body);
  const stx = signTransaction(setKeyTransaction({ owner, collection, key: k, file: { filehash: Buffer.from(d.filehash), size: BigInt(d.size), chunkSize: 4096 }, contentType: '' }, key.publicKey, nonce, chainId), key);
  const auth = signWolkRequest({ method: 'PUT', path, bodySha256: createHash('sha256').update(body).digest(), key });
  const headers: Record<string, string> = { ...auth, 'wolk-transaction': Buffer.from(SignedTransaction.encode(stx).finish()).toString('base64') };
  if (o.respondAsync) headers['prefer'] = 'respond-async';
  return { stx, init: { method: 'PUT', body, headers } };
}
