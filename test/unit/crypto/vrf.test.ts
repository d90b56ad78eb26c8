import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { ed25519, ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { CryptoError } from '../../../lib/crypto/errors.js';
import { fromHex, sha256, sha512, toHex } from '../../../lib/crypto/hash.js';
import {
  VRF_OUTPUT_LENGTH,
  VRF_PROOF_LENGTH,
  _internals,
  proofToHash,
  prove,
  validateKey,
  verify,
  vrfGenerateKey,
  vrfKeyFromSeed,
  type VrfSuite,
} from '../../../lib/crypto/vrf.js';
import { nativeVrfAvailable, withNativeVrf } from '../../../lib/crypto/vrf-native.js';

interface Vector {
  example: number;
  SK: string;
  PK: string;
  alpha: string;
  x: string;
  H: string;
  k_string?: string;
  k?: string;
  U: string;
  V: string;
  pi: string;
  beta: string;
}
interface VectorFile {
  suites: Record<VrfSuite, { suite_string: string; section: string; vectors: Vector[] }>;
}

const vectorFile = JSON.parse(readFileSync(new URL('../../vectors/rfc9381.json', import.meta.url), 'utf8')) as VectorFile;
const SUITES: VrfSuite[] = ['ELL2', 'TAI'];
const q = ed25519.Point.Fn.ORDER;
const p = ed25519.Point.Fp.ORDER;

/** A reproducible byte stream (SHA-256 in counter mode), so the random-looking tests never flake. */
function seededRandom(label: string): (n: number) => Uint8Array {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let off = 0; off < n; off += 32) {
      out.set(sha256(new TextEncoder().encode(`${label}/${counter++}`)).subarray(0, Math.min(32, n - off)), off);
    }
    return out;
  };
}

/**
 * Registers `fn` twice: verifying with native/vrf (lib/crypto/vrf-native.ts) and with the JS path.
 * Test bodies are synchronous, so switching the process-wide path inside one cannot leak into another.
 */
function both(title: string, fn: (t: ExecutionContext) => void): void {
  for (const native of [true, false]) {
    test(`${title} [${native ? 'native' : 'JS'} verify]`, (t) => {
      if (native && !nativeVrfAvailable) return t.fail('native/vrf/build/Release/wolk_vrf.node is missing or does not load (node scripts/build-native.mjs)');
      withNativeVrf(native, () => fn(t));
    });
  }
}

