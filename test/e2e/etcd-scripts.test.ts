// scripts/etcd/{up,down}.sh, the reference cluster of `npm run bench -- consensus`: up.sh starts three
// healthy members on loopback that replicate a put, down.sh stops every member and removes the folder.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPTS = join(process.cwd(), 'scripts', 'etcd');

function pidsOf(dir: string): number[] {
  const run = join(dir, 'run');
  if (!existsSync(run)) return [];
  return readdirSync(run).map((f) => Number(readFileSync(join(run, f), 'utf8').trim()));
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');

test('up.sh starts 3 replicating members on loopback; down.sh stops them and removes the folder', async (t) => {
  const parent = mkdtempSync(join(tmpdir(), 'wolk-etcd-test-'));
  const dir = join(parent, 'cluster');
  try {
    const up = spawnSync(join(SCRIPTS, 'up.sh'), [dir], { encoding: 'utf8', timeout: 600_000 });
    if (up.status !== 0) {
      // No apt and no etcd here: the benchmark reports CANNOT RUN; the script must say why.
      t.regex(up.stderr, /etcd/);
      t.log(`etcd unavailable: ${up.stderr.trim().split('\n').pop()}`);
      return;
    }
    const [printedDir, endpointList] = up.stdout.trim().split('\n');
    t.is(printedDir, dir);
    const endpoints = endpointList!.split(',');
    t.is(endpoints.length, 3);
    for (const e of endpoints) t.regex(e, /^http:\/\/127\.0\.0\.1:\d+$/);
    const pids = pidsOf(dir);
    t.is(pids.length, 3);
    t.true(pids.every(alive));

    // A put through one member is read back, linearizably, through each of the others.
    const key = Buffer.from('wolk/test').toString('base64');
    const value = Buffer.from('replicated').toString('base64');
    const put = await fetch(`${endpoints[0]}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key, value }) });
    t.is(put.status, 200);
    for (const e of endpoints.slice(1)) {
      const res = await fetch(`${e}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key }) });
      const body = (await res.json()) as { kvs?: { value: string }[] };
      t.is(body.kvs?.[0]?.value, value, `read through ${e}`);
    }

    const down = spawnSync(join(SCRIPTS, 'down.sh'), [dir], { encoding: 'utf8', timeout: 120_000 });
    t.is(down.status, 0, down.stderr);
    t.false(existsSync(dir));
    t.false(pids.some(alive));
  } finally {
    if (existsSync(dir)) spawnSync(join(SCRIPTS, 'down.sh'), [dir], { encoding: 'utf8', timeout: 120_000 });
    rmSync(parent, { recursive: true, force: true });
  }
});
