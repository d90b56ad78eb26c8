// The rewards service's options: their types and the one place they are read from the environment
// (lib/config/env.ts defines every variable and its default).
import type { Genesis } from '../../lib/chain/genesis.js';
import { formatHostPort, readDerived, readEnv, readOption, type Environment } from '../../lib/config/env.js';
import { readCommonOptions, readEndpointSource, readGenesis, type CommonOptions, type EndpointSource } from '../../lib/service/options.js';

export interface RewardsOptions extends CommonOptions {
  /** The network's genesis (rewards stake, storer endpoints, Q); undefined: audits nothing. */
  readonly genesis: Genesis | undefined;
  /** Consensus nodes (WOLK_CONSENSUS, WOLK_CONSENSUS_SRV): blocks in, Reward transactions out. */
  readonly consensus: EndpointSource;
  /** Q: the block audited is this many rounds back (the genesis value unless WOLK_AUDIT_DEPTH says otherwise). */
  readonly auditDepth: number | undefined;
  /** Response deadline of one audit call, ms (WOLK_AUDIT_DEADLINE_MS; docs/rewards.md "Deadlines and containment"). */
  readonly auditDeadlineMs: number;
  /** Re-audits of a contained object before its misses count as a failure (WOLK_AUDIT_RETRIES). */
  readonly auditRetries: number;
  /** Indexer the repairer reads (WOLK_INDEXER); undefined: no repairs (docs/repair.md). */
  readonly indexer: string | undefined;
  /** Repair scan period, ms; 0 = no repairs (WOLK_REPAIR_INTERVAL_MS). */
  readonly repairIntervalMs: number;
}

export function readOptions(env: Environment): RewardsOptions {
  const genesis = readGenesis(env);
  const indexer = readEnv(env, 'WOLK_INDEXER');
  return {
    ...readCommonOptions(env, 'rewards'),
    genesis,
    consensus: readEndpointSource(env, 'WOLK_CONSENSUS'),
    auditDepth: genesis ? readDerived(env, 'WOLK_AUDIT_DEPTH', genesis.params.auditDepth) : readEnv(env, 'WOLK_AUDIT_DEPTH'),
    auditDeadlineMs: readOption(env, 'WOLK_AUDIT_DEADLINE_MS'),
    auditRetries: readOption(env, 'WOLK_AUDIT_RETRIES'),
    indexer: indexer ? formatHostPort(indexer) : undefined,
    repairIntervalMs: readOption(env, 'WOLK_REPAIR_INTERVAL_MS'),
  };
}