for (const suite of SUITES) {
  const { vectors, section } = vectorFile.suites[suite];

  both(`${suite}: ${section} has its three examples`, (t) => {
    t.is(vectors.length, 3);
  });

  for (const v of vectors) {
    both(`${suite} ${section} Example ${v.example}: key, H, nonce, U, V, pi and beta byte for byte`, (t) => {
      const sk = fromHex(v.SK);
      const alpha = fromHex(v.alpha);
      const { publicKey, secretKey } = vrfKeyFromSeed(sk);
      t.is(toHex(publicKey), v.PK);
      t.deepEqual(secretKey, sk);
      // x is given unreduced (clamped SHA-512 half); we keep it mod q.
      t.is(_internals.secretScalar(sk), bytesToNumberLE(fromHex(v.x)) % q);

      const H = _internals.encodeToCurve(suite, publicKey, alpha);
      t.is(toHex(H), v.H);
      const k = _internals.nonce(sk, H);
      if (v.k_string !== undefined) t.is(k, bytesToNumberLE(fromHex(v.k_string)) % q);
      if (v.k !== undefined) t.is(toHex(numberToBytesLE(k, 32)), v.k);
      const Hp = ed25519.Point.fromBytes(H);
      t.is(ed25519.Point.BASE.multiply(k).toHex(), v.U);
      t.is(Hp.multiply(k).toHex(), v.V);

      const pi = prove(sk, alpha, suite);
      t.is(pi.length, VRF_PROOF_LENGTH);
      t.is(toHex(pi), v.pi);
      const beta = verify(publicKey, alpha, pi, suite);
      t.not(beta, null);
      t.is(toHex(beta!), v.beta);
      t.is(toHex(proofToHash(fromHex(v.pi), suite)!), v.beta);
    });
  }

  both(`${suite}: the published proof of another suite or another alpha does not verify`, (t) => {
    const other: VrfSuite = suite === 'ELL2' ? 'TAI' : 'ELL2';
    for (const v of vectors) {
      const pk = fromHex(v.PK);
      t.is(verify(pk, fromHex(v.alpha), fromHex(v.pi), other), null);
      t.is(verify(pk, Uint8Array.of(0x01, ...fromHex(v.alpha)), fromHex(v.pi), suite), null);
    }
    // A proof checked against the wrong key fails.
    t.is(verify(fromHex(vectors[1]!.PK), fromHex(vectors[0]!.alpha), fromHex(vectors[0]!.pi), suite), null);
  });

  both(`${suite}: every single flipped bit of a valid proof is rejected`, (t) => {
    const v = vectors[2]!;
    const pk = fromHex(v.PK);
    const alpha = fromHex(v.alpha);
    const pi = fromHex(v.pi);
    let rejected = 0;
    for (let bit = 0; bit < pi.length * 8; bit++) {
      const bad = pi.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      if (verify(pk, alpha, bad, suite) === null) rejected++;
    }
    t.is(rejected, VRF_PROOF_LENGTH * 8);
    // And every flipped bit of alpha and of the public key.
    for (let bit = 0; bit < 32 * 8; bit++) {
      const badPk = pk.slice();
      badPk[bit >> 3]! ^= 1 << (bit & 7);
      t.is(verify(badPk, alpha, pi, suite), null, `public key bit ${bit}`);
    }
    for (let bit = 0; bit < alpha.length * 8; bit++) {
      const badAlpha = alpha.slice();
      badAlpha[bit >> 3]! ^= 1 << (bit & 7);
      t.is(verify(pk, badAlpha, pi, suite), null, `alpha bit ${bit}`);
    }
  });

  both(`${suite}: random keys and messages prove and verify; outputs are deterministic and distinct`, (t) => {
    const random = seededRandom(`vrf-roundtrip-${suite}`);
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const { secretKey, publicKey } = vrfGenerateKey(random);
      const alpha = random(i * 7);
      const pi = prove(secretKey, alpha, suite);
      t.deepEqual(prove(secretKey, alpha, suite), pi, 'prove is deterministic');
      const beta = verify(publicKey, alpha, pi, suite);
      t.truthy(beta);
      t.is(beta!.length, VRF_OUTPUT_LENGTH);
      t.deepEqual(proofToHash(pi, suite), beta);
      t.true(validateKey(publicKey));
      seen.add(toHex(beta!));
    }
    t.is(seen.size, 12);
  });
}

both('the VRF key for a seed is the Ed25519 key for that seed (RFC 8032 derivation)', (t) => {
  const random = seededRandom('vrf-vs-ed25519');
  for (let i = 0; i < 8; i++) {
    const seed = random(32);
    t.deepEqual(vrfKeyFromSeed(seed).publicKey, ed25519.getPublicKey(seed));
  }
});

both('ELL2 is the default suite', (t) => {
  const v = vectorFile.suites.ELL2.vectors[0]!;
  t.is(toHex(prove(fromHex(v.SK), fromHex(v.alpha))), v.pi);
  t.truthy(verify(fromHex(v.PK), fromHex(v.alpha), fromHex(v.pi)));
});

/** Encodes y (and the sign bit) as 32 little-endian bytes, without reducing y mod p. */
function encodeRaw(y: bigint, signBit: number): Uint8Array {
  const out = numberToBytesLE(y, 32);
  out[31]! |= signBit << 7;
  return out;
}

/** All encodings of small-order points: the 8 canonical ones plus every non-canonical alias. */
function smallOrderEncodings(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const hex of ED25519_TORSION_SUBGROUP) {
    const enc = fromHex(hex);
    out.push(enc);
    const y = bytesToNumberLE(enc) & ((1n << 255n) - 1n);
    const sign = enc[31]! >> 7;
    if (y + p < 1n << 255n) out.push(encodeRaw(y + p, sign));
    const P = ed25519.Point.fromBytes(enc);
    if (P.toAffine().x === 0n) out.push(encodeRaw(y, 1));
  }
  return out;
}

