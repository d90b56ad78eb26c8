// The gateway's HTTP front (docs/http-api.md). Routes: GET /healthz, GET /status, GET /chain,
// GET /status/uploads/{id}, and /wolk/... (api.ts): signed PUT, verified GET/HEAD, ?proof, listing.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../../lib/log/logger.js';
import { sendJson, sendProblem } from '../../lib/http/problem.js';
import { probeAll, type KnownProcess } from './status.js';
import type { Api } from './api.js';
import type { Chain } from './chain.js';
import { toProblem } from './problems.js';


/** How long a refused request's remaining body is read and discarded before the connection is closed. */
const REFUSED_BODY_DRAIN_MS = 5000;

export interface GatewayHttpDeps {
  readonly logger: Logger;
  readonly processes: readonly KnownProcess[];
  readonly startedAt: number;
  readonly api?: Api;
  readonly chain?: Chain;
  readonly info?: Record<string, unknown>;
}

export function createGatewayHttpServer(deps: GatewayHttpDeps): Server {
  const handle = async (req: IncomingMessage, res: ServerResponse, signal: AbortSignal) => {
    const rawTarget = req.url ?? '/';
    const url = new URL(rawTarget, 'http://gateway');
    // RFC 9421 @path is the path as sent, percent-encoding untouched.
    const rawPath = rawTarget.split('?')[0]!;
    if (url.pathname === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendProblem(res, { status: 405, title: 'Method Not Allowed', detail: 'use GET' }, { allow: 'GET, HEAD' });
      return sendJson(res, 200, { status: 'ok' });
    }
    if (url.pathname === '/status') {
      if (req.method !== 'GET') return sendProblem(res, { status: 405, title: 'Method Not Allowed', detail: 'use GET' }, { allow: 'GET' });
      const processes = await probeAll(deps.processes);
      return sendJson(res, 200, {
        gateway: { pid: process.pid, uptimeMs: Date.now() - deps.startedAt, ...deps.info },
        processes,
        serving: processes.filter((p) => p.health === 'SERVING').length,
        total: processes.length,
      });
    }
    if (url.pathname === '/chain' && deps.chain) {
      const s = await deps.chain.status(signal);
      return sendJson(res, 200, { chainId: s.chainId, finalizedRound: s.finalizedRound.toString(), finalizedHash: Buffer.from(s.finalizedHash).toString('hex'), ...deps.info });
    }
    const acct = /^\/accounts\/([0-9a-f]{64})$/.exec(url.pathname);
    if (acct && deps.chain) {
      const r = await deps.chain.account(Buffer.from(acct[1]!, 'hex'), signal);
      return sendJson(res, 200, { publicKey: acct[1], nonce: (r.account?.nonce ?? 0n).toString(), balance: (r.account?.balance ?? 0n).toString(), round: r.round.toString() });
    }
    const up = /^\/status\/uploads\/([A-Za-z0-9_-]+)$/.exec(url.pathname);
    if (up && deps.api) {
      const s = deps.api.uploadStatus(up[1]!);
      if (!s) return sendProblem(res, { type: '/problems/not-found', status: 404, title: 'Not Found', detail: 'no upload with that id on this gateway' });
      return sendJson(res, 200, s);
    }
    if (url.pathname.startsWith('/wolk/') && deps.api) return deps.api.handle({ req, res, url, rawPath, signal });
    req.resume();
    return sendProblem(res, { status: 404, title: 'Not Found', detail: `no route for ${req.method} ${url.pathname}` });
  };
  return createServer((req, res) => {
    // Aborts when the client goes away before its answer is complete: the flows stop their work (a
    // finality wait, a read from the storers) instead of finishing it for nobody.
    const controller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    handle(req, res, controller.signal).catch((err: unknown) => {
      const answer = toProblem(err);
      if (answer) {
        // A refusal while the client is still sending (413 on a large body, 401 before the body): answer
        // at once, keep reading and discarding what comes for a short while so the client reads the answer
        // instead of a write error (closing at once made clients see EPIPE, not the status), then close
        // the connection if the body has still not ended (an endless or huge upload).
        if (!req.complete) {
          req.resume();
          const cut = setTimeout(() => req.socket.destroy(), REFUSED_BODY_DRAIN_MS);
          cut.unref();
          req.once('end', () => clearTimeout(cut));
          req.once('close', () => clearTimeout(cut));
        }
        return sendProblem(res, answer.problem, answer.headers);
      }
      deps.logger.error('http handler failed', { error: err, path: req.url });
      sendProblem(res, { status: 500, title: 'Internal Server Error', detail: 'the gateway failed to handle this request' });
    });
  });
}
