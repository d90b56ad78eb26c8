// The storer's options: their types and the one place they are read from the environment
// (lib/config/env.ts defines every variable and its default).
import { ConfigError, RECLAIM_AFTER_DEFAULT_MS, formatHostPort, readDerived, readEnv, readOption, type Environment } from '../../lib/config/env.js';
import type { Genesis } from '../../lib/chain/genesis.js';
import { hasEndpoints, readCommonOptions, readEndpointSource, readGenesis, type CommonOptions, type EndpointSource } from '../../lib/service/options.js';
import type { AdmissionMode } from './admission.js';
import { ATTACKS, type Attack } from './faults.js';

/** Test-only fault switches (WOLK_FAULTS). */
export type Fault = 'drop-after-commit' | 'corrupt-reads' | Attack;
export const FAULTS: readonly Fault[] = ['drop-after-commit', 'corrupt-reads', ...ATTACKS];

export interface StorerOptions extends CommonOptions {
  readonly maxFileBytes: number;
  readonly maxConcurrentUploads: number;
  /** N: also the expected committee size when there is no genesis (single-node registry). */
  readonly replication: number;
  /** Own stake when the genesis does not list this storer's stake (or there is no genesis). */
  readonly stake: bigint;
  readonly genesis: Genesis | undefined;
  readonly store: { kind: 'rocksdb' } | { kind: 'rados'; pool: string; namespace?: string };
  readonly cephConf: string;
  /** cephx client name (CEPH_CLIENT); undefined = librados's default. */
  readonly cephClient: string | undefined;
  readonly faults: ReadonlySet<Fault>;
  /** HOST:PORT others reach this storer at (GetInfo); default the listen address. */
  readonly advertise: string | undefined;
  /** Consensus nodes (WOLK_CONSENSUS, WOLK_CONSENSUS_SRV): with a genesis, the chain's storer registry is read from them. */
  readonly consensus: EndpointSource;
  /** Who this storer keeps bytes for (admission.ts), and each writer's byte budget. */
  readonly admission: AdmissionMode;
  readonly writeBudget: { readonly bytesPerSecond: number; readonly burstBytes: number };
  /** Uncovered files and chunks are deleted this long after they were last written (reclaimer.ts); 0: never. */
  readonly reclaimAfterMs: number;
  /** Bytes of sealed sectors' column trees kept for seal proofs (porep/sealer.ts); 0: none. */
  readonly columnTreeCacheBytes: number;
  /** WOLK_SPARE_SECTORS: empty labelled sectors kept ready (sealed networks). */
  readonly spareSectors: number;
}

export function readOptions(env: Environment): StorerOptions {
  const common = readCommonOptions(env, 'storer');
  const faults = readEnv(env, 'WOLK_FAULTS') ?? [];
  for (const f of faults) {
    if (!(FAULTS as readonly string[]).includes(f)) throw new ConfigError('WOLK_FAULTS', `unknown fault "${f}"; known: ${FAULTS.join(', ')}`);
  }
  const genesis: Genesis | undefined = readGenesis(env);
  const advertise = readEnv(env, 'WOLK_ADVERTISE');
  const admission = readDerived(env, 'WOLK_WRITE_ADMISSION', genesis ? 'chain' : undefined);
  if (admission === 'chain' && !genesis) throw new ConfigError('WOLK_WRITE_ADMISSION', '`chain` admits writes from the nodes a chain registers, so it needs WOLK_GENESIS (and WOLK_CONSENSUS to follow registrations after genesis)');
  const consensus = readEndpointSource(env, 'WOLK_CONSENSUS');
  return {
    ...common,
    maxFileBytes: readOption(env, 'WOLK_MAX_FILE_BYTES'),
    maxConcurrentUploads: readOption(env, 'WOLK_MAX_CONCURRENT_UPLOADS'),
    replication: readDerived(env, 'WOLK_REPLICATION', genesis?.params.replication),
    stake: BigInt(readOption(env, 'WOLK_STAKE')),
    genesis,
    store: readOption(env, 'WOLK_STORE'),
    cephConf: readOption(env, 'CEPH_CONF'),
    cephClient: readEnv(env, 'CEPH_CLIENT'),
    faults: new Set(faults as Fault[]),
    advertise: advertise ? formatHostPort(advertise) : undefined,
    consensus,
    admission,
    writeBudget: { bytesPerSecond: readOption(env, 'WOLK_WRITE_BYTES_PER_S'), burstBytes: readOption(env, 'WOLK_WRITE_BURST_BYTES') },
    // Reclamation needs a chain to follow: without one nothing is ever known to be uncovered.
    reclaimAfterMs: readDerived(env, 'WOLK_RECLAIM_AFTER_MS', genesis && hasEndpoints(consensus) ? RECLAIM_AFTER_DEFAULT_MS : undefined),
    columnTreeCacheBytes: readOption(env, 'WOLK_COLUMN_TREE_CACHE_BYTES'),
    spareSectors: readOption(env, 'WOLK_SPARE_SECTORS'),
  };
}
