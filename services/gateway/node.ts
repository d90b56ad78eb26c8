// The gateway's wiring: the HTTP front (WOLK_HTTP_LISTEN) and a gRPC server (WOLK_LISTEN) for health
// and reflection, so Kubernetes and the devnet probe it like every other service.
import type { AddressInfo } from 'node:net';
import { createGrpcServer } from '../../lib/grpc/server.js';
import { ListenError } from '../../lib/grpc/server.js';
import type { NodeFactory } from '../../lib/service/runtime.js';
import { createGatewayHttpServer } from './http.js';
import { readGatewayOptions } from './options.js';

export const createGatewayNode: NodeFactory = async (ctx) => {
  const options = readGatewayOptions(ctx.env);
  const grpc = createGrpcServer({ logger: ctx.logger, maxMessageBytes: ctx.options.maxMessageBytes });
  const grpcPort = await grpc.listen(ctx.options.listen.host, ctx.options.listen.port);
  const http = createGatewayHttpServer({ logger: ctx.logger, processes: options.processes, startedAt: Date.now() });
  const { host, port } = options.httpListen;
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await grpc.shutdown(0);
    throw new ListenError(`${host}:${port}`, err as Error);
  }
  const httpPort = (http.address() as AddressInfo).port;
  const shownHost = (h: string) => (h === '0.0.0.0' ? '127.0.0.1' : h);
  return {
    endpoints: { http: `http://${shownHost(host)}:${httpPort}`, grpc: `${shownHost(ctx.options.listen.host)}:${grpcPort}` },
    async close() {
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeIdleConnections();
      });
      await grpc.shutdown(ctx.options.shutdownGraceMs);
    },
  };
};
