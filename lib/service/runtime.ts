// Runs a service process: reads its options once, builds the node, handles SIGTERM/SIGINT with a
// graceful close, and turns start-up failures (bad env value, port in use, unwritable data dir) into one
// line on stderr and exit code 1 — no stack trace for a person to decode. Every service's main.ts is
// one runService call; tests build nodes with the same options reader and factory (test/helpers/service.ts).
import { ConfigError, processEnvironment, type ServiceName } from '../config/env.js';
import { createLogger, type Logger } from '../log/logger.js';
import { ListenError } from '../grpc/server.js';
import { StorageError } from '../storage/errors.js';
import { shutdownTracing } from '../telemetry/tracing.js';
import type { CommonOptions, OptionsReader } from './options.js';
import { ensureWritableDataDir } from './data-dir.js';

export interface RunningNode {
  /** Addresses to print, e.g. { grpc: '127.0.0.1:7001' }. */
  readonly endpoints: Readonly<Record<string, string>>;
  /** Graceful close: stop accepting, drain, close the database. */
  close(): Promise<void>;
}

/** What a node factory gets: its typed options (read once, before it runs) and a logger. */
export interface ServiceContext<O extends CommonOptions = CommonOptions> {
  readonly options: O;
  readonly logger: Logger;
}

/** Builds and starts a node; on failure it has closed whatever it opened. */
export type NodeFactory<O extends CommonOptions = CommonOptions> = (ctx: ServiceContext<O>) => Promise<RunningNode>;

function oneLine(service: ServiceName, err: unknown): string {
  if (err instanceof ConfigError || err instanceof ListenError || err instanceof StorageError) return `wolk-${service}: ${err.message}`;
  return `wolk-${service}: failed to start: ${(err as Error)?.message ?? String(err)}`;
}

/** The body of every services/<name>/main.ts. */
export async function runService<O extends CommonOptions>(service: ServiceName, readOptions: OptionsReader<O>, factory: NodeFactory<O>): Promise<void> {
  let options: O;
  let logger: Logger;
  try {
    options = readOptions(processEnvironment());
    ensureWritableDataDir(options.dataDir);
    logger = createLogger({ level: options.logLevel, fields: { service: `wolk-${service}` } });
  } catch (err) {
    process.stderr.write(oneLine(service, err) + '\n');
    process.exit(1);
  }
  let node: RunningNode | undefined;
  let closing = false;
  let pendingSignal: string | undefined;
  const close = async (reason: string) => {
    if (closing) return;
    if (node === undefined) {
      // A signal during start-up: remembered, and acted on as soon as the node is up.
      pendingSignal = reason;
      return;
    }
    closing = true;
    const running = node;
    logger.info('shutting down', { reason });
    const hardStop = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, options.shutdownGraceMs + 5000);
    hardStop.unref();
    try {
      await running.close();
      await shutdownTracing();
      logger.info('stopped');
      process.exit(0);
    } catch (err) {
      logger.error('shutdown failed', { error: err });
      process.exit(1);
    }
  };
  // Handlers go in before anything can observe the service, so a SIGTERM right after "started" (or
  // during start-up) is always a graceful stop, never the default kill.
  process.on('SIGTERM', () => void close('SIGTERM'));
  process.on('SIGINT', () => void close('SIGINT'));
  try {
    node = await factory({ options, logger });
  } catch (err) {
    process.stderr.write(oneLine(service, err) + '\n');
    process.exit(1);
  }
  logger.info('started', { ...node.endpoints, dataDir: options.dataDir, pid: process.pid });
  if (pendingSignal !== undefined) void close(pendingSignal);

  // A service never crashes on a request; an escaped error is a bug: log it and keep serving.
  process.on('unhandledRejection', (err) => logger.error('unhandled rejection', { error: err }));
  process.on('uncaughtException', (err) => logger.error('uncaught exception', { error: err }));

  if (options.parentPid !== undefined) {
    const parent = options.parentPid;
    const timer = setInterval(() => {
      try {
        process.kill(parent, 0);
      } catch {
        void close(`parent ${parent} is gone`);
      }
    }, 1000);
    timer.unref();
  }
}
