// The devnet's shape: which processes, their data directories, ports and environment. Pure: the
// launcher (devnet.ts) does the I/O. Ports are chosen once and kept in ports.json so a restart reuses
// the same endpoints and the same data.
import { join } from 'node:path';
import type { ServiceName } from '../lib/config/env.js';
import type { Genesis, GenesisNode, GenesisRole } from '../lib/chain/genesis.js';
import { rewardMaxDelayFor } from '../lib/chain/reward.js';
import type { PorepNetworkParams } from '../lib/chain/sealed.js';
import { DEFAULT_PARAMS as DEFAULT_POREP_PARAMS } from '../lib/porep/params.js';

export interface DevnetShape {
  readonly consensus: number;
  readonly storer: number;
  readonly rewards: number;
  readonly indexer: number;
  readonly gateway: number;
}

export const DEFAULT_SHAPE: DevnetShape = { consensus: 4, storer: 6, rewards: 1, indexer: 1, gateway: 1 };

/** Devnet parameters: λ of 500 ms (13 processes share a 2-core machine; Algorand uses 2 s), N = 3 of 6 storers, a storer committee large enough that
 * 3 of 6 (or of 5, with one down) self-select with probability > 0.99. */
const DEVNET_LAMBDA_MS = 500;
export const DEVNET_PARAMS = {
  replication: 3,
  storerCommitteeSize: 18,
  chunkSize: 4096,
  lambdaMs: DEVNET_LAMBDA_MS,
  auditDepth: 4,
  // Standing audits per Reward (docs/rewards.md "Standing audits"): a storer that dies after its blocks
  // were audited is still audited, so repair can replace it.
  standingAudits: 2,
  // The Reward inclusion window (genesis params.rewardMaxDelay; docs/rewards.md "Inclusion window"): the
  // default 8 rounds were ~9 s of idle devnet rounds, less than one containment cycle plus the audit, and
  // Rewards whose audit contained a storer expired (16 of 48 in one porep-attackers run, 2026-12-07).
  rewardMaxDelay: rewardMaxDelayFor(DEVNET_LAMBDA_MS),
} as const;

/**
 * Proof of replication on a devnet (WOLK_DEVNET_POREP_SECTOR; off by default, docs/porep.md "Devnet
 * parameters"): sectors of `sectorBytes` with lib/porep's layers (4), seal challenges (264) and audit
 * challenges (16). The sector size sets what an outsourcer pays to re-seal on demand (about 3 sector
 * layers of sequential labels) against the 1 s audit deadline, and what every storer pays up front.
 */
export function devnetPorep(sectorBytes: number): PorepNetworkParams {
  return { sectorBytes, layers: DEFAULT_POREP_PARAMS.layers, sealChallenges: DEFAULT_POREP_PARAMS.sealChallenges, auditChallenges: DEFAULT_POREP_PARAMS.auditChallenges };
}

/** Grace each devnet process gets on SIGTERM (its WOLK_SHUTDOWN_GRACE_MS). */
export const DEVNET_SHUTDOWN_GRACE_MS = 3000;
/** The launcher SIGKILLs a child still running this long after it sent SIGTERM. */
export const LAUNCHER_KILL_AFTER_MS = 8000;

export interface PlannedProcess {
  /** e.g. "storer-2" */
  readonly name: string;
  readonly service: ServiceName;
  readonly index: number;
  readonly dataDir: string;
  readonly grpcPort: number;
  /** Gateway only. */
  readonly httpPort?: number;
}

export type PortMap = Record<string, number>;

export function processNames(shape: DevnetShape): { name: string; service: ServiceName; index: number }[] {
  const out: { name: string; service: ServiceName; index: number }[] = [];
  for (const service of ['consensus', 'storer', 'rewards', 'indexer', 'gateway'] as const) {
    for (let i = 0; i < shape[service]; i++) out.push({ name: `${service}-${i}`, service, index: i });
  }
  return out;
}

/** Every port key the devnet needs: `<name>` for gRPC, `gateway-<i>:http` for HTTP. */
export function portKeys(shape: DevnetShape): string[] {
  return processNames(shape).flatMap((p) => (p.service === 'gateway' ? [p.name, `${p.name}:http`] : [p.name]));
}

export function planProcesses(dir: string, shape: DevnetShape, ports: PortMap): PlannedProcess[] {
  return processNames(shape).map((p) => {
    const grpcPort = ports[p.name];
    if (grpcPort === undefined) throw new Error(`no port planned for ${p.name}`);
    const httpPort = p.service === 'gateway' ? ports[`${p.name}:http`] : undefined;
    return { ...p, dataDir: join(dir, p.name), grpcPort, ...(httpPort !== undefined ? { httpPort } : {}) };
  });
}

const endpoint = (p: PlannedProcess) => `127.0.0.1:${p.grpcPort}`;

/** The node arguments that start one service from the repository root (the launcher and the soaks use them). */
export function serviceArgs(service: ServiceName): string[] {
  return ['--import', 'tsx', '--import', './lib/telemetry/preload.ts', `services/${service}/main.ts`];
}

