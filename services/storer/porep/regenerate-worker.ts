// Worker thread entry of regenerate.ts (the outsourcer fault's re-seal): lowers its own priority, re-seals
// the range and hands the labels back without a copy. Never imported: started by worker.ts.
import { workerData } from 'node:worker_threads';
import { regenerateRange } from '../../../lib/porep/index.js';
import { RESEAL_NICE, type RegenerateJob, type RegenerateResult } from './regenerate.js';
import { lowerThreadPriority } from './thread-priority.js';
import { answerParent } from './worker.js';

async function run(job: RegenerateJob): Promise<RegenerateResult> {
  lowerThreadPriority(RESEAL_NICE);
  const regen = regenerateRange(job.replicaId, job.nodes, job.layers, job.first, job.count);
  return { label: regen.label, labelsComputed: regen.labelsComputed };
}

answerParent(() => run(workerData as RegenerateJob), (r) => [r.label.buffer as ArrayBuffer]);
