// Property tests over what the gateway parses from HTTP requests (issue #20.5): RFC 9530
// Content-Digest, RFC 9421 signatures (lib/http/signatures.ts), Range headers (lib/http/range.ts),
// /wolk/... paths (services/gateway/request.ts) and the names and keys of lib/chain/state-keys.ts.
// Arbitrary input raises only the documented error (SignatureError, HttpProblem) or returns the
// documented "ignore" value; round trips are the identity; a signed request with any single
// character changed in its method, path or signature headers is refused.
import test from 'ava';
import fc from 'fast-check';
import { contentDigestOf, ed25519PublicKey, formatContentDigest, parseContentDigest, SignatureError, verifyRequest, WOLK_COVERED, type SignableRequest } from '../../../lib/http/signatures.js';
import { parseRange } from '../../../lib/http/range.js';
import { signWolkRequest } from '../../../lib/client/signing.js';
import { gatewayPath } from '../../../lib/client/uri.js';
import { COLLECTION_RE, isValidKey, NAME_RE, pathStateKey } from '../../../lib/chain/state-keys.js';
import { parseWolkPath } from '../../../services/gateway/request.js';
import { HttpProblem } from '../../../services/gateway/problems.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { anyString, check } from './fuzz.js';

logSeedOnFailure(test);
const random = testRandom('fuzz/http');

const onlySignatureError = (f: () => unknown): boolean => {
  try {
    f();
    return true;
  } catch (err) {
    if (err instanceof SignatureError) return true;
    throw err;
  }
};

/** Structured-field-looking strings: more likely to get past the parser than uniform noise. */
const sfString = fc.oneof(
  anyString,
  fc.string({ unit: fc.constantFrom(...'wolk=()";:, sha-256=:AAAA:createdkeyidnoncealg=ed25519@methodpath0123456789abcdef*?'.split('')), maxLength: 120 }),
);

test('Content-Digest: arbitrary fields give a 32-byte digest, null or a SignatureError; format -> parse is the identity', (t) => {
  check('digest-garbage', fc.property(sfString, (field) =>
    onlySignatureError(() => {
      const d = parseContentDigest(field);
      if (d !== null && d.length !== 32) throw new Error(`digest of ${d.length} bytes`);
    }),
  ), 3000);
  check('digest-roundtrip', fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (sha) => Buffer.from(parseContentDigest(formatContentDigest(sha))!).equals(Buffer.from(sha))), 300);
  t.pass();
});

const secretKey = new Uint8Array(random.bytes(32));
const client = { secretKey, publicKey: ed25519PublicKey(secretKey) };
const NOW = 1_800_000_000;
const policy = { required: WOLK_COVERED, now: NOW, windowSeconds: 300 };

const requestOf = (method: string, path: string, headers: Record<string, string | undefined>): SignableRequest => ({ method, path, header: (n) => headers[n] });

test('verifyRequest throws nothing but SignatureError on arbitrary signature headers', (t) => {
  check('signature-garbage', fc.property(fc.constantFrom('PUT', 'GET', 'put', ''), anyString, fc.option(sfString, { nil: undefined }), fc.option(sfString, { nil: undefined }), fc.option(sfString, { nil: undefined }), (method, path, input, sig, digest) =>
    onlySignatureError(() => verifyRequest(requestOf(method, path, { 'signature-input': input, signature: sig, 'content-digest': digest }), policy)),
  ), 3000);
  t.pass();
});

const mutateChar = (s: string, index: number, flip: number): string => {
  const i = index % s.length;
  return s.slice(0, i) + String.fromCharCode((s.charCodeAt(i) ^ flip) & 0xffff || 1) + s.slice(i + 1);
};

test('a signed request with one character changed in its method, path, Content-Digest, Signature-Input or Signature is refused', (t) => {
  const body = Buffer.from('hello');
  const path = '/wolk/alice/photos/cat.jpg';
  const signed = signWolkRequest({ method: 'PUT', path, bodySha256: sha256Of(body), key: client, created: NOW, nonce: 'nonce-0123456789abcdef' });
  const headers = { 'content-digest': signed['content-digest'], 'signature-input': signed['signature-input'], signature: signed.signature };
  const ok = verifyRequest(requestOf('PUT', path, headers), policy);
  t.is(ok.keyid, Buffer.from(client.publicKey).toString('hex'));
  check('signature-mutation', fc.property(fc.constantFrom('method', 'path', 'content-digest', 'signature-input', 'signature'), fc.nat(), fc.integer({ min: 1, max: 0x7f }), (part, index, flip) => {
    let method = 'PUT';
    let p = path;
    const h: Record<string, string> = { ...headers };
    if (part === 'method') method = mutateChar(method, index, flip);
    else if (part === 'path') p = mutateChar(p, index, flip);
    else h[part] = mutateChar(h[part]!, index, flip);
    try {
      const v = verifyRequest(requestOf(method, p, h), policy);
      // Accepted only when nothing the signature covers changed: the same request, key, nonce and time
      // (a change the structured-field parser normalises away, such as optional whitespace).
      return method === 'PUT' && p === path && h['content-digest']!.trim() === headers['content-digest'] && v.keyid === ok.keyid && v.nonce === ok.nonce && v.created === ok.created && h['signature'] !== undefined && parseContentDigest(h['content-digest']!) !== null;
    } catch (err) {
      if (err instanceof SignatureError) return true;
      throw err;
    }
  }), 3000);
});

