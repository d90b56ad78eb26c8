// Retrying calls: exponential backoff with full jitter, bounded by a number of attempts and/or a total
// time, ended by an AbortSignal. Only outages are retried by default (errors.ts isOutage): a verdict
// is the same on the next try.
//
// Full jitter (the wait before retry n is uniform in [0, min(maxMs, baseMs·2^n))) rather than a fixed
// doubling: many nodes that lost the same peer at the same moment would otherwise retry in lockstep
// and hit it together when it comes back. Randomness, sleep and clock are injected so that tests can
// seed them.
import { isOutage } from './errors.js';

/** Waits `ms`, or less when `signal` fires (it resolves then: callers check `signal.aborted`). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface Backoff {
  /** Ceiling of the first wait (ms). */
  readonly baseMs: number;
  /** Largest ceiling any wait has (ms). */
  readonly maxMs: number;
  /** 'full' (default): uniform in [0, ceiling); 'none': the ceiling itself (a plain doubling). */
  readonly jitter?: 'full' | 'none';
}

/** The ceiling of wait number `n` (0 for the first): min(maxMs, baseMs·2^n). */
export function backoffCeiling(n: number, b: Backoff): number {
  return Math.min(b.maxMs, b.baseMs * 2 ** Math.min(n, 52));
}

/** Wait number `n` (0 for the first) of a backoff; `random` returns a number in [0, 1). */
export function backoffDelay(n: number, b: Backoff, random: () => number = Math.random): number {
  const ceiling = backoffCeiling(n, b);
  return b.jitter === 'none' ? ceiling : Math.floor(random() * ceiling);
}

export interface RetryPolicy extends Backoff {
  /** Tries at most this many times in all (≥ 1); unbounded when only `totalMs` is given. */
  readonly attempts?: number;
  /** No retry whose wait would end later than this long after the first try began (ms). */
  readonly totalMs?: number;
  /** Whether an error is worth another try (default isOutage). */
  readonly retryOn?: (err: unknown, attempt: number) => boolean;
  readonly signal?: AbortSignal | undefined;
  /** Injected for tests: [0, 1). */
  readonly random?: () => number;
  /** Injected for tests: must resolve early (not reject) when the signal fires. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected for tests: ms. */
  readonly now?: () => number;
  /** Told before each wait (for logs). */
  readonly onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** The signal's reason as an Error (what a retry aborted between tries rejects with). */
export function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error(`aborted${signal.reason === undefined ? '' : `: ${String(signal.reason)}`}`);
}

/**
 * Calls `fn` (with the attempt number, 0 first) until it resolves, an error is not retryable, the
 * attempts or the total time are used up (the last error is thrown), or the signal fires (its reason
 * is thrown). `fn` should pass the signal on to its call so that an abort also cancels a call in flight.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, p: RetryPolicy): Promise<T> {
  if (p.attempts === undefined && p.totalMs === undefined) throw new Error('retry: give attempts, totalMs or both');
  if (p.attempts !== undefined && !(p.attempts >= 1)) throw new Error(`retry: attempts must be at least 1, got ${p.attempts}`);
  const attempts = p.attempts ?? Number.POSITIVE_INFINITY;
  const retryOn = p.retryOn ?? isOutage;
  const random = p.random ?? Math.random;
  const wait = p.sleep ?? sleep;
  const now = p.now ?? Date.now;
  const end = p.totalMs === undefined ? Number.POSITIVE_INFINITY : now() + p.totalMs;
  for (let attempt = 0; ; attempt++) {
    if (p.signal?.aborted) throw abortError(p.signal);
    try {
      return await fn(attempt);
    } catch (err) {
      if (p.signal?.aborted) throw abortError(p.signal);
      if (attempt + 1 >= attempts || !retryOn(err, attempt)) throw err;
      const delay = backoffDelay(attempt, p, random);
      if (now() + delay > end) throw err;
      p.onRetry?.(err, attempt, delay);
      await wait(delay, p.signal);
    }
  }
}
