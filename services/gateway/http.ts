// The gateway's HTTP front (docs/http-api.md). Routes: GET /healthz, GET /status, GET /chain,
// GET /accounts/{key}, GET /status/uploads/{id}, and /wolk/... (api.ts): signed PUT, verified
// GET/HEAD, ?proof, listing. Every refusal is problem+json, including the ones Node's HTTP parser
// decides before a request reaches a route (clientError below). The limits on slow and busy clients
// (docs/http-api.md "Limits") are set here: headers within headersTimeoutMs, idle keep-alive
// connections closed after keepAliveTimeoutMs, an answer the client stops reading cut after
// writeStallTimeoutMs, and every request but /healthz charged to its client address's rate limit.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../../lib/log/logger.js';
import { sendJson, sendProblem, type Problem } from '../../lib/http/problem.js';
import { probeAll, type KnownProcess } from './status.js';
import type { Api } from './api.js';
import type { Chain } from './chain.js';
import { clientAddress, trustedProxies } from './client-address.js';
import type { HttpLimits } from './options.js';
import { toProblem } from './problems.js';
import type { RateLimits } from './rate-limit.js';
import { SpoolError } from './spool.js';

/** How long a refused request's remaining body is read and discarded before the connection is closed. */
const REFUSED_BODY_DRAIN_MS = 5000;

export interface GatewayHttpDeps {
  readonly logger: Logger;
  readonly processes: readonly KnownProcess[];
  readonly startedAt: number;
  readonly api?: Api;
  readonly chain?: Chain;
  readonly info?: Record<string, unknown>;
  /** Slow-client timeouts and the client-address rule; absent: Node's defaults, no write-stall cut. */
  readonly limits?: Omit<HttpLimits, 'rateAddress' | 'rateKey'>;
  /** Rate limits; absent: none. The same buckets the write flows charge keys to (ApiDeps.rates). */
  readonly rates?: RateLimits;
}

/** How often Node checks for requests whose headers are late: a slow client is dropped within this after headersTimeoutMs. */
export const HEADERS_CHECK_INTERVAL_MS = 1000;

/** The request target split as sent: the path (RFC 9421 @path, percent-encoding and dot segments untouched) and the query. */
export function splitTarget(target: string): { rawPath: string; query: URLSearchParams } {
  // absolute-form (RFC 9112 §3.2.2) carries scheme and authority before the path.
  const origin = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  const rest = origin ? target.slice(origin[0].length) : target;
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  return { rawPath: path === '' ? '/' : path, query: new URLSearchParams(q < 0 ? '' : rest.slice(q + 1)) };
}

/** A request in progress on a connection, for a parse error found after it (clientError). */
interface InFlight {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Ends the reading of the body: the parser found that it cannot complete. */
  readonly body: AbortController;
}

/** What Node's parser refused, as a problem (null: nothing to answer, the peer is gone). */
export function parseErrorProblem(err: NodeJS.ErrnoException & { reason?: string }): Problem | null {
  const code = err.code ?? '';
  if (code === 'ECONNRESET' || code === 'EPIPE') return null;
  const reason = err.reason ?? err.message;
  if (code === 'HPE_HEADER_OVERFLOW') {
    return { type: '/problems/headers-too-large', title: 'Request Header Fields Too Large', status: 431, detail: 'the request line and headers may have at most 16 KiB' };
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { type: '/problems/request-timeout', title: 'Request Timeout', status: 408, detail: 'the request headers did not arrive in time' };
  }
  if (/CONTENT_LENGTH|TRANSFER_ENCODING|EOF_STATE|CHUNK/.test(code)) {
    return { type: '/problems/incomplete-body', title: 'Bad Request', status: 400, detail: `the body's framing is broken: ${reason} (${code})` };
  }
  return { type: '/problems/malformed-request', title: 'Bad Request', status: 400, detail: `the request could not be parsed: ${reason} (${code})` };
}

