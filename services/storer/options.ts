// The storer's options: its type, defaults and the one place they are read from the environment
// (lib/config/env.ts defines every variable).
import { ConfigError, readEnv, readEnvOr, type Environment } from '../../lib/config/env.js';
import { loadGenesis, type Genesis } from '../../lib/chain/genesis.js';
import type { CommonOptions } from '../../lib/service/options.js';

/** Test-only fault switches (WOLK_FAULTS). */
export type Fault = 'drop-after-commit' | 'corrupt-reads';
export const FAULTS: readonly Fault[] = ['drop-after-commit', 'corrupt-reads'];

export interface StorerOptions {
  readonly maxFileBytes: number;
  readonly maxConcurrentUploads: number;
  readonly maxMessageBytes: number;
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
}

export function readStorerOptions(env: Environment, common: CommonOptions): StorerOptions {
  const faults = readEnvOr(env, 'WOLK_FAULTS', []);
  for (const f of faults) {
    if (!(FAULTS as readonly string[]).includes(f)) throw new ConfigError('WOLK_FAULTS', `unknown fault "${f}"; known: ${FAULTS.join(', ')}`);
  }
  const genesisPath = readEnv(env, 'WOLK_GENESIS');
  let genesis: Genesis | undefined;
  if (genesisPath !== undefined) {
    try {
      genesis = loadGenesis(genesisPath);
    } catch (err) {
      throw new ConfigError('WOLK_GENESIS', (err as Error).message.replace(/^WOLK_GENESIS: /, ''));
    }
  }
  const advertise = readEnv(env, 'WOLK_ADVERTISE');
  return {
    maxFileBytes: readEnvOr(env, 'WOLK_MAX_FILE_BYTES', 4 * 1024 ** 3),
    maxConcurrentUploads: readEnvOr(env, 'WOLK_MAX_CONCURRENT_UPLOADS', 16),
    maxMessageBytes: common.maxMessageBytes,
    replication: readEnvOr(env, 'WOLK_REPLICATION', 8),
    stake: BigInt(readEnvOr(env, 'WOLK_STAKE', 1000)),
    genesis,
    store: readEnvOr(env, 'WOLK_STORE', { kind: 'rocksdb' }),
    cephConf: readEnvOr(env, 'CEPH_CONF', '/etc/ceph/ceph.conf'),
    cephClient: readEnv(env, 'CEPH_CLIENT'),
    faults: new Set(faults as Fault[]),
    advertise: advertise ? `${advertise.host.includes(':') ? `[${advertise.host}]` : advertise.host}:${advertise.port}` : undefined,
  };
}
