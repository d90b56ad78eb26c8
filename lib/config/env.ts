// Every environment variable Wolk reads, in one registry: its name, meaning, parser and the default the
// code uses. This is the only module that reads process.env (besides OpenTelemetry's own OTEL_*
// handling); each service turns the environment into its typed options once (services/<name>/options.ts,
// lib/service/options.ts), and the README's configuration table and the Kubernetes manifest checks are
// both derived from this list. A default lives here and nowhere else: readers get it from readOption().
import { isIP } from 'node:net';

export type ServiceName = 'gateway' | 'storer' | 'consensus' | 'rewards' | 'indexer';
export const SERVICE_NAMES: readonly ServiceName[] = ['gateway', 'storer', 'consensus', 'rewards', 'indexer'];

/** Each service's gRPC port when WOLK_LISTEN is unset. */
export const SERVICE_PORTS: Readonly<Record<ServiceName, number>> = {
  storer: 7001,
  consensus: 7002,
  rewards: 7003,
  indexer: 7004,
  gateway: 7005,
};

/** A variable whose value is missing or malformed; the message names the variable and what it expects. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/** What the code uses when a variable is unset. */
export type EnvDefault<T> =
  /** One value for every reader: readOption(env, name) returns it. */
  | { readonly value: T }
  /** A value per service (e.g. its port): readOption(env, name, service) returns it. */
  | { readonly perService: (service: ServiceName) => T }
  /**
   * Worked out from another input the reader holds (the genesis, λ): readDerived(env, name, thatValue)
   * returns it, or `otherwise` when the reader has no such input (no genesis).
   */
  | { readonly derived: string; readonly otherwise?: T }
  /** Optional: unset turns something off or leaves it to a library; the text says what happens. */
  | { readonly unset: string };

export interface EnvVarSpec<T> {
  readonly name: string;
  readonly doc: string;
  /** Which services read it. */
  readonly services: readonly ServiceName[] | 'all';
  readonly parse: (raw: string, name: string) => T;
  /** Absent: optional, with no value standing in. */
  readonly default?: EnvDefault<T>;
  /** Writes a value as a user would (the docs' default column); parse(format(v)) gives v back. */
  format?(value: T): string;
}

// ---- parsers: each throws ConfigError with what was expected and what was received ----

