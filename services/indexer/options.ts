// The indexer's options: their types and the one place they are read from the environment
// (lib/config/env.ts defines every variable and its default).
import type { Genesis } from '../../lib/chain/genesis.js';
import { ConfigError, readEnv, type Environment } from '../../lib/config/env.js';
import { readCommonOptions, readGenesis, type CommonOptions } from '../../lib/service/options.js';

export interface IndexerOptions extends CommonOptions {
  /** The network's genesis (certificates are checked against its committee); undefined: follows nothing. */
  readonly genesis: Genesis | undefined;
  /** Consensus nodes the indexer follows (WOLK_CONSENSUS). */
  readonly consensus: readonly string[];
}

export function readOptions(env: Environment): IndexerOptions {
  const genesis = readGenesis(env);
  const consensus = readEnv(env, 'WOLK_CONSENSUS') ?? [];
  if (genesis === undefined && consensus.length > 0) throw new ConfigError('WOLK_GENESIS', 'the indexer needs the network\'s genesis file to verify certificates');
  return { ...readCommonOptions(env, 'indexer'), genesis, consensus };
}
