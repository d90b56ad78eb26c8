// Lowers the OS scheduling priority of the calling thread only (Linux: setpriority on a thread id
// affects that thread, not its process). Used by worker threads whose work must yield the CPU to the
// process's own event loop and to other processes on the machine.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** Sets this thread's nice value (0 normal … 19 lowest); false where threads cannot be told apart. */
export function lowerThreadPriority(nice: number): boolean {
  if (!Number.isInteger(nice) || nice < 0 || nice > 19) throw new RangeError(`nice: expected an integer in [0, 19], got ${String(nice)}`);
  if (process.platform !== 'linux') return false;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isSafeInteger(tid) || tid <= 0) return false;
    setPriority(tid, nice);
    return true;
  } catch {
    return false; // no /proc, or not permitted: the work still runs, at normal priority
  }
}
