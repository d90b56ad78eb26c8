// Runs label-worker.ts in a worker thread per sector: labelling is seconds to a minute of one core per
// sector and must never block the storer's event loop (gRPC, Solicit, GetFile keep being answered).
import { MerkleTree } from '../../../lib/merkle/tree.js';
import type { LabelAnswer, LabelJob } from './label-worker.js';
import { runInWorker } from './worker.js';

/** A labelled sector's comm_c and its column tree (built anyway to get comm_c). */
export interface Labelled {
  readonly commC: Uint8Array;
  readonly treeC: MerkleTree;
}

/** Labels a sector's layers into its directory and returns comm_c with its tree. */
export type Labeller = (job: LabelJob, signal?: AbortSignal) => Promise<Labelled>;

export const workerLabeller: Labeller = async (job, signal) => {
  try {
    const answer = await runInWorker<LabelAnswer>('label-worker', job, signal);
    return { commC: new Uint8Array(Buffer.from(answer.commC, 'hex')), treeC: MerkleTree.fromLevels(answer.levels) };
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new Error(`labelling failed: ${(err as Error).message}`);
  }
};
