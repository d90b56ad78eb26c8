// Rate limits at the gateway (issue 20.1, docs/http-api.md "Limits"), over real HTTP from several
// loopback addresses: a signing key past its rate gets 429 with Retry-After naming the key limit while
// another key gets through (and moving to another address does not help it); an address past its rate
// gets 429 naming the address limit while another address and /healthz get through; X-Forwarded-For
// counts only from a trusted proxy; idle buckets are dropped; tus PATCHes count against the creation's
// key, through a gateway node configured from WOLK_RATE_* variables; wolk s3 passes a 429 on as SlowDown.
import test from 'ava';
import { request } from 'node:http';
import { WolkClient } from '../../../lib/client/client.js';
import { WolkHttpError } from '../../../lib/client/errors.js';
import { keyFromSeed } from '../../../lib/client/keys.js';
import { creationHeaders, TUS_VERSION } from '../../../lib/client/resumable.js';
import type { ClientKey } from '../../../lib/client/signing.js';
import { setKeyTransaction, setNameTransaction, signTransaction } from '../../../lib/client/tx.js';
import { hashFile } from '../../../lib/merkle/index.js';
import { s3ErrorOf } from '../../../lib/s3/backend.js';
import { clientAddress, trustedProxies } from '../../../services/gateway/client-address.js';
import { createGatewayNode } from '../../../services/gateway/node.js';
import { readOptions } from '../../../services/gateway/options.js';
import { createRateLimits, createRequestLimit, RateLimited } from '../../../services/gateway/rate-limit.js';
import { createTokenBuckets } from '../../../lib/rate/token-bucket.js';
import { pollUntil } from '../../helpers/poll.js';
import { startInProcess } from '../../helpers/service.js';
import { logSeedOnFailure, randomFor } from '../../helpers/seed.js';
import { startFakeConsensus, startFakeStorer } from './fakes.js';
import { signedTxRequest, startHarness, type Harness } from './http-harness.js';

logSeedOnFailure(test);

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Record<string, unknown>;
}

