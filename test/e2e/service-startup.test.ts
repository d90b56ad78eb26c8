// Start-up faults a person will hit, on real service processes (hence the e2e tier): each gives one
// line naming the variable or path, and exit code 1.
import test from 'ava';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnService, waitForExit, waitForLog } from '../helpers/process.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'wolk-start-'));
/** What a person reads: the lines that are not JSON log records (a service may log before it fails). */
const plainLines = (stderr: string) => stderr.trim().split('\n').filter((l) => l !== '' && !l.startsWith('{'));

test('a bad environment value: one line naming the variable, exit 1', async (t) => {
  const exit = await waitForExit(spawnService('storer', { WOLK_LISTEN: 'localhost', WOLK_DATA_DIR: tmp() }));
  t.is(exit.code, 1);
  t.is(plainLines(exit.stderr).length, 1);
  t.regex(plainLines(exit.stderr)[0]!, /^wolk-storer: WOLK_LISTEN: expected HOST:PORT/);
});

test('a data directory that cannot be written: one line naming it, exit 1', async (t) => {
  const exit = await waitForExit(spawnService('indexer', { WOLK_LISTEN: '127.0.0.1:0', WOLK_DATA_DIR: '/proc/wolk-cannot-write' }));
  t.is(exit.code, 1);
  t.deepEqual(plainLines(exit.stderr), ['wolk-indexer: WOLK_DATA_DIR: cannot write to /proc/wolk-cannot-write (ENOENT)']);
});

test('a port already in use: one line naming the address, exit 1', async (t) => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  try {
    const exit = await waitForExit(spawnService('consensus', { WOLK_LISTEN: `127.0.0.1:${port}`, WOLK_DATA_DIR: tmp() }));
    t.is(exit.code, 1);
    t.deepEqual(plainLines(exit.stderr), [`wolk-consensus: cannot listen on 127.0.0.1:${port}: the port is already in use`]);
  } finally {
    blocker.close();
  }
});

test('SIGTERM: the service logs its shutdown and exits 0', async (t) => {
  const child = spawnService('rewards', { WOLK_LISTEN: '127.0.0.1:0', WOLK_DATA_DIR: tmp() });
  const exitP = waitForExit(child);
  await waitForLog(child, 'started');
  child.kill('SIGTERM');
  const exit = await exitP;
  t.is(exit.code, 0);
});
