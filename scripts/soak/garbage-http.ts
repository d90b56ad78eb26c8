// Garbage for the gateway's HTTP front (issue #20.5): random methods, paths (valid and broken names,
// percent-encoding, dot segments, very long), queries, headers (Range, Content-Digest, RFC 9421
// signatures both random and validly signed by a stranger's key, Wolk-Transaction, Content-Type,
// broken Content-Length) and bodies, written on a raw socket so nothing is normalised on the way.
// Each answer must be an HTTP response; every error (>= 400) must be application/problem+json whose
// `type` is one docs/http-api.md documents (or RFC 9457's about:blank) and whose `status` is the HTTP one.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { signWolkRequest } from '../../lib/client/signing.js';
import { keyFromSeed } from '../../lib/client/keys.js';
import type { Prng } from '../../test/sim/prng.js';

export interface HttpOutcome {
  readonly request: string;
  readonly status: number | null;
  readonly type: string | null;
  /** Why the answer breaks the contract, or null. */
  readonly problem: string | null;
}

/** The problem types docs/http-api.md documents, plus RFC 9457's default. */
export function documentedProblemTypes(root: string): Set<string> {
  const text = readFileSync(join(root, 'docs/http-api.md'), 'utf8');
  return new Set(['about:blank', ...(text.match(/\/problems\/[a-z0-9-]+/g) ?? [])]);
}

const pickOf = <T>(prng: Prng, xs: readonly T[]): T => xs[prng.next() % xs.length]!;

function randomText(prng: Prng, max: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-._~%/:@!$&\'()*+,;=?#[] \t"<>\\^`{|}\u00e9\u6f22';
  let s = '';
  const n = prng.next() % max;
  for (let i = 0; i < n; i++) s += alphabet[prng.next() % alphabet.length];
  return s;
}

function randomSegment(prng: Prng): string {
  return pickOf(prng, ['alice', 'soak0', 'files', 'a', '-bad-', 'UPPER', '.', '..', '%2E%2E', '%00', '%zz', '%E2%82', 'x'.repeat(64), randomText(prng, 20), encodeURIComponent(randomText(prng, 12))]);
}

function randomPath(prng: Prng): string {
  switch (prng.next() % 9) {
    case 0:
      return pickOf(prng, ['/healthz', '/status', '/chain', '/', '*', '/wolk', '/wolk/', '/status/uploads/', '/accounts/']);
    case 1:
      return `/accounts/${pickOf(prng, ['00'.repeat(32), 'zz', randomText(prng, 70)])}`;
    case 2:
      return `/status/uploads/${randomText(prng, 40)}`;
    case 3:
      return `/wolk/${'k/'.repeat(1 + (prng.next() % 3000))}`;
    case 4:
      return `/${randomText(prng, 50)}`;
    default: {
      const n = 1 + (prng.next() % 4);
      return '/wolk/' + Array.from({ length: n }, () => randomSegment(prng)).join('/') + (prng.next() % 3 === 0 ? '/' : '');
    }
  }
}

