// Runs `npm start`'s launcher (scripts/devnet.ts) in a temporary directory for end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './process.js';

export interface Devnet {
  readonly dir: string;
  readonly child: ChildProcess;
  output(): string;
  endpoints(): { gateway: string; storer: string[]; consensus: string[]; rewards: string[]; indexer: string[] };
  processes(): { name: string; pid: number; grpc: string }[];
  stop(): Promise<number | null>;
}

export async function until(what: string, check: () => boolean, timeoutMs: number, output: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; devnet said:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
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
  await until('devnet ready', () => /devnet ready: \d+ processes/.test(out), 240_000, output);
  return {
    dir,
    child,
    output,
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
