// Requests the gateway must refuse with a problem+json that says what is wrong, never a 500 or Node's
// bare status line: a malformed Content-Digest on a correctly signed PUT (issue 25.1), broken body
// framing, oversized headers and a stalled body (issues 24.6, 25.8), and a path whose dot segments
// would route to one resource and name another (issue 24.10).
import test from 'ava';
import { createHash } from 'node:crypto';
import { SignedTransaction } from '../../../gen/wolk/common/v1/tx.js';
import { freshNonce, type ClientKey } from '../../../lib/client/signing.js';
import { setKeyTransaction, setNameTransaction, signTransaction } from '../../../lib/client/tx.js';
import { SIGNATURE_ALG, WOLK_COVERED, signRequest } from '../../../lib/http/signatures.js';
import { hashFile } from '../../../lib/merkle/index.js';
import { logSeedOnFailure, randomFor } from '../../helpers/seed.js';
import { signedTxRequest, startHarness } from './http-harness.js';
import { rawRequest } from './raw-http.js';

logSeedOnFailure(test);

/** Signature headers over a Content-Digest value given as is (possibly broken). */
function signWithDigest(method: string, path: string, digest: string, key: ClientKey): Record<string, string> {
  const signed = signRequest(
    { method, path, header: (n) => (n === 'content-digest' ? digest : undefined) },
    WOLK_COVERED,
    { created: Math.floor(Date.now() / 1000), nonce: freshNonce(), keyid: Buffer.from(key.publicKey).toString('hex'), alg: SIGNATURE_ALG },
    key.secretKey,
  );
  return { 'content-digest': digest, ...signed };
}

const BROKEN_DIGESTS = ['sha-256=:AAAA:', 'sha-256=garbage', '(((('];

test('a correctly signed PUT with a malformed Content-Digest is 400 naming the header, for files and for names', async (t) => {
  const rnd = randomFor(t);
  const alice = rnd.keyPair();
  const h = await startHarness();
  try {
    const body = rnd.bytes(5000);
    const d = hashFile(body);
    const stx = signTransaction(
      setKeyTransaction({ owner: 'alice', collection: 'c', key: 'k', file: { filehash: Buffer.from(d.filehash), size: BigInt(d.size), chunkSize: 4096 }, contentType: '' }, alice.publicKey, 0n, h.chain.chainId),
      alice,
    );
    const tx = Buffer.from(SignedTransaction.encode(stx).finish()).toString('base64');
    for (const digest of BROKEN_DIGESTS) {
      const res = await fetch(`${h.url}/wolk/alice/c/k`, { method: 'PUT', body, headers: { ...signWithDigest('PUT', '/wolk/alice/c/k', digest, alice), 'wolk-transaction': tx } });
      const p = (await res.json()) as Record<string, unknown>;
      t.is(res.status, 400, `file PUT, Content-Digest ${digest}: ${JSON.stringify(p)}`);
      t.is(res.headers.get('content-type'), 'application/problem+json');
      t.is(p['type'], '/problems/malformed-header');
      t.is(p['header'], 'content-digest');
      t.regex(String(p['detail']), /^content-digest: /);

      const claim = signedTxRequest('/wolk/alice', setNameTransaction('alice', alice.publicKey, 0n, h.chain.chainId), alice);
      const named = await fetch(`${h.url}/wolk/alice`, { method: 'PUT', body: claim.body, headers: { ...claim.headers, ...signWithDigest('PUT', '/wolk/alice', digest, alice) } });
      const np = (await named.json()) as Record<string, unknown>;
      t.is(named.status, 400, `name PUT, Content-Digest ${digest}: ${JSON.stringify(np)}`);
      t.is(np['header'], 'content-digest');
    }
    t.is(h.chain.submitted.length, 0, 'nothing submitted');
  } finally {
    await h.close();
  }
});

test("Node's parser refusals answer problem+json: framing, request line, header size", async (t) => {
  const h = await startHarness();
  try {
    const cases: [string, string, number, string][] = [
      ['Content-Length and Transfer-Encoding', 'PUT /wolk/alice HTTP/1.1\r\nHost: g\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', 400, '/problems/incomplete-body'],
      ['negative Content-Length', 'PUT /wolk/alice HTTP/1.1\r\nHost: g\r\nContent-Length: -1\r\n\r\n', 400, '/problems/incomplete-body'],
      ['huge Content-Length', 'PUT /wolk/alice HTTP/1.1\r\nHost: g\r\nContent-Length: 99999999999999999999\r\n\r\n', 400, '/problems/incomplete-body'],
      ['raw UTF-8 in the request line', 'GET /wolk/\u00e4 HTTP/1.1\r\nHost: g\r\n\r\n', 400, '/problems/malformed-request'],
      ['100 KB header', `GET /healthz HTTP/1.1\r\nHost: g\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`, 431, '/problems/headers-too-large'],
    ];
    for (const [name, head, status, type] of cases) {
      const r = await rawRequest(h.url, head);
      t.is(r.responses.length, 1, `${name}: ${JSON.stringify(r.text.slice(0, 300))}`);
      const res = r.responses[0]!;
      t.is(res.status, status, name);
      t.is(res.headers['content-type'], 'application/problem+json', name);
      t.is((JSON.parse(res.body) as { type: string }).type, type, name);
      t.true(r.closedByServer, `${name}: the connection is closed after the refusal`);
    }
  } finally {
    await h.close();
  }
});

