// What the devnet garbage fuzzer (scripts/soak/fuzz-devnet.ts) found at the gateway's HTTP front,
// pinned as unit tests over the in-memory harness: CONNECT was answered by closing the connection
// (Node's default without a 'connect' listener), and the read-only routes /chain, /accounts/{key}
// and /status/uploads/{id} answered 200 to PUT, POST and any other method. Both are problem+json 405 now.
import test from 'ava';
import { rawRequest } from '../gateway/raw-http.js';
import { startHarness } from '../gateway/http-harness.js';

test('CONNECT is answered 405 problem+json, not a closed connection', async (t) => {
  const h = await startHarness();
  try {
    const r = await rawRequest(h.url, 'CONNECT /wolk/alice HTTP/1.1\r\nHost: g\r\n\r\n');
    t.is(r.responses.length, 1, JSON.stringify(r.text.slice(0, 200)));
    t.is(r.responses[0]!.status, 405);
    t.is(r.responses[0]!.headers['content-type'], 'application/problem+json');
    t.is((JSON.parse(r.responses[0]!.body) as { status: number }).status, 405);
  } finally {
    await h.close();
  }
});

test('read-only routes refuse other methods with 405 and Allow: GET, HEAD; GET still answers', async (t) => {
  const h = await startHarness();
  try {
    for (const path of ['/chain', `/accounts/${'00'.repeat(32)}`, '/status/uploads/abc']) {
      for (const method of ['PUT', 'POST', 'DELETE', 'PATCH']) {
        const r = await rawRequest(h.url, `${method} ${path} HTTP/1.1\r\nHost: g\r\nContent-Length: 0\r\n\r\n`, { responses: 1 });
        const res = r.responses[0];
        t.is(res?.status, 405, `${method} ${path}: ${JSON.stringify(r.text.slice(0, 200))}`);
        t.is(res?.headers['allow'], 'GET, HEAD', `${method} ${path}`);
        t.is(res?.headers['content-type'], 'application/problem+json', `${method} ${path}`);
      }
    }
    const ok = await rawRequest(h.url, 'GET /chain HTTP/1.1\r\nHost: g\r\n\r\n', { responses: 1 });
    t.is(ok.responses[0]?.status, 200);
  } finally {
    await h.close();
  }
});
