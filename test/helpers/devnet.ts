// Runs `npm start`'s launcher (scripts/devnet.ts) in a temporary directory for end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pollUntil } from './poll.js';
import { ROOT } from './process.js';

export interface Devnet {
  readonly dir: string;
  readonly child: ChildProcess;
  output(): string;
  /** Waits until the launcher's output matches `pattern`; on timeout the error carries the output. */
  waitForOutput(pattern: RegExp, what: string, deadlineMs: number): Promise<void>;
  endpoints(): { gateway: string; storer: string[]; consensus: string[]; rewards: string[]; indexer: string[] };
  processes(): { name: string; pid: number; grpc: string }[];
  stop(): Promise<number | null>;
}

async function outputMatches(output: () => string, pattern: RegExp, what: string, deadlineMs: number): Promise<void> {
  await pollUntil(output, { what, deadlineMs, until: (o) => pattern.test(o), describe: (o) => `devnet said:\n${o}` });
}

export async function startDevnet(dir = mkdtempSync(join(tmpdir(), 'wolk-devnet-')), env: Record<string, string> = {}): Promise<Devnet> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/devnet.ts'], {
    cwd: ROOT,
    env: { ...process.env, WOLK_DEVNET_DIR: dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const output = () => out;
  await outputMatches(output, /devnet ready: \d+ processes/, 'devnet ready', 240_000);
  return {
    dir,
    child,
    output,
    waitForOutput: (pattern, what, deadlineMs) => outputMatches(output, pattern, what, deadlineMs),
    endpoints: () => JSON.parse(readFileSync(join(dir, 'endpoints.json'), 'utf8')) as ReturnType<Devnet['endpoints']>,
    processes: () => JSON.parse(readFileSync(join(dir, 'processes.json'), 'utf8')) as ReturnType<Devnet['processes']>,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}
