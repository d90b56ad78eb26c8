// ECVRF over edwards25519, RFC 9381 (Verifiable Random Functions), both edwards25519 suites:
//   ECVRF-EDWARDS25519-SHA512-TAI  (suite_string 0x03, encode_to_curve by try-and-increment, §5.4.1.1)
//   ECVRF-EDWARDS25519-SHA512-ELL2 (suite_string 0x04, encode_to_curve by RFC 9380 Elligator 2, §5.4.1.2)
// ELL2 is our default: its hash-to-curve takes constant time in alpha, TAI's does not.
//
// Keys are the RFC 8032 ones (§5.5: the secret key is a 32-byte seed, x = clamp(SHA-512(seed)[0..32])),
// so a Wolk node's VRF key and Ed25519 key may share a seed format (not necessarily a seed).
// Point arithmetic and hash-to-curve come from @noble/curves; plain SHA-512 from Node (OpenSSL).
// Verification and the point work of proving run in native/vrf (lib/crypto/vrf-native.ts) when the
// addon is built: same answers and proofs, several times faster; its products with the secret scalars
// are constant time like noble's.
// The verifier always runs ECVRF_validate_key (§5.4.5): we want full uniqueness against adversarial
// keys, since storers and voters choose their own keys.
import { randomBytes } from 'node:crypto';
import { ed25519, ed25519_hasher } from '@noble/curves/ed25519.js';
import { mulAddUnsafe } from '@noble/curves/abstract/curve.js';
import type { EdwardsPoint } from '@noble/curves/abstract/edwards.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { LRUCache } from 'lru-cache';
import { CryptoError, CryptoErrorCode, assertBytes } from './errors.js';
import { bytesEqual, concatBytes, sha512, toHex } from './hash.js';
import { nativeVrf } from './vrf-native.js';

export type VrfSuite = 'ELL2' | 'TAI';

/** ptLen + cLen + qLen = 32 + 16 + 32 (RFC 9381 §5.5). */
export const VRF_PROOF_LENGTH = 80;
/** beta is one SHA-512 output (hLen, §5.2). */
export const VRF_OUTPUT_LENGTH = 64;
export const VRF_SECRET_KEY_LENGTH = 32;
export const VRF_PUBLIC_KEY_LENGTH = 32;

export interface VrfKeyPair {
  /** The 32-byte seed (RFC 8032 secret key). */
  secretKey: Uint8Array;
  /** point_to_string(x*B), 32 bytes. */
  publicKey: Uint8Array;
}

const Point = ed25519.Point;
type Pt = EdwardsPoint;
const B: Pt = Point.BASE;
/** q, the prime order of the subgroup (RFC 9381 §5.5: "q = 2^252 + 27742317777372353535851937790883648493"). */
const q = Point.Fn.ORDER;
const PT_LEN = 32;
const C_LEN = 16;
const Q_LEN = 32;

const SUITE_STRING: Readonly<Record<VrfSuite, number>> = { TAI: 0x03, ELL2: 0x04 };

// §5.5, ELL2: h2c_suite_ID_string = "edwards25519_XMD:SHA-512_ELL2_NU_" and §5.4.1.2:
// DST = "ECVRF_" || h2c_suite_ID_string || suite_string.
const ELL2_DST = concatBytes(new TextEncoder().encode('ECVRF_edwards25519_XMD:SHA-512_ELL2_NU_'), Uint8Array.of(0x04));

// Domain separator bytes, §5.2 / §5.4.1.1 / §5.4.3.
const FRONT_ENCODE = Uint8Array.of(0x01);
const FRONT_CHALLENGE = Uint8Array.of(0x02);
const FRONT_PROOF_TO_HASH = Uint8Array.of(0x03);
const BACK = Uint8Array.of(0x00);
const SUITE_BYTES: Readonly<Record<VrfSuite, Uint8Array>> = { TAI: Uint8Array.of(0x03), ELL2: Uint8Array.of(0x04) };

function isSuite(s: unknown): s is VrfSuite {
  return s === 'ELL2' || s === 'TAI';
}

function assertSuite(s: unknown): asserts s is VrfSuite {
  if (!isSuite(s)) throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `vrf suite: expected 'ELL2' or 'TAI', got ${String(s)}`);
}

// ---------------------------------------------------------------------------------------------
// Keys

interface ExpandedKey {
  /** The secret scalar x, reduced mod q (x*P only ever meets prime-order points, so this is exact). */
  x: bigint;
  /** SHA-512(SK)[32..64], the nonce-generation prefix (§5.4.2.2 step 2). */
  prefix: Uint8Array;
  Y: Pt;
  pk: Uint8Array;
}

