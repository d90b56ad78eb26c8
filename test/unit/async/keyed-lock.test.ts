// lib/async/keyed-lock.ts: one piece of work at a time per key, in call order; other keys side by side;
// a failure does not block the next piece; nothing is kept once the work is done.
import test from 'ava';
import { KeyedLock } from '../../../lib/async/keyed-lock.js';

/** A promise the test settles by hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

test('work on one key runs in call order, one piece at a time; another key is not held up', async (t) => {
  const lock = new KeyedLock();
  const events: string[] = [];
  const first = gate();
  const a1 = lock.run('a', async () => {
    events.push('a1 start');
    await first.promise;
    events.push('a1 end');
    return 1;
  });
  const a2 = lock.run('a', async () => {
    events.push('a2 start');
    return 2;
  });
  const b = lock.run('b', async () => {
    events.push('b start');
    return 3;
  });
  t.is(await b, 3, 'key b ran while key a was held');
  t.deepEqual(events, ['a1 start', 'b start']);
  first.open();
  t.deepEqual(await Promise.all([a1, a2]), [1, 2]);
  t.deepEqual(events, ['a1 start', 'b start', 'a1 end', 'a2 start']);
  t.is(lock.size, 0, 'no key is kept once its work is done');
});

test('a piece that fails passes its error to its caller and does not block the next', async (t) => {
  const lock = new KeyedLock();
  const failing = lock.run('k', async () => {
    throw new Error('disk full');
  });
  const next = lock.run('k', async () => 'ran');
  await t.throwsAsync(failing, { message: 'disk full' });
  t.is(await next, 'ran');
  t.is(lock.size, 0);
});
