// Turns async, typed handlers into grpc-js implementations (nice-grpc style): unary handlers return a
// promise, streaming handlers take/return async iterables, every handler gets an AbortSignal that fires
// when the client cancels or the deadline passes. Errors map to statuses in one place (errors.ts);
// malformed request bytes become INVALID_ARGUMENT instead of grpc-js's INTERNAL; a method without a
// handler answers UNIMPLEMENTED naming what is missing.
import type {
  Metadata,
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  UntypedServiceImplementation,
  sendUnaryData,
  ServiceDefinition,
} from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { Logger } from '../log/logger.js';
import { isClientError, toStatus, WolkError } from './errors.js';

/** The shape ts-proto generates for each method of a grpc-js service definition. */
export interface MethodDefinition<Req, Res> {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  requestSerialize(value: Req): Buffer;
  requestDeserialize(bytes: Buffer): Req;
  responseSerialize(value: Res): Buffer;
  responseDeserialize(bytes: Buffer): Res;
}

type ReqOf<M> = M extends { requestDeserialize(bytes: Buffer): infer R } ? R : never;
type ResOf<M> = M extends { responseSerialize(value: infer R): Buffer } ? R : never;

export interface CallContext {
  /** Aborted when the client cancels, the deadline passes, or the server shuts down. */
  readonly signal: AbortSignal;
  readonly metadata: Metadata;
  readonly peer: string;
  /** Method name as in the proto, for logs. */
  readonly method: string;
}

export type Handler<M> = M extends { requestStream: true; responseStream: true }
  ? (requests: AsyncIterable<ReqOf<M>>, ctx: CallContext) => AsyncIterable<ResOf<M>>
  : M extends { requestStream: true }
    ? (requests: AsyncIterable<ReqOf<M>>, ctx: CallContext) => Promise<ResOf<M>>
    : M extends { responseStream: true }
      ? (request: ReqOf<M>, ctx: CallContext) => AsyncIterable<ResOf<M>>
      : (request: ReqOf<M>, ctx: CallContext) => Promise<ResOf<M>>;

/** Handlers for every method; `unimplemented` says, per missing method, what is not built yet. */
export type ServiceHandlers<D> = { [K in keyof D]?: Handler<D[K]> };

/** Marker a tolerant deserializer returns for bytes that do not parse. */
const MALFORMED = Symbol('malformed');
interface Malformed {
  [MALFORMED]: string;
}
function isMalformed(v: unknown): v is Malformed {
  return typeof v === 'object' && v !== null && MALFORMED in v;
}

/**
 * A copy of the definition whose request deserializers never throw, so malformed bytes reach our
 * middleware and get INVALID_ARGUMENT with a readable message.
 */
export function tolerantDefinition<D extends ServiceDefinition>(definition: D): D {
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    const m = method as unknown as MethodDefinition<unknown, unknown>;
    out[name] = {
      ...m,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return m.requestDeserialize(bytes);
        } catch (err) {
          return { [MALFORMED]: (err as Error).message } satisfies Malformed;
        }
      },
    };
  }
  return out as D;
}

function malformedError(method: string, m: Malformed): WolkError {
  return new WolkError('INVALID_ARGUMENT', `${method}: request is not a valid protobuf message (${m[MALFORMED]})`);
}

/**
 * A call that grpc-js ended before the handler answered, seen from the handler. grpc-js tells us only
 * that the call is over ('cancelled'), not why: the client cancelled it, or grpc-js itself answered it,
 * e.g. RESOURCE_EXHAUSTED for a message over the receive limit (WOLK_MAX_MESSAGE_BYTES). Either way a
 * client's doing, not a server error: logged at info for calls that read a request stream (where a
 * refused message shows up this way), at debug for the others.
 */
class CallEndedEarly extends WolkError {
  constructor(readsStream: boolean, maxReceiveBytes: number | undefined) {
    const limit = maxReceiveBytes === undefined ? "the server's receive limit" : `the server's receive limit of ${maxReceiveBytes} bytes (WOLK_MAX_MESSAGE_BYTES)`;
    super(
      'CANCELLED',
      readsStream
        ? `the call ended before the server answered: the client cancelled it, or gRPC refused one of its messages (a message over ${limit} is answered RESOURCE_EXHAUSTED)`
        : 'call cancelled by the client',
    );
  }
}

