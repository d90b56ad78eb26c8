// Wires a service node: one gRPC server (health + reflection + the service's handlers), listening on
// WOLK_LISTEN, then the parts that need it listening (background loops, the gateway's HTTP front), with
// everything closed in reverse order of opening (STYLE: Lodestar's node wiring). A start that fails
// part-way closes what was already opened before it throws, so nothing leaks (issue #16 point 5).
import type { ServiceDefinition } from '@grpc/grpc-js';
import { createGrpcServer, type WolkGrpcServer } from '../grpc/server.js';
import type { ServiceHandlers } from '../grpc/handlers.js';
import type { RunningNode, ServiceContext } from './runtime.js';

export interface ServiceRegistration<D extends ServiceDefinition = ServiceDefinition> {
  readonly fullName: string;
  readonly definition: D;
  readonly handlers: ServiceHandlers<D>;
  readonly unimplemented?: Readonly<Record<string, string>>;
}

/** Helps TypeScript check handlers against the definition at the call site. */
export function registration<D extends ServiceDefinition>(r: ServiceRegistration<D>): ServiceRegistration {
  return r as unknown as ServiceRegistration;
}

export interface Closeable {
  close(): Promise<void>;
}

/** Where the gRPC server listens, for parts started after it. */
export interface Listening {
  readonly port: number;
  /** HOST:PORT as shown to people and peers (0.0.0.0 shown as 127.0.0.1). */
  readonly endpoint: string;
}

/**
 * Something with a lifetime inside the node: started after the server listens, in order; stopped before
 * the server drains, in reverse. stop() resolves when the work it started has ended. start() may name
 * endpoints of its own (e.g. { http: 'http://…' }).
 */
export interface NodePart {
  start(listening: Listening): void | Promise<void | Readonly<Record<string, string>>>;
  stop(): void | Promise<void>;
}

export interface GrpcNodeParts {
  readonly services: readonly ServiceRegistration[];
  /** Opened by the factory before this call; closed after the server has drained, last opened first (also when the start fails). */
  readonly resources?: readonly Closeable[];
  readonly background?: readonly NodePart[];
}

/** Runs every close even when one fails; throws the first failure afterwards. */
async function closeAll(steps: readonly (() => void | Promise<void>)[]): Promise<void> {
  let first: unknown;
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
}

export async function startGrpcNode(ctx: ServiceContext, parts: GrpcNodeParts): Promise<RunningNode & { port: number; server: WolkGrpcServer }> {
  const resources = [...(parts.resources ?? [])].reverse();
  const server = createGrpcServer({ logger: ctx.logger, maxMessageBytes: ctx.options.maxMessageBytes });
  const started: NodePart[] = [];
  const stopParts = () => [...started].reverse().map((b) => () => b.stop());
  const endpoints: Record<string, string> = {};
  let port: number;
  try {
    for (const s of parts.services) server.addService(s.fullName, s.definition, s.handlers, s.unimplemented);
    port = await server.listen(ctx.options.listen.host, ctx.options.listen.port);
    const host = ctx.options.listen.host === '0.0.0.0' ? '127.0.0.1' : ctx.options.listen.host;
    endpoints['grpc'] = `${host}:${port}`;
    for (const b of parts.background ?? []) {
      started.push(b);
      Object.assign(endpoints, (await b.start({ port, endpoint: endpoints['grpc'] })) ?? {});
    }
  } catch (err) {
    await closeAll([...stopParts(), () => server.shutdown(0), ...resources.map((r) => () => r.close())]).catch((closeErr: unknown) =>
      ctx.logger.warn('closing after a failed start failed too', { error: closeErr }),
    );
    throw err;
  }
  return {
    port,
    server,
    endpoints,
    async close() {
      await closeAll([...stopParts(), () => server.shutdown(ctx.options.shutdownGraceMs), ...resources.map((r) => () => r.close())]);
    },
  };
}