test('a body shorter than its Content-Length, then half-close: 400 incomplete-body', async (t) => {
  const rnd = randomFor(t);
  const alice = rnd.keyPair();
  const h = await startHarness();
  try {
    const { body, headers } = signedTxRequest('/wolk/alice', setNameTransaction('alice', alice.publicKey, 0n, h.chain.chainId), alice);
    const head = `PUT /wolk/alice HTTP/1.1\r\nHost: g\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}Content-Length: ${body.length + 10}\r\n\r\n`;
    const r = await rawRequest(h.url, head, { body, halfClose: true });
    t.is(r.responses.length, 1, r.text);
    t.is(r.responses[0]!.status, 400);
    t.is(r.responses[0]!.headers['content-type'], 'application/problem+json');
    t.is((JSON.parse(r.responses[0]!.body) as { type: string }).type, '/problems/incomplete-body');
    t.is(h.chain.submitted.length, 0);
  } finally {
    await h.close();
  }
});

test('bytes beyond a Content-Length: the request before them is answered, then the refusal', async (t) => {
  const h = await startHarness();
  try {
    const r = await rawRequest(h.url, 'POST /healthz HTTP/1.1\r\nHost: g\r\nContent-Length: 3\r\n\r\n', { body: 'abcdefgh' });
    t.deepEqual(
      r.responses.map((x) => [x.status, x.headers['content-type']]),
      [
        [405, 'application/problem+json'],
        [400, 'application/problem+json'],
      ],
      r.text,
    );
    const get = await rawRequest(h.url, 'GET /healthz HTTP/1.1\r\nHost: g\r\nContent-Length: 3\r\n\r\n', { body: 'abcdefgh' });
    t.is(get.responses[0]!.status, 200, get.text);
    t.is((JSON.parse(get.responses[1]!.body) as { type: string }).type, '/problems/malformed-request');
  } finally {
    await h.close();
  }
});

test('a body that stalls is refused with 408 after the idle timeout; a slow but steady one is read', async (t) => {
  const rnd = randomFor(t);
  const alice = rnd.keyPair();
  // The chain here never finalizes: a claim whose body was read whole is submitted and answered 202.
  const h = await startHarness({ bodyIdleTimeoutMs: 400, finalityTimeoutMs: 500 });
  const claim = () => {
    const { body, headers } = signedTxRequest('/wolk/alice', setNameTransaction('alice', alice.publicKey, 0n, h.chain.chainId), alice);
    return { body, head: `PUT /wolk/alice HTTP/1.1\r\nHost: g\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}Content-Length: ${body.length}\r\n\r\n` };
  };
  try {
    let { body, head } = claim();
    const started = Date.now();
    const r = await rawRequest(h.url, head, { body: body.subarray(0, 10) });
    t.is(r.responses[0]?.status, 408, r.text);
    t.is((JSON.parse(r.responses[0]!.body) as { type: string }).type, '/problems/body-timeout');
    t.true(Date.now() - started < 8000, 'refused after the idle timeout, not after minutes');
    t.is(h.chain.submitted.length, 0);

    // A body sent a piece every 200 ms (under the 400 ms idle timeout, ~1 s in all): read whole.
    ({ body, head } = claim());
    const { createConnection } = await import('node:net');
    const { hostname, port } = new URL(h.url);
    const steady = await new Promise<string>((resolve) => {
      const s = createConnection(Number(port), hostname);
      const parts: Buffer[] = [];
      s.on('data', (d: Buffer) => {
        parts.push(d);
        if (Buffer.concat(parts).toString().includes('\r\n\r\n')) s.destroy();
      });
      s.on('close', () => resolve(Buffer.concat(parts).toString()));
      s.write(head);
      const pieces = [0, 1, 2, 3, 4].map((i) => body.subarray(Math.floor((i * body.length) / 5), Math.floor(((i + 1) * body.length) / 5)));
      let i = 0;
      const tick = setInterval(() => {
        s.write(pieces[i++]!);
        if (i === pieces.length) clearInterval(tick);
      }, 200);
    });
    t.regex(steady, /^HTTP\/1\.1 202 /);
    t.is(h.chain.submitted.length, 1);
  } finally {
    await h.close();
  }
});

test('routing and parsing see the same path: dot segments are not normalised into another route', async (t) => {
  const h = await startHarness();
  try {
    const r = await rawRequest(h.url, 'GET /x/../wolk/o/c/k HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n');
    t.is(r.responses[0]?.status, 404, r.text);
    t.regex(JSON.parse(r.responses[0]!.body).detail as string, /no route for GET \/x\/\.\.\/wolk\/o\/c\/k/);
    const abs = await rawRequest(h.url, 'GET http://g/healthz HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n');
    t.is(abs.responses[0]?.status, 200, 'absolute-form targets route by their path');
    const slashes = await rawRequest(h.url, 'GET // HTTP/1.1\r\nHost: g\r\nConnection: close\r\n\r\n');
    t.is(slashes.responses[0]?.status, 404, slashes.text);
  } finally {
    await h.close();
  }
});
