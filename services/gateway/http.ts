// The gateway's HTTP front. Routes: GET /healthz, GET /status; /wolk/... (uploads and reads) lands
// with the Gateway issue and answers 501 problem+json until then.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../../lib/log/logger.js';
import { sendJson, sendProblem } from '../../lib/http/problem.js';
import { probeAll, type KnownProcess } from './status.js';

export interface GatewayHttpDeps {
  readonly logger: Logger;
  readonly processes: readonly KnownProcess[];
  readonly startedAt: number;
}

export function createGatewayHttpServer(deps: GatewayHttpDeps): Server {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (url.pathname === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendProblem(res, { status: 405, title: 'Method Not Allowed', detail: 'use GET' }, { allow: 'GET, HEAD' });
      return sendJson(res, 200, { status: 'ok' });
    }
    if (url.pathname === '/status') {
      if (req.method !== 'GET') return sendProblem(res, { status: 405, title: 'Method Not Allowed', detail: 'use GET' }, { allow: 'GET' });
      const processes = await probeAll(deps.processes);
      return sendJson(res, 200, {
        gateway: { pid: process.pid, uptimeMs: Date.now() - deps.startedAt },
        processes,
        serving: processes.filter((p) => p.health === 'SERVING').length,
        total: processes.length,
      });
    }
    if (url.pathname.startsWith('/wolk/')) {
      req.resume();
      return sendProblem(res, {
        type: '/problems/not-implemented',
        status: 501,
        title: 'Not Implemented',
        detail: 'uploads and reads through the gateway (signed PUT, verified GET) are not built yet',
      });
    }
    req.resume();
    return sendProblem(res, { status: 404, title: 'Not Found', detail: `no route for ${req.method} ${url.pathname}` });
  };
  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      deps.logger.error('http handler failed', { error: err, path: req.url });
      sendProblem(res, { status: 500, title: 'Internal Server Error', detail: 'the gateway failed to handle this request' });
    });
  });
}