both('validate_key (§5.4.5): small-order and non-canonical public keys are refused by validateKey and verify', (t) => {
  const encodings = smallOrderEncodings();
  t.true(encodings.length >= 13);
  const v = vectorFile.suites.ELL2.vectors[0]!;
  for (const pk of encodings) {
    t.false(validateKey(pk), toHex(pk));
    for (const suite of SUITES) t.is(verify(pk, fromHex(v.alpha), fromHex(v.pi), suite), null);
  }
  // A key with a prime-order part plus a small-order part is not small order; the RFC's
  // validate_key accepts it (its proofs still come out unique through cofactor * Gamma).
  t.true(validateKey(fromHex(v.PK)));
  // Non-canonical y (y >= p) of an otherwise valid point.
  const Y = ed25519.Point.fromHex(v.PK);
  const { x, y } = Y.toAffine();
  if (y + p < 1n << 255n) t.false(validateKey(encodeRaw(y + p, Number(x & 1n))));
  // A y with no x on the curve.
  let notOnCurve = 2n;
  for (;;) {
    try {
      ed25519.Point.fromBytes(encodeRaw(notOnCurve, 0));
      notOnCurve++;
    } catch {
      break;
    }
  }
  t.false(validateKey(encodeRaw(notOnCurve, 0)));
  t.false(validateKey(new Uint8Array(31)));
  t.false(validateKey(new Uint8Array(33)));
});

both('decode_proof (§5.4.4): s >= q, non-canonical or off-curve Gamma, wrong lengths are rejected', (t) => {
  for (const suite of SUITES) {
    const v = vectorFile.suites[suite].vectors[1]!;
    const pk = fromHex(v.PK);
    const alpha = fromHex(v.alpha);
    const pi = fromHex(v.pi);
    // s + q is the same scalar mod q: accepting it would make proofs malleable.
    const s = bytesToNumberLE(pi.subarray(48));
    const malleable = pi.slice();
    malleable.set(numberToBytesLE(s + q, 32), 48);
    t.is(verify(pk, alpha, malleable, suite), null);
    t.is(proofToHash(malleable, suite), null);
    // Gamma not on the curve.
    const offCurve = pi.slice();
    offCurve.set(encodeRaw(bytesToNumberLE(pi.subarray(0, 32)) & ((1n << 255n) - 1n), 0), 0);
    // Find a y that does not decode and put it in place of Gamma.
    for (let y = 2n; ; y++) {
      try {
        ed25519.Point.fromBytes(encodeRaw(y, 0));
      } catch {
        offCurve.set(encodeRaw(y, 0), 0);
        break;
      }
    }
    t.is(verify(pk, alpha, offCurve, suite), null);
    t.is(proofToHash(offCurve, suite), null);
    for (const len of [0, 79, 81, 128]) {
      const wrong = new Uint8Array(len);
      wrong.set(pi.subarray(0, Math.min(len, 80)));
      t.is(verify(pk, alpha, wrong, suite), null);
      t.is(proofToHash(wrong, suite), null);
    }
  }
});

both('a proof whose Gamma is the other Gamma plus a small-order point changes beta not at all but fails verification', (t) => {
  // cofactor * Gamma makes beta blind to torsion; verification must still reject the altered proof.
  const v = vectorFile.suites.ELL2.vectors[0]!;
  const pi = fromHex(v.pi);
  const Gamma = ed25519.Point.fromBytes(pi.subarray(0, 32));
  const T = ed25519.Point.fromHex(ED25519_TORSION_SUBGROUP[1]!);
  const altered = pi.slice();
  altered.set(Gamma.add(T).toBytes(), 0);
  t.deepEqual(proofToHash(altered), proofToHash(pi));
  t.is(verify(fromHex(v.PK), fromHex(v.alpha), altered), null);
});

both('verify never throws, whatever it is given', (t) => {
  const v = vectorFile.suites.ELL2.vectors[0]!;
  const pk = fromHex(v.PK);
  const pi = fromHex(v.pi);
  const junk: unknown[] = [undefined, null, 'abc', 42, {}, [1, 2, 3], new Uint16Array(40), Buffer.alloc(80)];
  const call = verify as unknown as (...args: unknown[]) => unknown;
  for (const j of junk) {
    t.notThrows(() => call(j, new Uint8Array(0), pi));
    t.is(call(j, new Uint8Array(0), pi), null);
    t.is(call(pk, j, pi), null);
    t.is(call(pk, new Uint8Array(0), j), null);
    // An omitted suite means the default (ELL2), under which this proof is valid.
    if (j !== undefined) t.is(call(pk, new Uint8Array(0), pi, j), null);
  }
  // Random 80-byte strings: all rejected, none throws.
  const random = seededRandom('vrf-junk');
  for (let i = 0; i < 64; i++) t.is(verify(pk, new Uint8Array(0), random(80)), null);
  // All-zero and all-ones proofs (Gamma = a small-order / invalid encoding, c = s = 0).
  t.is(verify(pk, new Uint8Array(0), new Uint8Array(80)), null);
  t.is(verify(pk, new Uint8Array(0), new Uint8Array(80).fill(0xff)), null);
});

