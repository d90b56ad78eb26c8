import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { openRocksKv } from '../../../lib/storage/rocksdb.js';
import { kvComplianceSuite } from './kv-suite.js';

kvComplianceSuite(test, 'memory', { open: async () => createMemoryKv() });

// Each test opens its own directory; reopen() goes back to the directory the same test opened last.
let lastDir = '';
kvComplianceSuite(test.serial, 'rocksdb', {
  open: async () => {
    lastDir = mkdtempSync(join(tmpdir(), 'wolk-kv-'));
    return openRocksKv(lastDir);
  },
  reopen: async () => openRocksKv(lastDir),
});

test('rocksdb: opening an unwritable directory names the path', async (t) => {
  await t.throwsAsync(async () => openRocksKv('/proc/wolk-not-writable/db'), { message: /\/proc\/wolk-not-writable\/db/ });
});
