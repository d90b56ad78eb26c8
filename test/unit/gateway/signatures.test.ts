// RFC 9421 signatures and RFC 9530 digests as the gateway verifies them: the RFC's own Ed25519
// example (Appendix B.2.6), Wolk's profile round trip, and each way a request can fail.
import test from 'ava';
import { createHash } from 'node:crypto';
import {
  SignatureError,
  contentDigestOf,
  ed25519PublicKey,
  ed25519SignRaw,
  formatContentDigest,
  parseContentDigest,
  signatureBase,
  verifyBase,
  verifyRequest,
  WOLK_COVERED,
  type SignableRequest,
} from '../../../lib/http/signatures.js';
import { parseDictionary, isInnerList } from '../../../lib/http/structured.js';
import { signWolkRequest } from '../../../lib/client/signing.js';

// RFC 9421 Appendix B.1.4 "test-key-ed25519" (JWK d and x, base64url) and the Appendix B.2.6
// example: signature base, Signature-Input and Signature, as published in the RFC.
const B14_D = 'n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU';
const B14_X = 'JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs';
const B26_INPUT = 'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"';
const B26_SIGNATURE = 'wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==';
const B26_BASE = [
  '"date": Tue, 20 Apr 2021 02:07:55 GMT',
  '"@method": POST',
  '"@path": /foo',
  '"@authority": example.com',
  '"content-type": application/json',
  '"content-length": 18',
  '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
].join('\n');

const b26Request: SignableRequest = {
  method: 'POST',
  path: '/foo',
  authority: 'example.com',
  header: (n) => ({ date: 'Tue, 20 Apr 2021 02:07:55 GMT', 'content-type': 'application/json', 'content-length': '18' })[n],
};

test('RFC 9421 B.2.6: our signature base is byte-identical to the RFC and its Ed25519 signature verifies', (t) => {
  const list = parseDictionary(B26_INPUT).get('sig-b26')!;
  t.true(isInnerList(list));
  if (!isInnerList(list)) return;
  t.is(signatureBase(b26Request, list), B26_BASE);
  const publicKey = new Uint8Array(Buffer.from(B14_X, 'base64url'));
  t.deepEqual(ed25519PublicKey(new Uint8Array(Buffer.from(B14_D, 'base64url'))), publicKey);
  t.true(verifyBase(publicKey, B26_BASE, new Uint8Array(Buffer.from(B26_SIGNATURE, 'base64'))));
  // Ed25519 is deterministic: signing the base with the RFC's key gives the RFC's signature.
  const sig = ed25519SignRaw(new Uint8Array(Buffer.from(B14_D, 'base64url')), new TextEncoder().encode(B26_BASE));
  t.is(Buffer.from(sig).toString('base64'), B26_SIGNATURE);
  // One changed byte in the base fails.
  t.false(verifyBase(publicKey, B26_BASE.replace('/foo', '/fop'), sig));
});

test('RFC 9530: Content-Digest of {"hello": "world"} is sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:', (t) => {
  // RFC 9530 §2 example body (no trailing newline) and value.
  t.is(contentDigestOf(new TextEncoder().encode('{"hello": "world"}')), 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:');
  const d = parseContentDigest('sha-512=:AAAA:, sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:');
  t.is(Buffer.from(d!).toString('base64'), 'X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=');
  t.is(parseContentDigest('sha-512=:AAAA:'), null);
  t.throws(() => parseContentDigest('sha-256=:AAAA:'), { instanceOf: SignatureError });
  t.throws(() => parseContentDigest('sha-256=X48E'), { instanceOf: SignatureError });
});

const seed = new Uint8Array(32).fill(7);
const key = { secretKey: seed, publicKey: ed25519PublicKey(seed) };
const body = new TextEncoder().encode('hello wolk');
const NOW = 1_700_000_000;

function asRequest(method: string, path: string, headers: Record<string, string>): SignableRequest {
  return { method, path, header: (n) => headers[n] };
}

function signed(overrides: Partial<Parameters<typeof signWolkRequest>[0]> = {}) {
  return signWolkRequest({
    method: 'PUT',
    path: '/wolk/alice/photos/cat.jpg',
    bodySha256: createHash('sha256').update(body).digest(),
    key,
    created: NOW,
    nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
    ...overrides,
  });
}

const policy = { required: WOLK_COVERED, now: NOW, windowSeconds: 300 };

test('a request signed by the SDK verifies and names its signer, nonce and time', (t) => {
  const h = signed();
  t.regex(h['signature-input'], /^wolk=\("@method" "@path" "content-digest"\);created=1700000000;nonce="AAAAAAAAAAAAAAAAAAAAAA";keyid="[0-9a-f]{64}";alg="ed25519"$/);
  const v = verifyRequest(asRequest('PUT', '/wolk/alice/photos/cat.jpg', { ...h }), policy);
  t.deepEqual(v.publicKey, key.publicKey);
  t.is(v.nonce, 'AAAAAAAAAAAAAAAAAAAAAA');
  t.is(v.created, NOW);
  t.is(h['content-digest'], formatContentDigest(createHash('sha256').update(body).digest()));
});

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof SignatureError ? err.code : `other: ${(err as Error).message}`;
  }
}

test('each tampering is refused with its reason', (t) => {
  const h = signed();
  const v = (method: string, path: string, headers: Record<string, string>, p = policy) => code(() => verifyRequest(asRequest(method, path, headers), p));
  t.is(v('PUT', '/wolk/alice/photos/cat.jpg', {}), 'missing');
  t.is(v('PUT', '/wolk/alice/photos/dog.jpg', { ...h }), 'bad-signature', 'another path');
  t.is(v('POST', '/wolk/alice/photos/cat.jpg', { ...h }), 'bad-signature', 'another method');
  t.is(v('PUT', '/wolk/alice/photos/cat.jpg', { ...h, 'content-digest': contentDigestOf(new Uint8Array(3)) }), 'bad-signature', 'another body digest');
  t.is(v('PUT', '/wolk/alice/photos/cat.jpg', { ...h }, { ...policy, now: NOW + 301 }), 'expired', 'too old');
  t.is(v('PUT', '/wolk/alice/photos/cat.jpg', { ...h }, { ...policy, now: NOW - 301 }), 'expired', 'from the future');
  t.is(v('PUT', '/wolk/alice/photos/cat.jpg', { ...h, signature: h.signature.replace(/[A-Z]/, 'x') }), 'bad-signature');
  t.is(v('PUT', '/wolk/alice/photos/cat.jpg', { ...h, signature: 'garbage' }), 'malformed');
  t.is(v('PUT', '/wolk/alice/photos/cat.jpg', { ...h, 'signature-input': h['signature-input'].replace('"ed25519"', '"rsa-pss-sha512"') }), 'unsupported');
  t.is(v('PUT', '/wolk/alice/photos/cat.jpg', { ...h, 'signature-input': h['signature-input'].replace(' "content-digest"', '') }), 'malformed', 'digest not covered');
  // Another key claiming the same keyid cannot sign for it.
  const other = new Uint8Array(32).fill(9);
  const forged = signWolkRequest({ method: 'PUT', path: '/wolk/alice/photos/cat.jpg', bodySha256: createHash('sha256').update(body).digest(), key: { secretKey: other, publicKey: key.publicKey }, created: NOW });
  t.is(v('PUT', '/wolk/alice/photos/cat.jpg', { ...forged }), 'bad-signature');
});
