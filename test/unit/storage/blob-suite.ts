// The compliance suite every BlobStore implementation must pass (js-libp2p interface-compliance style):
// files on disk, RocksDB and RADOS alike. `open()` must return an empty store (a fresh directory, database
// or RADOS namespace); `reopen()`, when given, opens again the store that the same test opened last.
import type { ExecutionContext, SerialFn, TestFn } from 'ava';
import type { BlobStore } from '../../../lib/storage/blob.js';

export interface BlobFactory {
  open(): Promise<BlobStore>;
  /** Reopens the store opened last, after close (persistent stores only). */
  reopen?(): Promise<BlobStore>;
}

const enc = (s: string) => new TextEncoder().encode(s);

/** Deterministic, non-repeating-looking bytes (a 32-bit LCG), so shifted or truncated reads are caught. */
export function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Byte-exact comparison that reports the length and the first differing offset, not a megabyte dump. */
function sameBytes(t: ExecutionContext, got: Uint8Array | null, expected: Uint8Array, what: string): void {
  if (got === null) {
    t.fail(`${what}: got null, expected ${expected.length} bytes`);
    return;
  }
  t.true(got instanceof Uint8Array, `${what}: expected a Uint8Array`);
  if (got.length !== expected.length) {
    t.fail(`${what}: got ${got.length} bytes, expected ${expected.length}`);
    return;
  }
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== expected[i]) {
      t.fail(`${what}: first difference at byte ${i} (got ${got[i]}, expected ${expected[i]})`);
      return;
    }
  }
  t.pass();
}

async function collect(store: BlobStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const name of store.list(prefix)) out.push(name);
  return out;
}

