// The shared KvStore compliance suite against RocksDB whose directory is on the RBD-mounted ext4 volume:
// the storage every stateful service gets from Rook's rook-ceph-block StorageClass.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { openRocksKv } from '../../lib/storage/rocksdb.js';
import { kvComplianceSuite } from '../unit/storage/kv-suite.js';
import { cephTierEnv, runId } from './env.js';

const env = cephTierEnv();
const base = join(env.mount, `kv-${runId}`);
mkdirSync(base, { recursive: true });

test.serial('rbd: the volume is an ext4 filesystem on a loop device over the rbd-fuse image', (t) => {
  const line = execFileSync('findmnt', ['-n', '-o', 'SOURCE,FSTYPE', '--target', base], { encoding: 'utf8' }).trim();
  t.regex(line, /^\/dev\/loop\d+\s+ext4$/);
  const loop = line.split(/\s+/)[0]!;
  const backing = execFileSync('losetup', ['-n', '-O', 'BACK-FILE', loop], { encoding: 'utf8' }).trim();
  t.true(backing.startsWith(join(env.dir, 'fuse')), `loop backing file ${backing} is an rbd-fuse image`);
});

let lastDir = '';
kvComplianceSuite(test.serial, 'rocksdb on rbd', {
  open: async () => {
    lastDir = mkdtempSync(join(base, 'db-'));
    return openRocksKv(lastDir);
  },
  reopen: async () => openRocksKv(lastDir),
});
