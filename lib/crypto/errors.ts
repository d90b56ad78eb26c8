// Crypto errors carry a code, so callers (and the gRPC error middleware) can tell a malformed input
// from a misuse without parsing messages. Verification functions never throw on hostile input: they
// answer null/false; CryptoError is for inputs a caller controls (wrong key length, bad hex, ...).

export enum CryptoErrorCode {
  /** A byte string has the wrong length. */
  INVALID_LENGTH = 'INVALID_LENGTH',
  /** Text that should be hex is not (odd length or a non-hex character). */
  INVALID_HEX = 'INVALID_HEX',
  /** A number is outside the range its encoding or use allows. */
  OUT_OF_RANGE = 'OUT_OF_RANGE',
  /** A point or key encoding does not decode (not canonical, not on the curve, small order). */
  INVALID_ENCODING = 'INVALID_ENCODING',
  /** Any other argument a caller got wrong (unknown suite, bad domain, ...). */
  INVALID_ARGUMENT = 'INVALID_ARGUMENT',
}

export class CryptoError extends Error {
  readonly code: CryptoErrorCode;

  constructor(code: CryptoErrorCode, message: string) {
    super(message);
    this.name = 'CryptoError';
    this.code = code;
  }
}

/** Throws unless `bytes` is a Uint8Array of exactly `length` bytes; `what` names it in the message. */
export function assertBytes(bytes: unknown, length: number | undefined, what: string): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array)) {
    throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `${what}: expected Uint8Array, got ${describe(bytes)}`);
  }
  if (length !== undefined && bytes.length !== length) {
    throw new CryptoError(CryptoErrorCode.INVALID_LENGTH, `${what}: expected ${length} bytes, got ${bytes.length}`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
}