export function parseHostPort(raw: string, name: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new ConfigError(name, `expected HOST:PORT (e.g. 127.0.0.1:7001, port 0 for any free port), got "${raw}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** A comma-separated list, items trimmed, empty ones dropped. */
function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function parseEndpointList(raw: string, name: string): string[] {
  const items = splitList(raw);
  for (const item of items) parseHostPort(item, name);
  return items;
}

export function parseInteger(min: number, max: number) {
  return (raw: string, name: string): number => {
    const t = raw.trim();
    if (!/^-?\d+$/.test(t)) throw new ConfigError(name, `expected an integer from ${min} to ${max}, got "${raw}"`);
    const n = Number(t);
    if (n < min || n > max) throw new ConfigError(name, `expected an integer from ${min} to ${max}, got ${n}`);
    return n;
  };
}

export function parseDecimal(min: number, max: number) {
  return (raw: string, name: string): number => {
    const t = raw.trim();
    if (!/^\d+(\.\d+)?$/.test(t)) throw new ConfigError(name, `expected a number from ${min} to ${max} (like 10 or 0.5), got "${raw}"`);
    const n = Number(t);
    if (n < min || n > max) throw new ConfigError(name, `expected a number from ${min} to ${max}, got ${n}`);
    return n;
  };
}

export function parseBytes(min: number, max: number) {
  return (raw: string, name: string): number => {
    const m = /^(\d+)\s*(B|KiB|MiB|GiB|K|M|G)?$/i.exec(raw.trim());
    if (!m) throw new ConfigError(name, `expected a size like 4096, 64KiB, 8MiB or 1GiB, got "${raw}"`);
    const unit = (m[2] ?? 'B').toUpperCase().replace('IB', '');
    const mult = unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : unit === 'G' ? 1024 ** 3 : 1;
    const n = Number(m[1]) * mult;
    if (n < min || n > max) throw new ConfigError(name, `expected a size from ${min} to ${max} bytes, got ${n}`);
    return n;
  };
}

function parseAddressList(raw: string, name: string): string[] {
  const items = splitList(raw);
  for (const item of items) {
    const [ip, prefix, ...more] = item.split('/');
    const bits = isIP(ip!) === 4 ? 32 : isIP(ip!) === 6 ? 128 : 0;
    const ok = bits > 0 && more.length === 0 && (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits));
    if (!ok) throw new ConfigError(name, `expected comma-separated IP addresses or CIDR ranges (10.0.0.0/8, fd00::/8), got "${item}"`);
  }
  return items;
}

function parseOneOf<T extends string>(values: readonly T[]) {
  return (raw: string, name: string): T => {
    const v = raw.trim().toLowerCase() as T;
    if (!values.includes(v)) throw new ConfigError(name, `expected one of ${values.join(', ')}, got "${raw}"`);
    return v;
  };
}

function parseBool(raw: string, name: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
  throw new ConfigError(name, `expected true or false, got "${raw}"`);
}

const parseString = (raw: string) => raw;

/** `storer-1:corrupt-reads,storer-2:drop-after-commit` → process name → its faults. */
function parseDevnetFaults(raw: string): ReadonlyMap<string, readonly string[]> {
  const out = new Map<string, string[]>();
  for (const entry of raw.split(',').map((e) => e.trim()).filter(Boolean)) {
    const m = /^([a-z]+-\d+):([a-z-]+)$/.exec(entry);
    if (!m) throw new Error(`expected NAME:FAULT (e.g. storer-1:corrupt-reads), got "${entry}"`);
    const list = out.get(m[1]!) ?? [];
    list.push(m[2]!);
    out.set(m[1]!, list);
  }
  return out;
}

function parseGenesisAccounts(raw: string): readonly { id: string; balance: string }[] {
  const out: { id: string; balance: string }[] = [];
  for (const entry of raw.split(',').map((e) => e.trim()).filter(Boolean)) {
    const m = /^([0-9a-f]{64})=(\d+)$/.exec(entry);
    if (!m) throw new Error(`expected HEX_PUBLIC_KEY=BALANCE (64 lowercase hex characters, a decimal balance), got "${entry}"`);
    out.push({ id: m[1]!, balance: m[2]! });
  }
  return out;
}

function parseSrvName(raw: string, name: string): string {
  const v = raw.trim();
  if (!/^_[a-z0-9-]+\._(tcp|udp)\.[A-Za-z0-9.-]+$/.test(v) && !/^[A-Za-z0-9.-]+$/.test(v)) {
    throw new ConfigError(name, `expected a DNS SRV name like _grpc._tcp.consensus.wolk.svc.cluster.local, got "${raw}"`);
  }
  return v;
}

/** DNS servers: IPv4 or IPv6 addresses, each with an optional port (IPv6 with a port in brackets). */
function parseDnsServers(raw: string, name: string): string[] {
  const items = splitList(raw);
  for (const item of items) {
    const m = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(item) ?? /^([0-9.]+)(?::(\d{1,5}))?$/.exec(item) ?? /^([0-9a-fA-F:]+)()$/.exec(item);
    const ok = m !== null && isIP(m[1]!) !== 0 && (m[2] === undefined || m[2] === '' || (Number(m[2]) >= 1 && Number(m[2]) <= 65535));
    if (!ok) throw new ConfigError(name, `expected comma-separated DNS server addresses (10.96.0.10, 127.0.0.1:5353, [fd00::a]:53), got "${item}"`);
  }
  return items;
}

function parseStore(raw: string, name: string): { kind: 'rocksdb' } | { kind: 'rados'; pool: string; namespace?: string } {
  const v = raw.trim();
  if (v === '' || v === 'rocksdb') return { kind: 'rocksdb' };
  const m = /^rados:\/\/([A-Za-z0-9._-]+)(?:\/([A-Za-z0-9._-]+))?\/?$/.exec(v);
  if (m) return m[2] ? { kind: 'rados', pool: m[1]!, namespace: m[2] } : { kind: 'rados', pool: m[1]! };
  throw new ConfigError(name, `expected "rocksdb", "rados://POOL" or "rados://POOL/NAMESPACE", got "${raw}"`);
}

// ---- formatters: the inverse of the parsers, for defaults shown in the docs ----

export function formatHostPort(v: { readonly host: string; readonly port: number }): string {
  return `${v.host.includes(':') ? `[${v.host}]` : v.host}:${v.port}`;
}

/** The largest binary unit that divides the size exactly: 8388608 → 8MiB. */
export function formatBytes(n: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (n >= size && n % size === 0) return `${n / size}${unit}`;
  }
  return String(n);
}

function formatStore(v: ReturnType<typeof parseStore>): string {
  return v.kind === 'rocksdb' ? 'rocksdb' : `rados://${v.pool}${v.namespace !== undefined ? `/${v.namespace}` : ''}`;
}

// ---- the registry ----

/** The gateway's defaults for WOLK_COMMIT_DEADLINE_MS and WOLK_FINALITY_TIMEOUT_MS (one home: used below and by the storer's WOLK_RECLAIM_AFTER_MS). */
export const COMMIT_DEADLINE_DEFAULT_MS = 60_000;
export const FINALITY_TIMEOUT_DEFAULT_MS = 60_000;
/**
 * What a storer adds to the gateway's commit deadline and finality wait before it reclaims an
 * uncovered file (docs/storer.md "Space reclamation"): a SetKey the gateway stopped waiting for (202)
 * can still be in a mempool and finalize while its commitments' seed is at most 256 rounds old, and
 * block timestamps may run up to 30 s ahead of a validator's clock.
 */
export const RECLAIM_MARGIN_MS = 10 * 60_000;
/** WOLK_RECLAIM_AFTER_MS on a storer that follows a chain (12 min). */
export const RECLAIM_AFTER_DEFAULT_MS = COMMIT_DEADLINE_DEFAULT_MS + FINALITY_TIMEOUT_DEFAULT_MS + RECLAIM_MARGIN_MS;

export const ENV = {
  WOLK_LISTEN: {
    name: 'WOLK_LISTEN',
    doc: 'gRPC listen address HOST:PORT (port 0 picks a free port); at the gateway it serves gRPC health and the source of uploads.',
    services: 'all',
    default: { perService: (service: ServiceName) => ({ host: '0.0.0.0', port: SERVICE_PORTS[service] }) },
    format: formatHostPort,
    parse: parseHostPort,
  },
  WOLK_HTTP_LISTEN: {
    name: 'WOLK_HTTP_LISTEN',
    doc: 'HTTP listen address of the gateway.',
    services: ['gateway'],
    default: { value: { host: '0.0.0.0', port: 8080 } },
    format: formatHostPort,
    parse: parseHostPort,
  },
  WOLK_DATA_DIR: {
    name: 'WOLK_DATA_DIR',
    doc: 'Directory holding all of the service\'s state (RocksDB, keys). In Kubernetes: the Ceph RBD volume.',
    services: 'all',
    default: { perService: (service: ServiceName) => `.wolk/${service}` },
    parse: parseString,
  },
  WOLK_PEERS: {
    name: 'WOLK_PEERS',
    doc: 'Comma-separated HOST:PORT list of consensus peers (with WOLK_PEERS_SRV: both, united).',
    services: ['consensus'],
    parse: parseEndpointList,
  },
  WOLK_PEERS_SRV: {
    name: 'WOLK_PEERS_SRV',
    doc: 'DNS SRV name whose records list the consensus peers (a Kubernetes headless Service), re-resolved every WOLK_SRV_REFRESH_MS; a failed lookup keeps the last good peers (lib/net/endpoints.ts).',
    services: ['consensus'],
    parse: parseSrvName,
  },
  WOLK_CONSENSUS: {
    name: 'WOLK_CONSENSUS',
    doc: 'Comma-separated HOST:PORT list of consensus nodes this service talks to (with WOLK_CONSENSUS_SRV: both, united).',
    services: ['gateway', 'storer', 'rewards', 'indexer'],
    parse: parseEndpointList,
  },
  WOLK_CONSENSUS_SRV: {
    name: 'WOLK_CONSENSUS_SRV',
    doc: 'DNS SRV name of the consensus nodes (a Kubernetes headless Service), re-resolved every WOLK_SRV_REFRESH_MS: every call uses the nodes of the last good lookup plus WOLK_CONSENSUS, so nodes added or removed in DNS are used without a restart. A name that resolves to nothing yet is retried (calls fail as unavailable meanwhile); a failed lookup keeps the last good set.',
    services: ['gateway', 'storer', 'rewards', 'indexer'],
    parse: parseSrvName,
  },
  WOLK_STORERS: {
    name: 'WOLK_STORERS',
    doc: 'Comma-separated HOST:PORT list of storers to send store requests to, besides those the chain registers after genesis (with WOLK_STORERS_SRV: both, united).',
    services: ['gateway'],
    parse: parseEndpointList,
  },
  WOLK_STORERS_SRV: {
    name: 'WOLK_STORERS_SRV',
    doc: 'DNS SRV name of the storers (a Kubernetes headless Service), re-resolved every WOLK_SRV_REFRESH_MS: the gateway solicits its targets (plus WOLK_STORERS) as it does a WOLK_STORERS list, and storers registered after genesis at their node record\'s endpoint.',
    services: ['gateway'],
    parse: parseSrvName,
  },
  WOLK_DNS_SERVERS: {
    name: 'WOLK_DNS_SERVERS',
    doc: 'Comma-separated DNS servers (IP or IP:PORT, [IPv6]:PORT) that resolve the *_SRV names.',
    services: 'all',
    default: { unset: 'the system\'s resolvers (/etc/resolv.conf; in Kubernetes, the cluster DNS)' },
    parse: parseDnsServers,
  },
  WOLK_SRV_REFRESH_MS: {
    name: 'WOLK_SRV_REFRESH_MS',
    doc: 'How often the *_SRV names are resolved again, in milliseconds. Until a name has answered once, a failed lookup is retried sooner (1 s, doubling up to this).',
    services: 'all',
    default: { value: 30_000 },
    parse: parseInteger(100, 3_600_000),
  },
  WOLK_INDEXER: {
    name: 'WOLK_INDEXER',
    doc: 'HOST:PORT of an indexer: the gateway uses it for listings and storer choice, the rewards service\'s repairer for the keys of storers that are no longer live (docs/repair.md; unset: no repairs).',
    services: ['gateway', 'rewards'],
    parse: parseHostPort,
  },
  WOLK_REWARDS: {
    name: 'WOLK_REWARDS',
    doc: 'HOST:PORT of a rewards service (the gateway reports its health in /status).',
    services: ['gateway'],
    parse: parseHostPort,
  },
  WOLK_PARENT_PID: {
    name: 'WOLK_PARENT_PID',
    doc: 'Set by the devnet launcher: the service shuts down when this process is gone, so no orphan outlives its devnet.',
    services: 'all',
    parse: parseInteger(1, 2 ** 31),
  },
  WOLK_ADVERTISE: {
    name: 'WOLK_ADVERTISE',
    doc: 'HOST:PORT other nodes use to reach this one (defaults to the listen address; set it to the pod DNS name in Kubernetes).',
    services: ['storer', 'consensus', 'gateway'],
    parse: parseHostPort,
  },
  WOLK_REPLICATION: {
    name: 'WOLK_REPLICATION',
    doc: 'N, the number of storers that must commit to each file. Every node of a network should use the genesis value.',
    services: ['gateway', 'storer'],
    default: { derived: 'the genesis `params.replication`', otherwise: 8 },
    parse: parseInteger(1, 64),
  },
  WOLK_CHUNK_SIZE: {
    name: 'WOLK_CHUNK_SIZE',
    doc: 'Chunk size in bytes for new files (4096 to 32768).',
    services: ['gateway'],
    default: { derived: 'the genesis `params.chunkSize`', otherwise: 4096 },
    parse: parseBytes(4096, 32768),
  },
  WOLK_MAX_FILE_BYTES: {
    name: 'WOLK_MAX_FILE_BYTES',
    doc: 'Largest file accepted.',
    services: ['gateway', 'storer'],
    default: { value: 4 * 1024 ** 3 },
    format: formatBytes,
    parse: parseBytes(1, 2 ** 50),
  },
  WOLK_MAX_MESSAGE_BYTES: {
    name: 'WOLK_MAX_MESSAGE_BYTES',
    doc: 'Largest single gRPC message sent or received.',
    services: 'all',
    default: { value: 8 * 1024 ** 2 },
    format: formatBytes,
    parse: parseBytes(64 * 1024, 1024 ** 3),
  },
  WOLK_MAX_CONCURRENT_UPLOADS: {
    name: 'WOLK_MAX_CONCURRENT_UPLOADS',
    doc: 'Uploads (SetFile, Solicit fetches, PUTs) served at once; more are refused with RESOURCE_EXHAUSTED / 503.',
    services: ['gateway', 'storer'],
    default: { value: 16 },
    parse: parseInteger(1, 10000),
  },
  WOLK_SIGNATURE_WINDOW_SECONDS: {
    name: 'WOLK_SIGNATURE_WINDOW_SECONDS',
    doc: 'How far a signed request\'s `created` may be from the gateway\'s clock, in seconds (RFC 9421); nonces are remembered this long.',
    services: ['gateway'],
    default: { value: 300 },
    parse: parseInteger(1, 86400),
  },
  WOLK_COMMIT_DEADLINE_MS: {
    name: 'WOLK_COMMIT_DEADLINE_MS',
    doc: 'Time the gateway gives N storers to commit to an upload, in milliseconds, plus the file\'s size at WOLK_COMMIT_MIN_RATE; fewer by then: 503 and nothing on chain.',
    services: ['gateway'],
    default: { value: COMMIT_DEADLINE_DEFAULT_MS },
    parse: parseInteger(100, 3600000),
  },
  WOLK_COMMIT_MIN_RATE: {
    name: 'WOLK_COMMIT_MIN_RATE',
    doc: 'Slowest fetch rate per second the commit deadline allows for (a 1 GiB upload at 8MiB gets 128 s more).',
    services: ['gateway'],
    default: { value: 8 * 1024 ** 2 },
    format: formatBytes,
    parse: parseBytes(64 * 1024, 2 ** 40),
  },
  WOLK_BODY_IDLE_TIMEOUT_MS: {
    name: 'WOLK_BODY_IDLE_TIMEOUT_MS',
    doc: 'Longest silence within a request body, in milliseconds, before the gateway refuses it (408) and frees its upload slot; 0 turns the timeout off.',
    services: ['gateway'],
    default: { value: 30_000 },
    parse: parseInteger(0, 3600000),
  },
  WOLK_HEADERS_TIMEOUT_MS: {
    name: 'WOLK_HEADERS_TIMEOUT_MS',
    doc: 'Time a client has to send a request\'s line and headers, in milliseconds, checked every second: a slower one (slowloris) is answered 408 and disconnected.',
    services: ['gateway'],
    default: { value: 20_000 },
    parse: parseInteger(1000, 600_000),
  },
  WOLK_KEEP_ALIVE_TIMEOUT_MS: {
    name: 'WOLK_KEEP_ALIVE_TIMEOUT_MS',
    doc: 'How long an idle keep-alive connection stays open waiting for its next request, in milliseconds.',
    services: ['gateway'],
    default: { value: 5000 },
    parse: parseInteger(100, 600_000),
  },
  WOLK_WRITE_STALL_TIMEOUT_MS: {
    name: 'WOLK_WRITE_STALL_TIMEOUT_MS',
    doc: 'Longest time an answer may wait on a client that stopped reading it (no byte taken), in milliseconds, before the connection is cut; 0 turns the check off.',
    services: ['gateway'],
    default: { value: 30_000 },
    parse: parseInteger(0, 3_600_000),
  },
  WOLK_RATE_ADDRESS_PER_SECOND: {
    name: 'WOLK_RATE_ADDRESS_PER_SECOND',
    doc: 'Requests a second (a decimal: 0.5 is one every 2 s) one client address may make to a gateway (every route but /healthz), sustained; past it and its burst: 429 with Retry-After. 0 turns the limit off.',
    services: ['gateway'],
    default: { value: 200 },
    parse: parseDecimal(0, 1_000_000),
  },
  WOLK_RATE_ADDRESS_BURST: {
    name: 'WOLK_RATE_ADDRESS_BURST',
    doc: 'Requests one client address may make at once before WOLK_RATE_ADDRESS_PER_SECOND applies.',
    services: ['gateway'],
    default: { value: 1000 },
    parse: parseInteger(1, 10_000_000),
  },
  WOLK_RATE_KEY_PER_SECOND: {
    name: 'WOLK_RATE_KEY_PER_SECOND',
    doc: 'Signed writes a second (a decimal) one signing key may make (PUT of a file, name or collection; tus POST, PATCH, DELETE), sustained; past it and its burst: 429 with Retry-After. 0 turns the limit off.',
    services: ['gateway'],
    default: { value: 10 },
    parse: parseDecimal(0, 1_000_000),
  },
  WOLK_RATE_KEY_BURST: {
    name: 'WOLK_RATE_KEY_BURST',
    doc: 'Signed writes one key may make at once before WOLK_RATE_KEY_PER_SECOND applies.',
    services: ['gateway'],
    default: { value: 100 },
    parse: parseInteger(1, 10_000_000),
  },
  WOLK_TRUSTED_PROXIES: {
    name: 'WOLK_TRUSTED_PROXIES',
    doc: 'Comma-separated IP addresses or CIDR ranges of reverse proxies in front of the gateway (an ingress, a sidecar): for requests from them, the client address (rate limits, upload slots) is the nearest X-Forwarded-For entry that is not one of them.',
    services: ['gateway'],
    default: { unset: 'no proxy is trusted: X-Forwarded-For is ignored and the socket\'s peer is the client' },
    parse: parseAddressList,
  },
  WOLK_FINALITY_TIMEOUT_MS: {
    name: 'WOLK_FINALITY_TIMEOUT_MS',
    doc: 'How long a synchronous PUT waits for its SetKey to be final before answering 202 with a status URL, in milliseconds.',
    services: ['gateway'],
    default: { value: FINALITY_TIMEOUT_DEFAULT_MS },
    parse: parseInteger(0, 3600000),
  },
  WOLK_RESUMABLE_EXPIRY_MS: {
    name: 'WOLK_RESUMABLE_EXPIRY_MS',
    doc: 'How long a resumable (tus) upload may go without a PATCH before the gateway reclaims its bytes (Upload-Expires), in milliseconds; a stored upload remembers its answer as long.',
    services: ['gateway'],
    default: { value: 86_400_000 },
    parse: parseInteger(1000, 30 * 86_400_000),
  },
  WOLK_RESUMABLE_OWNER_BYTES: {
    name: 'WOLK_RESUMABLE_OWNER_BYTES',
    doc: 'Most bytes (by Upload-Length) of one owner\'s unfinished resumable uploads on a gateway; a creation past it is refused 507.',
    services: ['gateway'],
    default: { value: 16 * 1024 ** 3 },
    format: formatBytes,
    parse: parseBytes(1, 2 ** 50),
  },
  WOLK_RESUMABLE_TOTAL_BYTES: {
    name: 'WOLK_RESUMABLE_TOTAL_BYTES',
    doc: 'Most bytes of all unfinished resumable uploads on a gateway (its disk for them); a creation past it is refused 507.',
    services: ['gateway'],
    default: { value: 64 * 1024 ** 3 },
    format: formatBytes,
    parse: parseBytes(1, 2 ** 50),
  },
  WOLK_STAKE: {
    name: 'WOLK_STAKE',
    doc: 'Stake units this node registers with (a storer the genesis does not list; a consensus node without WOLK_GENESIS, in its one-node chain).',
    services: ['storer', 'consensus'],
    default: { value: 1000 },
    parse: parseInteger(0, Number.MAX_SAFE_INTEGER),
  },
  WOLK_WRITE_ADMISSION: {
    name: 'WOLK_WRITE_ADMISSION',
    doc: 'Who a storer keeps bytes for (docs/storer.md "Write admission"): `chain`, only writes signed by a node the chain registers in the right role (gateway or rewards for files, consensus for chunks), fetched only from registered endpoints; `open`, anyone (a lone storer, tests).',
    services: ['storer'],
    default: { derived: '`chain` with WOLK_GENESIS', otherwise: 'open' },
    parse: parseOneOf(['chain', 'open'] as const),
  },
  WOLK_WRITE_BYTES_PER_S: {
    name: 'WOLK_WRITE_BYTES_PER_S',
    doc: 'Bytes a second one writer (requester key) may have a storer keep, sustained; beyond it and WOLK_WRITE_BURST_BYTES writes are refused with RESOURCE_EXHAUSTED. 0: no limit.',
    services: ['storer'],
    default: { value: 256 * 1024 ** 2 },
    format: formatBytes,
    parse: parseBytes(0, 2 ** 50),
  },
  WOLK_WRITE_BURST_BYTES: {
    name: 'WOLK_WRITE_BURST_BYTES',
    doc: 'Bytes one writer may have a storer keep at once before WOLK_WRITE_BYTES_PER_S applies (a write larger than this passes on a full budget).',
    services: ['storer'],
    default: { value: 16 * 1024 ** 3 },
    format: formatBytes,
    parse: parseBytes(1, 2 ** 50),
  },
  WOLK_COLUMN_TREE_CACHE_BYTES: {
    name: 'WOLK_COLUMN_TREE_CACHE_BYTES',
    doc: 'Memory for the column trees of sealed sectors that seal proofs (ProveSeal) open, least recently used first out; a sector\'s tree is 2 × its size (64 MiB for a 32 MiB sector). A tree dropped from it is built again from the sector\'s layers in a worker thread when a proof needs it (seconds of CPU per 32 MiB sector). 0: none kept. Only with params.porep in WOLK_GENESIS (docs/porep.md).',
    services: ['storer'],
    default: { value: 256 * 1024 ** 2 },
    format: formatBytes,
    parse: parseBytes(0, 2 ** 50),
  },
  WOLK_SPARE_SECTORS: {
    name: 'WOLK_SPARE_SECTORS',
    doc: 'Labelled sectors a sealing storer keeps completely empty, beside the one it is filling, so that a file up to a sector in size is sealed at once instead of waiting for a sector to be labelled on its PUT path (docs/porep.md "Spare sectors"). Each costs a sector\'s layers on disk (4 × the sector size) and its labelling CPU, spent in the background. Only with params.porep in WOLK_GENESIS.',
    services: ['storer'],
    default: { value: 1 },
    parse: parseInteger(0, 64),
  },
  WOLK_RECLAIM_AFTER_MS: {
    name: 'WOLK_RECLAIM_AFTER_MS',
    doc: 'How long a storer keeps a file or block chunk that no commitment on chain covers before deleting it, in milliseconds (docs/storer.md "Space reclamation"); it follows certified blocks from the consensus nodes (WOLK_CONSENSUS, WOLK_CONSENSUS_SRV) to tell. 0: never reclaim. Raise it with the gateway\'s WOLK_COMMIT_DEADLINE_MS or WOLK_FINALITY_TIMEOUT_MS.',
    services: ['storer'],
    default: { derived: `with WOLK_GENESIS and WOLK_CONSENSUS or WOLK_CONSENSUS_SRV: the gateway's default WOLK_COMMIT_DEADLINE_MS + WOLK_FINALITY_TIMEOUT_MS + 10 min = ${RECLAIM_AFTER_DEFAULT_MS} (${RECLAIM_AFTER_DEFAULT_MS / 60_000} min)`, otherwise: 0 },
    parse: parseInteger(0, 30 * 24 * 3600 * 1000),
  },
  WOLK_LAMBDA_MS: {
    name: 'WOLK_LAMBDA_MS',
    doc: 'Agreement timeout unit λ in milliseconds. Every node of a network must use the same λ, so leave it to the genesis (Algorand uses 2000; the devnet 500).',
    services: ['consensus'],
    default: { derived: 'the genesis `params.lambdaMs`' },
    parse: parseInteger(1, 600000),
  },
  WOLK_BLOCK_STORE_BUDGET_MS: {
    name: 'WOLK_BLOCK_STORE_BUDGET_MS',
    doc: 'How long a proposer waits for storers to acknowledge its block\'s own chunks and to commit to the chunk set (CommitChunks; at least a quarter of it goes to the commitments) before proposing anyway, in milliseconds (the writes go on in the background).',
    services: ['consensus'],
    default: { derived: 'λ (WOLK_LAMBDA_MS)' },
    parse: parseInteger(0, 600000),
  },
  WOLK_CHECKPOINT_FROM: {
    name: 'WOLK_CHECKPOINT_FROM',
    doc: 'HOST:PORT of a consensus node: an empty data directory starts from its latest certified block (certificate checked against the genesis committee) instead of replaying from genesis; state is read from storers.',
    services: ['consensus'],
    default: { unset: 'replay from genesis' },
    parse: (raw: string, name: string): string => {
      parseHostPort(raw, name);
      return raw.trim();
    },
  },
  WOLK_AUDIT_DEPTH: {
    name: 'WOLK_AUDIT_DEPTH',
    doc: 'Q: the rewards verifier audits the block this many rounds back. Every node of a network must use the genesis value.',
    services: ['rewards'],
    default: { derived: 'the genesis `params.auditDepth`' },
    parse: parseInteger(1, 1000000),
  },
  WOLK_AUDIT_DEADLINE_MS: {
    name: 'WOLK_AUDIT_DEADLINE_MS',
    doc: 'Response deadline of one audit call (a file; a chunk batch gets 2 ms more per chunk). A storer that misses it is contained and re-audited on fresh challenges before the miss counts (docs/rewards.md). Default: the proof-of-replication deadline of docs/porep.md.',
    services: ['rewards'],
    default: { value: 1000 },
    parse: parseInteger(1, 600000),
  },
  WOLK_REPAIR_INTERVAL_MS: {
    name: 'WOLK_REPAIR_INTERVAL_MS',
    doc: 'How often the rewards service\'s repairer scans for keys whose storers are no longer live and submits Repairs (docs/repair.md); 0 = never. Needs WOLK_INDEXER. npm start passes it on to the devnet\'s rewards process, 0 when unset.',
    services: ['rewards'],
    default: { value: 5000 },
    parse: parseInteger(0, 86_400_000),
  },
  WOLK_AUDIT_RETRIES: {
    name: 'WOLK_AUDIT_RETRIES',
    doc: 'Re-audits of a contained object (one that missed the deadline) before the miss counts as a failure (Storj: 3). Each waits one deadline first.',
    services: ['rewards'],
    default: { value: 3 },
    parse: parseInteger(0, 100),
  },
  WOLK_GENESIS: {
    name: 'WOLK_GENESIS',
    doc: 'Path to the genesis file (initial nodes and stake) shared by every node of a network; the CLI checks proofs\' cert quorum against it (default there: the devnet\'s genesis.json).',
    services: 'all',
    parse: parseString,
  },
  WOLK_STORE: {
    name: 'WOLK_STORE',
    doc: 'Storer backend: "rocksdb" (files under WOLK_DATA_DIR) or "rados://POOL[/NAMESPACE]" (native Ceph RADOS, with CEPH_CONF; the namespace defaults to the storer\'s id so storers can share a pool).',
    services: ['storer'],
    default: { value: { kind: 'rocksdb' } },
    format: formatStore,
    parse: parseStore,
  },
  CEPH_CONF: {
    name: 'CEPH_CONF',
    doc: 'Path to ceph.conf for the RADOS backend.',
    services: ['storer'],
    default: { value: '/etc/ceph/ceph.conf' },
    parse: parseString,
  },
  CEPH_CLIENT: {
    name: 'CEPH_CLIENT',
    doc: 'cephx client name for the RADOS backend (e.g. client.wolk-storer under Rook).',
    services: ['storer'],
    default: { unset: 'librados\'s default, client.admin' },
    parse: parseString,
  },
  WOLK_LOG_LEVEL: {
    name: 'WOLK_LOG_LEVEL',
    doc: 'Log level: debug, info, warn or error. Logs are JSON lines on stderr.',
    services: 'all',
    default: { value: 'info' },
    parse: parseOneOf(['debug', 'info', 'warn', 'error'] as const),
  },
  WOLK_SHUTDOWN_GRACE_MS: {
    name: 'WOLK_SHUTDOWN_GRACE_MS',
    doc: 'On SIGTERM, how long in-flight calls may finish before they are cancelled.',
    services: 'all',
    default: { value: 10_000 },
    parse: parseInteger(0, 600000),
  },
  WOLK_TRACE_FILE: {
    name: 'WOLK_TRACE_FILE',
    doc: 'Also write finished OpenTelemetry spans as JSON lines to this file (debugging and tests).',
    services: 'all',
    parse: parseString,
  },
  WOLK_FAULTS: {
    name: 'WOLK_FAULTS',
    doc: 'Test-only fault switches, comma-separated (e.g. drop-after-commit, corrupt-reads). Off unless set; never set in production.',
    services: ['storer'],
    parse: (raw: string) => raw.split(',').map((s) => s.trim()).filter(Boolean),
  },
  OTEL_TRACES_EXPORTER: {
    name: 'OTEL_TRACES_EXPORTER',
    doc: 'OpenTelemetry trace exporter: none, otlp or console. Standard OTEL_EXPORTER_OTLP_* variables configure otlp.',
    services: 'all',
    default: { value: 'none' },
    parse: parseOneOf(['none', 'otlp', 'console'] as const),
  },
  OTEL_SERVICE_NAME: {
    name: 'OTEL_SERVICE_NAME',
    doc: 'Service name on traces.',
    services: 'all',
    default: { perService: (service: ServiceName) => `wolk-${service}` },
    parse: parseString,
  },
  WOLK_GATEWAY: {
    name: 'WOLK_GATEWAY',
    doc: 'CLI: gateway URL (default: the devnet gateway from .wolk/devnet/endpoints.json).',
    services: [],
    parse: parseString,
  },
  WOLK_DEVNET_DIR: {
    name: 'WOLK_DEVNET_DIR',
    doc: 'npm start: where the devnet keeps its data, logs, genesis, endpoints.json and the launcher\'s pid file (devnet.pid: a second npm start there is refused while it runs).',
    services: [],
    default: { value: '.wolk/devnet' },
    parse: parseString,
  },
  WOLK_DEVNET_FAULTS: {
    name: 'WOLK_DEVNET_FAULTS',
    doc: 'npm start (tests only): fault switches for single devnet processes, NAME:FAULT entries comma-separated (e.g. storer-1:corrupt-reads,storer-2:drop-after-commit); each becomes that process\'s WOLK_FAULTS.',
    services: [],
    parse: parseDevnetFaults,
  },
  WOLK_DEVNET_ACCOUNTS: {
    name: 'WOLK_DEVNET_ACCOUNTS',
    doc: 'npm start: starting balances written into a new devnet\'s genesis `accounts`, HEX_PUBLIC_KEY=BALANCE entries comma-separated; a node not in the devnet locks its stake from one when it registers (a storer registers itself).',
    services: [],
    parse: parseGenesisAccounts,
  },
  WOLK_DEVNET_POREP_SECTOR: {
    name: 'WOLK_DEVNET_POREP_SECTOR',
    doc: 'npm start (tests): when set, the devnet\'s genesis turns proof of replication on (params.porep) with sectors of this size (a power of two, e.g. 32MiB) and lib/porep\'s layers and challenge counts; unset, the devnet does not seal (scripts/devnet-plan.ts devnetPorep, docs/porep.md "Devnet parameters").',
    services: [],
    parse: parseBytes(64 * 1024, 1024 ** 3),
  },
  WOLK_DEVNET_TRACE_DIR: {
    name: 'WOLK_DEVNET_TRACE_DIR',
    doc: 'npm start: when set, every devnet process writes its finished spans to <dir>/<process>.jsonl (its WOLK_TRACE_FILE).',
    services: [],
    parse: parseString,
  },
  WOLK_KEY: {
    name: 'WOLK_KEY',
    doc: 'CLI: path of the key file made by `wolk keygen` (default ~/.wolk/key.json).',
    services: [],
    parse: parseString,
  },
} as const satisfies Record<string, EnvVarSpec<unknown>>;

export type EnvName = keyof typeof ENV;
type Spec<N extends EnvName> = (typeof ENV)[N];
type ParsedOf<N extends EnvName> = ReturnType<Spec<N>['parse']>;
/** Variables with one default value, with one per service, and with one derived from another input. */
type ValueDefaulted = { [N in EnvName]: Spec<N> extends { readonly default: { readonly value: unknown } } ? N : never }[EnvName];
type PerServiceDefaulted = { [N in EnvName]: Spec<N> extends { readonly default: { readonly perService: unknown } } ? N : never }[EnvName];
type DerivedDefaulted = { [N in EnvName]: Spec<N> extends { readonly default: { readonly derived: string } } ? N : never }[EnvName];

// Compile-time check that every default has the type its parser returns.
type DefaultValueOf<S> = S extends { readonly default: { readonly value: infer V } }
  ? V
  : S extends { readonly default: { readonly perService: (s: ServiceName) => infer V } }
    ? V
    : S extends { readonly default: { readonly otherwise: infer V } }
      ? V
      : never;
type MistypedDefaults = { [N in EnvName]: [DefaultValueOf<Spec<N>>] extends [ParsedOf<N>] ? never : N }[EnvName];
const defaultsMatchParsers: [MistypedDefaults] extends [never] ? true : MistypedDefaults = true;
void defaultsMatchParsers;

/** The environment, passed in so tests and the devnet can build one without touching process.env. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Reads one variable: its parsed value, or undefined when unset or empty. */
export function readEnv<N extends EnvName>(env: Environment, name: N): ParsedOf<N> | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  return ENV[name].parse(raw, name) as ParsedOf<N>;
}

