// The indexer's wiring: its read model in RocksDB under WOLK_DATA_DIR and the IndexerService. Following
// blocks lands with the Indexer issue; until then every RPC answers UNIMPLEMENTED naming what is missing.
import { join } from 'node:path';
import { IndexerServiceService } from '../../gen/wolk/indexer/v1/indexer.js';
import { openRocksKv } from '../../lib/storage/rocksdb.js';
import { registration, startGrpcNode } from '../../lib/service/grpc-node.js';
import type { NodeFactory } from '../../lib/service/runtime.js';

const NOT_YET = 'the indexer does not follow finalized blocks yet';

export const createIndexerNode: NodeFactory = async (ctx) => {
  const db = await openRocksKv(join(ctx.options.dataDir, 'db'));
  return startGrpcNode(ctx, {
    services: [
      registration({
        fullName: 'wolk.indexer.v1.IndexerService',
        definition: IndexerServiceService,
        handlers: {},
        unimplemented: Object.fromEntries(Object.keys(IndexerServiceService).map((m) => [m, NOT_YET])),
      }),
    ],
    resources: [db],
  });
};
