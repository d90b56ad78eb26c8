// The replay cache: a nonce passes once, survives a restart (RocksDB), expires with the window, and
// a full cache refuses instead of forgetting.
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRocksKv } from '../../../lib/storage/rocksdb.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { openReplayCache } from '../../../services/gateway/replay.js';

const alice = new Uint8Array(32).fill(1);
const bob = new Uint8Array(32).fill(2);

test('a nonce is accepted once per key, and still refused after a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-replay-'));
  let kv = await openRocksKv(dir);
  let cache = await openReplayCache(kv, { windowSeconds: 300, maxEntries: 100 });
  t.is(await cache.check(alice, 'nonce-nonce-nonce-1', 1000, 1000), 'fresh');
  t.is(await cache.check(alice, 'nonce-nonce-nonce-1', 1000, 1001), 'replay');
  t.is(await cache.check(bob, 'nonce-nonce-nonce-1', 1000, 1001), 'fresh', 'nonces are per key');
  await kv.close();
  kv = await openRocksKv(dir);
  cache = await openReplayCache(kv, { windowSeconds: 300, maxEntries: 100 });
  t.is(await cache.check(alice, 'nonce-nonce-nonce-1', 1000, 1002), 'replay');
  t.is(cache.size(), 2);
  await kv.close();
});

test('concurrent requests with one nonce: exactly one passes', async (t) => {
  const cache = await openReplayCache(createMemoryKv(), { windowSeconds: 300, maxEntries: 100 });
  const verdicts = await Promise.all(Array.from({ length: 5 }, () => cache.check(alice, 'same-nonce-same-nonce', 1000, 1000)));
  t.is(verdicts.filter((v) => v === 'fresh').length, 1);
});

test('entries leave with the window; a full window refuses new nonces', async (t) => {
  const cache = await openReplayCache(createMemoryKv(), { windowSeconds: 300, maxEntries: 2 });
  t.is(await cache.check(alice, 'aaaaaaaaaaaaaaaa', 1000, 1000), 'fresh');
  t.is(await cache.check(alice, 'bbbbbbbbbbbbbbbb', 1100, 1100), 'fresh');
  t.is(await cache.check(alice, 'cccccccccccccccc', 1200, 1200), 'full');
  // At 1302 the entry created at 1000 can no longer pass the time check: it is pruned.
  t.is(await cache.check(alice, 'cccccccccccccccc', 1302, 1302), 'fresh');
  t.is(cache.size(), 2);
  t.is(await cache.check(alice, 'bbbbbbbbbbbbbbbb', 1100, 1302), 'replay');
});
