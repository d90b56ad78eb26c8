// The gRPC server every Wolk service runs: health (grpc.health.v1) and reflection (v1 and v1alpha)
// on every server, message size limits, typed async handlers, and graceful shutdown that stops
// accepting, lets in-flight calls drain for a grace period, then cancels what is left.
import { Server, ServerCredentials, setLogger, type ServiceDefinition } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { setMaxListeners } from 'node:events';
import type { Logger } from '../log/logger.js';
import { widenConnectionWindows, widenStreamWindows } from './flow-control.js';
import { addReflection } from './reflection.js';
import { toGrpcImplementation, tolerantDefinition, type ServiceHandlers } from './handlers.js';

export interface GrpcServerOptions {
  readonly logger: Logger;
  readonly maxMessageBytes: number;
}

export interface WolkGrpcServer {
  /** Registers a service from its generated definition; `unimplemented` names what missing methods lack. */
  addService<D extends ServiceDefinition>(
    fullName: string,
    definition: D,
    handlers: ServiceHandlers<D>,
    unimplemented?: Readonly<Record<string, string>>,
  ): void;
  /** Binds and starts; resolves with the bound port (useful with port 0). */
  listen(host: string, port: number): Promise<number>;
  /** Marks a service (or '' for the whole server) SERVING / NOT_SERVING. */
  setServing(service: string, serving: boolean): void;
  /** Aborted when shutdown starts: handlers stop long work. */
  readonly shuttingDown: AbortSignal;
  /** Stops accepting, waits up to graceMs for in-flight calls, then cancels them. */
  shutdown(graceMs: number): Promise<void>;
}

/** A listen failure in words a person can act on (port taken, address not local, ...). */
export class ListenError extends Error {
  constructor(address: string, cause: Error) {
    const inUse = /EADDRINUSE|address already in use/i.test(cause.message);
    const notAvail = /EADDRNOTAVAIL/i.test(cause.message);
    super(
      inUse
        ? `cannot listen on ${address}: the port is already in use`
        : notAvail
          ? `cannot listen on ${address}: the address is not available on this machine`
          : `cannot listen on ${address}: ${cause.message}`,
      { cause },
    );
    this.name = 'ListenError';
  }
}

export function createGrpcServer(options: GrpcServerOptions): WolkGrpcServer {
  // grpc-js writes its own lines to stderr; route them into our JSON log so errors stay one line each.
  const grpcLog = options.logger.child({ module: 'grpc-js' });
  setLogger({
    error: (...args: unknown[]) => grpcLog.debug(args.map(String).join(' ')),
    info: (...args: unknown[]) => grpcLog.debug(args.map(String).join(' ')),
    debug: (...args: unknown[]) => grpcLog.debug(args.map(String).join(' ')),
  } as unknown as Console);
  const server = new Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': options.maxMessageBytes,
    'grpc.keepalive_permit_without_calls': 1,
  });
  // Bulk streams (SetFile, GetFile) need more than HTTP/2's 64 KiB default window (flow-control.ts).
  if (!widenStreamWindows(server)) options.logger.warn('grpc-js changed: HTTP/2 stream windows stay at 64 KiB, bulk streams will be slower');
  const health = new HealthImplementation({ '': 'NOT_SERVING' });
  health.addToServer(server);
  const shutdownController = new AbortController();
  // Every call in flight listens to this signal (handlers.ts contextFor, removed when the call ends):
  // more than Node's default of 10 is a busy server, not a leak, so no MaxListenersExceededWarning.
  setMaxListeners(0, shutdownController.signal);
  const services: string[] = [];

  return {
    addService(fullName, definition, handlers, unimplemented) {
      server.addService(
        tolerantDefinition(definition),
        toGrpcImplementation(definition, handlers, {
          logger: options.logger.child({ service: fullName }),
          serviceName: fullName,
          shutdown: shutdownController.signal,
          maxReceiveBytes: options.maxMessageBytes,
          ...(unimplemented ? { unimplemented } : {}),
        }),
      );
      services.push(fullName);
      health.setStatus(fullName, 'NOT_SERVING');
    },
    listen(host, port) {
      const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      // Reflection is added last so it lists exactly the services registered above.
      addReflection(server, services);
      return new Promise<number>((resolve, reject) => {
        server.bindAsync(address, ServerCredentials.createInsecure(), (err, boundPort) => {
          if (err) return reject(new ListenError(address, err));
          if (widenConnectionWindows(server) === 0) options.logger.warn('grpc-js changed: HTTP/2 connection windows stay at 64 KiB, bulk streams will be slower');
          health.setStatus('', 'SERVING');
          for (const s of services) health.setStatus(s, 'SERVING');
          resolve(boundPort);
        });
      });
    },
    setServing(service, serving) {
      health.setStatus(service, serving ? 'SERVING' : 'NOT_SERVING');
    },
    shuttingDown: shutdownController.signal,
    async shutdown(graceMs) {
      health.setStatus('', 'NOT_SERVING');
      for (const s of services) health.setStatus(s, 'NOT_SERVING');
      const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), graceMs);
      });
      const outcome = await Promise.race([drained.then(() => 'drained' as const), timedOut]);
      if (timer) clearTimeout(timer);
      if (outcome === 'timeout') {
        shutdownController.abort();
        server.forceShutdown();
      } else {
        shutdownController.abort();
      }
    },
  };
}
