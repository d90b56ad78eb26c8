// One launcher per devnet directory: `npm start` takes <dir>/devnet.pid before it touches anything
// else there (ports.json, genesis.json, processes.json, the nodes' databases). A second launcher in the
// same directory finds the pid file, sees that process still alive, and refuses at once (issue #24 point
// 9: it used to start 13 more processes that failed on RocksDB locks and rewrote the running devnet's
// files meanwhile). A pid file left by a launcher that was killed (SIGKILL, power loss) is stale: its pid
// is gone, or was reused by a process that is not a devnet launcher, and is taken over.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'devnet.pid';

/** The running launcher that holds the directory. */
export class DevnetRunningError extends Error {
  readonly pid: number;
  constructor(dir: string, pid: number) {
    super(`a devnet already runs in ${dir} (launcher pid ${pid}); stop it first (Ctrl-C in its terminal, or kill ${pid}), or set WOLK_DEVNET_DIR to start another one elsewhere`);
    this.name = 'DevnetRunningError';
    this.pid = pid;
  }
}

/**
 * Whether `pid` is a live devnet launcher: the process exists and, where /proc shows its command line,
 * runs scripts/devnet (so a pid reused by something else after a crash does not hold the directory).
 */
export function isLauncherAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, owned by someone else.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return true; // no /proc: trust the pid
  }
  return cmdline.includes('devnet');
}

export interface DevnetLock {
  readonly path: string;
  /** Removes the pid file if it is still ours. */
  release(): void;
}

/**
 * Takes `<dir>/devnet.pid` for this process (created exclusively, so two launchers starting at the same
 * moment cannot both win); throws DevnetRunningError when a live launcher holds it.
 */
export function acquireDevnetLock(dir: string, pid = process.pid, alive: (pid: number) => boolean = isLauncherAlive): DevnetLock {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
      if (Number.isSafeInteger(holder) && holder > 0 && holder !== pid && alive(holder)) throw new DevnetRunningError(dir, holder);
      rmSync(path, { force: true }); // stale: its launcher is gone
      continue;
    }
    try {
      writeSync(fd, `${pid}\n`);
    } finally {
      closeSync(fd);
    }
    return {
      path,
      release() {
        try {
          if (Number.parseInt(readFileSync(path, 'utf8').trim(), 10) === pid) rmSync(path, { force: true });
        } catch {
          /* already gone */
        }
      },
    };
  }
  throw new Error(`cannot take ${path}: another launcher keeps replacing it`);
}
