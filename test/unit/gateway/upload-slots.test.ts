// One user cannot block every upload (issue 24.3): PUTs that send a few bytes and stall hold at most
// an owner's and an address's share of the upload slots, and only until the body idle timeout; a
// normal upload from someone else beside them succeeds, and so does a slow but steady one.
import test from 'ava';
import { request } from 'node:http';
import { pollUntil } from '../../helpers/poll.js';
import { logSeedOnFailure, randomFor } from '../../helpers/seed.js';
import { claimed, signedPut, startHarness } from './http-harness.js';
import { rawRequest } from './raw-http.js';

logSeedOnFailure(test);

/** A PUT from `localAddress`, its body sent in `pieces` pieces `everyMs` apart. */
function putFrom(url: string, path: string, init: RequestInit, localAddress: string, pace = { pieces: 1, everyMs: 0 }): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = init.body as Buffer;
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port: Number(port), path, method: 'PUT', localAddress, headers: { ...(init.headers as Record<string, string>), 'content-length': String(body.length) } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString()) as Record<string, unknown> }));
    });
    req.on('error', reject);
    let i = 0;
    const send = () => {
      req.write(body.subarray(Math.floor((i * body.length) / pace.pieces), Math.floor(((i + 1) * body.length) / pace.pieces)));
      if (++i === pace.pieces) req.end();
      else setTimeout(send, pace.everyMs);
    };
    send();
  });
}

/** Headers and the first 10 bytes of a signed PUT, then silence. */
function stall(url: string, path: string, init: RequestInit, localAddress: string, o: { firstAnswer?: boolean } = {}) {
  const headers = init.headers as Record<string, string>;
  const body = init.body as Buffer;
  const head = `PUT ${path} HTTP/1.1\r\nHost: g\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}Content-Length: ${body.length}\r\n\r\n`;
  return rawRequest(url, head, { body: body.subarray(0, 10), localAddress, deadlineMs: 30_000, ...(o.firstAnswer ? { responses: 1 } : {}) });
}

test('stalling uploads hold only their owner\'s and address\'s share; another client\'s upload beside them succeeds', async (t) => {
  t.timeout(90_000);
  const rnd = randomFor(t);
  const mallory = rnd.keyPair();
  const alice = rnd.keyPair();
  // 4 slots: one owner may hold 2, one address 3.
  const h = await startHarness({ storers: 3, maxConcurrentUploads: 4, bodyIdleTimeoutMs: 6000 });
  h.chain.autoFinalize = true;
  try {
    claimed(h.chain, 'mallory', mallory);
    claimed(h.chain, 'mallory2', mallory);
    claimed(h.chain, 'alice', alice);
    const stalls: ReturnType<typeof stall>[] = [];
    const started = Date.now();
    for (const [i, owner] of ['mallory', 'mallory', 'mallory2'].entries()) {
      const path = `/wolk/${owner}/c/s${i}`;
      stalls.push(stall(h.url, path, signedPut(path, rnd.bytes(50_000), mallory, 0n, h.chain.chainId).init, '127.0.0.1'));
      await pollUntil(() => h.api.activeUploads, { what: `stalled upload ${i + 1} to hold a slot`, deadlineMs: 10_000, intervalMs: 20, until: (n) => n === i + 1 });
    }
    // A third from the same owner, a fourth from the same address: refused at once, the reason named.
    const ownerFull = await stall(h.url, '/wolk/mallory/c/s3', signedPut('/wolk/mallory/c/s3', rnd.bytes(50_000), mallory, 0n, h.chain.chainId).init, '127.0.0.1', { firstAnswer: true });
    t.is(ownerFull.responses[0]?.status, 503, ownerFull.text);
    t.regex(JSON.parse(ownerFull.responses[0]!.body).detail as string, /wolk:\/\/mallory already has 2 uploads in progress/);
    const addressFull = await stall(h.url, '/wolk/mallory2/c/s4', signedPut('/wolk/mallory2/c/s4', rnd.bytes(50_000), mallory, 0n, h.chain.chainId).init, '127.0.0.1', { firstAnswer: true });
    t.is(addressFull.responses[0]?.status, 503, addressFull.text);
    t.regex(JSON.parse(addressFull.responses[0]!.body).detail as string, /your address \(127\.0\.0\.1\) already has 3 uploads in progress/);

    // Alice, from another address, while the three stall: a slot is left for her.
    const put = signedPut('/wolk/alice/c/k', rnd.bytes(100_000), alice, 0n, h.chain.chainId);
    const normal = await putFrom(h.url, '/wolk/alice/c/k', put.init, '127.0.0.2');
    t.is(normal.status, 201, JSON.stringify(normal.body));

    // The stalled ones end with 408 at the idle timeout, and their slots are free again.
    const ended = await Promise.all(stalls);
    for (const r of ended) {
      t.is(r.responses[0]?.status, 408, r.text);
      t.is((JSON.parse(r.responses[0]!.body) as { type: string }).type, '/problems/body-timeout');
    }
    t.true(Date.now() - started < 30_000);
    await pollUntil(() => h.api.activeUploads, { what: 'every slot to be free', deadlineMs: 5000, until: (n) => n === 0 });
  } finally {
    await h.close();
  }
});

test('a slow but steady upload, longer in all than the idle timeout, succeeds', async (t) => {
  t.timeout(60_000);
  const rnd = randomFor(t);
  const alice = rnd.keyPair();
  const h = await startHarness({ storers: 3, bodyIdleTimeoutMs: 1500 });
  h.chain.autoFinalize = true;
  try {
    claimed(h.chain, 'alice', alice);
    const put = signedPut('/wolk/alice/c/slow', rnd.bytes(60_000), alice, 0n, h.chain.chainId);
    const started = Date.now();
    // 10 pieces, 500 ms apart: 4.5 s of body, no gap near the 1.5 s idle timeout.
    const slow = await putFrom(h.url, '/wolk/alice/c/slow', put.init, '127.0.0.1', { pieces: 10, everyMs: 500 });
    t.is(slow.status, 201, JSON.stringify(slow.body));
    t.true(Date.now() - started > 1500 * 2, 'the whole body took longer than the idle timeout');
  } finally {
    await h.close();
  }
});