/** One request from `localAddress` (any of 127.0.0.0/8): another client as the gateway sees it. */
function send(url: string, o: { method: string; path: string; localAddress: string; headers?: Record<string, string>; body?: Buffer }): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port: Number(port), path: o.path, method: o.method, localAddress: o.localAddress, headers: { ...o.headers, ...(o.body ? { 'content-length': String(o.body.length) } : {}) } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) });
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`${o.method} ${o.path}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

const slow = { headersTimeoutMs: 20_000, keepAliveTimeoutMs: 5000, writeStallTimeoutMs: 30_000 };

/** A name claim signed by `key`: a signed write, submitted and answered 202 (the chain does not finalize it within finalityTimeoutMs). */
function claim(h: Harness, name: string, key: ClientKey, nonce: bigint, localAddress: string): Promise<Answer> {
  const { body, headers } = signedTxRequest(`/wolk/${name}`, setNameTransaction(name, key.publicKey, nonce, h.chain.chainId), key);
  return send(h.url, { method: 'PUT', path: `/wolk/${name}`, localAddress, headers, body });
}

test('a key past its rate gets 429 with Retry-After naming the key limit; another key gets through, another address does not help', async (t) => {
  const rnd = randomFor(t);
  const alice = rnd.keyPair();
  const bob = rnd.keyPair();
  const rates = createRateLimits({ address: { perSecond: 1000, burst: 1000 }, key: { perSecond: 0.2, burst: 3 } });
  const h = await startHarness({ rates, limits: { ...slow, trustedProxies: trustedProxies([]) }, finalityTimeoutMs: 100 });
  try {
    for (let i = 0; i < 3; i++) {
      const a = await claim(h, `alice${i}`, alice, BigInt(i), '127.0.0.1');
      t.is(a.status, 202, `claim ${i} within the burst: ${JSON.stringify(a.body)}`);
    }
    const refusedRequest = signedTxRequest('/wolk/alice3', setNameTransaction('alice3', alice.publicKey, 3n, h.chain.chainId), alice);
    const refused = await send(h.url, { method: 'PUT', path: '/wolk/alice3', localAddress: '127.0.0.1', ...refusedRequest });
    t.is(refused.status, 429, JSON.stringify(refused.body));
    t.is(refused.headers['content-type'], 'application/problem+json');
    t.is(refused.body['type'], '/problems/rate-limited');
    t.is(refused.body['limit'], 'key');
    t.is(refused.body['perSecond'], 0.2);
    t.is(refused.body['burst'], 3);
    // 0.2 a second: the next token in 5 s (a little less, time passed since the third).
    const retry = Number(refused.headers['retry-after']);
    t.true(retry >= 4 && retry <= 5, `Retry-After ${retry}`);
    t.is(refused.body['retryAfterSeconds'], retry);
    t.regex(String(refused.body['detail']), new RegExp(`^the signing key ${Buffer.from(alice.publicKey).toString('hex').slice(0, 16)}… made more than 3 signed writes at once or more than 0.2 a second.*retry after ${retry} s$`));
    t.is(h.chain.submitted.length, 3, 'the refused claim reached nothing');

    const elsewhere = await claim(h, 'alice4', alice, 4n, '127.0.0.2');
    t.is(elsewhere.status, 429, 'the key limit follows the key, not the address');
    const other = await claim(h, 'bob', bob, 0n, '127.0.0.1');
    t.is(other.status, 202, `another key from the same address: ${JSON.stringify(other.body)}`);

    // After Retry-After the very request that was refused gets through: it never spent its nonce.
    const again = await pollUntil(() => send(h.url, { method: 'PUT', path: '/wolk/alice3', localAddress: '127.0.0.1', ...refusedRequest }), { what: 'alice to get a token back', deadlineMs: (retry + 3) * 1000, intervalMs: 500, until: (a) => a.status !== 429 });
    t.is(again.status, 202, JSON.stringify(again.body));
    t.is(h.chain.submitted.length, 5);
  } finally {
    await h.close();
  }
});

test('an address past its rate gets 429 naming the address limit; another address and /healthz get through; writes are counted too', async (t) => {
  const rnd = randomFor(t);
  const alice = rnd.keyPair();
  const rates = createRateLimits({ address: { perSecond: 0.5, burst: 4 }, key: { perSecond: 1000, burst: 1000 } });
  const h = await startHarness({ rates, limits: { ...slow, trustedProxies: trustedProxies([]) } });
  try {
    for (let i = 0; i < 4; i++) t.is((await send(h.url, { method: 'GET', path: '/chain', localAddress: '127.0.0.1' })).status, 200, `GET ${i} within the burst`);
    const refused = await send(h.url, { method: 'GET', path: '/chain', localAddress: '127.0.0.1' });
    t.is(refused.status, 429, JSON.stringify(refused.body));
    t.is(refused.body['limit'], 'address');
    t.is(refused.body['burst'], 4);
    t.is(refused.body['perSecond'], 0.5);
    t.true(Number(refused.headers['retry-after']) >= 1 && Number(refused.headers['retry-after']) <= 2, `Retry-After ${String(refused.headers['retry-after'])}`);
    t.regex(String(refused.body['detail']), /^your address \(127\.0\.0\.1\) made more than 4 requests at once or more than 0\.5 a second, the most this gateway allows one client address; retry after \d s$/);

    // A signed write from the flooding address is refused before its signature is even checked.
    const { body, headers } = signedTxRequest('/wolk/alice', setNameTransaction('alice', alice.publicKey, 0n, h.chain.chainId), alice);
    const write = await send(h.url, { method: 'PUT', path: '/wolk/alice', localAddress: '127.0.0.1', headers, body });
    t.is(write.status, 429);
    t.is(write.body['limit'], 'address');

    t.is((await send(h.url, { method: 'GET', path: '/healthz', localAddress: '127.0.0.1' })).status, 200, 'liveness probes are never limited');
    t.is((await send(h.url, { method: 'GET', path: '/chain', localAddress: '127.0.0.2' })).status, 200, 'another address gets through');
  } finally {
    await h.close();
  }
});

test('X-Forwarded-For names the client only when the peer is a trusted proxy', async (t) => {
  const rates = createRateLimits({ address: { perSecond: 0.1, burst: 2 }, key: { perSecond: 1000, burst: 1000 } });
  const h = await startHarness({ rates, limits: { ...slow, trustedProxies: trustedProxies(['127.0.0.1']) } });
  try {
    const viaProxy = (client: string) => send(h.url, { method: 'GET', path: '/chain', localAddress: '127.0.0.1', headers: { 'x-forwarded-for': `198.51.100.9, ${client}` } });
    t.is((await viaProxy('203.0.113.1')).status, 200);
    t.is((await viaProxy('203.0.113.1')).status, 200);
    const third = await viaProxy('203.0.113.1');
    t.is(third.status, 429);
    t.regex(String(third.body['detail']), /^your address \(203\.0\.113\.1\)/, 'the client behind the proxy, not the entry it could have made up');
    t.is((await viaProxy('203.0.113.2')).status, 200, 'another client behind the same proxy');

    // From a peer nobody trusts, X-Forwarded-For is ignored: a fresh made-up address per request does not help.
    const direct = (i: number) => send(h.url, { method: 'GET', path: '/chain', localAddress: '127.0.0.2', headers: { 'x-forwarded-for': `203.0.113.${100 + i}` } });
    t.is((await direct(1)).status, 200);
    t.is((await direct(2)).status, 200);
    const spoofed = await direct(3);
    t.is(spoofed.status, 429);
    t.regex(String(spoofed.body['detail']), /^your address \(127\.0\.0\.2\)/);
  } finally {
    await h.close();
  }
});

test('clientAddress: the nearest untrusted hop, IPv4-mapped addresses as one client', (t) => {
  const trusted = trustedProxies(['10.0.0.1', '10.0.0.2', '172.16.0.0/12']);
  t.is(clientAddress('::ffff:192.0.2.7', '203.0.113.1', trusted), '192.0.2.7', 'an untrusted peer: its own address');
  t.is(clientAddress('10.0.0.1', '203.0.113.1, 198.51.100.2, 10.0.0.2', trusted), '198.51.100.2', 'proxies skipped from the right');
  t.is(clientAddress('::ffff:10.0.0.1', ['203.0.113.1', 'garbage'], trusted), '203.0.113.1', 'non-addresses ignored');
  t.is(clientAddress('10.0.0.1', undefined, trusted), '10.0.0.1');
  t.is(clientAddress('10.0.0.1', '10.0.0.2', trusted), '10.0.0.2', 'only proxies: the farthest one');
  t.is(clientAddress(undefined, undefined, trusted), 'unknown');
  t.is(clientAddress('172.20.3.4', '203.0.113.9, 172.31.0.1', trusted), '203.0.113.9', 'a CIDR range of proxies (the pods of an ingress)');
  t.is(clientAddress('172.32.0.1', '203.0.113.9', trusted), '172.32.0.1', 'outside the range: not trusted');
});

test('idle buckets are dropped as others are used, and there are never more than the cap', (t) => {
  let now = 1_000_000;
  const buckets = createTokenBuckets({ perSecond: 10, burst: 20 }, () => now, 50);
  for (let i = 0; i < 40; i++) buckets.take(`198.51.100.${i}`);
  t.is(buckets.size, 40);
  // 20 tokens at 10 a second: a bucket idle for 2 s is full, the same as none.
  now += 1999;
  buckets.take('203.0.113.1');
  t.is(buckets.size, 41, 'not yet full: kept');
  now += 1;
  buckets.take('203.0.113.2');
  t.is(buckets.size, 2, 'the 40 idle ones are gone');

  // Past the cap the least recently used goes even if not full.
  const capped = createRequestLimit('key', { perSecond: 1, burst: 1 }, () => now, 3);
  for (const k of ['a', 'b', 'c']) capped.take(k);
  t.throws(() => capped.take('a'), { instanceOf: RateLimited });
  capped.take('d');
  t.is(capped.size, 3);
  t.notThrows(() => capped.take('a'), "'a' was dropped for 'd': it starts again with a full burst");
  t.throws(() => capped.take('d'), { instanceOf: RateLimited }, 'a bucket in use is not the one dropped at the cap');
});

test('token buckets with a cost (a byte budget): the wait for what is missing; more than the burst overdraws a full bucket', (t) => {
  let now = 0;
  const bytes = createTokenBuckets({ perSecond: 1000, burst: 4000 }, () => now);
  t.is(bytes.take('w', 3000), 0);
  t.is(bytes.take('w', 3000), 2000, '2000 bytes missing at 1000 a second: 2 s');
  now += 2000;
  t.is(bytes.take('w', 3000), 0, 'the refused take took nothing');
  now += 4000;
  t.is(bytes.take('w', 10_000), 0, 'larger than the burst: taken from a full bucket');
  t.is(bytes.take('w', 1), 6001, 'overdrawn by 6000: 6 s before one byte more');
});

test('buckets are dropped at the gateway: over HTTP from many addresses, then idle', async (t) => {
  let now = 5_000_000;
  const rates = createRateLimits({ address: { perSecond: 10, burst: 20 }, key: { perSecond: 10, burst: 20 } }, () => now);
  const h = await startHarness({ rates, limits: { ...slow, trustedProxies: trustedProxies([]) } });
  try {
    for (let i = 1; i <= 6; i++) t.is((await send(h.url, { method: 'GET', path: '/chain', localAddress: `127.0.0.${i}` })).status, 200);
    t.is(rates.address.size, 6);
    now += 2000;
    t.is((await send(h.url, { method: 'GET', path: '/chain', localAddress: '127.0.0.7' })).status, 200);
    t.is(rates.address.size, 1, 'the six idle addresses were dropped');
  } finally {
    await h.close();
  }
});

test.serial('tus creation and PATCH count against the creation key (a node configured from WOLK_RATE_KEY_*); HEAD does not', async (t) => {
  t.timeout(60_000);
  const rnd = randomFor(t);
  const alice = keyFromSeed(rnd.bytes(32));
  const consensus = await startFakeConsensus();
  const storers = await Promise.all([1, 2, 3].map(() => startFakeStorer()));
  const gateway = await startInProcess('gateway', createGatewayNode, {
    WOLK_HTTP_LISTEN: '127.0.0.1:0',
    WOLK_CONSENSUS: consensus.endpoint,
    WOLK_STORERS: storers.map((s) => s.endpoint).join(','),
    WOLK_REPLICATION: '3',
    WOLK_RATE_KEY_PER_SECOND: '0.05',
    WOLK_RATE_KEY_BURST: '3',
  });
  try {
    const url = gateway.endpoints['http']!;
    const client = new WolkClient(url, alice);
    await client.claim('alice'); // 1
    const bytes = rnd.bytes(10_000);
    const d = hashFile(bytes, 4096);
    const path = '/wolk/alice/c/f.bin';
    const stx = signTransaction(setKeyTransaction({ owner: 'alice', collection: 'c', key: 'f.bin', file: { filehash: Buffer.from(d.filehash), size: BigInt(d.size), chunkSize: 4096 }, contentType: '' }, alice.publicKey, await client.nonce(), (await client.chain()).chainId), alice);
    const created = await fetch(`${url}${path}`, { method: 'POST', headers: creationHeaders(path, stx, bytes.length, alice) }); // 2
    t.is(created.status, 201, await created.clone().text());
    const upload = new URL(created.headers.get('location')!, url);
    const patch = (from: number, to: number) =>
      fetch(upload, { method: 'PATCH', headers: { 'tus-resumable': TUS_VERSION, 'upload-offset': String(from), 'content-type': 'application/offset+octet-stream' }, body: bytes.subarray(from, to) });
    const first = await patch(0, 5000); // 3
    t.is(first.status, 204, await first.text());
    const second = await patch(5000, bytes.length);
    t.is(second.status, 429, await second.clone().text());
    const p = (await second.json()) as Record<string, unknown>;
    t.is(p['limit'], 'key');
    t.true(Number(second.headers.get('retry-after')) > 0);
    const head = await fetch(upload, { method: 'HEAD', headers: { 'tus-resumable': TUS_VERSION } });
    t.is(head.status, 200, 'HEAD is a read: not charged to the key');
    t.is(head.headers.get('upload-offset'), '5000', 'the refused PATCH wrote nothing');
  } finally {
    await gateway.close();
    await Promise.all(storers.map((s) => s.close()));
    await consensus.close();
  }
});

test('limit options: documented defaults, read from WOLK_*, a bad value names the variable and what was expected', (t) => {
  const d = readOptions({}).http;
  t.deepEqual(d.rateAddress, { perSecond: 200, burst: 1000 });
  t.deepEqual(d.rateKey, { perSecond: 10, burst: 100 });
  t.is(d.headersTimeoutMs, 20_000);
  t.is(d.keepAliveTimeoutMs, 5000);
  t.is(d.writeStallTimeoutMs, 30_000);
  t.is(d.trustedProxies.size, 0);
  const o = readOptions({ WOLK_RATE_KEY_PER_SECOND: '0.5', WOLK_RATE_ADDRESS_PER_SECOND: '0', WOLK_TRUSTED_PROXIES: '127.0.0.6, 10.8.0.0/16,fd00::/8', WOLK_HEADERS_TIMEOUT_MS: '5000' }).http;
  t.is(o.rateKey.perSecond, 0.5);
  t.is(o.rateAddress.perSecond, 0, '0 turns the limit off');
  t.true(o.trustedProxies.has('10.8.200.1') && o.trustedProxies.has('127.0.0.6') && o.trustedProxies.has('fd00::1'));
  t.false(o.trustedProxies.has('10.9.0.1'));
  t.is(o.headersTimeoutMs, 5000);
  t.throws(() => readOptions({ WOLK_TRUSTED_PROXIES: 'ingress.local' }), { message: /WOLK_TRUSTED_PROXIES.*expected comma-separated IP addresses or CIDR ranges.*got "ingress.local"/ });
  t.throws(() => readOptions({ WOLK_TRUSTED_PROXIES: '10.0.0.0/33' }), { message: /WOLK_TRUSTED_PROXIES/ });
  t.throws(() => readOptions({ WOLK_RATE_KEY_PER_SECOND: 'fast' }), { message: /WOLK_RATE_KEY_PER_SECOND.*expected a number from 0 to 1000000 \(like 10 or 0\.5\), got "fast"/ });
  t.throws(() => readOptions({ WOLK_RATE_ADDRESS_BURST: '0' }), { message: /WOLK_RATE_ADDRESS_BURST/ });

  // A limit off admits everything and keeps no buckets.
  const off = createRequestLimit('address', { perSecond: 0, burst: 1 }, () => 0);
  for (let i = 0; i < 100; i++) off.take('203.0.113.1');
  t.is(off.size, 0);
});

test("wolk s3 answers the gateway's 429 as S3's SlowDown (503), which SDKs retry with backoff", (t) => {
  const refused = new WolkHttpError(429, { title: 'Too Many Requests', detail: 'the signing key 0123456789abcdef… made more than 100 signed writes at once or more than 10 a second, the most this gateway allows one key; retry after 1 s' });
  const e = s3ErrorOf(refused, 'storing b/k');
  t.is(e.code, 'SlowDown');
  t.is(e.status, 503);
  t.regex(e.message, /^storing b\/k: the gateway answered 429 Too Many Requests: the signing key .* retry after 1 s$/);
});
