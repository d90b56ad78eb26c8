// A timeout that does not count this process's own stall: the one home of "a deadline raced against
// I/O" for the real clock (the gateway's read silence, services/gateway/read.ts; the rewards audit
// deadline, services/rewards/containment.ts systemClock).
//
// Node runs expired timers before it polls sockets. A process that was blocked (a long synchronous
// step) or starved of CPU past a timeout would, on waking, run the timer before reading an answer
// that had already arrived, and count that answer as missing. So:
//   - a timer that fires more than `lateFraction` of its timeout late (the process could not run for
//     part of the wait, so what it waits for may be sitting unread) waits again, `rewaitFraction` of
//     the timeout, at most `maxRewaits` times;
//   - the timeout then ends only after the I/O already queued behind it (setImmediate runs after the
//     poll phase), so an answer that arrived before it is seen first.
// It never ends early. Timers are referenced: a pending timeout keeps the process alive.

/** How a stall-tolerant timeout tolerates this process's stalls. */
export interface StallTolerance {
  /** A firing later than this fraction of the timeout counts as a stall of this process. Default 1/4. */
  readonly lateFraction?: number;
  /** How long a wait after a late firing is, as a fraction of the timeout. Default 1 (the whole timeout again). */
  readonly rewaitFraction?: number;
  /** Waits after late firings at most this many times. Default 1. */
  readonly maxRewaits?: number;
}

export interface StallTolerantTimer {
  /** Stops it: `onTimeout` is not called after this (idempotent). */
  cancel(): void;
}

function checkTolerance(ms: number, t: StallTolerance): Required<StallTolerance> {
  const r = { lateFraction: t.lateFraction ?? 0.25, rewaitFraction: t.rewaitFraction ?? 1, maxRewaits: t.maxRewaits ?? 1 };
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`stall-tolerant timeout: ms must be a finite number >= 0, got ${ms}`);
  if (!(r.lateFraction > 0)) throw new RangeError(`stall-tolerant timeout: lateFraction must be > 0, got ${r.lateFraction}`);
  if (!(r.rewaitFraction > 0)) throw new RangeError(`stall-tolerant timeout: rewaitFraction must be > 0, got ${r.rewaitFraction}`);
  if (!Number.isInteger(r.maxRewaits) || r.maxRewaits < 0) throw new RangeError(`stall-tolerant timeout: maxRewaits must be an integer >= 0, got ${r.maxRewaits}`);
  return r;
}

/** Calls `onTimeout` once after `ms` this process could have received in (see the file comment), unless cancelled first. */
export function stallTolerantTimeout(ms: number, onTimeout: () => void, tolerance: StallTolerance = {}): StallTolerantTimer {
  const { lateFraction, rewaitFraction, maxRewaits } = checkTolerance(ms, tolerance);
  let cancelled = false;
  let rewaits = 0;
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const wait = (waitMs: number) => {
    const armedAt = performance.now();
    timer = setTimeout(() => {
      timer = undefined;
      if (cancelled) return;
      if (rewaits < maxRewaits && ms > 0 && performance.now() - armedAt - waitMs > ms * lateFraction) {
        rewaits++;
        wait(ms * rewaitFraction);
        return;
      }
      immediate = setImmediate(() => {
        immediate = undefined;
        if (!cancelled) {
          cancelled = true;
          onTimeout();
        }
      });
    }, waitMs);
  };
  wait(ms);
  return {
    cancel() {
      cancelled = true;
      if (timer) clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
    },
  };
}

/** Resolves after a stall-tolerant timeout of `ms`; rejects with the signal's reason when it aborts first. */
export function stallTolerantSleep(ms: number, signal: AbortSignal | undefined, tolerance: StallTolerance = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      timer.cancel();
      reject(signal!.reason as Error);
    };
    const timer = stallTolerantTimeout(
      ms,
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      tolerance,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