/** How close to its deadline a cancelled call counts as one that ran out of time (see `ended` below). */
const DEADLINE_SLACK_MS = 100;

function contextFor(
  call: { metadata: Metadata; getPeer(): string; cancelled?: boolean; on(event: 'cancelled', fn: () => void): unknown; getDeadline?(): Date | number },
  method: string,
  shutdown: AbortSignal,
  endedEarly: () => WolkError,
): { ctx: CallContext; done: () => void; ended: () => WolkError } {
  const deadline = call.getDeadline?.();
  const at = deadline === undefined ? Infinity : deadline instanceof Date ? deadline.getTime() : deadline;
  // Why grpc-js ended the call under the handler. At the deadline the client's own timer cancels the
  // call too, and its cancel reaches us before our deadline (ours counts from when the request arrived,
  // later than the client's by the request's way here): a cancel that close to it is the deadline.
  const ended = () => (Date.now() >= at - DEADLINE_SLACK_MS ? new WolkError('DEADLINE_EXCEEDED', 'deadline exceeded') : endedEarly());
  // The signal, its shutdown listener and its deadline timer are made when a handler first asks for the
  // signal: most calls (gossip, reads) never do, and an AbortController, an EventTarget listener and a
  // timer per call were a visible share of a validator's CPU under load (bench consensus, issue 17).
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  let cancelled = false;
  const onShutdown = () => controller?.abort(new WolkError('UNAVAILABLE', 'server is shutting down'));
  const arm = (): AbortController => {
    const c = new AbortController();
    controller = c;
    if (finished) return c;
    if (cancelled || call.cancelled) c.abort(ended());
    else if (shutdown.aborted) onShutdown();
    else {
      shutdown.addEventListener('abort', onShutdown, { once: true });
      if (Number.isFinite(at)) {
        timer = setTimeout(() => c.abort(new WolkError('DEADLINE_EXCEEDED', 'deadline exceeded')), Math.max(0, at - Date.now()));
        timer.unref();
      }
    }
    return c;
  };
  // grpc-js (1.14) emits 'cancelled' at the end of EVERY call, answered or not (notifyOnCancel after
  // the status is sent). Only a call whose handler is still running was cancelled: a finished one
  // must neither abort its signal nor build an error (with a source-mapped stack, ~0.1-1 ms) per call.
  call.on('cancelled', () => {
    if (finished) return;
    cancelled = true;
    controller?.abort(ended());
  });
  let peer: string | undefined;
  return {
    ctx: {
      get signal() {
        return (controller ?? arm()).signal;
      },
      metadata: call.metadata,
      get peer() {
        return (peer ??= call.getPeer());
      },
      method,
    },
    done: () => {
      finished = true;
      if (timer) clearTimeout(timer);
      if (controller) shutdown.removeEventListener('abort', onShutdown);
    },
    ended,
  };
}

/**
 * Reads a client stream as an async iterable, turning malformed messages into INVALID_ARGUMENT. When
 * grpc-js ends the call under us it destroys the stream, and reading fails with Node's bare "Premature
 * close": that becomes `ended()`, which says what happened.
 */
