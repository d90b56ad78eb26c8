// The gateway's HTTP front (http.ts + api.ts) over an in-memory chain (memory-chain.ts), on an
// ephemeral port: for tests of the HTTP layer that need no storers. Every handled request is kept
// with the promise of its handler, so a test can see when the gateway stopped working on it.
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignedTransaction, type Transaction } from '../../../gen/wolk/common/v1/tx.js';
import { signWolkRequest, type ClientKey } from '../../../lib/client/signing.js';
import { signTransaction } from '../../../lib/client/tx.js';
import { silentLogger, type Logger } from '../../../lib/log/logger.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { createApi, type Api, type ApiDeps, type Routed } from '../../../services/gateway/api.js';
import { createGatewayHttpServer } from '../../../services/gateway/http.js';
import { createRegistry } from '../../../services/gateway/registry.js';
import { openReplayCache } from '../../../services/gateway/replay.js';
import { Clients } from '../../../services/gateway/rpc.js';
import { SpoolRegistry } from '../../../services/gateway/source.js';
import { memoryChain, type MemoryChain } from './memory-chain.js';

export interface Harness {
  readonly url: string;
  readonly chain: MemoryChain;
  readonly api: Api;
  /** Handler promises, in arrival order. */
  readonly handled: { path: string; done: Promise<void> }[];
  close(): Promise<void>;
}

export async function startHarness(o: Partial<ApiDeps> & { logger?: Logger } = {}): Promise<Harness> {
  const chain = o.chain ? (o.chain as MemoryChain) : memoryChain();
  const clients = new Clients();
  const api = createApi({
    logger: silentLogger,
    chain,
    clients,
    registry: createRegistry(clients, undefined, [], 3),
    replay: await openReplayCache(createMemoryKv(), { windowSeconds: 300, maxEntries: 10_000 }),
    spools: new SpoolRegistry(),
    spoolDir: mkdtempSync(join(tmpdir(), 'wolk-harness-')),
    gatewayKey: { publicKey: new Uint8Array(32), secretKey: new Uint8Array(32) },
    source: '127.0.0.1:1',
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
    uploadStatus: (id) => api.uploadStatus(id),
    handle(r: Routed) {
      const done = api.handle(r);
      handled.push({ path: r.rawPath, done: done.catch(() => undefined) });
      return done;
    },
  };
  const server = createGatewayHttpServer({ logger: o.logger ?? silentLogger, processes: [], startedAt: Date.now(), api: observed, chain });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    chain,
    api,
    handled,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
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