function sha256Of(b: Uint8Array): Uint8Array {
  return parseContentDigest(contentDigestOf(b))!;
}

test('Range: arbitrary headers and sizes never throw and give a range inside the representation', (t) => {
  const rangeHeader = fc.oneof(
    anyString,
    fc.tuple(fc.oneof(fc.constant(''), fc.bigInt({ min: 0n, max: 1n << 70n }).map(String)), fc.oneof(fc.constant(''), fc.bigInt({ min: 0n, max: 1n << 70n }).map(String)), fc.constantFrom('bytes=', 'BYTES =', ' bytes=', 'bits=')).map(([a, b, unit]) => `${unit}${a}-${b}`),
  );
  check('range', fc.property(fc.option(rangeHeader, { nil: undefined }), fc.oneof(fc.nat(100), fc.nat(Number.MAX_SAFE_INTEGER)), (header, size) => {
    const r = parseRange(header, size);
    if (r.kind === 'range') return Number.isSafeInteger(r.start) && Number.isSafeInteger(r.end) && r.start >= 0 && r.start <= r.end && r.end <= size - 1;
    return r.kind === 'none' || r.kind === 'unsatisfiable';
  }), 3000);
  // Found by range-model below: an invalid range-spec (last < first) whose first byte is past the end
  // was answered 416; RFC 9110 §14.2 says an invalid Range is ignored (the whole file, 200).
  t.deepEqual(parseRange('bytes=5-3', 2), { kind: 'none' });
  // The forms a player sends, against the model of RFC 9110 §14.1.2.
  check('range-model', fc.property(fc.nat(5000), fc.nat(5000), fc.integer({ min: 1, max: 5000 }), (a, b, size) => {
    const r = parseRange(`bytes=${a}-${b}`, size);
    if (b < a) return r.kind === 'none';
    if (a >= size) return r.kind === 'unsatisfiable';
    return r.kind === 'range' && r.start === a && r.end === Math.min(b, size - 1);
  }), 1000);
  t.pass();
});

const ownerArb = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?$/);
const collectionArb = fc.stringMatching(/^[a-z0-9._-]{1,20}$/);
const keyArb = fc.string({ minLength: 1, maxLength: 60 }).filter((k) => isValidKey(k) && !k.split('/').some((s) => s === ''));

test('paths: parseWolkPath answers any path with a WolkPath or an HttpProblem (400), and reads back what gatewayPath built', (t) => {
  check('path-garbage', fc.property(anyString, (s) => {
    try {
      const p = parseWolkPath('/wolk/' + s);
      return NAME_RE.test(p.owner) && (p.collection === undefined || COLLECTION_RE.test(p.collection)) && (p.key === undefined || isValidKey(p.key));
    } catch (err) {
      if (err instanceof HttpProblem && err.problem.status === 400) return true;
      throw err;
    }
  }), 3000);
  check('path-roundtrip', fc.property(ownerArb, collectionArb, keyArb, (owner, collection, k) => {
    const p = parseWolkPath(gatewayPath({ owner, collection, key: k }));
    return p.owner === owner && p.collection === collection && p.key === k && !p.listing;
  }), 1000);
  t.pass();
});

test('names and keys: the validators never throw and agree with their documented byte rules; state keys are 32 bytes', (t) => {
  check('names', fc.property(anyString, anyString, anyString, (owner, collection, k) => {
    const n = NAME_RE.test(owner);
    if (n && (owner.length < 1 || owner.length > 63 || /[^a-z0-9-]/.test(owner) || owner.startsWith('-') || owner.endsWith('-'))) return false;
    const c = COLLECTION_RE.test(collection);
    if (c && (collection.length < 1 || collection.length > 63 || /[^a-z0-9._-]/.test(collection))) return false;
    const kv = isValidKey(k);
    if (kv !== (Buffer.byteLength(k) >= 1 && Buffer.byteLength(k) <= 1024 && !k.includes('\0'))) return false;
    return pathStateKey(owner, collection, k).length === 32;
  }), 3000);
  t.pass();
});
