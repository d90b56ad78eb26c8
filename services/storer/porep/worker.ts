// One way to run a storer module in a worker thread and await its one answer (the sector labeller, the
// outsourcer fault's re-seal). The worker posts {result} or {error}; aborting `signal` terminates it, so
// work nobody waits for any more stops taking CPU. Under tsx (tests, the devnet) the worker must register
// tsx's loader itself: Node's workers do not inherit the --import hooks of the main thread.
import { Worker, parentPort, type TransferListItem } from 'node:worker_threads';

const isTs = import.meta.url.endsWith('.ts');

/** `name` is a module next to this one, without extension (e.g. 'label-worker'). */
function startWorker(name: string, workerData: unknown, transferList?: readonly TransferListItem[]): Worker {
  const url = new URL(`./${name}${isTs ? '.ts' : '.js'}`, import.meta.url);
  const options = { workerData, transferList: transferList ? [...transferList] : undefined };
  if (!isTs) return new Worker(url, options);
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(code, { ...options, eval: true });
}

/** Runs worker module `name` on `workerData` and resolves with the result it posts. */
export function runInWorker<R>(name: string, workerData: unknown, signal?: AbortSignal, transferList?: readonly TransferListItem[]): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason instanceof Error ? signal.reason : new Error(`${name} aborted`));
    const worker = startWorker(name, workerData, transferList);
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      fn();
    };
    const onAbort = () => finish(() => reject(signal!.reason instanceof Error ? signal!.reason : new Error(`${name} aborted`)));
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (m: { result?: R; error?: string }) => {
      if (m.error === undefined && m.result !== undefined) finish(() => resolve(m.result!));
      else finish(() => reject(new Error(`${name} failed: ${m.error ?? 'no answer'}`)));
    });
    worker.once('error', (err) => finish(() => reject(err)));
    worker.once('exit', (code) => finish(() => reject(new Error(`${name} exited with code ${code}`))));
  });
}

/** Posts what `run` resolves to (or its error) to the thread that started this worker. */
export function answerParent<R>(run: () => Promise<R>, transfer?: (r: R) => readonly TransferListItem[]): void {
  if (!parentPort) throw new Error('answerParent: not in a worker thread');
  const port = parentPort;
  run().then(
    (result) => port.postMessage({ result }, transfer ? [...transfer(result)] : undefined),
    (err: unknown) => port.postMessage({ error: err instanceof Error ? err.message : String(err) }),
  );
}