/** Reads one variable, or its registry default when unset (per service where the default depends on it). */
export function readOption<N extends ValueDefaulted>(env: Environment, name: N): ParsedOf<N>;
export function readOption<N extends PerServiceDefaulted>(env: Environment, name: N, service: ServiceName): ParsedOf<N>;
export function readOption(env: Environment, name: ValueDefaulted | PerServiceDefaulted, service?: ServiceName): unknown {
  const set = readEnv(env, name);
  if (set !== undefined) return set;
  const d: EnvDefault<unknown> = ENV[name].default;
  if ('value' in d) return d.value;
  if ('perService' in d) {
    if (service === undefined) throw new Error(`${name}: its default depends on the service; say which`);
    return d.perService(service);
  }
  throw new Error(`${name}: no default value in the registry`);
}

/**
 * Reads one variable whose default comes from another input the reader holds (`from`: e.g. the genesis
 * parameter); without that input (undefined), the registry's `otherwise`.
 */
export function readDerived<N extends DerivedDefaulted>(env: Environment, name: N, from: ParsedOf<N> | undefined): ParsedOf<N> {
  const set = readEnv(env, name) ?? from;
  if (set !== undefined) return set;
  const d: EnvDefault<unknown> = ENV[name].default;
  if ('otherwise' in d && d.otherwise !== undefined) return d.otherwise as ParsedOf<N>;
  throw new ConfigError(name, `not set, and there is nothing to derive it from (${'derived' in d ? d.derived : 'no default'})`);
}