// Proving recomputes x and Y = x*B from the seed; a node proves with one key over and over, so the
// expansion is cached. Bounded, least recently used evicted first: a process that proves for many keys
// (the simulator) recomputes the cold ones and keeps the hot ones.
const EXPANDED_CACHE_MAX = 256;
const expandedCache = new LRUCache<string, ExpandedKey>({ max: EXPANDED_CACHE_MAX });

function expandSecret(seed: Uint8Array): ExpandedKey {
  const id = toHex(seed);
  const hit = expandedCache.get(id);
  if (hit) return hit;
  // RFC 8032 §5.1.5 (referenced by RFC 9381 §5.5): h = SHA-512(seed); clamp the lower half.
  const h = sha512(seed);
  const lower = h.slice(0, 32);
  lower[0]! &= 248;
  lower[31]! &= 127;
  lower[31]! |= 64;
  const x = bytesToNumberLE(lower) % q;
  const Y = B.multiply(x);
  const key: ExpandedKey = { x, prefix: h.slice(32, 64), Y, pk: Y.toBytes() };
  expandedCache.set(id, key);
  return key;
}

/** The VRF key pair for a 32-byte seed, exactly as RFC 8032 derives an Ed25519 key pair from it. */
export function vrfKeyFromSeed(seed: Uint8Array): VrfKeyPair {
  assertBytes(seed, VRF_SECRET_KEY_LENGTH, 'vrf seed');
  return { secretKey: seed.slice(), publicKey: expandSecret(seed).pk.slice() };
}

/** A fresh key pair; `random` is injectable so simulations and tests are reproducible. */
export function vrfGenerateKey(random: (n: number) => Uint8Array = (n) => new Uint8Array(randomBytes(n))): VrfKeyPair {
  const seed = random(VRF_SECRET_KEY_LENGTH);
  assertBytes(seed, VRF_SECRET_KEY_LENGTH, 'vrfGenerateKey random output');
  return vrfKeyFromSeed(seed);
}

// Verifiers meet the same public keys again and again (a committee votes every step), and decoding
// one costs a square root: cache decoded, validated keys (least recently used evicted first, so a
// committee's keys stay while one-off keys pass through). Invalid keys are cached too, as point null.
const PUBKEY_CACHE_MAX = 4096;
const pubkeyCache = new LRUCache<string, { readonly point: Pt | null }>({ max: PUBKEY_CACHE_MAX });

/**
 * string_to_point (RFC 8032 §5.1.3, strict: y < p and no "negative zero" x) followed by
 * ECVRF_validate_key (RFC 9381 §5.4.5): rejects encodings that do not decode and points of small
 * order (cofactor*Y = identity). Returns null for an invalid key.
 */
function decodePublicKey(pk: Uint8Array): Pt | null {
  const id = toHex(pk);
  const hit = pubkeyCache.get(id);
  if (hit) return hit.point;
  let Y: Pt | null;
  try {
    Y = Point.fromBytes(pk, false);
    if (Y.isSmallOrder()) Y = null;
  } catch {
    Y = null;
  }
  pubkeyCache.set(id, { point: Y });
  return Y;
}

/** ECVRF_validate_key (§5.4.5): true when `publicKey` is a canonical encoding of a point not of small order. */
export function validateKey(publicKey: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== VRF_PUBLIC_KEY_LENGTH) return false;
  return decodePublicKey(publicKey) !== null;
}

// ---------------------------------------------------------------------------------------------
// Auxiliary functions, §5.4

/** ECVRF_encode_to_curve_try_and_increment, §5.4.1.1 (suite 0x03). */
function encodeToCurveTai(salt: Uint8Array, alpha: Uint8Array): Pt {
  const ctr = new Uint8Array(1);
  // ctr is one octet (int_to_string(ctr, 1)); each try succeeds with probability ~1/2, so running
  // out of the 256 tries happens with probability 2^-256.
  for (let i = 0; i < 256; i++) {
    ctr[0] = i;
    const hash = sha512(SUITE_BYTES.TAI, FRONT_ENCODE, salt, alpha, ctr, BACK);
    let H: Pt;
    try {
      // interpret_hash_value_as_a_point: string_to_point(hash_string[0..ptLen]) (§5.5).
      H = Point.fromBytes(hash.subarray(0, PT_LEN), false);
    } catch {
      continue; // "INVALID": not a point
    }
    H = H.clearCofactor(); // step 5.D: H = cofactor * H
    if (!H.is0()) return H;
  }
  throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, 'vrf: try-and-increment found no point in 256 tries');
}

