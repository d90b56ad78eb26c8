// Options every service shares, read from the environment once (lib/config/env.ts holds the defaults).
// Each service's own options (services/<name>/options.ts) extend these.
import { loadGenesis, type Genesis } from '../chain/genesis.js';
import { ConfigError, readEnv, readOption, type Environment, type ServiceName } from '../config/env.js';
import type { LogLevel } from '../log/logger.js';

export interface CommonOptions {
  readonly service: ServiceName;
  readonly listen: { readonly host: string; readonly port: number };
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  readonly maxMessageBytes: number;
  readonly shutdownGraceMs: number;
  readonly parentPid: number | undefined;
  /** How *_SRV names are resolved (lib/net/endpoints.ts). */
  readonly discovery: DiscoveryOptions;
}

export interface DiscoveryOptions {
  /** WOLK_DNS_SERVERS; undefined: the system's resolvers. */
  readonly dnsServers: readonly string[] | undefined;
  /** WOLK_SRV_REFRESH_MS. */
  readonly srvRefreshMs: number;
}

/** Endpoints configured as a static list and/or a DNS SRV name (WOLK_CONSENSUS + WOLK_CONSENSUS_SRV, ...). */
export interface EndpointSource {
  readonly static: readonly string[];
  readonly srv: string | undefined;
  /** The variables, for logs and errors. */
  readonly what: string;
}

type ListVariable = 'WOLK_CONSENSUS' | 'WOLK_STORERS' | 'WOLK_PEERS';

/** A list variable and its _SRV twin, read together. */
export function readEndpointSource(env: Environment, list: ListVariable): EndpointSource {
  const srvName = `${list}_SRV` as const;
  return { static: readEnv(env, list) ?? [], srv: readEnv(env, srvName), what: `${list} / ${srvName}` };
}

/** Whether any endpoint is configured (a list or an SRV name). */
export function hasEndpoints(s: EndpointSource): boolean {
  return s.static.length > 0 || s.srv !== undefined;
}

export function readCommonOptions(env: Environment, service: ServiceName): CommonOptions {
  return {
    service,
    listen: readOption(env, 'WOLK_LISTEN', service),
    dataDir: readOption(env, 'WOLK_DATA_DIR', service),
    logLevel: readOption(env, 'WOLK_LOG_LEVEL'),
    maxMessageBytes: readOption(env, 'WOLK_MAX_MESSAGE_BYTES'),
    shutdownGraceMs: readOption(env, 'WOLK_SHUTDOWN_GRACE_MS'),
    parentPid: readEnv(env, 'WOLK_PARENT_PID'),
    discovery: { dnsServers: readEnv(env, 'WOLK_DNS_SERVERS'), srvRefreshMs: readOption(env, 'WOLK_SRV_REFRESH_MS') },
  };
}

/** Reads a service's typed options from an environment (services/<name>/options.ts `readOptions`). */
export type OptionsReader<O extends CommonOptions> = (env: Environment) => O;

/** WOLK_GENESIS loaded and checked; undefined when unset. A file that cannot be used stops the start as a ConfigError. */
export function readGenesis(env: Environment): Genesis | undefined {
  const path = readEnv(env, 'WOLK_GENESIS');
  if (path === undefined) return undefined;
  try {
    return loadGenesis(path);
  } catch (err) {
    throw new ConfigError('WOLK_GENESIS', (err as Error).message.replace(/^WOLK_GENESIS: /, ''));
  }
}