function problemResponse(p: Problem): string {
  const body = JSON.stringify({ type: p.type ?? 'about:blank', ...p });
  return `HTTP/1.1 ${p.status} ${p.title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

export function createGatewayHttpServer(deps: GatewayHttpDeps): Server {
  const trusted = deps.limits?.trustedProxies ?? trustedProxies([]);
  const handle = async (req: IncomingMessage, res: ServerResponse, signal: AbortSignal, body: AbortSignal) => {
    // Routes are matched on the path as sent, the same string /wolk/... is parsed and signatures
    // cover: a normalised path (dot segments removed) would route to one resource and name another.
    const { rawPath, query } = splitTarget(req.url ?? '/');
    const address = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], trusted);
    // Liveness probes are never refused: a kubelet polling a busy gateway must not see it as dead.
    if (rawPath !== '/healthz') deps.rates?.address.take(address);
    if (rawPath === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendProblem(res, { status: 405, title: 'Method Not Allowed', detail: 'use GET' }, { allow: 'GET, HEAD' });
      return sendJson(res, 200, { status: 'ok' });
    }
    if (rawPath === '/status') {
      if (req.method !== 'GET') return sendProblem(res, { status: 405, title: 'Method Not Allowed', detail: 'use GET' }, { allow: 'GET' });
      const processes = await probeAll(deps.processes);
      return sendJson(res, 200, {
        gateway: { pid: process.pid, uptimeMs: Date.now() - deps.startedAt, ...deps.info },
        processes,
        serving: processes.filter((p) => p.health === 'SERVING').length,
        total: processes.length,
      });
    }
    // Read-only routes: any other method is 405, not an answer to a request nobody made (found by
    // the devnet garbage fuzzer: PUT /chain, POST /accounts/... were answered 200).
    const readOnly = rawPath === '/chain' || rawPath.startsWith('/accounts/') || rawPath.startsWith('/status/uploads/');
    if (readOnly && req.method !== 'GET' && req.method !== 'HEAD') {
      return sendProblem(res, { status: 405, title: 'Method Not Allowed', detail: `use GET for ${rawPath.startsWith('/accounts/') ? '/accounts/{key}' : rawPath.startsWith('/status/uploads/') ? '/status/uploads/{id}' : rawPath}` }, { allow: 'GET, HEAD' });
    }
    if (rawPath === '/chain' && deps.chain) {
      const s = await deps.chain.status(signal);
      return sendJson(res, 200, { chainId: s.chainId, finalizedRound: s.finalizedRound.toString(), finalizedHash: Buffer.from(s.finalizedHash).toString('hex'), ...deps.info });
    }
    const acct = /^\/accounts\/([0-9a-f]{64})$/.exec(rawPath);
    if (acct && deps.chain) {
      const r = await deps.chain.account(Buffer.from(acct[1]!, 'hex'), signal);
      return sendJson(res, 200, { publicKey: acct[1], nonce: (r.account?.nonce ?? 0n).toString(), balance: (r.account?.balance ?? 0n).toString(), round: r.round.toString() });
    }
    const up = /^\/status\/uploads\/([A-Za-z0-9_-]+)$/.exec(rawPath);
    if (up && deps.api) {
      const s = await deps.api.uploadStatus(up[1]!, signal);
      if (!s) return sendProblem(res, { type: '/problems/not-found', status: 404, title: 'Not Found', detail: 'no upload with that id on this gateway' });
      return sendJson(res, 200, s);
    }
    if ((rawPath.startsWith('/wolk/') || rawPath === '/console' || rawPath.startsWith('/console/') || rawPath.startsWith('/uploads/')) && deps.api) return deps.api.handle({ req, res, query, rawPath, address, signal, body });
    req.resume();
    return sendProblem(res, { status: 404, title: 'Not Found', detail: `no route for ${req.method} ${rawPath}` });
  };

  const inFlight = new WeakMap<Socket, InFlight>();
  const limits = deps.limits;
  const server = createServer(limits ? { headersTimeout: limits.headersTimeoutMs, keepAliveTimeout: limits.keepAliveTimeoutMs, connectionsCheckingInterval: HEADERS_CHECK_INTERVAL_MS } : {}, (req, res) => {
    // Aborts when the client goes away before its answer is complete: the flows stop their work (a
    // finality wait, a read from the storers) instead of finishing it for nobody.
    const controller = new AbortController();
    const body = new AbortController();
    const socket = req.socket;
    inFlight.set(socket, { req, res, body });
    // Armed per request: Node turns a socket's timeout off when a kept-alive connection's next request
    // starts. Node's own check skips a timeout while the write queue is shrinking, so it fires on a
    // connection with no progress either way; 'timeout' below decides what that means.
    if (limits && limits.writeStallTimeoutMs > 0) socket.setTimeout(limits.writeStallTimeoutMs);
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
      if (inFlight.get(socket)?.res === res) inFlight.delete(socket);
    });
    handle(req, res, controller.signal, body.signal).catch((err: unknown) => {
      const answer = toProblem(err);
      if (answer) {
        // A refusal while the client is still sending (413 on a large body, 401 before the body): answer
        // at once, keep reading and discarding what comes for a short while so the client reads the answer
        // instead of a write error (closing at once made clients see EPIPE, not the status), then close
        // the connection if the body has still not ended (an endless or huge upload).
        if (!req.complete && answer.problem.status === 408) {
          // The client stopped sending: nothing to drain; the connection closes after the answer.
          return sendProblem(res, answer.problem, { ...answer.headers, connection: 'close' });
        }
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
  // A body may arrive slowly (a big file on a slow link): Node's whole-request timeout (300 s) would cut
  // a steady upload; bodies have their own idle timeout instead (spool.ts), headers Node's headersTimeout.
  server.requestTimeout = 0;
  // A connection with no progress for writeStallTimeoutMs (the socket timeout armed per request above).
  // With this listener Node no longer closes timed-out sockets itself, so every case is decided here:
  // bytes of an answer waiting that the client does not take: a reader that stopped reading (a
  // slowloris on the way out), cut; no request in progress: an idle kept-alive connection, closed as
  // Node would; otherwise the gateway is the one working (a finality wait, a read from the storers) or
  // the body is still arriving (its own idle timeout, spool.ts): left alone.
  server.on('timeout', (socket: Socket) => {
    const current = inFlight.get(socket);
    if (socket.writableLength > 0) {
      deps.logger.info('client stopped reading its answer: connection cut', { path: current?.req.url, remote: socket.remoteAddress, unsentBytes: socket.writableLength, afterMs: limits?.writeStallTimeoutMs });
      socket.destroy();
      return;
    }
    if (!current || current.res.writableFinished) socket.destroy();
  });
  // CONNECT never reaches the request handler; without a listener Node closes the socket with no
  // answer at all (found by the devnet garbage fuzzer). The gateway is no proxy: 405 as problem+json.
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    socket.on('error', () => socket.destroy());
    socket.end(problemResponse({ status: 405, title: 'Method Not Allowed', detail: 'CONNECT is not served: the gateway is not a proxy' }));
  });
  // Node's parser refusals (a broken Content-Length, Content-Length with Transfer-Encoding, a body that
  // ends early, headers over 16 KiB, a header timeout, bytes that are not HTTP) as problem+json, not
  // Node's bare status line. A request in progress on the connection is answered first: a body that
  // cannot complete ends its flow with 400 incomplete-body; after a complete one (bytes beyond its
  // Content-Length read as a next request) its own answer goes out, then the refusal of what followed.
  server.on('clientError', (err: NodeJS.ErrnoException & { reason?: string }, socket: Socket) => {
    const p = parseErrorProblem(err);
    if (!p || !socket.writable) {
      socket.destroy();
      return;
    }
    const current = inFlight.get(socket);
    if (current && !current.res.writableEnded) {
      const bodyBroken = !current.req.complete;
      if (bodyBroken) current.body.abort(new SpoolError('length-mismatch', p.detail ?? 'the body cannot complete'));
      current.res.once('close', () => {
        if (!socket.writable) return socket.destroy();
        if (bodyBroken) socket.end();
        else socket.end(problemResponse(p));
      });
      return;
    }
    socket.end(problemResponse(p));
  });
  return server;
}