/** ECVRF_encode_to_curve_h2c_suite, §5.4.1.2 (suite 0x04): RFC 9380 encode_to_curve (NU). */
function encodeToCurveEll2(salt: Uint8Array, alpha: Uint8Array): Pt {
  return ed25519_hasher.encodeToCurve(concatBytes(salt, alpha), { DST: ELL2_DST }) as Pt;
}

/** ECVRF_encode_to_curve with encode_to_curve_salt = PK_string (§5.1 step 2, §5.3 step 7). */
function encodeToCurve(suite: VrfSuite, pk: Uint8Array, alpha: Uint8Array): Pt {
  return suite === 'ELL2' ? encodeToCurveEll2(pk, alpha) : encodeToCurveTai(pk, alpha);
}

/** ECVRF_nonce_generation_RFC8032, §5.4.2.2: k = string_to_int(SHA-512(prefix || h_string)) mod q. */
function nonce(prefix: Uint8Array, hString: Uint8Array): bigint {
  return bytesToNumberLE(sha512(prefix, hString)) % q;
}

/**
 * ECVRF_challenge_generation, §5.4.3: the first cLen bytes of
 * Hash(suite_string || 0x02 || P1 || P2 || P3 || P4 || P5 || 0x00), as bytes (c is their LE integer).
 */
function challengeBytes(suite: VrfSuite, points: readonly Uint8Array[]): Uint8Array {
  return sha512(SUITE_BYTES[suite], FRONT_CHALLENGE, ...points, BACK).subarray(0, C_LEN);
}

interface DecodedProof {
  Gamma: Pt;
  gammaString: Uint8Array;
  cString: Uint8Array;
  c: bigint;
  s: bigint;
}

/** ECVRF_decode_proof, §5.4.4. Null for "INVALID" (Gamma not a canonical point, or s >= q). */
function decodeProof(pi: Uint8Array): DecodedProof | null {
  if (!(pi instanceof Uint8Array) || pi.length !== VRF_PROOF_LENGTH) return null;
  const gammaString = pi.subarray(0, PT_LEN);
  const cString = pi.subarray(PT_LEN, PT_LEN + C_LEN);
  const s = bytesToNumberLE(pi.subarray(PT_LEN + C_LEN, PT_LEN + C_LEN + Q_LEN));
  if (s >= q) return null; // step 8
  let Gamma: Pt;
  try {
    Gamma = Point.fromBytes(gammaString, false);
  } catch {
    return null;
  }
  return { Gamma, gammaString, cString, c: bytesToNumberLE(cString), s };
}

/** §5.2 steps 4-6: beta = Hash(suite_string || 0x03 || point_to_string(cofactor * Gamma) || 0x00). */
function gammaToHash(suite: VrfSuite, Gamma: Pt): Uint8Array {
  return sha512(SUITE_BYTES[suite], FRONT_PROOF_TO_HASH, Gamma.clearCofactor().toBytes(), BACK);
}

// ---------------------------------------------------------------------------------------------
// The VRF, §5.1 - §5.3

/**
 * ECVRF_prove, §5.1. `secretKey` is the 32-byte seed; returns pi_string (80 bytes).
 * Deterministic: the same key and alpha always give the same proof.
 */
export function prove(secretKey: Uint8Array, alpha: Uint8Array, suite: VrfSuite = 'ELL2'): Uint8Array {
  assertBytes(secretKey, VRF_SECRET_KEY_LENGTH, 'vrf secret key');
  assertBytes(alpha, undefined, 'vrf alpha');
  assertSuite(suite);
  const { x, prefix, pk } = expandSecret(secretKey); // step 1
  const native = nativeVrf();
  if (native) {
    // The same steps with the point work in native/vrf: x·H, k·B and k·H in constant time there.
    const hString = new Uint8Array(PT_LEN);
    if (!native.encodeToCurve(SUITE_STRING[suite], pk, alpha, hString)) throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, 'vrf: try-and-increment found no point in 256 tries');
    const k = nonce(prefix, hString);
    const products = new Uint8Array(3 * PT_LEN);
    if (!native.proveProducts(hString, numberToBytesLE(x, Q_LEN), numberToBytesLE(k, Q_LEN), products)) throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, 'vrf: encode_to_curve gave a point that does not decode');
    const gammaString = products.subarray(0, PT_LEN);
    const cString = challengeBytes(suite, [pk, hString, gammaString, products.subarray(PT_LEN, 2 * PT_LEN), products.subarray(2 * PT_LEN)]);
    const s = (k + bytesToNumberLE(cString) * x) % q;
    return concatBytes(gammaString, cString, numberToBytesLE(s, Q_LEN));
  }
  const H = encodeToCurve(suite, pk, alpha); // steps 2-3
  const hString = H.toBytes(); // step 4
  const Gamma = H.multiply(x); // step 5 (constant time: x is secret)
  const k = nonce(prefix, hString); // step 6
  // k = 0 has probability ~2^-252; multiply() would refuse it, and so would any sane signer.
  const U = B.multiply(k);
  const V = H.multiply(k);
  const [gammaString, uString, vString] = encodeBatch([Gamma, U, V]);
  const cString = challengeBytes(suite, [pk, hString, gammaString, uString, vString]); // step 7
  const c = bytesToNumberLE(cString);
  const s = (k + c * x) % q; // step 8
  return concatBytes(gammaString, cString, numberToBytesLE(s, Q_LEN)); // step 9
}

