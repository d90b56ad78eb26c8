// A full garbage collection on demand, for tests that check a buffer is no longer held (WeakRef):
// deterministic, unlike sampling memory. --expose-gc set at run time, and gc taken from a new context.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** How many of `refs` still point at something after a full GC (a WeakRef's target lives to the end of the current job, hence the turn first). */
export async function aliveAfterGc(refs: readonly WeakRef<object>[]): Promise<number> {
  await nextTurn();
  gc();
  return refs.filter((r) => r.deref() !== undefined).length;
}
