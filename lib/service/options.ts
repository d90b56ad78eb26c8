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

