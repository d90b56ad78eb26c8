// The part of node:crypto that lib/ uses, for the browser bundle only (console/build.mjs aliases
// `node:crypto` to this file). lib/ verifies and signs through node:crypto because OpenSSL is fast in
// Node; in a browser the same calls are answered by @noble/hashes and @noble/curves (already lib/'s
// own dependencies), synchronously, as lib/ expects. Nothing here is Wolk logic: the verification and
// signing code that runs in the page is lib/'s, unchanged.
import { Buffer } from 'buffer';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { ed25519 } from '@noble/curves/ed25519.js';

type Bytes = Uint8Array;
type Encoding = 'hex' | 'base64' | 'base64url' | 'buffer' | undefined;

const encode = (b: Bytes, enc: Encoding): Buffer | string => {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return enc === undefined || enc === 'buffer' ? buf : buf.toString(enc);
};

class Hash {
  private readonly h: { update(d: Bytes): unknown; digest(): Bytes };
  constructor(algorithm: string) {
    const a = algorithm.toLowerCase();
    if (a === 'sha256') this.h = sha256.create();
    else if (a === 'sha512') this.h = sha512.create();
    else throw new Error(`createHash: ${algorithm} is not available in the browser bundle`);
  }
  update(data: Bytes | string): this {
    this.h.update(typeof data === 'string' ? new TextEncoder().encode(data) : data);
    return this;
  }
  digest(enc?: Encoding): Buffer | string {
    return encode(this.h.digest(), enc);
  }
}

export function createHash(algorithm: string): Hash {
  return new Hash(algorithm);
}

export function randomBytes(n: number): Buffer {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return Buffer.from(out.buffer);
}

export function timingSafeEqual(a: Bytes, b: Bytes): boolean {
  if (a.length !== b.length) throw new RangeError('Input buffers must have the same byte length');
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

/** Only raw Ed25519 keys, as lib/ imports them (PKCS#8 / SPKI DER whose last 32 bytes are the key). */
export class KeyObject {
  constructor(
    readonly type: 'private' | 'public',
    readonly raw: Bytes,
  ) {}
  export(o: { format: string; type: string }): Buffer {
    if (this.type !== 'public' || o.format !== 'der' || o.type !== 'spki') throw new Error('KeyObject.export: only a public key as SPKI DER in the browser bundle');
    return Buffer.concat([SPKI_PREFIX, this.raw]);
  }
}

const last32 = (key: Bytes): Bytes => {
  if (key.length < 32) throw new Error('expected an Ed25519 key in DER');
  return Uint8Array.from(key.subarray(key.length - 32));
};

export function createPrivateKey(o: { key: Bytes }): KeyObject {
  return new KeyObject('private', last32(o.key));
}

export function createPublicKey(o: KeyObject | { key: Bytes }): KeyObject {
  if (o instanceof KeyObject) return o.type === 'public' ? o : new KeyObject('public', ed25519.getPublicKey(o.raw));
  return new KeyObject('public', last32(o.key));
}

export function sign(_alg: null, data: Bytes, key: KeyObject): Buffer {
  if (key.type !== 'private') throw new Error('sign: needs a private key');
  return Buffer.from(ed25519.sign(data, key.raw));
}

/** RFC 8032 verification as OpenSSL does it (zip215 off: canonical encodings only). */
export function verify(_alg: null, data: Bytes, key: KeyObject, signature: Bytes): boolean {
  try {
    return ed25519.verify(signature, data, key.raw, { zip215: false });
  } catch {
    return false;
  }
}
export const hash: undefined = undefined;
