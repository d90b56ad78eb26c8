// Spawning real service processes in tests, and waiting for what they print.
import { spawn, type ChildProcess } from 'node:child_process';

export const ROOT = process.cwd();

export function spawnService(service: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', `services/${service}/main.ts`], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function waitForExit(child: ChildProcess, timeoutMs = 120_000): Promise<Exit> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`process did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Resolves with the first JSON log line (on stderr) whose msg matches. */
export function waitForLog(child: ChildProcess, msg: string, timeoutMs = 120_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`no "${msg}" log line within ${timeoutMs} ms; got: ${buffer}`)), timeoutMs);
    const onData = (d: Buffer) => {
      buffer += d.toString();
      for (const line of buffer.split('\n')) {
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          if (rec['msg'] === msg) {
            clearTimeout(timer);
            child.stderr?.off('data', onData);
            return resolve(rec);
          }
        } catch {
          /* not a JSON line */
        }
      }
    };
    child.stderr?.on('data', onData);
    child.once('exit', () => reject(new Error(`process exited before logging "${msg}": ${buffer}`)));
  });
}

/** Sends `signal` to a child that is still running and resolves once it has exited; nothing for one already gone. */
export async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await gone;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