/**
 * The default as the docs show it (the README table, the manifest checks); undefined when there is none.
 * `code` marks up a value as written in the environment (the README wraps it in backticks).
 */
export function defaultText(spec: EnvVarSpec<unknown>, code: (value: string) => string = (v) => v): string | undefined {
  const d = spec.default;
  if (d === undefined) return undefined;
  const show = (v: unknown) => (spec.format ? spec.format(v) : String(v));
  if ('value' in d) return code(show(d.value));
  if ('perService' in d) {
    // One pattern when the values differ only by the service's name (`.wolk/<service>`), else each.
    const shown = SERVICE_NAMES.map((s) => ({ s, text: show(d.perService(s)) }));
    const patterns = new Set(shown.map(({ s, text }) => text.split(s).join('<service>')));
    if (patterns.size === 1) return code([...patterns][0]!);
    return shown.map(({ s, text }) => `${s} ${code(text)}`).join(', ');
  }
  if ('derived' in d) return d.otherwise !== undefined ? `${d.derived}; without one, ${code(show(d.otherwise))}` : d.derived;
  return `unset: ${d.unset}`;
}

/** The variables a service reads, for docs and manifest checks. */
export function variablesOf(service: ServiceName): EnvVarSpec<unknown>[] {
  return Object.values(ENV).filter((v) => v.services === 'all' || (v.services as readonly string[]).includes(service));
}

/** The process environment. The single place that touches process.env. */
export function processEnvironment(): Environment {
  return process.env;
}
