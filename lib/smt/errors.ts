// Errors of the sparse Merkle tree, by code, so callers (and the gRPC error middleware) can tell a
// missing node (fetch it elsewhere: NOT_FOUND/UNAVAILABLE) from corrupt data or a caller's mistake.

export enum SmtErrorCode {
  /** A node the tree refers to is in no source (never written, or not yet fetched). */
  MISSING_NODE = 'MISSING_NODE',
  /** A source returned bytes whose hash is not the one asked for, or that do not decode. */
  CORRUPT_NODE = 'CORRUPT_NODE',
  /** A caller's argument is malformed (key not 32 bytes, bad version, ...). */
  INVALID_ARGUMENT = 'INVALID_ARGUMENT',
}

export class SmtError extends Error {
  readonly code: SmtErrorCode;

  constructor(code: SmtErrorCode, message: string) {
    super(message);
    this.name = 'SmtError';
    this.code = code;
  }
}
