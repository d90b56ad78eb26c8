// Worker thread that labels one sector (services/storer/porep/labeller.ts starts it): every layer of the
// Stacked-DRG labelling (lib/porep, native loop when built), each written durably to its layer file, then
// comm_c over the sector's columns read back from those files. Off the main thread so the gRPC server
// keeps answering while a sector is labelled. Answers comm_c (hex) or an error (worker.ts).
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

async function run(job: LabelJob): Promise<string> {
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
    const { commC } = await commitColumns(store, job.nodes, job.layers);
    return Buffer.from(commC).toString('hex');
  } finally {
    store.close();
  }
}

answerParent(() => run(workerData as LabelJob));