/**
 * ECVRF_proof_to_hash, §5.2: beta (64 bytes) from a proof, or null if the proof does not decode.
 * This does NOT verify the proof: use `verify` for anything received from someone else.
 */
export function proofToHash(proof: Uint8Array, suite: VrfSuite = 'ELL2'): Uint8Array | null {
  if (!isSuite(suite)) return null;
  const D = decodeProof(proof);
  if (D === null) return null;
  return gammaToHash(suite, D.Gamma);
}

/**
 * ECVRF_verify, §5.3, with validate_key always on. Returns beta (64 bytes) when `proof` is a valid
 * proof for (`publicKey`, `alpha`), null otherwise. Never throws: any malformed input is null.
 */
export function verify(publicKey: Uint8Array, alpha: Uint8Array, proof: Uint8Array, suite: VrfSuite = 'ELL2'): Uint8Array | null {
  try {
    if (!isSuite(suite)) return null;
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== VRF_PUBLIC_KEY_LENGTH) return null;
    if (!(alpha instanceof Uint8Array)) return null;
    const native = nativeVrf();
    if (native) {
      if (!(proof instanceof Uint8Array) || proof.length !== VRF_PROOF_LENGTH) return null;
      const beta = new Uint8Array(VRF_OUTPUT_LENGTH);
      return native.verify(SUITE_STRING[suite], publicKey, alpha, proof, beta) ? beta : null;
    }
    const Y = decodePublicKey(publicKey); // steps 1-3
    if (Y === null) return null;
    const D = decodeProof(proof); // steps 4-6
    if (D === null) return null;
    const H = encodeToCurve(suite, publicKey, alpha); // steps 7-8
    // Step 9: U = s*B - c*Y. s*B uses noble's precomputed base-point table; c is only 128 bits.
    const U = B.multiplyUnsafe(D.s).add(Y.negate().multiplyUnsafe(D.c));
    // Step 10: V = s*H - c*Gamma, one interleaved (Strauss-Shamir) walk for both products.
    const V = mulAddUnsafe(Point, [H, D.Gamma.negate()], [D.s, D.c]);
    const [hString, uString, vString] = encodeBatch([H, U, V]);
    const cPrime = challengeBytes(suite, [publicKey, hString, D.gammaString, uString, vString]); // step 11
    if (!bytesEqual(cPrime, D.cString)) return null; // step 12
    return gammaToHash(suite, D.Gamma);
  } catch {
    return null;
  }
}

/** point_to_string for several points with one field inversion (Montgomery's trick). */
function encodeBatch(points: readonly Pt[]): Uint8Array[] {
  const Fp = Point.Fp;
  const zs = points.map((p) => p.Z);
  const inv = Fp.invertBatch(zs);
  return points.map((p, i) => {
    const iz = inv[i]!;
    // The identity has Z != 0 in extended coordinates, so every inverse exists.
    const x = Fp.mul(p.X, iz);
    const y = Fp.mul(p.Y, iz);
    const out = numberToBytesLE(y, PT_LEN);
    if ((x & 1n) === 1n) out[PT_LEN - 1]! |= 0x80;
    return out;
  });
}

/** Exposed for tests against the RFC's intermediate values (H, k, U, V); not part of the API. */
export const _internals = {
  encodeToCurve(suite: VrfSuite, publicKey: Uint8Array, alpha: Uint8Array): Uint8Array {
    return encodeToCurve(suite, publicKey, alpha).toBytes();
  },
  secretScalar(secretKey: Uint8Array): bigint {
    return expandSecret(secretKey).x;
  },
  nonce(secretKey: Uint8Array, hString: Uint8Array): bigint {
    return nonce(expandSecret(secretKey).prefix, hString);
  },
};
