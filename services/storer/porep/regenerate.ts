// The outsourcer fault's re-seal (services/storer/faults.ts, test-only), run by regenerate-worker.ts in a
// worker thread: a file's node range re-sealed from nothing but the replica id (lib/porep
// regenerateRange). At a low OS priority (RESEAL_NICE): on a real network the attacker's labelling runs
// on its own hardware; on a shared test machine it must not take the CPU of the honest processes beside
// it. It still answers, only later: at nice 10 a busy neighbour on the same core leaves it ~10 % of the
// core (CFS weights 110 vs 1024), not nice 19's ~1.5 %, so a probe of the attacker's answer time still
// ends within minutes on a loaded 2-core machine. Aborting `signal` stops the thread.
import { runInWorker } from './worker.js';

/** The re-seal thread's nice value. */
export const RESEAL_NICE = 10;

export interface RegenerateJob {
  readonly replicaId: Uint8Array;
  readonly nodes: number;
  readonly layers: number;
  readonly first: number;
  readonly count: number;
}

export interface RegenerateResult {
  /** label(L, j) for j in [first, first + count): count × 32 bytes. */
  readonly label: Uint8Array;
  readonly labelsComputed: number;
}

export function regenerateInWorker(job: RegenerateJob, signal?: AbortSignal): Promise<RegenerateResult> {
  return runInWorker<RegenerateResult>('regenerate-worker', job, signal);
}
