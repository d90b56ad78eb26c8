// The one way tests wait for something that happens in the background: observe it now and then until
// it holds or a deadline passes, and on timeout fail with what was last seen (the value or the error
// the last observation threw), never hang and never sleep-then-assert.
import { setTimeout as sleep } from 'node:timers/promises';

export interface PollOptions<T> {
  /** What is awaited, for the timeout message ("the follower to reach round 9"). */
  readonly what: string;
  /** Give up (throw) after this long. */
  readonly deadlineMs: number;
  /** Pause between observations; default 200 ms. */
  readonly intervalMs?: number;
  /** When the observed value is the awaited one; default: it is neither undefined, null nor false. */
  readonly until?: (value: T) => boolean;
  /** How the last observed value reads in the timeout message; default JSON (bigints as strings). */
  readonly describe?: (value: T) => string;
  /** Stops the wait early (the test ended or gave up), rejecting with the signal's reason. */
  readonly signal?: AbortSignal;
}

export class PollTimeoutError extends Error {
  override readonly name = 'PollTimeoutError';
}

const defaultUntil = (v: unknown): boolean => v !== undefined && v !== null && v !== false;

function defaultDescribe(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Calls `observe` until `until(value)` holds and returns that value. An observation that throws counts
 * as "not yet" (a service still starting); on timeout the error names the last value and last error.
 * Without `until`, undefined, null and false mean "not yet" and are left out of the result's type.
 */
export function pollUntil<T, U extends T>(observe: () => T | Promise<T>, o: PollOptions<T> & { readonly until: (value: T) => value is U }): Promise<U>;
export function pollUntil<T>(observe: () => T | Promise<T>, o: PollOptions<T> & { readonly until: (value: T) => boolean }): Promise<T>;
export function pollUntil<T>(observe: () => T | Promise<T>, o: Omit<PollOptions<T>, 'until'>): Promise<Exclude<T, undefined | null | false>>;
export async function pollUntil<T>(observe: () => T | Promise<T>, o: PollOptions<T>): Promise<T> {
  const until = o.until ?? defaultUntil;
  const describe = o.describe ?? defaultDescribe;
  const interval = o.intervalMs ?? 200;
  const start = Date.now();
  const end = start + o.deadlineMs;
  let seen = false;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    o.signal?.throwIfAborted();
    try {
      const v = await observe();
      seen = true;
      last = v;
      lastError = undefined;
      if (until(v)) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= end) {
      const parts = [`timed out after ${Date.now() - start} ms waiting for ${o.what}`];
      if (seen) parts.push(`last observed: ${describe(last as T)}`);
      if (lastError !== undefined) parts.push(`last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
      throw new PollTimeoutError(parts.join('; '));
    }
    await sleep(Math.min(interval, Math.max(0, end - Date.now())), undefined, o.signal ? { signal: o.signal } : undefined).catch((err: unknown) => {
      o.signal?.throwIfAborted(); // the caller's reason, not timers' AbortError
      throw err;
    });
  }
}
