// lib/time/stall-tolerant.ts: a timeout that does not count this process's own stall. A timer that fires
// late waits again; the I/O queued behind a stall is seen before the timeout; a real timeout still fires,
// never early and within its bound. Serial: a test that blocks this thread is a stall for every other.
import test from 'ava';
import { stallTolerantSleep, stallTolerantTimeout, type StallTolerance } from '../../../lib/time/stall-tolerant.js';
import { answeringPeer, blockThread as block } from '../../helpers/stall.js';

/** When a stall-tolerant timeout armed now fires (ms after arming), running `meanwhile` right after arming. */
function firesAfter(ms: number, tolerance: StallTolerance, meanwhile = () => {}): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    stallTolerantTimeout(ms, () => resolve(performance.now() - t0), tolerance);
    meanwhile();
  });
}

test.serial('a timer that fires late (this process blocked) waits again before it counts', async (t) => {
  const ms = 100;
  const blockMs = 3 * ms;
  const once = await firesAfter(ms, { rewaitFraction: 1, maxRewaits: 1 }, () => block(blockMs));
  t.true(once >= blockMs + ms - 1, `fired ${once.toFixed(0)} ms after arming: the whole ${ms} ms again after the ${blockMs} ms block`);
  const quarter = await firesAfter(ms, { rewaitFraction: 1 / 4, maxRewaits: 1 }, () => block(blockMs));
  t.true(quarter >= blockMs + ms / 4 - 1, `fired ${quarter.toFixed(0)} ms after arming: a quarter of ${ms} ms again after the block`);
});

test.serial('rewaits are bounded by maxRewaits: with none, a late timer counts in the same turn of the loop', async (t) => {
  // Ordering, not timing: after the block, the expired timeout (maxRewaits 0) fires in the first timers
  // phase and ends in that turn's check phase, before a plain timer armed after the block; with one
  // rewait of the whole timeout it ends after that plain timer (which expires earlier).
  const race = (maxRewaits: number) =>
    new Promise<string[]>((resolve) => {
      const order: string[] = [];
      const ms = 100;
      stallTolerantTimeout(ms, () => order.push('stall-tolerant') === 2 && resolve(order), { rewaitFraction: 1, maxRewaits });
      block(3 * ms);
      setTimeout(() => order.push('plain, armed after the block') === 2 && resolve(order), ms / 2);
    });
  t.deepEqual(await race(0), ['stall-tolerant', 'plain, armed after the block']);
  t.deepEqual(await race(1), ['plain, armed after the block', 'stall-tolerant']);
});

for (const tolerance of [{ maxRewaits: 0 }, { maxRewaits: 1, rewaitFraction: 1 / 4 }, { maxRewaits: 3, rewaitFraction: 1 }] as const) {
  test.serial(`an answer that arrived while this process was blocked past the timeout is seen before it (${JSON.stringify(tolerance)})`, async (t) => {
    const sock = await answeringPeer(t);
    const ms = 100;
    const order: string[] = [];
    await new Promise<void>((resolve) => {
      const timer = stallTolerantTimeout(ms, () => order.push('stall-tolerant timeout'), tolerance);
      // A plain timer armed alongside: Node runs it before reading the socket (why the primitive exists).
      setTimeout(() => order.push('plain timeout'), ms);
      sock.once('data', () => {
        order.push('answer');
        timer.cancel(); // as a read or an audit does once answered
        resolve();
      });
      sock.write('challenge');
      block(3 * ms); // the answer arrives meanwhile
    });
    t.deepEqual(order, ['plain timeout', 'answer']);
  });
}

test.serial('a real timeout fires, never early and within its bound', async (t) => {
  const ms = 200;
  const tolerance = { lateFraction: 1 / 4, rewaitFraction: 1, maxRewaits: 3 };
  const at = await firesAfter(ms, tolerance);
  // Not early; and at most every rewait after the first wait, each ending on time or late by no more than
  // a quarter of the timeout (more would mean this process was starved for that long).
  const bound = ms + tolerance.maxRewaits * tolerance.rewaitFraction * ms + (tolerance.maxRewaits + 1) * tolerance.lateFraction * ms;
  t.true(at >= ms - 1, `fired ${at.toFixed(0)} ms after arming, not before ${ms}`);
  t.true(at <= bound, `fired ${at.toFixed(0)} ms after arming, within ${bound}`);
});

test.serial('a cancelled timeout never fires; a sleep resolves after its time and rejects at once on abort', async (t) => {
  const fired: string[] = [];
  const cancelled = stallTolerantTimeout(50, () => fired.push('cancelled'));
  cancelled.cancel();
  cancelled.cancel(); // idempotent
  // One armed after it with the same timeout ends after it would have.
  await new Promise<void>((r) => stallTolerantTimeout(50, r));
  t.deepEqual(fired, []);

  const t0 = performance.now();
  await stallTolerantSleep(50, undefined);
  t.true(performance.now() - t0 >= 49, 'not before its time');
  const ac = new AbortController();
  const sleeping = stallTolerantSleep(60_000, ac.signal);
  ac.abort(new Error('stop'));
  await t.throwsAsync(sleeping, { message: 'stop' });
  await t.throwsAsync(stallTolerantSleep(10, ac.signal), { message: 'stop' }, 'an aborted signal rejects at once');
});

test.serial('options are checked', (t) => {
  t.throws(() => stallTolerantTimeout(-1, () => {}), { message: /ms must be a finite number >= 0, got -1/ });
  t.throws(() => stallTolerantTimeout(10, () => {}, { maxRewaits: 1.5 }), { message: /maxRewaits must be an integer >= 0, got 1.5/ });
  t.throws(() => stallTolerantTimeout(10, () => {}, { lateFraction: 0 }), { message: /lateFraction must be > 0, got 0/ });
  t.throws(() => stallTolerantTimeout(10, () => {}, { rewaitFraction: -1 }), { message: /rewaitFraction must be > 0, got -1/ });
});
