// The compliance suite every KvStore implementation must pass (js-libp2p interface-compliance style).
import type { SerialFn, TestFn } from 'ava';
import type { KvStore } from '../../../lib/storage/kv.js';
import { Bucket, bucketKey, prefixEnd } from '../../../lib/storage/kv.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

export interface KvFactory {
  open(): Promise<KvStore>;
  /** Reopens the same store after close (persistent stores only). */
  reopen?(): Promise<KvStore>;
}

async function collect(store: KvStore, ...args: Parameters<KvStore['range']>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of store.range(...args)) out.push(`${dec(e.key)}=${dec(e.value)}`);
  return out;
}

export function kvComplianceSuite(test: TestFn | SerialFn, name: string, factory: KvFactory): void {
  test(`${name}: get of a missing key is null`, async (t) => {
    const kv = await factory.open();
    t.is(await kv.get(enc('missing')), null);
    await kv.close();
  });

  test(`${name}: put, get, overwrite, delete`, async (t) => {
    const kv = await factory.open();
    await kv.put(enc('a'), enc('1'), { sync: true });
    t.is(dec(await kv.get(enc('a'))), '1');
    await kv.put(enc('a'), enc('2'));
    t.is(dec(await kv.get(enc('a'))), '2');
    await kv.del(enc('a'));
    t.is(await kv.get(enc('a')), null);
    await kv.close();
  });

  test(`${name}: batch applies puts and deletes together`, async (t) => {
    const kv = await factory.open();
    await kv.put(enc('x'), enc('old'));
    await kv.batch(
      [
        { type: 'put', key: enc('y'), value: enc('1') },
        { type: 'del', key: enc('x') },
        { type: 'put', key: enc('z'), value: enc('2') },
      ],
      { sync: true },
    );
    t.is(await kv.get(enc('x')), null);
    t.is(dec(await kv.get(enc('y'))), '1');
    t.is(dec(await kv.get(enc('z'))), '2');
    await kv.close();
  });

  test(`${name}: range is in byte order, bounded, reversible and limited`, async (t) => {
    const kv = await factory.open();
    for (const k of ['b', 'a', 'd', 'c', 'e']) await kv.put(enc(k), enc(k.toUpperCase()));
    t.deepEqual(await collect(kv), ['a=A', 'b=B', 'c=C', 'd=D', 'e=E']);
    t.deepEqual(await collect(kv, { gte: enc('b'), lt: enc('d') }), ['b=B', 'c=C']);
    t.deepEqual(await collect(kv, { reverse: true, limit: 2 }), ['e=E', 'd=D']);
    await kv.close();
  });

  test(`${name}: bucket keys never collide across buckets and prefix scans stay inside one`, async (t) => {
    const kv = await factory.open();
    const id = Uint8Array.of(0xff, 0xff);
    await kv.put(bucketKey(Bucket.chunk, id), enc('chunk'));
    await kv.put(bucketKey(Bucket.file, id), enc('file'));
    const p = bucketKey(Bucket.chunk);
    t.deepEqual(await collect(kv, { gte: p, lt: prefixEnd(p) }), [`${dec(bucketKey(Bucket.chunk, id))}=chunk`]);
    await kv.close();
  });

  test(`${name}: stored values cannot be changed through the caller's buffers`, async (t) => {
    const kv = await factory.open();
    const v = enc('abc');
    await kv.put(enc('k'), v);
    v[0] = 0x7a;
    const got = await kv.get(enc('k'));
    t.is(dec(got), 'abc');
    await kv.close();
  });

  if (factory.reopen) {
    const reopen = factory.reopen;
    test(`${name}: synced writes survive close and reopen`, async (t) => {
      const kv = await factory.open();
      await kv.put(enc('durable'), enc('yes'), { sync: true });
      await kv.batch([{ type: 'put', key: enc('batched'), value: enc('yes') }], { sync: true });
      await kv.close();
      const again = await reopen();
      t.is(dec(await again.get(enc('durable'))), 'yes');
      t.is(dec(await again.get(enc('batched'))), 'yes');
      await again.close();
    });
  }

  test(`${name}: operations after close fail with a storage error`, async (t) => {
    const kv = await factory.open();
    await kv.close();
    await t.throwsAsync(async () => kv.get(enc('a')), { message: /closed/ });
  });
}
