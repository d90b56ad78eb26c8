// Raw HTTP/1.1 over a socket, for requests fetch() will not send as they are (dot segments, broken
// framing, a body that stops) and for reading every response the gateway writes on the connection.
import { connect } from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Splits what came back on a connection into responses (each with a Content-Length or none). */
export function parseResponses(text: string): RawResponse[] {
  const out: RawResponse[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const body = rest.slice(end + 4, end + 4 + length);
    out.push({ status: Number(statusLine!.split(' ')[1]), headers, body });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}

export interface RawOptions {
  /** Bytes sent after `head` (the body, or part of it). */
  readonly body?: Buffer | string;
  /** Half-close after sending (the client has nothing more to say). */
  readonly halfClose?: boolean;
  /** Give up on the connection after this long (it should have been answered and closed before). */
  readonly deadlineMs?: number;
  /** The client's own address (any of 127.0.0.0/8 on loopback): another client as the gateway sees it. */
  readonly localAddress?: string;
  /** Hang up once this many whole responses came, instead of waiting for the server to close. */
  readonly responses?: number;
}

/** Sends `head` (+ body) on a new connection and returns every response read until the server closes it. */
export function rawRequest(url: string, head: string, o: RawOptions = {}): Promise<{ responses: RawResponse[]; text: string; closedByServer: boolean }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closedByServer = false;
    const s = connect({ port: Number(port), host: hostname, ...(o.localAddress ? { localAddress: o.localAddress } : {}) }, () => {
      s.write(head);
      if (o.body !== undefined) s.write(o.body);
      if (o.halfClose) s.end();
    });
    const timer = setTimeout(() => s.destroy(), o.deadlineMs ?? 10_000);
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      if (o.responses !== undefined && parseResponses(Buffer.concat(chunks).toString('latin1')).length >= o.responses) s.destroy();
    });
    s.on('end', () => {
      closedByServer = true;
      s.end();
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ responses: parseResponses(text), text, closedByServer });
    });
  });
}
