// Ed25519 signatures (RFC 8032) through Node's crypto (OpenSSL): several times faster than pure JS.
// Keys are raw: a 32-byte seed as the secret key and the 32-byte point encoding as the public key,
// the same bytes @noble/curves' ed25519 uses, so either library can sign or verify for the other.
//
// Every signature is domain-separated: what is signed is len(domain) ‖ domain ‖ message, with the
// length in one byte. A vote can then never be replayed as a transaction, a commitment as a proof,
// and so on, even when two kinds of message happen to share bytes.
import { KeyObject, createPrivateKey, createPublicKey, randomBytes, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { LRUCache } from 'lru-cache';
import { CryptoError, CryptoErrorCode, assertBytes } from './errors.js';
import { concatBytes, toHex } from './hash.js';

/** What a signature is for. Values are part of the signed bytes: never change or reuse one. */
export enum SignDomain {
  Tx = 'wolk/tx/v1',
  Vote = 'wolk/vote/v1',
  Proposal = 'wolk/proposal/v1',
  Commitment = 'wolk/commitment/v1',
  ShareProof = 'wolk/share-proof/v1',
  FileProof = 'wolk/file-proof/v1',
  GatewayCosign = 'wolk/gateway-cosign/v1',
  Http = 'wolk/http/v1',
  StoreRequest = 'wolk/store-request/v1',
  ChunkCommitRequest = 'wolk/chunk-commit-request/v1',
  Tally = 'wolk/tally/v1',
  Node = 'wolk/node/v1',
  ReplicaAudit = 'wolk/replica-audit/v1',
  ShareWrite = 'wolk/share-write/v1',
  FileWrite = 'wolk/file-write/v1',
}

export const SIGN_SECRET_KEY_LENGTH = 32;
export const SIGN_PUBLIC_KEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;

export interface SignKeyPair {
  /** The 32-byte seed (RFC 8032 secret key). */
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

// DER wrappers that turn raw Ed25519 keys into the PKCS#8 / SPKI structures OpenSSL imports
// (RFC 8410 §7 and §4: OID 1.3.101.112).
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

const encoder = new TextEncoder();
const domainPrefixes = new Map<string, Uint8Array>();

/** len(domain) ‖ domain, cached per domain. */
function domainPrefix(domain: SignDomain | string): Uint8Array {
  const hit = domainPrefixes.get(domain);
  if (hit) return hit;
  if (typeof domain !== 'string' || domain.length === 0) {
    throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `sign domain: expected a non-empty string, got ${String(domain)}`);
  }
  const bytes = encoder.encode(domain);
  if (bytes.length > 255) throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `sign domain: ${bytes.length} bytes, at most 255`);
  const prefix = concatBytes(Uint8Array.of(bytes.length), bytes);
  domainPrefixes.set(domain, prefix);
  return prefix;
}

/** The exact bytes Ed25519 signs for (domain, message): len(domain) ‖ domain ‖ message. */
export function signedBytes(domain: SignDomain | string, message: Uint8Array): Uint8Array {
  return concatBytes(domainPrefix(domain), message);
}

// Importing a key into OpenSSL costs more than a signature; nodes sign with one key and verify the
// same few hundred peers over and over, so KeyObjects are cached, bounded, least recently used evicted
// first (oldest-first would throw out the node's own key and the committee's, the hottest entries).
const CACHE_MAX = 2048;
const privateKeys = new LRUCache<string, KeyObject>({ max: CACHE_MAX });
const publicKeys = new LRUCache<string, KeyObject>({ max: CACHE_MAX });

function remember(cache: LRUCache<string, KeyObject>, id: string, key: KeyObject): KeyObject {
  cache.set(id, key);
  return key;
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  const id = toHex(seed);
  return privateKeys.get(id) ?? remember(privateKeys, id, createPrivateKey({ key: Buffer.from(concatBytes(PKCS8_PREFIX, seed)), format: 'der', type: 'pkcs8' }));
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = toHex(publicKey);
  return publicKeys.get(id) ?? remember(publicKeys, id, createPublicKey({ key: Buffer.from(concatBytes(SPKI_PREFIX, publicKey)), format: 'der', type: 'spki' }));
}

// The encodings of the eight points of small order, canonical and not (14 strings in all). A
// public key among them has no secret behind it and "signs" many messages at once (with s = 0 and R
// of small order): such keys are refused outright, whatever OpenSSL would say.
const SMALL_ORDER_KEYS: ReadonlySet<string> = (() => {
  const p = ed25519.Point.Fp.ORDER;
  const out = new Set<string>();
  // T generates the 8-torsion subgroup (a point of order 8).
  const T = ed25519.Point.fromHex('26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05');
  let P = ed25519.Point.ZERO;
  for (let i = 0; i < 8; i++) {
    const enc = P.toBytes();
    out.add(toHex(enc));
    const { x, y } = P.toAffine();
    const sign = enc[31]! & 0x80;
    // Non-canonical y + p, when it still fits in 255 bits.
    if (y + p < 1n << 255n) {
      const alt = new Uint8Array(32);
      let v = y + p;
      for (let j = 0; j < 32; j++, v >>= 8n) alt[j] = Number(v & 0xffn);
      alt[31]! |= sign;
      out.add(toHex(alt));
    }
    // "Negative zero": x = 0 with the sign bit set.
    if (x === 0n) {
      const alt = enc.slice();
      alt[31]! |= 0x80;
      out.add(toHex(alt));
    }
    P = P.add(T);
  }
  return out;
})();

/** The key pair for a 32-byte seed (the same pair @noble/curves' ed25519 derives from it). */
export function signKeyFromSeed(seed: Uint8Array): SignKeyPair {
  assertBytes(seed, SIGN_SECRET_KEY_LENGTH, 'ed25519 seed');
  const spki = createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  return { secretKey: seed.slice(), publicKey: new Uint8Array(spki.subarray(spki.length - 32)) };
}

/** A fresh key pair; `random` is injectable so simulations and tests are reproducible. */
export function generateSignKey(random: (n: number) => Uint8Array = (n) => new Uint8Array(randomBytes(n))): SignKeyPair {
  const seed = random(SIGN_SECRET_KEY_LENGTH);
  assertBytes(seed, SIGN_SECRET_KEY_LENGTH, 'generateSignKey random output');
  return signKeyFromSeed(seed);
}

/** Ed25519 signature (64 bytes) over len(domain) ‖ domain ‖ message. */
export function sign(domain: SignDomain | string, secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  assertBytes(secretKey, SIGN_SECRET_KEY_LENGTH, 'ed25519 secret key');
  assertBytes(message, undefined, 'message');
  return new Uint8Array(nodeSign(null, signedBytes(domain, message), privateKeyObject(secretKey)));
}

/**
 * True when `signature` is `publicKey`'s signature over len(domain) ‖ domain ‖ message.
 * Never throws: wrong lengths, undecodable or small-order keys and unknown domains are all false.
 */
export function verifySignature(domain: SignDomain | string, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== SIGN_PUBLIC_KEY_LENGTH) return false;
    if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) return false;
    if (!(message instanceof Uint8Array)) return false;
    if (SMALL_ORDER_KEYS.has(toHex(publicKey))) return false;
    return nodeVerify(null, signedBytes(domain, message), publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}
