// HTTP Message Signatures (RFC 9421) with Ed25519 (§3.3.6, alg "ed25519") and Content-Digest
// (RFC 9530): the primitives both the gateway (verify) and the client SDK (sign) use. No I/O here.
//
// Wolk's profile (docs/http-api.md "Signing"):
//   covered components  "@method" "@path" "content-digest" (in this order; more may follow)
//   parameters          created (Unix seconds), nonce (string, 16-128 chars of [A-Za-z0-9_-]),
//                       keyid (lowercase hex of the signer's 32-byte Ed25519 public key), alg="ed25519"
//   Ed25519 input       the signature base bytes, raw: plain RFC 8032 Ed25519 as RFC 9421 §3.3.6
//                       says, NOT lib/crypto's domain-prefixed `sign` (the base already starts with
//                       the covered components, and any RFC 9421 library must be able to sign).
import { createHash, createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  Token,
  isInnerList,
  parseDictionary,
  serializeInnerList,
  type BareItem,
  type InnerList,
  type Item,
} from './structured.js';

export const WOLK_COVERED = ['@method', '@path', 'content-digest'] as const;
export const SIGNATURE_ALG = 'ed25519';
export const NONCE_RE = /^[A-Za-z0-9_-]{16,128}$/;
export const KEYID_RE = /^[0-9a-f]{64}$/;

// ---- RFC 9530 Content-Digest ----

/** `sha-256=:<base64>:` (RFC 9530 §2, the sha-256 algorithm of §5). */
export function formatContentDigest(sha256: Uint8Array): string {
  return `sha-256=:${Buffer.from(sha256).toString('base64')}:`;
}

/** SHA-256 of bytes in memory, as a Content-Digest value. */
export function contentDigestOf(body: Uint8Array): string {
  return formatContentDigest(createHash('sha256').update(body).digest());
}

/**
 * The sha-256 digest from a Content-Digest field; null when the field has no sha-256 member (other
 * algorithms are ignored, RFC 9530 §2). Throws SignatureError('malformed') on a broken field.
 */
export function parseContentDigest(field: string): Uint8Array | null {
  let dict;
  try {
    dict = parseDictionary(field);
  } catch (err) {
    throw new SignatureError('malformed', `Content-Digest: ${(err as Error).message}`);
  }
  const m = dict.get('sha-256');
  if (!m) return null;
  if (isInnerList(m) || !(m.value instanceof Uint8Array) || m.value.length !== 32) {
    throw new SignatureError('malformed', 'Content-Digest: sha-256 must be a 32-byte byte sequence (sha-256=:base64:)');
  }
  return m.value;
}

// ---- RFC 9421 signature base ----

export type SignatureErrorCode = 'missing' | 'malformed' | 'unsupported' | 'bad-signature' | 'expired';

export class SignatureError extends Error {
  constructor(
    readonly code: SignatureErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SignatureError';
  }
}

/** What a signature base is built from: the request as the server sees it. */
export interface SignableRequest {
  readonly method: string;
  /** The request target's path, percent-encoding as sent, without the query ('' becomes '/'). */
  readonly path: string;
  readonly authority?: string;
  /** Header lookup by lowercase name; repeated fields already joined with ", ". */
  readonly header: (name: string) => string | undefined;
}

export interface SignatureParams {
  readonly created: number;
  readonly nonce: string;
  readonly keyid: string;
  readonly alg: string;
  readonly expires?: number;
}

/** The component value of one covered component (§2.1 fields, §2.2 derived components). */
function componentValue(name: string, req: SignableRequest): string {
  switch (name) {
    case '@method':
      return req.method; // §2.2.1: as sent, case preserved
    case '@path':
      return req.path === '' ? '/' : req.path; // §2.2.6
    case '@authority':
      if (req.authority === undefined) throw new SignatureError('malformed', 'covered component @authority is not available');
      return req.authority.toLowerCase(); // §2.2.3
    default: {
      if (name.startsWith('@')) throw new SignatureError('unsupported', `derived component ${name} is not supported`);
      const v = req.header(name);
      if (v === undefined) throw new SignatureError('malformed', `covered field "${name}" is not in the request`);
      // §2.1: leading and trailing whitespace removed; obs-fold not accepted.
      return v.trim();
    }
  }
}

