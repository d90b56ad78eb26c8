// Runs label-worker.ts in a worker thread per sector: labelling is seconds to a minute of one core per
// sector and must never block the storer's event loop (gRPC, Solicit, GetFile keep being answered).
import type { LabelJob } from './label-worker.js';
import { runInWorker } from './worker.js';

/** Labels a sector's layers into its directory and returns comm_c. */
export type Labeller = (job: LabelJob, signal?: AbortSignal) => Promise<Uint8Array>;

export const workerLabeller: Labeller = async (job, signal) => {
  try {
    const commC = await runInWorker<string>('label-worker', job, signal);
    return new Uint8Array(Buffer.from(commC, 'hex'));
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new Error(`labelling failed: ${(err as Error).message}`);
  }
};
