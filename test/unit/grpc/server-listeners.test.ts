// A busy server is not a leak: every call in flight listens to the server's shutdown signal (removed
// when the call ends), so more than Node's default of 10 at once must not raise a
// MaxListenersExceededWarning (seen in a storer's log during audits before lib/grpc/server.ts lifted
// the limit on that signal).
import test from 'ava';
import { credentials } from '@grpc/grpc-js';
import { StorerServiceClient, StorerServiceService, type GetInfoResponse } from '../../../gen/wolk/storer/v1/storer.js';
import { createGrpcServer } from '../../../lib/grpc/server.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { pollUntil } from '../../helpers/poll.js';

test('40 calls in flight at once raise no MaxListenersExceededWarning and all answer', async (t) => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => void warnings.push(w);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  const server = createGrpcServer({ logger: silentLogger, maxMessageBytes: 1 << 20 });
  let inFlight = 0;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  server.addService('wolk.storer.v1.StorerService', StorerServiceService, {
    async getInfo(): Promise<GetInfoResponse> {
      inFlight++;
      await released;
      return { storerId: Buffer.alloc(32), vrfPublicKey: Buffer.alloc(32), endpoint: '', stats: undefined };
    },
  });
  const port = await server.listen('127.0.0.1', 0);
  const client = new StorerServiceClient(`127.0.0.1:${port}`, credentials.createInsecure());
  t.teardown(async () => {
    client.close();
    await server.shutdown(0);
  });
  const calls = Array.from({ length: 40 }, () => new Promise<GetInfoResponse>((resolve, reject) => client.getInfo({}, (err, res) => (err ? reject(err) : resolve(res)))));
  await pollUntil(() => inFlight, { what: '40 calls in the handler at once', deadlineMs: 10_000, intervalMs: 10, until: (n) => n === 40 });
  release();
  t.is((await Promise.all(calls)).length, 40);
  // Warnings are emitted on the next tick after the listener is added: by now they would have come.
  t.deepEqual(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message), []);
});