/** The inner list of a signature's Signature-Input member: covered components with parameters. */
export function signatureInputList(covered: readonly string[], params: SignatureParams): InnerList {
  const p = new Map<string, BareItem>();
  p.set('created', params.created);
  if (params.expires !== undefined) p.set('expires', params.expires);
  p.set('nonce', params.nonce);
  p.set('keyid', params.keyid);
  p.set('alg', params.alg);
  return { items: covered.map((c) => ({ value: c, params: new Map() })), params: p };
}

/**
 * The signature base (§2.5): one line `"<name>": <value>` per covered component, in order, then
 * `"@signature-params": <serialized inner list>`; lines joined by LF, no trailing LF.
 */
export function signatureBase(req: SignableRequest, list: InnerList): string {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const item of list.items) {
    if (typeof item.value !== 'string') throw new SignatureError('malformed', 'covered components must be strings');
    if (item.params.size > 0) throw new SignatureError('unsupported', `component parameters (on "${item.value}") are not supported`);
    const name = item.value;
    if (name !== name.toLowerCase()) throw new SignatureError('malformed', `component name "${name}" must be lowercase`);
    if (seen.has(name)) throw new SignatureError('malformed', `component "${name}" is covered twice`);
    if (name === '@signature-params') throw new SignatureError('malformed', '@signature-params cannot be covered');
    seen.add(name);
    const value = componentValue(name, req);
    if (/[\r\n]/.test(value)) throw new SignatureError('malformed', `component "${name}" contains a line break`);
    lines.push(`"${name}": ${value}`);
  }
  lines.push(`"@signature-params": ${serializeInnerList(list)}`);
  return lines.join('\n');
}

// ---- raw Ed25519 (RFC 8032 through OpenSSL) ----

// RFC 8410 DER wrappers for raw Ed25519 keys.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function privateKey(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new SignatureError('malformed', `ed25519 secret key: expected 32 bytes, got ${seed.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** Plain Ed25519 over `message` (no domain prefix): RFC 9421 §3.3.6. */
export function ed25519SignRaw(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(nodeSign(null, message, privateKey(seed)));
}

/** The public key of a 32-byte seed. */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  const spki = createPublicKey(privateKey(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(spki.length - 32));
}

