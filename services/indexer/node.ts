// The indexer's wiring: genesis (registry, committee) → RocksDB read model → gRPC IndexerService →
// background follower of finalized blocks (StreamBlocks from WOLK_CONSENSUS, rotating, with backoff).
import { credentials } from '@grpc/grpc-js';
import { join } from 'node:path';
import { ConsensusServiceClient } from '../../gen/wolk/consensus/v1/consensus.js';
import { IndexerServiceService } from '../../gen/wolk/indexer/v1/indexer.js';
import { DEFAULT_REWARD_PARAMS } from '../../lib/chain/reward.js';
import { ClientPool, reconnectChannelOptions } from '../../lib/grpc/client.js';
import { registration, startGrpcNode } from '../../lib/service/grpc-node.js';
import { startEndpoints } from '../../lib/service/endpoints.js';
import { hasEndpoints } from '../../lib/service/options.js';
import type { NodeFactory } from '../../lib/service/runtime.js';
import { openRocksKv } from '../../lib/storage/rocksdb.js';
import { createCertificateVerifier } from '../../lib/chain/certificate.js';
import { Follower } from '../../lib/chain/follower.js';
import type { IndexerOptions } from './options.js';
import { indexerHandlers } from './server.js';
import { ReadModel } from './store.js';

export const createIndexerNode: NodeFactory<IndexerOptions> = async (ctx) => {
  const { options, logger } = ctx;
  const genesis = options.genesis ?? null;
  const follows = genesis !== null && hasEndpoints(options.consensus);
  if (!follows) {
    // Without a network to follow the indexer still serves (empty, UNAVAILABLE) so health checks work;
    // say loudly what is missing.
    logger.warn('the indexer follows nothing: set WOLK_GENESIS and WOLK_CONSENSUS or WOLK_CONSENSUS_SRV', { genesis: genesis?.network ?? null, consensus: options.consensus.static, consensusSrv: options.consensus.srv ?? null });
  }
  // The consensus nodes: the static list and the SRV targets, read at each reconnect (lib/net/endpoints.ts).
  const endpoints = await startEndpoints(options, options.consensus, logger);
  const db = await openRocksKv(join(options.dataDir, 'db')).catch((err: unknown) => {
    endpoints.stop();
    throw err;
  });
  const certificates = genesis ? createCertificateVerifier(genesis) : { hashOf: () => new Uint8Array(32), verify: () => ({ ok: false as const, reason: 'no genesis' }) };
  const model = new ReadModel(db, {
    genesis: genesis ?? { network: '', seed: '00'.repeat(32), timestampMs: 0, params: { replication: 1, storerCommitteeSize: 1, chunkSize: 4096, lambdaMs: 1, auditDepth: 1 }, nodes: [] },
    certificates,
    rewardPerValid: DEFAULT_REWARD_PARAMS.rewardPerValid,
  });
  const clients = new ClientPool((e) => new ConsensusServiceClient(e, credentials.createInsecure(), reconnectChannelOptions));
  clients.follow(endpoints);
  const log = logger.child({ module: 'follower' });
  const follower =
    follows
      ? new Follower({
          endpoints,
          source: (e) => clients.get(e),
          nextRound: async () => ((await model.cursor())?.round ?? -1) + 1,
          apply: async (b) => {
            const a = await model.apply(b);
            log.debug('block applied', { round: a.cursor.round, ...a.stats });
          },
          logger: log,
        })
      : null;
  const cur = await model.cursor();
  logger.info('read model opened', { cursor: cur?.round ?? null });
  return startGrpcNode(ctx, {
    services: [
      registration({
        fullName: 'wolk.indexer.v1.IndexerService',
        definition: IndexerServiceService,
        handlers: indexerHandlers({ model, consensus: endpoints, client: (e) => clients.get(e) }),
      }),
    ],
    resources: [db, { close: async () => (endpoints.stop(), clients.close()) }],
    background: follower ? [{ start: () => follower.start(), stop: () => follower.stop() }] : [],
  });
};
