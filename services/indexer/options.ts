// The indexer's options: their types and the one place they are read from the environment
// (lib/config/env.ts defines every variable and its default).
import type { Genesis } from '../../lib/chain/genesis.js';
import { ConfigError, type Environment } from '../../lib/config/env.js';
import { hasEndpoints, readCommonOptions, readEndpointSource, readGenesis, type CommonOptions, type EndpointSource } from '../../lib/service/options.js';

export interface IndexerOptions extends CommonOptions {
  /** The network's genesis (certificates are checked against its committee); undefined: follows nothing. */
  readonly genesis: Genesis | undefined;
  /** Consensus nodes the indexer follows (WOLK_CONSENSUS, WOLK_CONSENSUS_SRV). */
  readonly consensus: EndpointSource;
}

export function readOptions(env: Environment): IndexerOptions {
  const genesis = readGenesis(env);
  const consensus = readEndpointSource(env, 'WOLK_CONSENSUS');
  if (genesis === undefined && hasEndpoints(consensus)) throw new ConfigError('WOLK_GENESIS', 'the indexer needs the network\'s genesis file to verify certificates');
  return { ...readCommonOptions(env, 'indexer'), genesis, consensus };
}
