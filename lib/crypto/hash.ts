// Byte helpers and the two hashes the protocol uses. SHA-256 and SHA-512 go through Node's crypto
// (OpenSSL, with SHA extensions where the CPU has them): several times faster than pure JS on bulk data.
import { createHash, timingSafeEqual } from 'node:crypto';
import { CryptoError, CryptoErrorCode, assertBytes } from './errors.js';

/** SHA-256 of the concatenation of `parts` (no copy: each part is fed to the hash in turn). */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return toUint8(h.digest());
}

/** SHA-512 of the concatenation of `parts`. */
export function sha512(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return toUint8(h.digest());
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Equality of two byte strings. Equal lengths are compared in constant time (timingSafeEqual), so
 * comparing a MAC, a proof hash or a secret leaks nothing about where they differ; lengths are public.
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  if (a.length === 0) return true;
  return timingSafeEqual(a, b);
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Decodes hex (either case). Throws CryptoError(INVALID_HEX) on odd length or a non-hex character. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string') {
    throw new CryptoError(CryptoErrorCode.INVALID_HEX, `hex: expected string, got ${typeof hex}`);
  }
  if (!HEX_RE.test(hex)) {
    const why = hex.length % 2 === 1 ? `odd length ${hex.length}` : 'a non-hex character';
    throw new CryptoError(CryptoErrorCode.INVALID_HEX, `hex: invalid input (${why})`);
  }
  return toUint8(Buffer.from(hex, 'hex'));
}

const U64_MAX = (1n << 64n) - 1n;

/** 8-byte big-endian encoding of an unsigned integer < 2^64. */
export function u64be(n: bigint | number): Uint8Array {
  const v = toBigInt(n, 'u64be');
  if (v < 0n || v > U64_MAX) throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `u64be: ${v} is outside [0, 2^64)`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, false);
  return out;
}

/** 4-byte big-endian encoding of an unsigned integer < 2^32. */
export function u32be(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `u32be: ${n} is not an integer in [0, 2^32)`);
  }
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

/** Decodes an 8-byte big-endian unsigned integer. */
export function readU64be(bytes: Uint8Array, offset = 0): bigint {
  assertBytes(bytes, undefined, 'readU64be');
  if (offset < 0 || offset + 8 > bytes.length) {
    throw new CryptoError(CryptoErrorCode.INVALID_LENGTH, `readU64be: need 8 bytes at ${offset}, have ${bytes.length}`);
  }
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(offset, false);
}

function toBigInt(n: bigint | number, what: string): bigint {
  if (typeof n === 'bigint') return n;
  if (typeof n === 'number' && Number.isSafeInteger(n)) return BigInt(n);
  throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `${what}: ${String(n)} is not a safe integer`);
}

/**
 * A Buffer is a Uint8Array, but small Buffers are views into a shared pool and compare unequal to
 * plain arrays under deepEqual: hand out a plain Uint8Array that owns its memory.
 */
function toUint8(buf: Buffer): Uint8Array {
  return new Uint8Array(buf);
}
