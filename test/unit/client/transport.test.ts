// The client's HTTP transport and kept-alive connections (lib/client/transport.ts): a request reset on a
// reused connection before any answer (the gateway closing it for idleness at that moment) is sent once
// more on a fresh connection; a streamed body always goes on a fresh connection; a reset on a fresh
// connection is reported, not retried.
import test from 'ava';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { GatewayUnreachableError, send, text } from '../../../lib/client/transport.js';

/** A server that answers 200 with the body's length, and resets a connection's request number `resetAt` (1-based) without answering. */
async function server(resetAt: number): Promise<{ url: string; server: Server; sockets: Set<Socket>; requests: number; resets: number }> {
  const counts = new WeakMap<Socket, number>();
  const state = { url: '', server: undefined as unknown as Server, sockets: new Set<Socket>(), requests: 0, resets: 0 };
  state.server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const socket = req.socket;
    state.sockets.add(socket);
    const n = (counts.get(socket) ?? 0) + 1;
    counts.set(socket, n);
    state.requests++;
    if (n === resetAt) {
      state.resets++;
      socket.resetAndDestroy();
      return;
    }
    let bytes = 0;
    req.on('data', (d: Buffer) => (bytes += d.length));
    req.on('end', () => res.end(String(bytes)));
  });
  await new Promise<void>((r) => state.server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(state.server.address() as AddressInfo).port}`;
  return state;
}

const close = (s: Server) => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r())));

test('a request reset on a reused connection before any answer is sent again on a fresh one', async (t) => {
  const s = await server(2);
  try {
    const first = await send(s.url, 'GET', '/a');
    t.is(await text(first), '0');
    let sentTimes = 0;
    const second = await send(s.url, 'PUT', '/b', { body: new Uint8Array(1000), onBodySent: () => sentTimes++ });
    t.is(second.status, 200);
    t.is(await text(second), '1000');
    t.is(s.resets, 1, 'the second request went on the kept-alive connection and was reset there');
    t.is(s.sockets.size, 2, 'then on a new connection');
    t.true(sentTimes <= 1, `onBodySent told once at most (${sentTimes})`);
  } finally {
    await close(s.server);
  }
});

test('a streamed body goes on a fresh connection, never on a kept-alive one', async (t) => {
  const s = await server(2);
  try {
    t.is(await text(await send(s.url, 'GET', '/a')), '0');
    const res = await send(s.url, 'PUT', '/big', { body: Readable.from([Buffer.alloc(5000), Buffer.alloc(3000)]) });
    t.is(await text(res), '8000');
    t.is(s.resets, 0, 'not sent on the kept-alive connection');
    t.is(s.sockets.size, 2);
  } finally {
    await close(s.server);
  }
});

test('a reset on a fresh connection is reported as GatewayUnreachableError, not retried', async (t) => {
  const s = await server(1);
  try {
    const err = await t.throwsAsync(send(s.url, 'PUT', '/c', { body: Readable.from([Buffer.alloc(10)]) }), { instanceOf: GatewayUnreachableError });
    t.regex(err!.message, /ECONNRESET|EPIPE/);
    t.is(s.requests, 1);
  } finally {
    await close(s.server);
  }
});
