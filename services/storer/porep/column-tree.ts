// A sector's column tree (comm_c's tree, docs/porep.md "Commitments"), built in a worker thread
// (column-tree-worker.ts) from the sector's layer files. Seal proofs open it; building it reads every
// layer and hashes every column: seconds of CPU for a 32 MiB sector (4.6 s measured on a loaded 2-core
// machine), which on the storer's main thread stalled every other answer, so honest storers missed
// audit deadlines after each restart and each new sector. The worker hands the tree's levels back
// without a copy.
import { MerkleTree } from '../../../lib/merkle/tree.js';
import { runInWorker } from './worker.js';

export interface ColumnTreeJob {
  /** The sector's directory (its layer files). */
  readonly dir: string;
  readonly nodes: number;
  readonly layers: number;
}

export async function columnTreeInWorker(job: ColumnTreeJob, signal?: AbortSignal): Promise<MerkleTree> {
  const levels = await runInWorker<Uint8Array[]>('column-tree-worker', job, signal);
  return MerkleTree.fromLevels(levels);
}
