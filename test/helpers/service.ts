// Starts a service in this test process on an ephemeral port the way main.ts does: the service's own
// options reader (services/<name>/options.ts) over an environment, then its node factory.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Environment, ServiceName } from '../../lib/config/env.js';
import type { CommonOptions } from '../../lib/service/options.js';
import type { NodeFactory, RunningNode } from '../../lib/service/runtime.js';
import { silentLogger, type Logger } from '../../lib/log/logger.js';
import { readOptions as readConsensusOptions, type ConsensusOptions } from '../../services/consensus/options.js';
import { readOptions as readGatewayOptions, type GatewayOptions } from '../../services/gateway/options.js';
import { readOptions as readIndexerOptions, type IndexerOptions } from '../../services/indexer/options.js';
import { readOptions as readRewardsOptions, type RewardsOptions } from '../../services/rewards/options.js';
import { readOptions as readStorerOptions, type StorerOptions } from '../../services/storer/options.js';
import { testRandom } from './seed.js';

/** Node identities of in-process services: seeded, so storer ids (and the sortition over them) replay. */
const identities = testRandom('helpers/service:node-keys');

interface OptionsOf {
  consensus: ConsensusOptions;
  gateway: GatewayOptions;
  indexer: IndexerOptions;
  rewards: RewardsOptions;
  storer: StorerOptions;
}

const READERS: { [S in ServiceName]: (env: Environment) => OptionsOf[S] } = {
  consensus: readConsensusOptions,
  gateway: readGatewayOptions,
  indexer: readIndexerOptions,
  rewards: readRewardsOptions,
  storer: readStorerOptions,
};

/** A service's options from `env`, as its main.ts reads them. */
export function optionsFor<S extends ServiceName>(service: S, env: Environment): OptionsOf[S] & CommonOptions {
  return READERS[service](env);
}

export async function startInProcess<S extends ServiceName>(
  service: S,
  factory: NodeFactory<OptionsOf[S]>,
  extraEnv: Environment = {},
  logger: Logger = silentLogger,
): Promise<RunningNode & { dataDir: string; env: Environment }> {
  const env: Environment = { WOLK_LISTEN: '127.0.0.1:0', WOLK_DATA_DIR: mkdtempSync(join(tmpdir(), `wolk-${service}-`)), WOLK_SHUTDOWN_GRACE_MS: '500', ...extraEnv };
  // A data directory made here gets a seeded node key first; a caller passing its own provisions it.
  if (extraEnv['WOLK_DATA_DIR'] === undefined) identities.provisionNodeKey(env['WOLK_DATA_DIR']!);
  const options = optionsFor(service, env);
  const node = await factory({ options, logger });
  return Object.assign(node, { dataDir: options.dataDir, env });
}

/** The repo's buf binary: `buf curl` is how users call services by reflection. */
export const BUF = join(process.cwd(), 'node_modules', '.bin', 'buf');
