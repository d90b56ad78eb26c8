// The gateway's wiring: the gRPC server (WOLK_LISTEN: health, reflection, and StorerService.GetFile
// as the source of uploads), the replay cache in RocksDB, clients of consensus and storers, and the
// HTTP front (WOLK_HTTP_LISTEN). close() tears down in reverse.
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createGrpcServer, ListenError } from '../../lib/grpc/server.js';
import { loadOrCreateNodeKey } from '../../lib/identity/node-key.js';
import { openRocksKv } from '../../lib/storage/rocksdb.js';
import type { NodeFactory } from '../../lib/service/runtime.js';
import { createApi } from './api.js';
import { chainRegistry } from '../../lib/chain/registry-client.js';
import { createChain } from './chain.js';
import { createGatewayHttpServer } from './http.js';
import { readGatewayOptions } from './options.js';
import { createIndexerView } from './indexer.js';
import { createRegistry } from './registry.js';
import { openReplayCache } from './replay.js';
import { Clients } from './rpc.js';
import { SpoolRegistry, registerSource } from './source.js';

export const createGatewayNode: NodeFactory = async (ctx) => {
  const options = readGatewayOptions(ctx.env);
  const dataDir = ctx.options.dataDir;
  const { key } = loadOrCreateNodeKey(dataDir);
  const gatewayKey = { publicKey: key.signPublicKey, secretKey: key.signSecretKey };
  const kv = await openRocksKv(join(dataDir, 'gateway-db'));
  const replay = await openReplayCache(kv, { windowSeconds: options.signatureWindowSeconds, maxEntries: options.replayCacheEntries });
  const pruner = setInterval(() => void replay.prune(Math.floor(Date.now() / 1000)).catch(() => undefined), 60_000);
  pruner.unref();

  const spools = new SpoolRegistry();
  const grpc = createGrpcServer({ logger: ctx.logger, maxMessageBytes: ctx.options.maxMessageBytes });
  registerSource(grpc, spools);
  const grpcPort = await grpc.listen(ctx.options.listen.host, ctx.options.listen.port);
  const shownHost = (h: string) => (h === '0.0.0.0' ? '127.0.0.1' : h);
  const source = options.advertise ?? `${shownHost(ctx.options.listen.host)}:${grpcPort}`;

  const clients = new Clients();
  const chain = options.consensus.length > 0 ? createChain(clients, options.consensus) : undefined;
  // Storer weights per seed round from consensus (stake × reputation; lib/chain/storer-registry.ts).
  const weights = options.genesis && options.consensus.length > 0 ? chainRegistry(options.consensus) : undefined;
  const registry = createRegistry(clients, options.genesis, options.storers, options.replication * 2, weights);
  const indexer = options.indexer ? createIndexerView(options.indexer) : undefined;
  const info = {
    id: key.id,
    replication: options.replication,
    chunkSize: options.chunkSize,
    maxFileBytes: options.maxFileBytes,
    source,
  };
  const api = chain
    ? createApi({
        logger: ctx.logger.child({ module: 'api' }),
        chain,
        clients,
        registry,
        indexer,
        replay,
        spools,
        spoolDir: join(dataDir, 'spool'),
        gatewayKey,
        source,
        replication: options.replication,
        chunkSize: options.chunkSize,
        maxFileBytes: options.maxFileBytes,
        maxConcurrentUploads: options.maxConcurrentUploads,
        signatureWindowSeconds: options.signatureWindowSeconds,
        commitDeadlineMs: options.commitDeadlineMs,
        commitMinBytesPerSecond: options.commitMinBytesPerSecond,
        finalityTimeoutMs: options.finalityTimeoutMs,
      })
    : undefined;
  const http = createGatewayHttpServer({
    logger: ctx.logger,
    processes: options.processes,
    startedAt: Date.now(),
    ...(api ? { api } : {}),
    ...(chain ? { chain } : {}),
    info,
  });
  const { host, port } = options.httpListen;
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await grpc.shutdown(0);
    weights?.close();
    await kv.close();
    throw new ListenError(`${host}:${port}`, err as Error);
  }
  const httpPort = (http.address() as AddressInfo).port;
  return {
    endpoints: { http: `http://${shownHost(host)}:${httpPort}`, grpc: `${shownHost(ctx.options.listen.host)}:${grpcPort}` },
    async close() {
      clearInterval(pruner);
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeIdleConnections();
      });
      await grpc.shutdown(ctx.options.shutdownGraceMs);
      clients.close();
      weights?.close();
      indexer?.close();
      await kv.close();
    },
  };
};
