// Starts a service in this test process on an ephemeral port, through the same factory main.ts uses.
// A data directory made here gets a seeded node key first (test/helpers/seed.ts); a caller that passes
// its own WOLK_DATA_DIR provisions (or not) the key itself.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Environment, ServiceName } from '../../lib/config/env.js';
import { readCommonOptions } from '../../lib/service/options.js';
import type { NodeFactory, RunningNode } from '../../lib/service/runtime.js';
import { silentLogger } from '../../lib/log/logger.js';
import { testRandom } from './seed.js';

/** Node identities of in-process services: seeded, so storer ids (and the sortition over them) replay. */
const identities = testRandom('helpers/service:node-keys');

export async function startInProcess(
  service: ServiceName,
  factory: NodeFactory,
  extraEnv: Environment = {},
): Promise<RunningNode & { dataDir: string; env: Environment }> {
  const ownDir = extraEnv['WOLK_DATA_DIR'] === undefined;
  const dataDir = ownDir ? mkdtempSync(join(tmpdir(), `wolk-${service}-`)) : extraEnv['WOLK_DATA_DIR']!;
  if (ownDir) identities.provisionNodeKey(dataDir);
  const env: Environment = { WOLK_LISTEN: '127.0.0.1:0', WOLK_DATA_DIR: dataDir, WOLK_SHUTDOWN_GRACE_MS: '500', ...extraEnv };
  const node = await factory({ env, options: readCommonOptions(env, service), logger: silentLogger });
  return Object.assign(node, { dataDir, env });
}

/** The repo's buf binary: `buf curl` is how users call services by reflection. */
export const BUF = join(process.cwd(), 'node_modules', '.bin', 'buf');