async function* readRequests<T>(call: ServerReadableStream<T, unknown> | ServerDuplexStream<T, unknown>, method: string, ended: () => WolkError): AsyncIterable<T> {
  try {
    for await (const message of call as AsyncIterable<T | Malformed>) {
      if (isMalformed(message)) throw malformedError(method, message);
      yield message;
    }
  } catch (err) {
    if (!(err instanceof WolkError) && (call.cancelled || (err as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE')) throw ended();
    throw err;
  }
}

/** Writes with backpressure: waits for 'drain' when grpc-js's buffer is full. */
async function writeAll<T>(call: ServerWritableStream<unknown, T> | ServerDuplexStream<unknown, T>, messages: AsyncIterable<T>, signal: AbortSignal): Promise<void> {
  for await (const message of messages) {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new WolkError('CANCELLED', 'call cancelled');
    if (!call.write(message)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          call.removeListener('drain', onDrain);
          reject(signal.reason instanceof Error ? signal.reason : new WolkError('CANCELLED', 'call cancelled'));
        };
        call.once('drain', onDrain);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  }
}

export interface ImplementationOptions {
  readonly logger: Logger;
  /** Service name for logs, e.g. "wolk.storer.v1.StorerService". */
  readonly serviceName: string;
  /** For methods with no handler: what is missing (shown in the UNIMPLEMENTED message). */
  readonly unimplemented?: Readonly<Record<string, string>>;
  /** Aborted when the server shuts down; in-flight handlers see it through ctx.signal. */
  readonly shutdown: AbortSignal;
  /** The server's receive limit (grpc.max_receive_message_length), named when a call ends early. */
  readonly maxReceiveBytes?: number;
}

export function toGrpcImplementation<D extends ServiceDefinition>(
  definition: D,
  handlers: ServiceHandlers<D>,
  options: ImplementationOptions,
): UntypedServiceImplementation {
  const impl: UntypedServiceImplementation = {};
  const { logger } = options;
  for (const [name, method] of Object.entries(definition)) {
    const m = method as unknown as MethodDefinition<unknown, unknown>;
    const label = `${options.serviceName}/${m.path.split('/').pop() ?? name}`;
    const handler = (handlers as Record<string, unknown>)[name] as ((...args: unknown[]) => unknown) | undefined;
    const endedEarly = () => new CallEndedEarly(m.requestStream, options.maxReceiveBytes);
    // Log levels: error only for the server's own failures. A call ended under a request stream is
    // info (CallEndedEarly); a limit the request ran into (a file over WOLK_MAX_FILE_BYTES, every upload
    // slot busy, a full mempool) is refused as designed, worth an operator's eye: warn (a full disk is a
    // StorageError, not a WolkError, and stays an error); other refusals of the request are debug.
    const fail = (err: unknown) => {
      const st = toStatus(err);
      if (err instanceof CallEndedEarly && m.requestStream) logger.info('call ended before it was answered', { method: label, reason: err.message });
      else if (err instanceof WolkError && err.code === 'RESOURCE_EXHAUSTED') logger.warn('call refused: a limit was reached', { method: label, reason: err.message });
      else if (isClientError(err) || st.code === status.CANCELLED) logger.debug('call failed', { method: label, code: st.code, error: err });
      else logger.error('call failed', { method: label, code: st.code, error: err });
      return st;
    };
    const missing = () =>
      new WolkError(
        'UNIMPLEMENTED',
        `${label} is not implemented yet${options.unimplemented?.[name] ? `: ${options.unimplemented[name]}` : ''}`,
      );

    if (!m.requestStream && !m.responseStream) {
      impl[name] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        if (isMalformed(call.request)) return callback(fail(malformedError(label, call.request)));
        if (!handler) return callback(fail(missing()));
        const { ctx, done } = contextFor(call, label, options.shutdown, endedEarly);
        Promise.resolve()
          .then(() => handler(call.request, ctx))
          .then((res) => callback(null, res), (err: unknown) => callback(fail(err)))
          .finally(done);
      };
    } else if (m.requestStream && !m.responseStream) {
      impl[name] = (call: ServerReadableStream<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        if (!handler) {
          call.resume();
          return callback(fail(missing()));
        }
        const { ctx, done, ended } = contextFor(call, label, options.shutdown, endedEarly);
        Promise.resolve()
          .then(() => handler(readRequests(call, label, ended), ctx))
          .then((res) => callback(null, res), (err: unknown) => callback(fail(err)))
          .finally(done);
      };
    } else if (!m.requestStream && m.responseStream) {
      impl[name] = (call: ServerWritableStream<unknown, unknown>) => {
        if (isMalformed(call.request)) return call.emit('error', fail(malformedError(label, call.request)));
        if (!handler) return call.emit('error', fail(missing()));
        const { ctx, done } = contextFor(call, label, options.shutdown, endedEarly);
        Promise.resolve()
          .then(() => writeAll(call, handler(call.request, ctx) as AsyncIterable<unknown>, ctx.signal))
          .then(() => call.end(), (err: unknown) => {
            if (!call.cancelled) call.emit('error', fail(err));
          })
          .finally(done);
      };
    } else {
      impl[name] = (call: ServerDuplexStream<unknown, unknown>) => {
        if (!handler) return call.emit('error', fail(missing()));
        const { ctx, done, ended } = contextFor(call, label, options.shutdown, endedEarly);
        Promise.resolve()
          .then(() => writeAll(call, handler(readRequests(call, label, ended), ctx) as AsyncIterable<unknown>, ctx.signal))
          .then(() => call.end(), (err: unknown) => {
            if (!call.cancelled) call.emit('error', fail(err));
          })
          .finally(done);
      };
    }
  }
  return impl;
}
