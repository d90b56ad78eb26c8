// For tests of what happens when this process stalls: a way to block this thread, and a peer on another
// thread that answers while it is blocked (so the answer waits unread in this process's socket).
import { connect, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';

/** Keeps this thread busy (no timers, no I/O) for `ms`. */
export function blockThread(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/**
 * A socket to a server on its own thread that answers any write at once with 'answer' and ends the
 * connection. Torn down (worker and socket) when the test ends.
 */
export async function answeringPeer(t: { teardown(fn: () => unknown): void }): Promise<Socket> {
  const worker = new Worker(
    "const net = require('node:net'); const { parentPort } = require('node:worker_threads');" +
      "const srv = net.createServer((s) => s.on('data', () => s.end('answer'))); srv.listen(0, '127.0.0.1', () => parentPort.postMessage(srv.address().port));",
    { eval: true },
  );
  t.teardown(() => worker.terminate());
  const port = await new Promise<number>((r) => worker.once('message', r));
  const sock = connect(port, '127.0.0.1');
  t.teardown(() => sock.destroy());
  await new Promise((r) => sock.once('connect', r));
  return sock;
}
