// Wires a gRPC-only service: one server (health + reflection + the service's handlers), listening on
// WOLK_LISTEN, with resources closed in reverse order of opening (STYLE: Lodestar's node wiring).
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

export interface GrpcNodeParts {
  readonly services: readonly ServiceRegistration[];
  /** Closed after the server has drained, last opened first. */
  readonly resources?: readonly Closeable[];
  /** Started after the server listens (e.g. background loops); stopped before the server drains. */
  readonly background?: readonly { start(): void | Promise<void>; stop(): void | Promise<void> }[];
}

export async function startGrpcNode(ctx: ServiceContext, parts: GrpcNodeParts): Promise<RunningNode & { port: number; server: WolkGrpcServer }> {
  const server = createGrpcServer({ logger: ctx.logger, maxMessageBytes: ctx.options.maxMessageBytes });
  for (const s of parts.services) server.addService(s.fullName, s.definition, s.handlers, s.unimplemented);
  const port = await server.listen(ctx.options.listen.host, ctx.options.listen.port);
  for (const b of parts.background ?? []) await b.start();
  const host = ctx.options.listen.host === '0.0.0.0' ? '127.0.0.1' : ctx.options.listen.host;
  return {
    port,
    server,
    endpoints: { grpc: `${host}:${port}` },
    async close() {
      for (const b of [...(parts.background ?? [])].reverse()) await b.stop();
      await server.shutdown(ctx.options.shutdownGraceMs);
      for (const r of [...(parts.resources ?? [])].reverse()) await r.close();
    },
  };
}
