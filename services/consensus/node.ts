// The consensus node's wiring: RocksDB under WOLK_DATA_DIR and the ConsensusService. The BA* core lives
// in ./agreement; its gRPC/RocksDB wiring lands with the Consensus issue, until then UNIMPLEMENTED.
import { join } from 'node:path';
import { ConsensusServiceService } from '../../gen/wolk/consensus/v1/consensus.js';
import { openRocksKv } from '../../lib/storage/rocksdb.js';
import { registration, startGrpcNode } from '../../lib/service/grpc-node.js';
import type { NodeFactory } from '../../lib/service/runtime.js';

const NOT_YET = 'the consensus node (agreement over gRPC, ledger, state) is not wired yet';

export const createConsensusNode: NodeFactory = async (ctx) => {
  const db = await openRocksKv(join(ctx.options.dataDir, 'db'));
  return startGrpcNode(ctx, {
    services: [
      registration({
        fullName: 'wolk.consensus.v1.ConsensusService',
        definition: ConsensusServiceService,
        handlers: {},
        unimplemented: Object.fromEntries(Object.keys(ConsensusServiceService).map((m) => [m, NOT_YET])),
      }),
    ],
    resources: [db],
  });
};