/** True iff `signature` is a valid plain Ed25519 signature; small-order keys are refused. */
export function ed25519VerifyRaw(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    if (ed25519.Point.fromBytes(publicKey).isSmallOrder()) return false;
    const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    return nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

// ---- signing and verifying a request ----

export interface SignedHeaders {
  readonly 'signature-input': string;
  readonly signature: string;
}

/** Signs `req` under `label`; `req.header` must already answer for every covered field. */
export function signRequest(
  req: SignableRequest,
  covered: readonly string[],
  params: SignatureParams,
  seed: Uint8Array,
  label = 'wolk',
): SignedHeaders {
  const list = signatureInputList(covered, params);
  const base = signatureBase(req, list);
  const sig = ed25519SignRaw(seed, new TextEncoder().encode(base));
  return {
    'signature-input': `${label}=${serializeInnerList(list)}`,
    signature: `${label}=:${Buffer.from(sig).toString('base64')}:`,
  };
}

export interface VerifyPolicy {
  /** Components that must be covered. */
  readonly required: readonly string[];
  /** Server clock, Unix seconds. */
  readonly now: number;
  /** Accepted |now - created| in seconds. */
  readonly windowSeconds: number;
}

export interface VerifiedSignature {
  readonly label: string;
  readonly publicKey: Uint8Array;
  readonly keyid: string;
  readonly created: number;
  readonly nonce: string;
  readonly covered: readonly string[];
}

function param(list: InnerList, name: string): BareItem | undefined {
  return list.params.get(name);
}

/**
 * Verifies the request's one signature against the key named by its keyid (Wolk's keyid is the
 * public key itself, so no key lookup is needed; whether that key may write is the caller's check).
 * Throws SignatureError: missing (no signature headers), malformed, unsupported (alg, components),
 * expired (created outside the window), bad-signature.
 */
export function verifyRequest(req: SignableRequest, policy: VerifyPolicy): VerifiedSignature {
  const inputField = req.header('signature-input');
  const sigField = req.header('signature');
  if (inputField === undefined && sigField === undefined) throw new SignatureError('missing', 'the request is not signed (no Signature-Input / Signature)');
  if (inputField === undefined || sigField === undefined) throw new SignatureError('malformed', 'Signature-Input and Signature must both be present');
  let inputs, sigs;
  try {
    inputs = parseDictionary(inputField);
    sigs = parseDictionary(sigField);
  } catch (err) {
    throw new SignatureError('malformed', (err as Error).message);
  }
  if (inputs.size !== 1) throw new SignatureError('malformed', `expected exactly one signature, got ${inputs.size}`);
  const [label, member] = [...inputs][0]!;
  if (!isInnerList(member)) throw new SignatureError('malformed', `Signature-Input "${label}" must be an inner list`);
  const sigMember = sigs.get(label);
  if (!sigMember || isInnerList(sigMember) || !((sigMember as Item).value instanceof Uint8Array)) {
    throw new SignatureError('malformed', `Signature has no byte sequence for label "${label}"`);
  }
  const signature = (sigMember as Item).value as Uint8Array;

  const covered = member.items.map((i) => (typeof i.value === 'string' ? i.value : ''));
  for (const r of policy.required) if (!covered.includes(r)) throw new SignatureError('malformed', `the signature must cover "${r}"`);
  const alg = param(member, 'alg');
  if (alg !== SIGNATURE_ALG) throw new SignatureError('unsupported', `alg must be "${SIGNATURE_ALG}", got ${alg === undefined ? 'none' : JSON.stringify(alg instanceof Token ? alg.toString() : String(alg))}`);
  const keyid = param(member, 'keyid');
  if (typeof keyid !== 'string' || !KEYID_RE.test(keyid)) throw new SignatureError('malformed', 'keyid must be the lowercase hex of a 32-byte Ed25519 public key');
  const nonce = param(member, 'nonce');
  if (typeof nonce !== 'string' || !NONCE_RE.test(nonce)) throw new SignatureError('malformed', 'nonce must be a string of 16 to 128 characters [A-Za-z0-9_-]');
  const created = param(member, 'created');
  if (typeof created !== 'number' || !Number.isSafeInteger(created)) throw new SignatureError('malformed', 'created must be an integer (Unix seconds)');
  const createdS = created;
  if (Math.abs(policy.now - createdS) > policy.windowSeconds) {
    throw new SignatureError('expired', `created ${createdS} is more than ${policy.windowSeconds} s from the server's clock (${policy.now})`);
  }
  const expires = param(member, 'expires');
  if (expires !== undefined && (typeof expires !== 'number' || !Number.isSafeInteger(expires) || expires < policy.now)) throw new SignatureError('expired', 'the signature has expired');

  const base = signatureBase(req, member);
  const publicKey = new Uint8Array(Buffer.from(keyid, 'hex'));
  if (!ed25519VerifyRaw(publicKey, new TextEncoder().encode(base), signature)) {
    throw new SignatureError('bad-signature', 'the signature does not verify with the key in keyid');
  }
  return { label, publicKey, keyid, created: createdS, nonce, covered };
}

/** Exposed for tests and for clients that verify signature bases from other libraries. */
export function verifyBase(publicKey: Uint8Array, base: string, signature: Uint8Array): boolean {
  return ed25519VerifyRaw(publicKey, new TextEncoder().encode(base), signature);
}
