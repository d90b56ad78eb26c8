import test from 'ava';
import { ed25519, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { CryptoError } from '../../../lib/crypto/errors.js';
import { fromHex, sha256, toHex } from '../../../lib/crypto/hash.js';
import {
  SIGNATURE_LENGTH,
  SignDomain,
  generateSignKey,
  sign,
  signKeyFromSeed,
  signedBytes,
  verifySignature,
} from '../../../lib/crypto/sign.js';

const enc = (s: string) => new TextEncoder().encode(s);

function seededRandom(label: string): (n: number) => Uint8Array {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let off = 0; off < n; off += 32) out.set(sha256(enc(`${label}/${counter++}`)).subarray(0, Math.min(32, n - off)), off);
    return out;
  };
}

test('keys from a seed are the RFC 8032 keys (§7.1 TEST 1) and the ones noble derives', (t) => {
  const seed = fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
  const kp = signKeyFromSeed(seed);
  t.is(toHex(kp.publicKey), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
  t.deepEqual(kp.secretKey, seed);
  const random = seededRandom('sign-keys');
  for (let i = 0; i < 16; i++) {
    const s = random(32);
    t.deepEqual(signKeyFromSeed(s).publicKey, ed25519.getPublicKey(s));
  }
});

test('the signed bytes are len(domain) ‖ domain ‖ message', (t) => {
  const bytes = signedBytes(SignDomain.Vote, Uint8Array.of(1, 2));
  t.deepEqual(bytes, Uint8Array.of(12, ...enc('wolk/vote/v1'), 1, 2));
});

test('Node-signed signatures verify under noble over the prefixed bytes, and noble-signed ones verify here', (t) => {
  const random = seededRandom('sign-cross');
  for (let i = 0; i < 16; i++) {
    const { secretKey, publicKey } = generateSignKey(random);
    const message = random(i * 13);
    const domain = Object.values(SignDomain)[i % Object.values(SignDomain).length]!;
    const sig = sign(domain, secretKey, message);
    t.is(sig.length, SIGNATURE_LENGTH);
    // Ed25519 is deterministic: both libraries produce the same signature.
    const nobleSig = ed25519.sign(signedBytes(domain, message), secretKey);
    t.deepEqual(sig, nobleSig);
    t.true(ed25519.verify(sig, signedBytes(domain, message), publicKey, { zip215: false }));
    t.true(verifySignature(domain, publicKey, message, nobleSig));
  }
});

test('a signature in one domain never verifies in another, nor for another message or key', (t) => {
  const { secretKey, publicKey } = signKeyFromSeed(new Uint8Array(32).fill(1));
  const other = signKeyFromSeed(new Uint8Array(32).fill(2));
  const message = enc('set key wolk://alice/photos/cat.jpg');
  const domains = Object.values(SignDomain);
  for (const d of domains) {
    const sig = sign(d, secretKey, message);
    for (const e of domains) t.is(verifySignature(e, publicKey, message, sig), d === e, `${d} signature checked as ${e}`);
    t.false(verifySignature(d, publicKey, enc('set key wolk://alice/photos/dog.jpg'), sig));
    t.false(verifySignature(d, other.publicKey, message, sig));
  }
  // The length prefix keeps a domain from absorbing the start of a message.
  const sig = sign('wolk/a', secretKey, enc('bc'));
  t.false(verifySignature('wolk/ab', publicKey, enc('c'), sig));
});

test('every flipped bit of the signature fails', (t) => {
  const { secretKey, publicKey } = signKeyFromSeed(new Uint8Array(32).fill(3));
  const message = enc('vote round 7');
  const sig = sign(SignDomain.Vote, secretKey, message);
  t.true(verifySignature(SignDomain.Vote, publicKey, message, sig));
  for (let bit = 0; bit < 512; bit++) {
    const bad = sig.slice();
    bad[bit >> 3]! ^= 1 << (bit & 7);
    t.false(verifySignature(SignDomain.Vote, publicKey, message, bad));
  }
});

test('malleated S (S + L) is rejected', (t) => {
  const { secretKey, publicKey } = signKeyFromSeed(new Uint8Array(32).fill(4));
  const message = enc('m');
  const sig = sign(SignDomain.Tx, secretKey, message);
  const L = ed25519.Point.Fn.ORDER;
  let s = 0n;
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!);
  const bad = sig.slice();
  let v = s + L;
  for (let i = 0; i < 32; i++, v >>= 8n) bad[32 + i] = Number(v & 0xffn);
  t.false(verifySignature(SignDomain.Tx, publicKey, message, bad));
});

test('small-order public keys are refused, including the "signature" that works for any message under them', (t) => {
  // With A of small order and R = identity, S = 0 satisfies [S]B = R + [k]A whenever [k]A = 0,
  // i.e. for a large fraction of messages. Such keys have no secret behind them.
  const identity = fromHex('0100000000000000000000000000000000000000000000000000000000000000');
  const forged = new Uint8Array(64);
  forged.set(identity, 0);
  for (const hex of ED25519_TORSION_SUBGROUP) {
    const A = fromHex(hex);
    for (let i = 0; i < 8; i++) t.false(verifySignature(SignDomain.Tx, A, enc(`msg ${i}`), forged));
  }
});

test('verifySignature never throws on bad input; sign throws typed errors', (t) => {
  const { secretKey, publicKey } = signKeyFromSeed(new Uint8Array(32).fill(5));
  const sig = sign(SignDomain.Http, secretKey, enc('x'));
  const call = verifySignature as unknown as (...args: unknown[]) => boolean;
  const junk: unknown[] = [undefined, null, 7, 'str', {}, new Uint8Array(31), new Uint8Array(65)];
  for (const j of junk) {
    t.false(call(j, publicKey, enc('x'), sig));
    t.false(call(SignDomain.Http, j, enc('x'), sig));
    t.false(call(SignDomain.Http, publicKey, j, sig));
    t.false(call(SignDomain.Http, publicKey, enc('x'), j));
  }
  t.false(verifySignature(SignDomain.Http, new Uint8Array(32).fill(0xff), enc('x'), sig)); // not a point
  t.false(verifySignature('', publicKey, enc('x'), sig));
  t.throws(() => sign(SignDomain.Tx, new Uint8Array(31), enc('x')), { instanceOf: CryptoError, message: /32 bytes/ });
  t.throws(() => sign('', secretKey, enc('x')), { instanceOf: CryptoError });
  t.throws(() => sign('d'.repeat(256), secretKey, enc('x')), { instanceOf: CryptoError });
  t.throws(() => signKeyFromSeed(new Uint8Array(16)), { instanceOf: CryptoError });
});
