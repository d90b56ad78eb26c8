// Options every service shares, parsed from the environment in one place.
import { readEnv, readEnvOr, type Environment, type ServiceName } from '../config/env.js';
import type { LogLevel } from '../log/logger.js';

/** Default gRPC ports per service (README: configuration). */
export const DEFAULT_PORTS: Record<ServiceName, number> = {
  storer: 7001,
  consensus: 7002,
  rewards: 7003,
  indexer: 7004,
  gateway: 7005,
};

export interface CommonOptions {
  readonly service: ServiceName;
  readonly listen: { readonly host: string; readonly port: number };
  readonly dataDir: string;
  readonly logLevel: LogLevel;
  readonly maxMessageBytes: number;
  readonly shutdownGraceMs: number;
  readonly parentPid: number | undefined;
}

export function readCommonOptions(env: Environment, service: ServiceName): CommonOptions {
  return {
    service,
    listen: readEnvOr(env, 'WOLK_LISTEN', { host: '0.0.0.0', port: DEFAULT_PORTS[service] }),
    dataDir: readEnvOr(env, 'WOLK_DATA_DIR', `.wolk/${service}`),
    logLevel: readEnvOr(env, 'WOLK_LOG_LEVEL', 'info'),
    maxMessageBytes: readEnvOr(env, 'WOLK_MAX_MESSAGE_BYTES', 8 * 1024 * 1024),
    shutdownGraceMs: readEnvOr(env, 'WOLK_SHUTDOWN_GRACE_MS', 10_000),
    parentPid: readEnv(env, 'WOLK_PARENT_PID'),
  };
}
