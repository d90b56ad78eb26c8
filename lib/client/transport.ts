// The client's one way to talk HTTP to a gateway: node:http(s) with the request path sent exactly as
// given. fetch() (and anything built on the WHATWG URL parser) removes "." and ".." segments, also
// percent-encoded ones, so a request would reach another key than the one it was signed for
// (issue #24.4); here the path built by gatewayPath() is what goes on the wire and what is signed.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';

export interface GatewayResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The body, streamed; read it to the end (text(), or iterate) or destroy it. */
  readonly body: IncomingMessage;
}

/** The gateway could not be reached at all (refused, unknown host, reset before an answer). */
export class GatewayUnreachableError extends Error {
  constructor(
    readonly gateway: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach the gateway at ${gateway} (${code})`, options);
    this.name = 'GatewayUnreachableError';
  }
}

export interface SendOptions {
  readonly headers?: Readonly<Record<string, string>>;
  /** A body in memory, or a stream piped into the request. */
  readonly body?: Uint8Array | Readable;
  readonly signal?: AbortSignal;
  /** Called once the whole body has been handed to the socket (what follows is the gateway's work). */
  readonly onBodySent?: () => void;
}

/** The origin of a gateway URL; only http and https. */
export function gatewayOrigin(gateway: string): URL {
  let u: URL;
  try {
    u = new URL(gateway);
  } catch {
    throw new Error(`the gateway URL "${gateway}" is not a URL (expected e.g. http://127.0.0.1:8080)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`the gateway URL "${gateway}" must be http:// or https://`);
  return u;
}

/**
 * Sends `method pathAndQuery` to the gateway with the path untouched; resolves with the response head.
 *
 * Kept-alive connections race the gateway's idle timeout (WOLK_KEEP_ALIVE_TIMEOUT_MS): a request sent
 * on a connection the gateway is closing at that moment is reset before any answer. A body that is a
 * stream cannot be sent twice, so it always goes on a fresh connection; a request without a body or
 * with one in memory that is reset on a reused connection before any answer is sent once more, on a
 * fresh connection (what Node's documentation of `request.reusedSocket` advises). The bench's 1 GB PUT
 * met this race: it started ~5 s after the previous request, as the gateway closed that connection.
 */
export function send(gateway: string, method: string, pathAndQuery: string, o: SendOptions = {}): Promise<GatewayResponse> {
  if (!pathAndQuery.startsWith('/')) throw new Error(`a request path starts with "/", got "${pathAndQuery}"`);
  const origin = gatewayOrigin(gateway);
  const streamed = o.body !== undefined && !(o.body instanceof Uint8Array);
  const bodySent = o.onBodySent;
  let told = false;
  const once: SendOptions = bodySent ? { ...o, onBodySent: () => void (told || ((told = true), bodySent())) } : o;
  return sendOnce(origin, method, pathAndQuery, once, streamed).catch((err: unknown) => {
    if (!(err instanceof StaleConnectionError)) throw err;
    return sendOnce(origin, method, pathAndQuery, once, true).catch((again: unknown) => {
      throw again instanceof StaleConnectionError ? again.unreachable : again;
    });
  });
}

/** A reused connection reset before any answer: the request can be sent again on a fresh one. */
class StaleConnectionError extends Error {
  constructor(readonly unreachable: GatewayUnreachableError) {
    super(unreachable.message, { cause: unreachable });
  }
}

function sendOnce(origin: URL, method: string, pathAndQuery: string, o: SendOptions, freshConnection: boolean): Promise<GatewayResponse> {
  return new Promise<GatewayResponse>((resolve, reject) => {
    let answered = false;
    const req = (origin.protocol === 'https:' ? httpsRequest : httpRequest)(
      {
        protocol: origin.protocol,
        hostname: origin.hostname.replace(/^\[|\]$/g, ''),
        port: origin.port || undefined,
        method,
        path: pathAndQuery,
        headers: { ...o.headers },
        ...(freshConnection ? { agent: false } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
      },
      (res) => {
        answered = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
      },
    );
    req.on('error', (err: Error & { code?: string }) => {
      if (err.name === 'AbortError' || !err.code) return reject(err);
      const unreachable = new GatewayUnreachableError(origin.origin, err.code, { cause: err });
      const stale = req.reusedSocket && !answered && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
      reject(stale ? new StaleConnectionError(unreachable) : unreachable);
    });
    if (o.onBodySent) req.once('finish', o.onBodySent);
    const body = o.body;
    if (body === undefined) req.end();
    else if (body instanceof Uint8Array) req.end(body);
    else {
      body.once('error', (err) => {
        req.destroy(err);
        reject(err);
      });
      body.pipe(req);
    }
  });
}

/** The whole body as text. */
export async function text(res: GatewayResponse): Promise<string> {
  res.body.setEncoding('utf8');
  let out = '';
  for await (const piece of res.body as AsyncIterable<string>) out += piece;
  return out;
}
