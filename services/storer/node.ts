// The storer's wiring: its RocksDB under WOLK_DATA_DIR and the StorerService. Handlers land with the
// Storer issue; until then every RPC answers UNIMPLEMENTED naming what is missing.
import { join } from 'node:path';
import { StorerServiceService } from '../../gen/wolk/storer/v1/storer.js';
import { openRocksKv } from '../../lib/storage/rocksdb.js';
import { registration, startGrpcNode } from '../../lib/service/grpc-node.js';
import type { NodeFactory } from '../../lib/service/runtime.js';

const NOT_YET = 'the storer core (chunks, files, self-selection) is not built yet';

export const createStorerNode: NodeFactory = async (ctx) => {
  const db = await openRocksKv(join(ctx.options.dataDir, 'db'));
  return startGrpcNode(ctx, {
    services: [
      registration({
        fullName: 'wolk.storer.v1.StorerService',
        definition: StorerServiceService,
        handlers: {},
        unimplemented: Object.fromEntries(Object.keys(StorerServiceService).map((m) => [m, NOT_YET])),
      }),
    ],
    resources: [db],
  });
};
