// Domain errors and their one mapping to gRPC status codes (STYLE: errors become statuses in exactly one
// place, the server middleware). Handlers throw WolkError; anything else thrown becomes INTERNAL.
import { status, type StatusObject, Metadata } from '@grpc/grpc-js';
import { StorageError } from '../storage/errors.js';

export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'UNAVAILABLE'
  | 'UNIMPLEMENTED'
  | 'OUT_OF_RANGE'
  | 'DEADLINE_EXCEEDED'
  | 'ABORTED'
  | 'CANCELLED'
  | 'INTERNAL';

export class WolkError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WolkError';
    this.code = code;
  }
}

export const invalidArgument = (message: string) => new WolkError('INVALID_ARGUMENT', message);
export const notFound = (message: string) => new WolkError('NOT_FOUND', message);
export const failedPrecondition = (message: string) => new WolkError('FAILED_PRECONDITION', message);
export const resourceExhausted = (message: string) => new WolkError('RESOURCE_EXHAUSTED', message);
export const unavailable = (message: string) => new WolkError('UNAVAILABLE', message);
export const unimplemented = (message: string) => new WolkError('UNIMPLEMENTED', message);
export const outOfRange = (message: string) => new WolkError('OUT_OF_RANGE', message);
export const unauthenticated = (message: string) => new WolkError('UNAUTHENTICATED', message);
export const permissionDenied = (message: string) => new WolkError('PERMISSION_DENIED', message);
export const alreadyExists = (message: string) => new WolkError('ALREADY_EXISTS', message);

const CODE_TO_STATUS: Record<ErrorCode, status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  UNAVAILABLE: status.UNAVAILABLE,
  UNIMPLEMENTED: status.UNIMPLEMENTED,
  OUT_OF_RANGE: status.OUT_OF_RANGE,
  DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
  ABORTED: status.ABORTED,
  CANCELLED: status.CANCELLED,
  INTERNAL: status.INTERNAL,
};

/** The gRPC status a thrown value becomes. Internal details of unexpected errors are not leaked. */
export function toStatus(err: unknown): StatusObject {
  const metadata = new Metadata();
  if (err instanceof WolkError) return { code: CODE_TO_STATUS[err.code], details: err.message, metadata };
  if (err instanceof StorageError) {
    return err.noSpace
      ? { code: status.RESOURCE_EXHAUSTED, details: `storage is full: ${err.op} refused`, metadata }
      : { code: status.INTERNAL, details: `storage error during ${err.op}`, metadata };
  }
  return { code: status.INTERNAL, details: 'internal error', metadata };
}

/** True for errors a client sent us (logged at debug), false for our own failures (logged at error). */
export function isClientError(err: unknown): boolean {
  return err instanceof WolkError && !['INTERNAL', 'UNAVAILABLE', 'RESOURCE_EXHAUSTED'].includes(err.code);
}
