// services/rewards/rotating-pages.ts: the repairer reads a long per-storer listing a window of pages
// per scan, each scan going on where the last stopped, so entries past the first window are reached
// (a dead storer's chunk-set listing never shrinks, docs/repair.md §9).
import test from 'ava';
import { rotatingPager, type Page } from '../../../services/rewards/rotating-pages.js';

/** A listing of `n` numbered entries per name, `size` a page, tokens as the indexer's: opaque, empty after the last. */
function listing(n: Record<string, number>, size: number) {
  const calls: string[] = [];
  let failAt: string | null = null;
  const page = async (name: string, token: string): Promise<Page<number>> => {
    calls.push(`${name}@${token || 'start'}`);
    if (failAt === token) throw new Error('indexer unavailable');
    const from = token === '' ? 0 : Number(token);
    const items = Array.from({ length: Math.max(0, Math.min(size, n[name]! - from)) }, (_, i) => from + i);
    const next = from + size < n[name]! ? String(from + size) : '';
    return { items, next };
  };
  return { page, calls, failOn: (t: string | null) => (failAt = t) };
}

test('a listing longer than the window is read window by window across calls, then from the start again', async (t) => {
  const l = listing({ a: 7 }, 2); // pages [0,1] [2,3] [4,5] [6]
  const read = rotatingPager(2, l.page);
  t.deepEqual(await read('a'), [0, 1, 2, 3]);
  t.deepEqual(await read('a'), [4, 5, 6], 'the next call goes on where the last stopped, to the end');
  t.deepEqual(await read('a'), [0, 1, 2, 3], 'and then starts over');
  const seen = new Set([...(await read('a')), ...(await read('a'))]);
  t.is(seen.size, 7, 'every entry within ⌈4 pages / 2⌉ calls');
});

test('a short listing is read whole every time; listings keep their own place', async (t) => {
  const l = listing({ a: 3, b: 9 }, 4);
  const read = rotatingPager(2, l.page);
  t.deepEqual(await read('a'), [0, 1, 2]);
  t.deepEqual(await read('b'), [0, 1, 2, 3, 4, 5, 6, 7]);
  t.deepEqual(await read('a'), [0, 1, 2], 'a is short: whole again, unaffected by b');
  t.deepEqual(await read('b'), [8]);
});

test('a read that fails part-way starts the next read where the failed one did; bad maxPages is refused', async (t) => {
  const l = listing({ a: 10 }, 2);
  const read = rotatingPager(3, l.page);
  t.deepEqual(await read('a'), [0, 1, 2, 3, 4, 5]);
  l.failOn('8');
  await t.throwsAsync(read('a'), { message: 'indexer unavailable' });
  l.failOn(null);
  t.deepEqual(await read('a'), [6, 7, 8, 9], 'from page 6 again, not past it');
  t.throws(() => rotatingPager(0, l.page), { instanceOf: RangeError });
});
