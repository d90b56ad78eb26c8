// The one gRPC client layer over grpc-js and the generated clients in gen/ (nice-grpc style): a unary
// call as a promise with a deadline and an AbortSignal that cancels it, a server stream as an async
// iterable that honours the signal, and failover across endpoints (the next one on an outage, never
// on a verdict: errors.ts isOutage), and a pool of clients per endpoint. Retries with backoff live in
// retry.ts. Every failure of a call
// rejects with an RpcError naming the endpoint, the status code and the server's details.
import { Metadata, status, type CallOptions, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { grpcCode, isOutage } from './errors.js';

/** Channel options for clients of long-lived peers: reconnect soon after a peer comes back (grpc-js waits up to 120 s). */
export const reconnectChannelOptions = { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 2000 } as const;

/** Clients made on first use, one per endpoint (a channel each), closed together. */
export class ClientPool<C extends { close(): void }> {
  private readonly clients = new Map<string, C>();
  constructor(private readonly make: (endpoint: string) => C) {}

  get(endpoint: string): C {
    let c = this.clients.get(endpoint);
    if (!c) {
      c = this.make(endpoint);
      this.clients.set(endpoint, c);
    }
    return c;
  }

  /** Closes and forgets one endpoint's client (the endpoint left). */
  drop(endpoint: string): void {
    this.clients.get(endpoint)?.close();
    this.clients.delete(endpoint);
  }

  /**
   * Closes the client of each endpoint that leaves `endpoints` (an EndpointSet following DNS), so the
   * pool does not keep channels to pods that are gone. Returns the unsubscribe.
   */
  follow(endpoints: { onChange(listener: (current: readonly string[], removed: readonly string[]) => void): () => void }): () => void {
    return endpoints.onChange((_current, removed) => {
      for (const e of removed) this.drop(e);
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

/** A failed call: its status code, the server's details, and the endpoint it went to. */
export class RpcError extends Error {
  /** The status code (grpc-js `status`). */
  readonly code: status;
  readonly details: string;
  readonly endpoint: string;
  /** The caller's own signal ended the call: neither an outage nor a verdict. */
  readonly cancelledByCaller: boolean;

  constructor(code: status, endpoint: string, details: string, o: { cancelledByCaller?: boolean; cause?: unknown } = {}) {
    super(endpoint ? `${endpoint}: ${details}` : details, o.cause === undefined ? undefined : { cause: o.cause });
    this.name = 'RpcError';
    this.code = code;
    this.details = details;
    this.endpoint = endpoint;
    this.cancelledByCaller = o.cancelledByCaller ?? false;
  }
}

export interface CallOpts {
  /** The call's deadline, relative (ms from now); ignored when `deadline` is given. No deadline when neither is. */
  readonly timeoutMs?: number;
  /** The call's deadline, absolute (ms since the epoch). */
  readonly deadline?: number;
  /** Cancels the call (the promise rejects, the stream throws, with an RpcError CANCELLED, cancelledByCaller). */
  readonly signal?: AbortSignal | undefined;
  /** Named in errors; '' when the caller does not say. */
  readonly endpoint?: string;
  readonly metadata?: Metadata;
}

type Callback<Res> = (err: ServiceError | null, res: Res) => void;
/** A generated client's unary method, bound to its client: `client.getStatus.bind(client)`. */
export type UnaryMethod<Req, Res> = (req: Req, md: Metadata, opts: Partial<CallOptions>, cb: Callback<Res>) => { cancel(): void };
/** A generated client's server-streaming method, bound to its client: `client.streamBlocks.bind(client)`. */
export type ServerStreamMethod<Req, Res> = (req: Req, md: Metadata, opts: Partial<CallOptions>) => ClientReadableStream<Res>;

function deadlineOf(o: CallOpts): number {
  if (o.deadline !== undefined) return o.deadline;
  return o.timeoutMs !== undefined ? Date.now() + o.timeoutMs : Number.POSITIVE_INFINITY;
}

const cancelled = (endpoint: string, signal: AbortSignal) =>
  new RpcError(status.CANCELLED, endpoint, 'cancelled by the caller', { cancelledByCaller: true, cause: signal.reason });

/** Any rejection of a grpc-js call as an RpcError (a non-gRPC error is UNKNOWN, keeping it as the cause). */
export function toRpcError(err: unknown, endpoint = '', signal?: AbortSignal): RpcError {
  if (err instanceof RpcError) return err;
  const code = grpcCode(err) ?? status.UNKNOWN;
  const e = err as Partial<ServiceError>;
  const details = (typeof e.details === 'string' && e.details) || (err instanceof Error ? err.message : String(err));
  return new RpcError(code, endpoint, details, { cancelledByCaller: code === status.CANCELLED && signal?.aborted === true, cause: err });
}

/** One unary call: resolves with the answer, rejects with an RpcError. */
export function unaryCall<Req, Res>(method: UnaryMethod<Req, Res>, req: Req, o: CallOpts = {}): Promise<Res> {
  const endpoint = o.endpoint ?? '';
  const signal = o.signal;
  return new Promise<Res>((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled(endpoint, signal));
    const onAbort = () => call.cancel();
    const call = method(req, o.metadata ?? new Metadata(), { deadline: deadlineOf(o) }, (err, res) => {
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(signal?.aborted && err.code === status.CANCELLED ? cancelled(endpoint, signal) : toRpcError(err, endpoint, signal));
      else resolve(res);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * One server-streaming call as an async iterable: the call starts at the first read, ends (cancelled)
 * when the consumer stops early or the signal fires, and its failures are thrown as RpcErrors.
 */
export async function* serverStream<Req, Res>(method: ServerStreamMethod<Req, Res>, req: Req, o: CallOpts = {}): AsyncGenerator<Res, void, undefined> {
  const endpoint = o.endpoint ?? '';
  const signal = o.signal;
  if (signal?.aborted) throw cancelled(endpoint, signal);
  const call = method(req, o.metadata ?? new Metadata(), { deadline: deadlineOf(o) });
  const onAbort = () => call.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const msg of call as AsyncIterable<Res>) yield msg;
  } catch (err) {
    if (signal?.aborted && grpcCode(err) === status.CANCELLED) throw cancelled(endpoint, signal);
    throw toRpcError(err, endpoint, signal);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    call.cancel();
  }
}

/** Every endpoint failed (each with an outage, or none was given). */
export class NoEndpointAnswered extends Error {
  readonly failures: readonly { readonly endpoint: string; readonly error: unknown }[];
  constructor(failures: readonly { readonly endpoint: string; readonly error: unknown }[], whyNone = 'no endpoint configured') {
    const why = failures.map((f) => (f.error instanceof RpcError && f.error.endpoint === f.endpoint ? f.error.message : `${f.endpoint}: ${(f.error as Error)?.message ?? String(f.error)}`));
    super(failures.length === 0 ? whyNone : `no endpoint answered (${why.join('; ')})`);
    this.name = 'NoEndpointAnswered';
    this.failures = failures;
  }
  /** The last endpoint's error (undefined when none was tried). */
  get last(): unknown {
    return this.failures.at(-1)?.error;
  }
}

export interface FailoverOptions {
  /** Stops trying further endpoints; the call in flight is cancelled through `fn`'s own use of it. */
  readonly signal?: AbortSignal | undefined;
  /** Whether an error sends the call on to the next endpoint (default isOutage); any other error is thrown at once. */
  readonly tryNext?: (err: unknown) => boolean;
  /** Index of the endpoint to try first (e.g. the one that answered last); the others follow in order. */
  readonly start?: number;
  /** The endpoint to try first when it is in the list (the one that answered last; the list may have changed since); overrides `start`. */
  readonly first?: string | undefined;
  /** Why the list is empty, for the NoEndpointAnswered thrown then (an EndpointSet's emptyReason). */
  readonly whenEmpty?: () => string;
}

/**
 * Calls `fn` on each endpoint in turn (from `start`, wrapping) until one answers. An error `tryNext`
 * accepts (an outage, by default) moves on; any other error (a verdict) is thrown as it is. When every
 * endpoint failed, throws NoEndpointAnswered with each failure. Returns the answer and the index of
 * the endpoint that gave it (callers keep it as their next `start`).
 */
export async function failover<T>(endpoints: readonly string[], fn: (endpoint: string, index: number) => Promise<T>, o: FailoverOptions = {}): Promise<{ value: T; index: number }> {
  const tryNext = o.tryNext ?? isOutage;
  const failures: { endpoint: string; error: unknown }[] = [];
  const n = endpoints.length;
  if (n === 0) throw new NoEndpointAnswered([], o.whenEmpty?.());
  const firstAt = o.first === undefined ? -1 : endpoints.indexOf(o.first);
  const start = firstAt >= 0 ? firstAt : (((o.start ?? 0) % n) + n) % n;
  for (let i = 0; i < n; i++) {
    const index = (start + i) % n;
    const endpoint = endpoints[index]!;
    if (o.signal?.aborted) throw cancelled(endpoint, o.signal);
    try {
      return { value: await fn(endpoint, index), index };
    } catch (err) {
      if (!tryNext(err) || o.signal?.aborted) throw err;
      failures.push({ endpoint, error: err });
    }
  }
  throw new NoEndpointAnswered(failures);
}
