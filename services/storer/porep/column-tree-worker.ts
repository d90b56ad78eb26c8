// Worker thread entry of column-tree.ts: comm_c's tree over a sector's layer files, posted back as its
// levels (transferred, not copied). Never imported: started by worker.ts.
import { workerData } from 'node:worker_threads';
import { commitColumns } from '../../../lib/porep/index.js';
import type { ColumnTreeJob } from './column-tree.js';
import { FileLayerStore } from './layer-files.js';
import { answerParent } from './worker.js';

async function run(job: ColumnTreeJob): Promise<Uint8Array[]> {
  const store = new FileLayerStore(job.dir, job.nodes);
  try {
    const { treeC } = await commitColumns(store, job.nodes, job.layers);
    return [...treeC.toLevels()];
  } finally {
    store.close();
  }
}

answerParent(() => run(workerData as ColumnTreeJob), (levels) => levels.map((l) => l.buffer as ArrayBuffer));
