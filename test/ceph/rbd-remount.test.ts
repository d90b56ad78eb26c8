// Data written and synced on the RBD-mounted volume is in the image: after the filesystem is unmounted, the
// loop device detached and rbd-fuse stopped (nothing cached is left), a fresh mount of the same image
// shows it. Uses its own image so the tier's main volume stays mounted for the other files.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRocksKv } from '../../lib/storage/rocksdb.js';
import { pattern } from '../unit/storage/blob-suite.js';
import { cephCli, cephScript, cephTierEnv, runId } from './env.js';

const env = cephTierEnv();
const enc = (s: string) => new TextEncoder().encode(s);

test.serial('rbd: synced files and RocksDB writes are visible after unmount and a fresh mount', async (t) => {
  const image = `remount-${runId}`;
  const mp = mkdtempSync(join(tmpdir(), 'wolk-rbd-remount-'));
  try {
    t.is(cephScript('rbd-mount.sh', [image, '256M', mp]).trim(), mp);

    const file = pattern(3 * 1024 * 1024, 77);
    const fd = openSync(join(mp, 'replica.bin'), 'w');
    writeSync(fd, file);
    fsyncSync(fd);
    closeSync(fd);
    const db = await openRocksKv(join(mp, 'db'));
    await db.put(enc('acknowledged'), enc('yes'), { sync: true });
    await db.batch([{ type: 'put', key: enc('batch'), value: enc('also') }], { sync: true });
    await db.close();

    cephScript('rbd-umount.sh', [mp]);
    t.is(cephScript('rbd-mount.sh', [image, '256M', mp]).trim(), mp, 'remounted');

    t.true(readFileSync(join(mp, 'replica.bin')).equals(file), 'the 3 MiB file reads back intact');
    const again = await openRocksKv(join(mp, 'db'));
    try {
      t.is(new TextDecoder().decode((await again.get(enc('acknowledged'))) ?? new Uint8Array()), 'yes');
      t.is(new TextDecoder().decode((await again.get(enc('batch'))) ?? new Uint8Array()), 'also');
    } finally {
      await again.close();
    }
  } finally {
    cephScript('rbd-umount.sh', [mp]);
    rmSync(mp, { recursive: true, force: true });
    cephCli('rbd', ['rm', '--no-progress', `rbd/${image}`], env.conf);
  }
  // Nothing of the mount is left behind: no mount, no loop device over the image, no rbd-fuse for it.
  t.false(readFileSync('/proc/mounts', 'utf8').includes(image), 'no mount of the image is left');
  t.false(execFileSync('losetup', ['-a'], { encoding: 'utf8' }).includes(image), 'no loop device is left');
  t.false(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).includes(`rbd-fuse -c ${env.conf} -p rbd -r ${image}`), 'no rbd-fuse is left');
});
