// Slow clients (slowloris) are dropped at the documented times (issue 20.1, docs/http-api.md "Limits"),
// over real sockets: request headers sent byte by byte, or not at all, past WOLK_HEADERS_TIMEOUT_MS are
// answered 408 and the connection closed within the check interval after it; an idle kept-alive
// connection is closed after WOLK_KEEP_ALIVE_TIMEOUT_MS; an answer the client stops reading is cut
// after WOLK_WRITE_STALL_TIMEOUT_MS without progress, while a slow reader that keeps reading and a
// gateway that works longer than that before answering are left alone. (A body that stalls is answered
// 408 and its upload slot freed: upload-slots.test.ts.)
import test from 'ava';
import type { ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { silentLogger } from '../../../lib/log/logger.js';
import type { Api } from '../../../services/gateway/api.js';
import { trustedProxies } from '../../../services/gateway/client-address.js';
import { createGatewayHttpServer, HEADERS_CHECK_INTERVAL_MS } from '../../../services/gateway/http.js';
import { createGatewayNode } from '../../../services/gateway/node.js';
import { startInProcess } from '../../helpers/service.js';
import { pollUntil } from '../../helpers/poll.js';
import { startHarness } from './http-harness.js';
import { parseResponses } from './raw-http.js';

/** A connection that records what came back and when the server closed it. */
function open(url: string): Promise<{ socket: Socket; openedAt: number; received: () => string; closedAt: () => number | undefined }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let closedAt: number | undefined;
    const socket = connect({ host: hostname, port: Number(port) }, () => resolve({ socket, openedAt: Date.now(), received: () => Buffer.concat(chunks).toString('latin1'), closedAt: () => closedAt }));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('end', () => socket.end());
    socket.on('close', () => (closedAt ??= Date.now()));
    socket.on('error', (err) => (closedAt === undefined && chunks.length === 0 ? reject(err) : undefined));
  });
}

const limits = (o: { headersTimeoutMs?: number; keepAliveTimeoutMs?: number; writeStallTimeoutMs?: number }) => ({
  headersTimeoutMs: o.headersTimeoutMs ?? 20_000,
  keepAliveTimeoutMs: o.keepAliveTimeoutMs ?? 5000,
  writeStallTimeoutMs: o.writeStallTimeoutMs ?? 30_000,
  trustedProxies: trustedProxies([]),
});

test('headers sent byte by byte, or never, are answered 408 and the connection closed at the headers timeout', async (t) => {
  const timeoutMs = 1500;
  const h = await startHarness({ limits: limits({ headersTimeoutMs: timeoutMs }) });
  try {
    // A byte every 100 ms: the headers would take 6 s; the gateway allows 1.5 s for all of them.
    const slowloris = await open(h.url);
    const head = 'GET /chain HTTP/1.1\r\nHost: g\r\nX-Padding: ' + 'a'.repeat(60) + '\r\n\r\n';
    let i = 0;
    const drip = setInterval(() => {
      if (slowloris.closedAt() !== undefined || i >= head.length) return clearInterval(drip);
      slowloris.socket.write(head[i++]!);
    }, 100);
    const silent = await open(h.url);
    const deadlineMs = timeoutMs + HEADERS_CHECK_INTERVAL_MS + 2000;
    for (const [what, c] of [['byte by byte', slowloris], ['nothing sent', silent]] as const) {
      const closedAt = await pollUntil(() => c.closedAt(), { what: `the ${what} connection to be closed`, deadlineMs, intervalMs: 20 });
      clearInterval(drip);
      const after = closedAt - c.openedAt;
      t.log(`${what}: closed after ${after} ms (headers timeout ${timeoutMs} ms, checked every ${HEADERS_CHECK_INTERVAL_MS} ms)`);
      t.true(after >= timeoutMs - 50, `${what}: not before the timeout (${after} ms)`);
      t.true(after <= timeoutMs + HEADERS_CHECK_INTERVAL_MS + 500, `${what}: within the check interval after it (${after} ms)`);
      const [answer] = parseResponses(c.received());
      t.is(answer?.status, 408, c.received());
      t.is(answer?.headers['content-type'], 'application/problem+json');
      t.is((JSON.parse(answer!.body) as { type: string }).type, '/problems/request-timeout');
    }
    t.true(i < head.length, `the slowloris was cut before it finished its headers (${i} of ${head.length} bytes)`);
    // A client that sends its headers in time on the same gateway is served.
    t.is((await fetch(`${h.url}/healthz`)).status, 200);
  } finally {
    await h.close();
  }
});

test('an idle kept-alive connection is closed at the keep-alive timeout', async (t) => {
  const keepAliveMs = 800;
  const h = await startHarness({ limits: limits({ keepAliveTimeoutMs: keepAliveMs }) });
  try {
    const c = await open(h.url);
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: g\r\n\r\n');
    await pollUntil(() => parseResponses(c.received()).length, { what: 'the answer', deadlineMs: 5000, intervalMs: 10, until: (n) => n === 1 });
    const answeredAt = Date.now();
    t.is(parseResponses(c.received())[0]?.status, 200);
    const closedAt = await pollUntil(() => c.closedAt(), { what: 'the idle connection to be closed', deadlineMs: keepAliveMs + 3000, intervalMs: 20 });
    const idle = closedAt - answeredAt;
    t.log(`idle kept-alive connection closed after ${idle} ms (keep-alive timeout ${keepAliveMs} ms)`);
    // Node (20.20) keeps a connection 1 s past the timeout it advertises (Keep-Alive: timeout=N), so a
    // client never reuses one the server is closing at that moment.
    t.true(idle >= keepAliveMs - 100 && idle <= keepAliveMs + 1000 + 500, `${idle} ms`);
  } finally {
    await h.close();
  }
});