export function blobComplianceSuite(test: TestFn | SerialFn, name: string, factory: BlobFactory): void {
  test(`${name}: a missing object reads as null and removing it is not an error`, async (t) => {
    const s = await factory.open();
    try {
      t.is(await s.get('missing'), null);
      t.is(await s.get('missing', 0, 0), null);
      t.is(await s.get('missing', 10, 5), null);
      t.is(await s.stat('missing'), null);
      await t.notThrowsAsync(() => s.remove('missing'));
      t.deepEqual(await collect(s, ''), []);
    } finally {
      await s.close();
    }
  });

  test(`${name}: put then get returns the same bytes, and stat the size`, async (t) => {
    const s = await factory.open();
    try {
      const data = pattern(10_000, 7);
      await s.put('file/abc/0', data);
      sameBytes(t, await s.get('file/abc/0'), data, 'whole object');
      t.deepEqual(await s.stat('file/abc/0'), { size: 10_000 });
      await s.put('empty', new Uint8Array(0));
      sameBytes(t, await s.get('empty'), new Uint8Array(0), 'empty object');
      t.deepEqual(await s.stat('empty'), { size: 0 });
    } finally {
      await s.close();
    }
  });

  test(`${name}: ranges are clamped to the object at both edges and past the end`, async (t) => {
    const s = await factory.open();
    try {
      const data = pattern(1000, 3);
      await s.put('r', data);
      sameBytes(t, await s.get('r', 0, 1), data.subarray(0, 1), 'first byte');
      sameBytes(t, await s.get('r', 999, 1), data.subarray(999), 'last byte');
      sameBytes(t, await s.get('r', 100, 250), data.subarray(100, 350), 'middle range');
      sameBytes(t, await s.get('r', 400), data.subarray(400), 'offset to the end');
      sameBytes(t, await s.get('r', 990, 100), data.subarray(990), 'range running past the end');
      sameBytes(t, await s.get('r', 0, 1000), data, 'exactly the whole object');
      sameBytes(t, await s.get('r', 0, 0), new Uint8Array(0), 'zero length at the start');
      sameBytes(t, await s.get('r', 1000), new Uint8Array(0), 'offset at the end');
      sameBytes(t, await s.get('r', 5000, 10), new Uint8Array(0), 'offset past the end');
    } finally {
      await s.close();
    }
  });

  test(`${name}: put replaces the whole object; a shorter overwrite leaves no old tail`, async (t) => {
    const s = await factory.open();
    try {
      await s.put('o', pattern(5000, 1));
      const shorter = pattern(100, 2);
      await s.put('o', shorter);
      sameBytes(t, await s.get('o'), shorter, 'after shorter overwrite');
      t.deepEqual(await s.stat('o'), { size: 100 });
      sameBytes(t, await s.get('o', 50, 1000), shorter.subarray(50), 'range after overwrite');
      const longer = pattern(3000, 4);
      await s.put('o', longer);
      sameBytes(t, await s.get('o'), longer, 'after longer overwrite');
    } finally {
      await s.close();
    }
  });

  test(`${name}: remove deletes the object, is idempotent and hides it from list`, async (t) => {
    const s = await factory.open();
    try {
      await s.put('d/1', enc('one'));
      await s.put('d/2', enc('two'));
      await s.remove('d/1');
      t.is(await s.get('d/1'), null);
      t.is(await s.stat('d/1'), null);
      await t.notThrowsAsync(() => s.remove('d/1'));
      t.deepEqual(await collect(s, 'd/'), ['d/2']);
      sameBytes(t, await s.get('d/2'), enc('two'), 'the other object');
    } finally {
      await s.close();
    }
  });

  test(`${name}: list returns names with the prefix, in byte order`, async (t) => {
    const s = await factory.open();
    try {
      // '-' (0x2d) < '.' (0x2e) < '/' (0x2f) < '0' < 'B' < '_' < 'a': a store that walks directories and
      // sorts each level separately would put 'seg/a/x' before 'seg/a-b'.
      const names = ['seg/b', 'seg/a/x', 'seg/a-b', 'seg/a.c', 'seg/B', 'seg/_', 'seg/0', 'segment', 'other/seg/x', 'se'];
      for (const n of names) await s.put(n, enc(n));
      t.deepEqual(await collect(s, 'seg/'), ['seg/0', 'seg/B', 'seg/_', 'seg/a-b', 'seg/a.c', 'seg/a/x', 'seg/b']);
      t.deepEqual(await collect(s, 'seg'), ['seg/0', 'seg/B', 'seg/_', 'seg/a-b', 'seg/a.c', 'seg/a/x', 'seg/b', 'segment']);
      t.deepEqual(await collect(s, 'seg/a'), ['seg/a-b', 'seg/a.c', 'seg/a/x']);
      t.deepEqual(await collect(s, 'nothing/'), []);
      t.deepEqual(await collect(s, ''), [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    } finally {
      await s.close();
    }
  });

  test(`${name}: a name can be both an object and the prefix of other objects`, async (t) => {
    const s = await factory.open();
    try {
      await s.put('f/abc', enc('meta'));
      await s.put('f/abc/0', enc('seg0'));
      await s.put('f/abc/1', enc('seg1'));
      sameBytes(t, await s.get('f/abc'), enc('meta'), 'the object named like a prefix');
      sameBytes(t, await s.get('f/abc/1'), enc('seg1'), 'an object under it');
      t.deepEqual(await collect(s, 'f/'), ['f/abc', 'f/abc/0', 'f/abc/1']);
      await s.remove('f/abc');
      t.deepEqual(await collect(s, 'f/'), ['f/abc/0', 'f/abc/1']);
    } finally {
      await s.close();
    }
  });

  test(`${name}: invalid names are rejected with a RangeError before touching storage`, async (t) => {
    const s = await factory.open();
    try {
      for (const bad of ['', '/abs', 'a/', 'a//b', '../x', 'a/../b', 'a/./b', '.', 'sp ace', 'new\nline', 'ü', 'a\\b']) {
        await t.throwsAsync(async () => s.put(bad, enc('x')), { instanceOf: RangeError }, `put ${JSON.stringify(bad)}`);
        await t.throwsAsync(async () => s.get(bad), { instanceOf: RangeError }, `get ${JSON.stringify(bad)}`);
        await t.throwsAsync(async () => s.stat(bad), { instanceOf: RangeError }, `stat ${JSON.stringify(bad)}`);
        await t.throwsAsync(async () => s.remove(bad), { instanceOf: RangeError }, `remove ${JSON.stringify(bad)}`);
      }
      t.deepEqual(await collect(s, ''), [], 'nothing was written');
    } finally {
      await s.close();
    }
  });

  test(`${name}: stored bytes cannot be changed through the caller's or the reader's buffers`, async (t) => {
    const s = await factory.open();
    try {
      const backing = pattern(64, 5);
      const view = backing.subarray(16, 48); // a view with a byteOffset: only these 32 bytes are stored
      const expected = Uint8Array.from(view);
      await s.put('v', view);
      backing.fill(0);
      const got = await s.get('v');
      sameBytes(t, got, expected, 'after the caller changed its buffer');
      got?.fill(0xee);
      sameBytes(t, await s.get('v'), expected, 'after the reader changed its buffer');
    } finally {
      await s.close();
    }
  });

  test(`${name}: a large object (8 MiB) round-trips whole and by range`, async (t) => {
    const s = await factory.open();
    try {
      const size = 8 * 1024 * 1024;
      const data = pattern(size, 11);
      await s.put('large/0', data);
      t.deepEqual(await s.stat('large/0'), { size });
      sameBytes(t, await s.get('large/0'), data, 'whole 8 MiB');
      const off = 3 * 1024 * 1024 + 17;
      sameBytes(t, await s.get('large/0', off, 1 << 20), data.subarray(off, off + (1 << 20)), '1 MiB from the middle');
      sameBytes(t, await s.get('large/0', size - 5, 1 << 20), data.subarray(size - 5), 'tail past the end');
    } finally {
      await s.close();
    }
  });

  test(`${name}: concurrent puts and gets of different objects all land`, async (t) => {
    const s = await factory.open();
    try {
      const items = Array.from({ length: 32 }, (_, i) => ({ name: `c/${String(i).padStart(2, '0')}`, data: pattern(1000 + i * 97, i + 1) }));
      await Promise.all(items.map((it) => s.put(it.name, it.data)));
      const got = await Promise.all(items.map((it) => s.get(it.name)));
      got.forEach((g, i) => sameBytes(t, g, items[i]!.data, items[i]!.name));
      t.deepEqual(await collect(s, 'c/'), items.map((it) => it.name));
    } finally {
      await s.close();
    }
  });

  test(`${name}: concurrent removes and puts under one prefix neither fail nor lose objects`, async (t) => {
    const s = await factory.open();
    try {
      // A store that keeps prefixes as directories and prunes empty ones must not trip over itself:
      // removes racing to empty a directory, and puts landing in one that is being pruned.
      const old = Array.from({ length: 32 }, (_, i) => `g/dir/old-${String(i).padStart(2, '0')}`);
      for (const n of old) await s.put(n, enc(n));
      await t.notThrowsAsync(() => Promise.all(old.map((n) => s.remove(n))), 'removing every object of a prefix at once');
      t.deepEqual(await collect(s, 'g/'), []);
      for (const n of old) await s.put(n, enc(n));
      const fresh = Array.from({ length: 32 }, (_, i) => `g/dir/new-${String(i).padStart(2, '0')}`);
      await t.notThrowsAsync(
        () => Promise.all([...old.map((n) => s.remove(n)), ...fresh.map((n) => s.put(n, enc(n)))]),
        'puts racing with removes that empty the same prefix',
      );
      t.deepEqual(await collect(s, 'g/'), fresh);
    } finally {
      await s.close();
    }
  });

  if (factory.reopen) {
    const reopen = factory.reopen;
    test(`${name}: objects put before close are there after reopen, removed ones are not`, async (t) => {
      const s = await factory.open();
      const a = pattern(300_000, 21);
      await s.put('keep/a', a);
      await s.put('keep/b', enc('b'));
      await s.put('gone', enc('x'));
      await s.remove('gone');
      await s.close();
      const again = await reopen();
      try {
        sameBytes(t, await again.get('keep/a'), a, 'keep/a after reopen');
        sameBytes(t, await again.get('keep/b'), enc('b'), 'keep/b after reopen');
        t.is(await again.get('gone'), null);
        t.deepEqual(await collect(again, ''), ['keep/a', 'keep/b']);
      } finally {
        await again.close();
      }
    });
  }

  test(`${name}: operations after close fail with an error saying it is closed`, async (t) => {
    const s = await factory.open();
    await s.put('x', enc('x'));
    await s.close();
    await t.notThrowsAsync(() => s.close(), 'close is idempotent');
    await t.throwsAsync(async () => s.get('x'), { message: /closed/ });
    await t.throwsAsync(async () => s.put('y', enc('y')), { message: /closed/ });
  });
}
