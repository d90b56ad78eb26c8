// Runs label-worker.ts in a worker thread per sector: labelling is seconds to a minute of one core per
// sector and must never block the storer's event loop (gRPC, Solicit, GetFile keep being answered).
// Under tsx (tests, the devnet) the worker must register tsx's loader itself: Node's workers do not
// inherit the --import hooks of the main thread.
import { Worker } from 'node:worker_threads';
import type { LabelJob } from './label-worker.js';

/** Labels a sector's layers into its directory and returns comm_c. */
export type Labeller = (job: LabelJob, signal?: AbortSignal) => Promise<Uint8Array>;

const here = import.meta.url;
const isTs = here.endsWith('.ts');

function startWorker(job: LabelJob): Worker {
  const url = new URL(isTs ? './label-worker.ts' : './label-worker.js', here);
  if (!isTs) return new Worker(url, { workerData: job });
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(code, { eval: true, workerData: job });
}

export const workerLabeller: Labeller = (job, signal) =>
  new Promise<Uint8Array>((resolve, reject) => {
    signal?.throwIfAborted();
    const worker = startWorker(job);
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      void worker.terminate();
      finish(() => reject(signal!.reason instanceof Error ? signal!.reason : new Error('labelling aborted')));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (m: { commC?: string; error?: string }) => {
      void worker.terminate();
      if (m.commC) finish(() => resolve(new Uint8Array(Buffer.from(m.commC!, 'hex'))));
      else finish(() => reject(new Error(`labelling failed: ${m.error ?? 'no answer'}`)));
    });
    worker.once('error', (err) => finish(() => reject(err)));
    worker.once('exit', (code) => finish(() => reject(new Error(`labelling worker exited with code ${code}`))));
  });
