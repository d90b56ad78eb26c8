// `npm start` for real: the launcher starts every process, each answers health, endpoints.json is
// written in the documented shape, a killed child is reported, SIGTERM stops every child (checked by
// PID: no orphans), and a second start reuses keys, genesis and data.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHealth } from '../../lib/grpc/health-client.js';
import { isAlive, ROOT } from '../helpers/process.js';

interface ProcessEntry {
  name: string;
  pid: number;
  grpc: string;
  alive: boolean;
}

function startDevnet(dir: string): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/devnet.ts'], {
    cwd: ROOT,
    env: { ...process.env, WOLK_DEVNET_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

async function until(what: string, check: () => boolean, timeoutMs: number, output: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; devnet said:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

test.serial('npm start runs the whole devnet, reports deaths, and stops every child', async (t) => {
  t.timeout(240_000);
  const dir = mkdtempSync(join(tmpdir(), 'wolk-devnet-'));
  const first = startDevnet(dir);
  await until('devnet ready', () => /devnet ready: 13 processes/.test(first.output()), 150_000, first.output);

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
  await until('death report', () => /storer-3 \(pid \d+\) exited on SIGKILL/.test(first.output()), 15_000, first.output);

  t.is(await stop(first.child), 0);
  for (const p of processes) t.false(isAlive(p.pid), `${p.name} (pid ${p.pid}) was stopped`);

  // Second start: same identities (genesis), same data directories, all healthy again.
  const second = startDevnet(dir);
  await until('devnet ready again', () => /devnet ready: 13 processes/.test(second.output()), 150_000, second.output);
  const genesis2 = JSON.parse(readFileSync(join(dir, 'genesis.json'), 'utf8')) as { nodes: { id: string }[]; seed: string };
  const g1 = JSON.parse(genesis1) as { nodes: { id: string }[]; seed: string };
  t.deepEqual(genesis2.nodes.map((n) => n.id), g1.nodes.map((n) => n.id));
  t.is(genesis2.seed, g1.seed);
  t.true(existsSync(join(dir, 'storer-0', 'db')));
  const processes2 = JSON.parse(readFileSync(join(dir, 'processes.json'), 'utf8')) as ProcessEntry[];
  t.is(await stop(second.child), 0);
  for (const p of processes2) t.false(isAlive(p.pid), `${p.name} (pid ${p.pid}) was stopped`);
});
