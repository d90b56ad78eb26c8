// Worker thread that labels one sector (services/storer/porep/labeller.ts starts it): every layer of the
// Stacked-DRG labelling (lib/porep, native loop when built), each written durably to its layer file, then
// comm_c over the sector's columns read back from those files. Off the main thread so the gRPC server
// keeps answering while a sector is labelled. Answers comm_c (hex) and the column tree's levels
// (transferred, not copied: the sealer's first seal proof of the sector opens that tree, which it would
// otherwise build again from the layer files, docs/storer.md "Sealed replicas"), or an error (worker.ts).
import { workerData } from 'node:worker_threads';
import { NODE_SIZE, commitColumns, labelLayer } from '../../../lib/porep/index.js';
import { FileLayerStore } from './layer-files.js';
import { answerParent } from './worker.js';

export interface LabelJob {
  readonly dir: string;
  readonly replicaId: Uint8Array;
  readonly nodes: number;
  readonly layers: number;
}

export interface LabelAnswer {
  /** comm_c, hex. */
  readonly commC: string;
  /** The column tree's levels, leaves first (MerkleTree.toLevels). */
  readonly levels: Uint8Array[];
}

async function run(job: LabelJob): Promise<LabelAnswer> {
  const store = new FileLayerStore(job.dir, job.nodes);
  try {
    let prev: Uint8Array | null = null;
    for (let l = 1; l <= job.layers; l++) {
      const cur = new Uint8Array(job.nodes * NODE_SIZE);
      labelLayer(job.replicaId, l, job.nodes, prev, cur);
      store.put(l, cur);
      prev = cur;
    }
    prev = null;
    const { commC, treeC } = await commitColumns(store, job.nodes, job.layers);
    return { commC: Buffer.from(commC).toString('hex'), levels: [...treeC.toLevels()] };
  } finally {
    store.close();
  }
}

answerParent(() => run(workerData as LabelJob), (a) => a.levels.map((l) => l.buffer as ArrayBuffer));
