// `npm start` as a process supervisor, `timeout` or `kill PID` drives it (issue #26 point 2, issue #24
// point 9): a second `npm start` in the same directory refuses at once with one clear line and leaves
// the running devnet's files alone; SIGTERM to the pid `npm start` returns stops every process of the
// devnet (launcher and its 13 services) within the shutdown grace.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCK_FILE } from '../../scripts/devnet-lock.js';
import { DEVNET_SHUTDOWN_GRACE_MS, LAUNCHER_KILL_AFTER_MS } from '../../scripts/devnet-plan.js';
import { isAlive, ROOT } from '../helpers/process.js';
import { pollUntil } from '../helpers/poll.js';

interface Started {
  readonly child: ChildProcess;
  output(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function npmStart(dir: string): Started {
  const child = spawn('npm', ['start'], { cwd: ROOT, env: { ...process.env, WOLK_DEVNET_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => out, exit };
}

/** Alive and not a zombie (an exited process whose new parent has not reaped it yet is gone for a user). */
function running(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const launcherPid = (dir: string) => Number(readFileSync(join(dir, LOCK_FILE), 'utf8').trim());
const servicePids = (dir: string) => (JSON.parse(readFileSync(join(dir, 'processes.json'), 'utf8')) as { name: string; pid: number }[]).map((p) => ({ name: p.name, pid: p.pid }));

/** The files a second launcher used to rewrite under a running devnet. */
const WATCHED = ['ports.json', 'genesis.json', 'processes.json', 'endpoints.json', LOCK_FILE];
const snapshot = (dir: string) => WATCHED.map((f) => ({ f, bytes: readFileSync(join(dir, f), 'utf8'), mtimeMs: statSync(join(dir, f)).mtimeMs }));

test.serial('npm start: a second start in the same directory refuses; SIGTERM to the npm pid leaves no devnet process', async (t) => {
  t.timeout(600_000);
  const dir = mkdtempSync(join(tmpdir(), 'wolk-devnet-sigterm-'));
  const first = npmStart(dir);
  // Whatever happens, nothing this test started outlives it (each pid killed by its number).
  t.teardown(() => {
    const pids = [...(existsSync(join(dir, 'processes.json')) ? servicePids(dir).map((p) => p.pid) : []), ...(existsSync(join(dir, LOCK_FILE)) ? [launcherPid(dir)] : [])];
    for (const pid of [first.child.pid, ...pids]) if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  await pollUntil(first.output, { what: 'devnet ready', deadlineMs: 300_000, until: (o) => /devnet ready: 13 processes/.test(o), describe: (o) => `devnet said:\n${o}` });

  const launcher = launcherPid(dir);
  const services = servicePids(dir);
  t.is(services.length, 13);
  for (const p of [{ name: 'launcher', pid: launcher }, ...services]) t.true(isAlive(p.pid), `${p.name} (pid ${p.pid}) runs`);

  // A second start in the same directory: one clear line, exit at once, nothing of the first touched.
  const before = snapshot(dir);
  const t0 = Date.now();
  const second = npmStart(dir);
  const refused = await second.exit;
  t.not(refused.code, 0, second.output());
  t.true(second.output().includes(`devnet: a devnet already runs in ${dir} (launcher pid ${launcher})`), second.output());
  t.false(second.output().includes('starting the Wolk devnet'), second.output());
  t.log(`second npm start refused in ${Date.now() - t0} ms`);
  t.deepEqual(snapshot(dir), before, 'the running devnet\'s files are untouched');
  for (const p of [{ name: 'launcher', pid: launcher }, ...services]) t.true(isAlive(p.pid), `${p.name} (pid ${p.pid}) still runs`);

  // SIGTERM to the pid `npm start` returned, as `kill PID`, `timeout` or a supervisor sends it.
  const stopAt = Date.now();
  first.child.kill('SIGTERM');
  // Within the grace: the services' own (WOLK_SHUTDOWN_GRACE_MS), bounded by the launcher's SIGKILL,
  // plus a second for the launcher to notice and a few for process exits on a loaded machine.
  const grace = Math.max(DEVNET_SHUTDOWN_GRACE_MS, LAUNCHER_KILL_AFTER_MS) + 1000 + 5000;
  const left = () => [{ name: 'launcher', pid: launcher }, ...services].filter((p) => running(p.pid));
  await pollUntil(left, {
    what: 'no devnet process left',
    deadlineMs: grace,
    until: (l) => l.length === 0,
    describe: (l) => `still running: ${l.map((p) => `${p.name}:${p.pid}`).join(', ')}; devnet said:\n${first.output()}`,
  });
  t.log(`every devnet process gone ${Date.now() - stopAt} ms after SIGTERM to npm (pid ${first.child.pid})`);
  t.deepEqual(left(), []);
  t.false(existsSync(join(dir, LOCK_FILE)), 'the launcher released the directory');
});
