// The gateway's wiring, started through the shared node runtime (lib/service/grpc-node.ts) like every
// service: the gRPC server (WOLK_LISTEN: health, reflection, and StorerService.GetFile as the source of
// uploads), the replay cache in RocksDB, clients of consensus and storers, and the HTTP front
// (WOLK_HTTP_LISTEN) as a part started once the gRPC port is known. close() tears down in reverse; a
// start that fails part-way (the HTTP port taken) closes the clients and the database it opened.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ListenError } from '../../lib/grpc/server.js';
import { loadOrCreateNodeKey } from '../../lib/identity/node-key.js';
import { openRocksKv } from '../../lib/storage/rocksdb.js';
import { startGrpcNode, type NodePart } from '../../lib/service/grpc-node.js';
import { startEndpoints } from '../../lib/service/endpoints.js';
import { hasEndpoints } from '../../lib/service/options.js';
import type { NodeFactory } from '../../lib/service/runtime.js';
import { createApi } from './api.js';
import { chainRegistry } from '../../lib/chain/registry-client.js';
import { createChain } from './chain.js';
import { createGatewayHttpServer } from './http.js';
import type { GatewayOptions } from './options.js';
import { createRateLimits } from './rate-limit.js';
import { createIndexerView } from './indexer.js';
import { createRegistry } from './registry.js';
import { openReplayCache } from './replay.js';
import { Clients } from './rpc.js';
import { SpoolRegistry, sourceService } from './source.js';

const shownHost = (h: string) => (h === '0.0.0.0' ? '127.0.0.1' : h);

export const createGatewayNode: NodeFactory<GatewayOptions> = async (ctx) => {
  const { options } = ctx;
  const dataDir = options.dataDir;
  const { key } = loadOrCreateNodeKey(dataDir);
  const gatewayKey = { publicKey: key.signPublicKey, secretKey: key.signSecretKey };
  // Consensus nodes and storers: the static lists and the SRV targets, read at each call (lib/net/endpoints.ts).
  const consensus = await startEndpoints(options, options.consensus, ctx.logger);
  const storers = await startEndpoints(options, options.storers, ctx.logger);
  const kv = await openRocksKv(join(dataDir, 'gateway-db'));
  // Once startGrpcNode has them, it closes the clients and the database itself if the start fails.
  let handedOver = false;
  try {
    const replay = await openReplayCache(kv, { windowSeconds: options.signatureWindowSeconds, maxEntries: options.replayCacheEntries });
    let pruneTimer: NodeJS.Timeout | undefined;
    let pruning: Promise<void> = Promise.resolve();
    const pruner: NodePart = {
      start() {
        pruneTimer = setInterval(() => {
          pruning = pruning.then(async () => void (await replay.prune(Math.floor(Date.now() / 1000)))).catch(() => undefined);
        }, 60_000);
        pruneTimer.unref();
      },
      async stop() {
        clearInterval(pruneTimer);
        await pruning;
      },
    };

    const spools = new SpoolRegistry();
    const clients = new Clients();
    clients.followConsensus(consensus);
    const chain = hasEndpoints(options.consensus) ? createChain(clients, consensus) : undefined;
    // Storer weights per seed round from consensus (stake × reputation; lib/chain/storer-registry.ts).
    const weights = options.genesis && hasEndpoints(options.consensus) ? chainRegistry(consensus) : undefined;
    const registry = createRegistry(clients, options.genesis, storers, options.replication * 2, weights);
    // What /status probes: the consensus nodes and storers now, and the configured indexer and rewards.
    const processes = () => [
      ...consensus.current().map((endpoint) => ({ role: 'consensus' as const, endpoint })),
      ...storers.current().map((endpoint) => ({ role: 'storer' as const, endpoint })),
      ...options.processes,
    ];
    const indexer = options.indexer ? createIndexerView(options.indexer) : undefined;

    // The HTTP front: uploads name this gateway's gRPC GetFile as their source, so it starts once the
    // gRPC server listens.
    let http: Server | undefined;
    let reapTimer: NodeJS.Timeout | undefined;
    let reaping: Promise<void> = Promise.resolve();
    const front: NodePart = {
      async start(listening) {
        const source = options.advertise ?? listening.endpoint;
        const info = {
          id: key.id,
          replication: options.replication,
          chunkSize: options.chunkSize,
          maxFileBytes: options.maxFileBytes,
          source,
        };
        const { rateAddress, rateKey, ...limits } = options.http;
        const rates = createRateLimits({ address: rateAddress, key: rateKey });
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
              resumable: { dir: join(dataDir, 'uploads'), ...options.resumable },
              bodyIdleTimeoutMs: options.bodyIdleTimeoutMs,
              rates,
              genesis: options.genesis,
            })
          : undefined;
        const server = createGatewayHttpServer({
          logger: ctx.logger,
          get processes() {
            return processes();
          },
          startedAt: Date.now(),
          ...(api ? { api } : {}),
          ...(chain ? { chain } : {}),
          info,
          limits,
          rates,
        });
        const { host, port } = options.httpListen;
        try {
          await new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen(port, host, () => {
              server.off('error', reject);
              resolve();
            });
          });
        } catch (err) {
          throw new ListenError(`${host}:${port}`, err as Error);
        }
        http = server;
        // Resumable uploads left alone past their expiry are reclaimed (also on each creation).
        const resumable = api?.resumable;
        if (resumable) {
          const every = Math.max(1000, Math.min(60_000, Math.floor(options.resumable.expiryMs / 4)));
          reapTimer = setInterval(() => {
            reaping = reaping.then(async () => void (await resumable.reap())).catch((err: unknown) => ctx.logger.warn('reclaiming expired uploads failed', { error: err }));
          }, every);
          reapTimer.unref();
          reaping = reaping.then(async () => void (await resumable.reap())).catch((err: unknown) => ctx.logger.warn('reading resumable uploads failed', { error: err }));
        }
        return { http: `http://${shownHost(host)}:${(server.address() as AddressInfo).port}` };
      },
      async stop() {
        clearInterval(reapTimer);
        await reaping;
        const server = http;
        if (!server) return;
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
      },
    };

    handedOver = true;
    return await startGrpcNode(ctx, {
      services: [sourceService(spools)],
      resources: [
        kv,
        {
          close: async () => {
            consensus.stop();
            storers.stop();
            clients.close();
            weights?.close();
            indexer?.close();
          },
        },
      ],
      background: [pruner, front],
    });
  } catch (err) {
    if (!handedOver) {
      consensus.stop();
      storers.stop();
      await kv.close();
    }
    throw err;
  }
};