both('prove refuses bad arguments with a typed error', (t) => {
  t.throws(() => prove(new Uint8Array(31), new Uint8Array(0)), { instanceOf: CryptoError, message: /32 bytes, got 31/ });
  t.throws(() => prove(new Uint8Array(32), 'x' as unknown as Uint8Array), { instanceOf: CryptoError });
  t.throws(() => prove(new Uint8Array(32), new Uint8Array(0), 'P256' as VrfSuite), { instanceOf: CryptoError, message: /ELL2/ });
  t.throws(() => vrfKeyFromSeed(new Uint8Array(64)), { instanceOf: CryptoError });
  t.throws(() => vrfGenerateKey(() => new Uint8Array(5)), { instanceOf: CryptoError });
});

both('beta is uniform-looking: its first bytes spread over their range (sortition reads them)', (t) => {
  // Not a proof of pseudo-randomness; a guard against e.g. returning Gamma's encoding by mistake.
  const { secretKey } = vrfKeyFromSeed(sha512(new TextEncoder().encode('spread')).subarray(0, 32));
  let high = 0;
  const N = 64;
  for (let i = 0; i < N; i++) {
    const beta = proofToHash(prove(secretKey, Uint8Array.of(i)))!;
    if (beta[0]! >= 128) high++;
  }
  t.true(high > N * 0.25 && high < N * 0.75, `high-bit count ${high}/${N}`);
});

test('native and JS verify give the same answer for valid, corrupted and random proofs (both suites)', (t) => {
  if (!nativeVrfAvailable) return t.fail('native/vrf is not built (node scripts/build-native.mjs)');
  const random = seededRandom('vrf-native-vs-js');
  const answer = (native: boolean, pk: Uint8Array, alpha: Uint8Array, pi: Uint8Array, suite: VrfSuite) =>
    withNativeVrf(native, () => {
      const beta = verify(pk, alpha, pi, suite);
      return beta === null ? 'invalid' : toHex(beta);
    });
  const torsion = ED25519_TORSION_SUBGROUP.map((h) => ed25519.Point.fromHex(h));
  let valid = 0;
  for (let i = 0; i < 240; i++) {
    const suite = SUITES[i % 2]!;
    const { secretKey, publicKey } = vrfGenerateKey(random);
    const alpha = random(i % 97);
    let pk = publicKey;
    let pi = prove(secretKey, alpha, suite);
    switch (i % 6) {
      case 1: // one flipped bit anywhere in the proof
        pi[random(1)[0]! % 80]! ^= 1 << (random(1)[0]! & 7);
        break;
      case 2: // random bytes for a proof
        pi = random(80);
        break;
      case 3: // Gamma moved by a torsion point (same beta, must fail)
        pi.set(ed25519.Point.fromBytes(pi.subarray(0, 32)).add(torsion[1 + (i % 7)]!).toBytes(), 0);
        break;
      case 4: // a key with a small-order part added (validate_key accepts it; the proof is for the other key)
        pk = ed25519.Point.fromBytes(publicKey).add(torsion[1 + (i % 7)]!).toBytes();
        break;
      case 5: // s + q (must fail: malleability)
        pi.set(numberToBytesLE(bytesToNumberLE(pi.subarray(48)) + q, 32), 48);
        break;
    }
    const native = answer(true, pk, alpha, pi, suite);
    t.is(native, answer(false, pk, alpha, pi, suite), `case ${i} (${suite}, variant ${i % 6})`);
    if (native !== 'invalid') valid++;
  }
  t.is(valid, 40, 'the untouched proofs, and only they, verify');
});

test('native and JS prove give byte-identical proofs for random keys and messages (both suites)', (t) => {
  if (!nativeVrfAvailable) return t.fail('native/vrf is not built (node scripts/build-native.mjs)');
  const random = seededRandom('vrf-native-prove');
  const proofOf = (native: boolean, sk: Uint8Array, alpha: Uint8Array, suite: VrfSuite) => withNativeVrf(native, () => toHex(prove(sk, alpha, suite)));
  for (let i = 0; i < 60; i++) {
    const suite = SUITES[i % 2]!;
    const { secretKey, publicKey } = vrfGenerateKey(random);
    const alpha = random(i % 131);
    const native = proofOf(true, secretKey, alpha, suite);
    t.is(native, proofOf(false, secretKey, alpha, suite), `key ${i} (${suite})`);
    t.truthy(verify(publicKey, alpha, fromHex(native), suite));
  }
});