/** The environment of one process: every address it needs, on loopback. */
export interface DevnetExtras {
  /** Test-only fault switches per process name (WOLK_DEVNET_FAULTS), passed on as its WOLK_FAULTS. */
  readonly faults?: ReadonlyMap<string, readonly string[]>;
  /** Directory for per-process span files (WOLK_DEVNET_TRACE_DIR). */
  readonly traceDir?: string;
  /**
   * The rewards process's repair scan period (its WOLK_REPAIR_INTERVAL_MS): the launcher's own
   * WOLK_REPAIR_INTERVAL_MS when set, else 0 (no repairs, as the devnet ran before the repairer).
   */
  readonly repairIntervalMs?: number;
  /**
   * Each storer's WOLK_SPARE_SECTORS: the launcher's own when set, else 0. On a sealed devnet six
   * storers label on one machine's cores, and a spare each would double the labelling at start.
   */
  readonly spareSectors?: number;
}

export function environmentFor(
  p: PlannedProcess,
  all: readonly PlannedProcess[],
  genesisPath: string,
  parentPid: number,
  extras: DevnetExtras = {},
): Record<string, string> {
  const of = (s: ServiceName) => all.filter((q) => q.service === s);
  const env: Record<string, string> = {
    WOLK_LISTEN: endpoint(p),
    WOLK_ADVERTISE: endpoint(p),
    WOLK_DATA_DIR: p.dataDir,
    WOLK_GENESIS: genesisPath,
    WOLK_PARENT_PID: String(parentPid),
    WOLK_REPLICATION: String(DEVNET_PARAMS.replication),
    WOLK_LAMBDA_MS: String(DEVNET_PARAMS.lambdaMs),
    WOLK_AUDIT_DEPTH: String(DEVNET_PARAMS.auditDepth),
    WOLK_SHUTDOWN_GRACE_MS: String(DEVNET_SHUTDOWN_GRACE_MS),
    OTEL_SERVICE_NAME: `wolk-${p.name}`,
  };
  const consensus = of('consensus').map(endpoint).join(',');
  const storers = of('storer').map(endpoint).join(',');
  if (p.service === 'consensus') env['WOLK_PEERS'] = of('consensus').filter((q) => q !== p).map(endpoint).join(',');
  else env['WOLK_CONSENSUS'] = consensus;
  if (p.service === 'gateway' || p.service === 'rewards') env['WOLK_STORERS'] = storers;
  if (p.service === 'gateway') {
    env['WOLK_HTTP_LISTEN'] = `127.0.0.1:${p.httpPort}`;
    const indexer = of('indexer')[0];
    const rewards = of('rewards')[0];
    if (indexer) env['WOLK_INDEXER'] = endpoint(indexer);
    if (rewards) env['WOLK_REWARDS'] = endpoint(rewards);
  }
  if (p.service === 'rewards') {
    // The repairer reads the indexer (docs/repair.md); it scans only when the launcher asks for it.
    const indexer = of('indexer')[0];
    if (indexer) env['WOLK_INDEXER'] = endpoint(indexer);
    env['WOLK_REPAIR_INTERVAL_MS'] = String(extras.repairIntervalMs ?? 0);
  }
  if (p.service === 'storer') env['WOLK_SPARE_SECTORS'] = String(extras.spareSectors ?? 0);
  const faults = extras.faults?.get(p.name);
  if (faults && faults.length > 0) env['WOLK_FAULTS'] = faults.join(',');
  if (extras.traceDir) env['WOLK_TRACE_FILE'] = join(extras.traceDir, `${p.name}.jsonl`);
  return env;
}

export interface NodeIdentity {
  readonly id: string;
  readonly vrfPublicKey: string;
}

const ROLE_OF: Record<ServiceName, GenesisRole> = {
  consensus: 'consensus',
  storer: 'storer',
  rewards: 'rewards',
  indexer: 'indexer',
  gateway: 'gateway',
};

/** The devnet's genesis: every process is registered with its keys, endpoint and 1000 stake units. */
export function devnetGenesis(
  processes: readonly PlannedProcess[],
  identities: ReadonlyMap<string, NodeIdentity>,
  seedHex: string,
  timestampMs: number,
  accounts: readonly { id: string; balance: string }[] = [],
  porep?: PorepNetworkParams,
): Genesis {
  const nodes: GenesisNode[] = processes.map((p) => {
    const id = identities.get(p.name);
    if (!id) throw new Error(`no identity for ${p.name}`);
    return { id: id.id, vrfPublicKey: id.vrfPublicKey, endpoint: endpoint(p), roles: [ROLE_OF[p.service]], stake: '1000' };
  });
  return { network: 'wolk-devnet', seed: seedHex, timestampMs, params: { ...DEVNET_PARAMS, ...(porep ? { porep } : {}) }, nodes, ...(accounts.length > 0 ? { accounts } : {}) };
}

export interface Endpoints {
  gateway: string;
  storer: string[];
  consensus: string[];
  rewards: string[];
  indexer: string[];
}

export function endpointsOf(processes: readonly PlannedProcess[]): Endpoints {
  const of = (s: ServiceName) => processes.filter((p) => p.service === s).map(endpoint);
  const gw = processes.find((p) => p.service === 'gateway');
  return {
    gateway: gw ? `http://127.0.0.1:${gw.httpPort}` : '',
    storer: of('storer'),
    consensus: of('consensus'),
    rewards: of('rewards'),
    indexer: of('indexer'),
  };
}