const QUERIES = ['', '', '?proof', '?settings', '?list', '?prefix=a&limit=3', '?limit=-1', '?page=%zz', `?${'a'.repeat(200)}`];
const METHODS = ['GET', 'GET', 'HEAD', 'PUT', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH', 'get', 'BREW', 'CONNECT'];

/** One request's bytes. */
function randomRequest(prng: Prng, host: string): { raw: Buffer; line: string; head: boolean; readOnly: boolean } {
  const method = pickOf(prng, METHODS);
  const path = randomPath(prng) + pickOf(prng, QUERIES);
  const bodyLen = method === 'PUT' || method === 'POST' ? pickOf(prng, [0, 1, 100, 5000, prng.next() % 70_000]) : prng.next() % 8 === 0 ? 10 : 0;
  const body = Buffer.from(Array.from({ length: bodyLen }, () => prng.next() & 0xff));
  const headers: [string, string][] = [['host', host], ['connection', 'close']];
  const add = (name: string, value: string) => headers.push([name, value]);
  if (prng.next() % 3 === 0) add('range', pickOf(prng, ['bytes=0-0', 'bytes=-1', 'bytes=5-3', 'bytes=99999999999999999999-', 'bytes=0-1,4-5', 'items=0-1', randomText(prng, 30)]));
  if (prng.next() % 3 === 0) add('content-digest', pickOf(prng, [`sha-256=:${createHash('sha256').update(body).digest('base64')}:`, 'sha-256=:AAAA:', 'md5=:AAAA:', randomText(prng, 40)]));
  if (prng.next() % 3 === 0) add('signature-input', pickOf(prng, ['wolk=("@method" "@path" "content-digest");created=1;keyid="aa";alg="ed25519";nonce="x"', randomText(prng, 80)]));
  if (prng.next() % 3 === 0) add('signature', pickOf(prng, ['wolk=:AAAA:', randomText(prng, 80)]));
  if (prng.next() % 4 === 0) add('wolk-transaction', pickOf(prng, [Buffer.from(Array.from({ length: prng.next() % 300 }, () => prng.next() & 0xff)).toString('base64'), '!!!', '']));
  if (prng.next() % 4 === 0) add('content-type', pickOf(prng, ['application/octet-stream', 'application/x-protobuf', 'text/plain', randomText(prng, 30)]));
  if (prng.next() % 6 === 0) add('prefer', 'respond-async');
  if (prng.next() % 8 === 0) add('if-none-match', `"${randomText(prng, 70)}"`);
  if (prng.next() % 10 === 0) add('x-big', 'x'.repeat(prng.next() % 120_000));
  // A stranger's valid signature over this very request: gets past the signature check to ownership.
  if ((method === 'PUT' || method === 'POST') && prng.next() % 3 === 0) {
    const key = keyFromSeed(new Uint8Array(Array.from({ length: 32 }, () => prng.next() & 0xff)));
    const signed = signWolkRequest({ method, path: path.split('?')[0]!, bodySha256: createHash('sha256').update(body).digest(), key });
    for (const [k, v] of Object.entries(signed)) add(k, v);
  }
  const lengthHeader = prng.next() % 12 === 0 ? pickOf(prng, ['abc', '-1', String(bodyLen + 0.5), '99999999999999999999']) : String(bodyLen);
  if (bodyLen > 0 || method === 'PUT' || method === 'POST') add('content-length', lengthHeader);
  const head = `${method} ${path} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  const bare = path.split('?')[0]!;
  const readOnly = method !== 'GET' && method !== 'HEAD' && (bare === '/chain' || bare === '/healthz' || bare === '/status' || bare.startsWith('/accounts/') || bare.startsWith('/status/uploads/'));
  return { raw: Buffer.concat([Buffer.from(head, 'latin1'), lengthHeader === String(bodyLen) ? body : Buffer.alloc(0)]), line: `${method} ${path.length > 120 ? path.slice(0, 120) + '…' : path}`, head: method === 'HEAD', readOnly };
}

function dechunk(b: Buffer): Buffer {
  const parts: Buffer[] = [];
  let o = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', o);
    if (eol < 0) break;
    const n = parseInt(b.subarray(o, eol).toString('latin1'), 16);
    if (!Number.isFinite(n) || n === 0) break;
    parts.push(b.subarray(eol + 2, eol + 2 + n));
    o = eol + 2 + n + 2;
  }
  return Buffer.concat(parts);
}

/** Sends raw bytes and reads the whole answer (the request says connection: close). */
function exchange(port: number, raw: Buffer, timeoutMs: number): Promise<Buffer | null> {
  return new Promise((res) => {
    const chunks: Buffer[] = [];
    const s = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      s.destroy();
      res(chunks.length ? Buffer.concat(chunks) : null);
    }, timeoutMs);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      res(chunks.length ? Buffer.concat(chunks) : null);
    });
    // Not end(): a client that half-closes after its request has its pending answers dropped by
    // Node's server (httpAllowHalfOpen is off); real clients keep the connection open and so do we.
    s.write(raw);
  });
}

export function judge(answer: Buffer | null, head: boolean, documented: ReadonlySet<string>): Omit<HttpOutcome, 'request'> {
  if (answer === null) return { status: null, type: null, problem: 'no answer (connection closed or timed out without a response)' };
  const end = answer.indexOf('\r\n\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(answer.subarray(0, 20).toString('latin1'));
  if (!m || end < 0) return { status: null, type: null, problem: `not an HTTP response: ${JSON.stringify(answer.subarray(0, 60).toString('latin1'))}` };
  const status = Number(m[1]);
  if (status < 400) return { status, type: null, problem: null };
  const headerText = answer.subarray(0, end).toString('latin1').toLowerCase();
  if (!/\r\ncontent-type: application\/problem\+json/.test(headerText)) return { status, type: null, problem: `${status} is not application/problem+json` };
  if (head) return { status, type: null, problem: null };
  let body = answer.subarray(end + 4);
  if (/\r\ntransfer-encoding: chunked/.test(headerText)) body = dechunk(body);
  try {
    const j = JSON.parse(body.toString('utf8')) as { type?: unknown; status?: unknown };
    const type = typeof j.type === 'string' ? j.type : null;
    if (type === null || !documented.has(type)) return { status, type, problem: `problem type ${JSON.stringify(j.type)} is not documented in docs/http-api.md` };
    if (j.status !== status) return { status, type, problem: `problem status ${String(j.status)} differs from the HTTP status ${status}` };
    if (status === 500) return { status, type, problem: '500: an error the gateway did not expect' };
    return { status, type, problem: null };
  } catch {
    return { status, type: null, problem: `${status} body is not JSON` };
  }
}

/** `count` random requests to the gateway at `baseUrl`, `concurrency` at a time. */
export async function fuzzHttp(o: { readonly baseUrl: string; readonly prng: Prng; readonly count: number; readonly documented: ReadonlySet<string>; readonly timeoutMs: number; readonly concurrency?: number }): Promise<HttpOutcome[]> {
  const url = new URL(o.baseUrl);
  const port = Number(url.port);
  const requests = Array.from({ length: o.count }, () => randomRequest(o.prng, url.host));
  const out: HttpOutcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: o.concurrency ?? 4 }, async () => {
      while (next < requests.length) {
        const r = requests[next++]!;
        const answer = await exchange(port, r.raw, o.timeoutMs);
        const verdict = judge(answer, r.head, o.documented);
        // A wrong acceptance: a read-only route answering 2xx to a method that would change something.
        const wrong = r.readOnly && verdict.status !== null && verdict.status < 300 ? `a read-only route answered ${verdict.status} to ${r.line.split(' ')[0]}` : null;
        out.push({ request: r.line, ...verdict, problem: verdict.problem ?? wrong });
      }
    }),
  );
  return out;
}
