// The shared BlobStore compliance suite against native RADOS, plus what only RADOS can show: the objects
// are really in the pool (read back with the `rados` CLI) and the single-write limit is reported clearly.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRadosBlobStore, parseRadosStoreUrl } from '../../lib/storage/blob-rados.js';
import { RADOS_MAX_WRITE_BYTES } from '../../lib/storage/rados-native.js';
import { StorageError } from '../../lib/storage/errors.js';
import { blobComplianceSuite, pattern } from '../unit/storage/blob-suite.js';
import { cephCli, cephTierEnv, runId } from './env.js';

const env = cephTierEnv();

// Each open() gets a fresh RADOS namespace (an empty store); reopen() returns to the last one.
let seq = 0;
let lastNamespace = '';
blobComplianceSuite(test.serial, 'rados', {
  open: async () => {
    lastNamespace = `suite-${runId}-${seq++}`;
    return openRadosBlobStore({ confPath: env.conf, pool: env.pool, namespace: lastNamespace });
  },
  reopen: async () => openRadosBlobStore({ confPath: env.conf, pool: env.pool, namespace: lastNamespace }),
});

test.serial('rados: objects written through the store are in the pool, as the rados CLI sees them', async (t) => {
  const ns = `cli-${runId}`;
  const store = await openRadosBlobStore({ confPath: env.conf, pool: env.pool, namespace: ns });
  const data = pattern(1_000_000, 99);
  await store.put('file/ff00/seg/0', data);
  await store.close();
  const listed = cephCli('rados', ['-p', env.pool, '-N', ns, 'ls'], env.conf).toString('utf8').trim().split('\n');
  t.deepEqual(listed, ['file/ff00/seg/0']);
  const dir = mkdtempSync(join(tmpdir(), 'wolk-rados-cli-'));
  try {
    cephCli('rados', ['-p', env.pool, '-N', ns, 'get', 'file/ff00/seg/0', join(dir, 'out')], env.conf);
    t.true(Buffer.from(data).equals(readFileSync(join(dir, 'out'))), 'rados get returns the bytes that were put');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.serial('rados: an object over the single-write limit is refused with a message saying to segment', async (t) => {
  const store = await openRadosBlobStore({ confPath: env.conf, pool: env.pool, namespace: `limit-${runId}` });
  try {
    const err = await t.throwsAsync(() => store.put('too-big', new Uint8Array(RADOS_MAX_WRITE_BYTES + 1)), { instanceOf: StorageError });
    t.regex(err?.message ?? '', /segments/);
    t.is(await store.stat('too-big'), null, 'nothing was written');
  } finally {
    await store.close();
  }
});

test.serial('rados: opening a missing pool names the pool and the errno', async (t) => {
  const err = await t.throwsAsync(() => openRadosBlobStore({ confPath: env.conf, pool: `no-such-pool-${runId}` }));
  t.regex(err?.message ?? '', /no-such-pool/);
  t.regex(err?.message ?? '', /ENOENT/);
});

test.serial('rados: a cluster that does not answer fails open within the connect timeout', async (t) => {
  // A ceph.conf pointing at a port nobody listens on: connect must fail, not hang for librados's 300 s.
  const dir = mkdtempSync(join(tmpdir(), 'wolk-rados-dead-'));
  try {
    const conf = join(dir, 'ceph.conf');
    const text = readFileSync(env.conf, 'utf8').replace(/^mon host = .*$/m, 'mon host = [v2:127.0.0.1:1]');
    writeFileSync(conf, text);
    const started = Date.now();
    await t.throwsAsync(() => openRadosBlobStore({ confPath: conf, pool: env.pool, settings: { client_mount_timeout: '3' } }), { instanceOf: StorageError });
    t.true(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.serial('rados: hundreds of operations in flight leave the event loop responsive', async (t) => {
  const store = await openRadosBlobStore({ confPath: env.conf, pool: env.pool, namespace: `loop-${runId}` });
  try {
    let maxLag = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxLag = Math.max(maxLag, now - last - 5);
      last = now;
    }, 5);
    const payload = pattern(4096, 8);
    await Promise.all(Array.from({ length: 500 }, (_, i) => store.put(`share/${i}`, payload)));
    const got = await Promise.all(Array.from({ length: 500 }, (_, i) => store.get(`share/${i}`)));
    clearInterval(timer);
    t.true(got.every((g) => g !== null && Buffer.from(g).equals(payload)), 'all 500 read back');
    t.true(maxLag < 250, `the event loop stalled for ${maxLag.toFixed(0)} ms`);
  } finally {
    await store.close();
  }
});

test.serial('rados: close waits for operations already started, then refuses new ones', async (t) => {
  const store = await openRadosBlobStore({ confPath: env.conf, pool: env.pool, namespace: `close-${runId}` });
  const payload = pattern(64 * 1024, 9);
  const puts = Array.from({ length: 50 }, (_, i) => store.put(`p/${i}`, payload));
  const closed = store.close();
  const results = await Promise.allSettled(puts);
  await closed;
  t.deepEqual(results.filter((r) => r.status === 'rejected'), [], 'every put started before close was acknowledged');
  await t.throwsAsync(async () => store.get('p/0'), { message: /closed/ });
  const again = await openRadosBlobStore({ confPath: env.conf, pool: env.pool, namespace: `close-${runId}` });
  try {
    const names: string[] = [];
    for await (const n of again.list('p/')) names.push(n);
    t.is(names.length, 50);
  } finally {
    await again.close();
  }
});

test('rados: WOLK_STORE urls parse to pool and namespace', (t) => {
  t.deepEqual(parseRadosStoreUrl('rados://wolk'), { pool: 'wolk', namespace: '' });
  t.deepEqual(parseRadosStoreUrl('rados://wolk/storer-1'), { pool: 'wolk', namespace: 'storer-1' });
  t.throws(() => parseRadosStoreUrl('rados://'), { instanceOf: RangeError });
  t.throws(() => parseRadosStoreUrl('file:///data'), { instanceOf: RangeError });
});
