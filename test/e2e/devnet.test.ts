// `npm start` for real: the launcher starts every process, each answers health, endpoints.json is
// written in the documented shape, a killed child is reported, SIGTERM stops every child (checked by
// PID: no orphans), and a second start reuses keys, genesis and data.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHealth } from '../../lib/grpc/health-client.js';
import { isAlive } from '../helpers/process.js';
import { startDevnet } from '../helpers/devnet.js';
import { logSeedOnFailure } from '../helpers/seed.js';

// Its node keys (and the devnet's genesis seed) come from the seeded test PRNG: a failure prints the seed.
logSeedOnFailure(test);

interface ProcessEntry {
  name: string;
  pid: number;
  grpc: string;
  alive: boolean;
}

test.serial('npm start runs the whole devnet, reports deaths, and stops every child', async (t) => {
  t.timeout(600_000);
  const dir = mkdtempSync(join(tmpdir(), 'wolk-devnet-'));
  const first = await startDevnet(dir);
  t.regex(first.output(), /devnet ready: 13 processes/);

  const endpoints = JSON.parse(readFileSync(join(dir, 'endpoints.json'), 'utf8')) as Record<string, unknown>;
  t.deepEqual(Object.keys(endpoints).sort(), ['consensus', 'gateway', 'indexer', 'rewards', 'storer']);
  t.regex(endpoints['gateway'] as string, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.is((endpoints['consensus'] as string[]).length, 4);
  t.is((endpoints['storer'] as string[]).length, 6);
  t.is((endpoints['rewards'] as string[]).length, 1);
  t.is((endpoints['indexer'] as string[]).length, 1);
  for (const e of [...(endpoints['storer'] as string[]), ...(endpoints['consensus'] as string[])]) t.is(await checkHealth(e), 'SERVING', e);
  const status = (await (await fetch(`${endpoints['gateway'] as string}/status`)).json()) as { serving: number; total: number };
  t.is(status.total, 12);
  t.is(status.serving, 12);

  const processes = JSON.parse(readFileSync(join(dir, 'processes.json'), 'utf8')) as ProcessEntry[];
  t.is(processes.length, 13);
  for (const p of processes) t.true(isAlive(p.pid), `${p.name} is running`);
  const genesis1 = readFileSync(join(dir, 'genesis.json'), 'utf8');

  // A service that dies is reported, not silently lost.
  const victim = processes.find((p) => p.name === 'storer-3')!;
  process.kill(victim.pid, 'SIGKILL');
  await first.waitForOutput(/storer-3 \(pid \d+\) exited on SIGKILL/, 'death report', 15_000);

  t.is(await first.stop(), 0);
  for (const p of processes) t.false(isAlive(p.pid), `${p.name} (pid ${p.pid}) was stopped`);

  // Second start: same identities (genesis), same data directories, all healthy again.
  const second = await startDevnet(dir);
  t.regex(second.output(), /devnet ready: 13 processes/);
  const genesis2 = JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8')) as { nodes: { id: string }[]; seed: string };
  const g1 = JSON.parse(genesis1) as { nodes: { id: string }[]; seed: string };
  t.deepEqual(genesis2.nodes.map((n) => n.id), g1.nodes.map((n) => n.id));
  t.is(genesis2.seed, g1.seed);
  t.true(existsSync(join(dir, 'storer-0', 'db')));
  const processes2 = JSON.parse(readFileSync(join(dir, 'processes.json'), 'utf8')) as ProcessEntry[];
  t.is(await second.stop(), 0);
  for (const p of processes2) t.false(isAlive(p.pid), `${p.name} (pid ${p.pid}) was stopped`);
});