/** A gateway front whose /wolk/... answer is endless (written with backpressure) or comes after `delayMs`. */
async function frontWith(writeStallTimeoutMs: number, delayMs = 0) {
  const piece = Buffer.alloc(64 * 1024, 7);
  const answers: { res: ServerResponse; blockedSince?: number; closedAt?: number; finished?: boolean }[] = [];
  const api: Api = {
    uploads: new Map(),
    activeUploads: 0,
    uploadStatus: async () => undefined,
    async handle(r) {
      const a: (typeof answers)[number] = { res: r.res };
      answers.push(a);
      r.res.once('close', () => ((a.closedAt = Date.now()), (a.finished = r.res.writableFinished)));
      if (delayMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        r.res.end('done');
        return;
      }
      r.res.writeHead(200, { 'content-type': 'application/octet-stream' });
      while (!r.signal.aborted) {
        if (r.res.write(piece)) continue;
        a.blockedSince = Date.now();
        await new Promise<void>((resolve) => {
          const done = () => {
            r.res.off('drain', done);
            r.res.off('close', done);
            resolve();
          };
          r.res.on('drain', done);
          r.res.on('close', done);
        });
        delete a.blockedSince;
      }
    },
  };
  const server = createGatewayHttpServer({ logger: silentLogger, processes: [], startedAt: Date.now(), api, limits: limits({ writeStallTimeoutMs }) });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answers,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('an answer the client stops reading is cut after the write-stall timeout; a reader that keeps reading is not', async (t) => {
  t.timeout(60_000);
  const stallMs = 1000;
  const f = await frontWith(stallMs);
  try {
    // Never reads: the kernel's buffers fill, then the gateway's writes wait on a client that takes nothing.
    const stuck = await open(f.url);
    stuck.socket.pause();
    stuck.socket.write('GET /wolk/alice/c/big HTTP/1.1\r\nHost: g\r\n\r\n');
    // Reads 64 KiB every 20 ms (~3 MB/s). Progress is what the kernel takes of the answer, and it takes
    // more only once a third of its send buffer (up to 4 MiB on loopback) is free: a reader must take
    // about that much per timeout to count as reading (docs/http-api.md "Limits").
    const slow = await open(f.url);
    slow.socket.pause();
    slow.socket.write('GET /wolk/alice/c/big HTTP/1.1\r\nHost: g\r\n\r\n');
    let slowRead = 0;
    const reader = setInterval(() => {
      for (let n = 0; n < 4; n++) slowRead += (slow.socket.read(16 * 1024) as Buffer | null)?.length ?? 0;
    }, 20);
    try {
      const [stuckAnswer, slowAnswer] = await pollUntil(() => (f.answers.length === 2 ? f.answers : undefined), { what: 'both requests to reach the gateway', deadlineMs: 5000, intervalMs: 10 });
      const blockedAt = await pollUntil(() => stuckAnswer!.blockedSince, { what: "the gateway's writes to block on the reader that never reads", deadlineMs: 20_000, intervalMs: 10 });
      const cutAt = await pollUntil(() => stuckAnswer!.closedAt, { what: 'the stalled answer to be cut', deadlineMs: stallMs * 2 + 3000, intervalMs: 20 });
      const after = cutAt - blockedAt;
      t.log(`a reader that never reads: cut ${after} ms after the gateway's writes blocked (write-stall timeout ${stallMs} ms)`);
      t.true(after >= stallMs - 100 && after <= stallMs * 2 + 1000, `${after} ms`);
      t.false(stuckAnswer!.finished, 'cut, not completed');
      // By now the other reader has been reading for longer than two stall timeouts: still served.
      const until = Date.now() + 2 * stallMs;
      await pollUntil(() => Date.now() >= until || slowAnswer!.closedAt !== undefined, { what: 'two stall timeouts of slow reading', deadlineMs: 4 * stallMs, intervalMs: 50 });
      t.is(slowAnswer!.closedAt, undefined, `a reader that keeps reading is not cut (read ${slowRead} bytes)`);
      t.true(slowRead > 0);
    } finally {
      clearInterval(reader);
      stuck.socket.destroy();
      slow.socket.destroy();
    }
  } finally {
    await f.close();
  }
});

test('a gateway that works longer than the write-stall timeout before answering is not cut', async (t) => {
  const f = await frontWith(500, 1500);
  try {
    const res = await fetch(`${f.url}/wolk/alice/c/k`);
    t.is(res.status, 200);
    t.is(await res.text(), 'done');
  } finally {
    await f.close();
  }
});

test('a gateway node takes these times and its address limit from WOLK_* variables', async (t) => {
  const gateway = await startInProcess('gateway', createGatewayNode, { WOLK_HTTP_LISTEN: '127.0.0.1:0', WOLK_HEADERS_TIMEOUT_MS: '1000', WOLK_RATE_ADDRESS_PER_SECOND: '0.1', WOLK_RATE_ADDRESS_BURST: '3' });
  try {
    const url = gateway.endpoints['http']!;
    const silent = await open(url);
    const closedAt = await pollUntil(() => silent.closedAt(), { what: 'the silent connection to be closed', deadlineMs: 1000 + HEADERS_CHECK_INTERVAL_MS + 2000, intervalMs: 20 });
    const after = closedAt - silent.openedAt;
    t.true(after >= 950 && after <= 1000 + HEADERS_CHECK_INTERVAL_MS + 500, `closed after ${after} ms`);
    t.is(parseResponses(silent.received())[0]?.status, 408);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${url}/status`)).status);
    t.deepEqual(statuses, [200, 200, 200, 429]);
  } finally {
    await gateway.close();
  }
});
