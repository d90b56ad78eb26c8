// The rewards service's wiring: RocksDB under WOLK_DATA_DIR and the RewardsService. Audits land with the
// Rewards issue; until then every RPC answers UNIMPLEMENTED naming what is missing.
import { join } from 'node:path';
import { RewardsServiceService } from '../../gen/wolk/rewards/v1/rewards.js';
import { openRocksKv } from '../../lib/storage/rocksdb.js';
import { registration, startGrpcNode } from '../../lib/service/grpc-node.js';
import type { NodeFactory } from '../../lib/service/runtime.js';

const NOT_YET = 'audits of old blocks and reward transactions are not built yet';

export const createRewardsNode: NodeFactory = async (ctx) => {
  const db = await openRocksKv(join(ctx.options.dataDir, 'db'));
  return startGrpcNode(ctx, {
    services: [
      registration({
        fullName: 'wolk.rewards.v1.RewardsService',
        definition: RewardsServiceService,
        handlers: {},
        unimplemented: Object.fromEntries(Object.keys(RewardsServiceService).map((m) => [m, NOT_YET])),
      }),
    ],
    resources: [db],
  });
};
