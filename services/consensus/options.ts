// The consensus node's options: their types, and the one place they are read from the environment
// (lib/config/env.ts defines every variable and its default). λ and everything timed by it default to
// the genesis: every node of a network must run the same λ (docs/consensus.md "Configuration").
import type { Genesis, GenesisParams } from '../../lib/chain/genesis.js';
import { formatHostPort, readDerived, readEnv, readOption, type Environment } from '../../lib/config/env.js';
import { readCommonOptions, readGenesis, type CommonOptions } from '../../lib/service/options.js';

/** Parameters of the one-node chain a consensus node runs without WOLK_GENESIS (development, smoke tests). */
export const SOLO_GENESIS_PARAMS: GenesisParams = { replication: 1, storerCommitteeSize: 1, chunkSize: 4096, lambdaMs: 100, auditDepth: 4 };

export interface ConsensusOptions extends CommonOptions {
  /** HOST:PORT peers know this node by (WOLK_ADVERTISE, else the listen address); never dialled as a peer. */
  readonly self: string;
  /** The network's genesis; undefined: a one-node chain of this node alone (SOLO_GENESIS_PARAMS, `stake`). */
  readonly genesis: Genesis | undefined;
  /** Own stake in the one-node chain. */
  readonly stake: number;
  /** Agreement's λ in milliseconds. */
  readonly lambdaMs: number;
  /** How long a proposer waits for storers to take its block's chunks and commit to them. */
  readonly blockStoreBudgetMs: number;
  /** HOST:PORT of a peer to take the latest certified block from when the data directory is empty. */
  readonly checkpointFrom: string | undefined;
  readonly peers: readonly string[];
  readonly peersSrv: string | undefined;
}

export function readOptions(env: Environment): ConsensusOptions {
  const common = readCommonOptions(env, 'consensus');
  const advertise = readEnv(env, 'WOLK_ADVERTISE') ?? common.listen;
  const genesis = readGenesis(env);
  const lambdaMs = readDerived(env, 'WOLK_LAMBDA_MS', (genesis?.params ?? SOLO_GENESIS_PARAMS).lambdaMs);
  return {
    ...common,
    self: formatHostPort({ host: advertise.host === '0.0.0.0' ? '127.0.0.1' : advertise.host, port: advertise.port }),
    genesis,
    stake: readOption(env, 'WOLK_STAKE'),
    lambdaMs,
    blockStoreBudgetMs: readDerived(env, 'WOLK_BLOCK_STORE_BUDGET_MS', lambdaMs),
    checkpointFrom: readEnv(env, 'WOLK_CHECKPOINT_FROM'),
    peers: readEnv(env, 'WOLK_PEERS') ?? [],
    peersSrv: readEnv(env, 'WOLK_PEERS_SRV'),
  };
}
