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

/**
 * The gRPC status code of a thrown value: what a grpc-js client call rejected with (a ServiceError or
 * the client layer's RpcError, lib/grpc/client.ts); undefined for anything that is not a gRPC failure.
 */
export function grpcCode(err: unknown): status | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' && Number.isInteger(code) && code >= 0 && code <= 16 ? (code as status) : undefined;
}

/** grpc-js's details when the call was cancelled on our side (call.cancel()), not by the server. */
const CANCELLED_BY_CALLER = 'Cancelled on client';

/** True when the caller itself cancelled the call (its AbortSignal fired): neither an outage nor a verdict. */
export function isCancelledByCaller(err: unknown): boolean {
  if (grpcCode(err) !== status.CANCELLED) return false;
  const e = err as { cancelledByCaller?: unknown; details?: unknown };
  return e.cancelledByCaller === true || e.details === CANCELLED_BY_CALLER;
}

/**
 * Outage or verdict: whether a failed call says something about the server, the link or the moment
 * (an outage: the same request may succeed on another endpoint or a little later, so failover and
 * retry try again) or about the request (a verdict: every honest server answers it the same way, so
 * asking again only repeats it). The one place this is decided; call sites do not compare codes.
 *
 * Outages:
 * - UNAVAILABLE: no connection, the server is starting or stopping, or a dependency of it is down
 *   (our servers answer it when state is on no reachable storer). The canonical transient code.
 * - DEADLINE_EXCEEDED: no answer in time: a slow, overloaded or partitioned server. Whether the
 *   request took effect is unknown, so only idempotent calls (all of ours are: reads, signed
 *   transactions deduplicated by id, content-addressed writes) may be retried on it.
 * - CANCELLED, when the server or a proxy cancelled (e.g. a server shutting down): the call ended
 *   without a judgement. Cancelled by the caller's own signal it is neither: nothing is retried
 *   (isCancelledByCaller).
 * - RESOURCE_EXHAUSTED: our servers answer it for "busy" (mempool full, too many uploads at once,
 *   storage full: "retry later"); another node may have room. (grpc-js also uses it for a message
 *   over the channel's size limit, which no retry fixes; retries are bounded, so that costs little.)
 * - ABORTED: a concurrency conflict on the server; gRPC says to retry the sequence.
 * - INTERNAL, UNKNOWN, DATA_LOSS: the server failed (toStatus answers INTERNAL for our own bugs and
 *   storage errors), not the request; another replica may answer.
 *
 * Verdicts: INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE, NOT_FOUND, ALREADY_EXISTS,
 * PERMISSION_DENIED, UNAUTHENTICATED, UNIMPLEMENTED: the server judged the request (or does not serve
 * the method at all). NOT_FOUND is per server in a replicated system (a lagging consensus node lacks
 * a round its peers have); call sites that read from replicas and want the next one on it say so
 * explicitly (`tryNext` of failover).
 *
 * Anything that is not a gRPC failure (a local error, an answer that did not verify) is not an outage:
 * the caller decides what it means.
 */
export function isOutage(err: unknown): boolean {
  const code = grpcCode(err);
  switch (code) {
    case status.UNAVAILABLE:
    case status.DEADLINE_EXCEEDED:
    case status.RESOURCE_EXHAUSTED:
    case status.ABORTED:
    case status.INTERNAL:
    case status.UNKNOWN:
    case status.DATA_LOSS:
      return true;
    case status.CANCELLED:
      return !isCancelledByCaller(err);
    default:
      return false;
  }
}

/** True when a server judged the request (a gRPC status that is not an outage and not our own cancel). */
export function isVerdict(err: unknown): boolean {
  const code = grpcCode(err);
  return code !== undefined && code !== status.OK && !isOutage(err) && !isCancelledByCaller(err);
}
