// Objects acknowledged by put() survive the OSD going away and coming back: they are on BlueStore (a file
// on disk), not in memory. The OSD is stopped with SIGKILL, the harshest case, then up.sh restarts it.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openRadosBlobStore } from '../../lib/storage/blob-rados.js';
import { pattern } from '../unit/storage/blob-suite.js';
import { cephScript, cephTierEnv, runId } from './env.js';

const env = cephTierEnv();

function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2]!.startsWith('Z');
  } catch {
    return false;
  }
}

test.serial('rados: acknowledged objects survive SIGKILL of the OSD and its restart', async (t) => {
  const ns = `restart-${runId}`;
  const store = await openRadosBlobStore({ confPath: env.conf, pool: env.pool, namespace: ns });
  const objects = Array.from({ length: 20 }, (_, i) => ({ name: `seg/${i}`, data: pattern(50_000 + i * 4096, 500 + i) }));
  await Promise.all(objects.map((o) => store.put(o.name, o.data)));
  await store.close();

  const pid = Number(readFileSync(join(env.dir, 'run', 'osd.0.spid'), 'utf8'));
  t.true(alive(pid), `the OSD (pid ${pid}) runs before the kill`);
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
  t.false(alive(pid), 'the OSD is gone');

  cephScript('up.sh', [], 150_000); // restarts the missing OSD and waits for HEALTH_OK

  const again = await openRadosBlobStore({ confPath: env.conf, pool: env.pool, namespace: ns });
  try {
    const names: string[] = [];
    for await (const n of again.list('seg/')) names.push(n);
    t.is(names.length, objects.length);
    for (const o of objects) {
      const got = await again.get(o.name);
      t.true(got !== null && Buffer.from(got).equals(o.data), `${o.name} reads back intact`);
    }
  } finally {
    await again.close();
  }
});
