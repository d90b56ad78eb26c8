// A bare grpc-js server in its own process, for bench/storer.ts: streams N bytes out in 1 MiB messages
// (Get) and counts the bytes streamed in (Put), with no work per message. What the storer's GetFile and
// SetFile can at best reach through grpc-js on this machine: the transport ceiling beside their figures.
// Prints `port <n>` when listening; ends on SIGTERM.
import * as grpc from '@grpc/grpc-js';
import { widenConnectionWindows, widenStreamWindows } from '../../lib/grpc/flow-control.js';

const MESSAGE = 1 << 20;
const passthrough = (b: Buffer) => b;
export const ceilingService = {
  get: { path: '/wolk.bench.Ceiling/Get', requestStream: false, responseStream: true, requestSerialize: passthrough, requestDeserialize: passthrough, responseSerialize: passthrough, responseDeserialize: passthrough },
  put: { path: '/wolk.bench.Ceiling/Put', requestStream: true, responseStream: false, requestSerialize: passthrough, requestDeserialize: passthrough, responseSerialize: passthrough, responseDeserialize: passthrough },
} as const;

const isMain = process.argv[1]?.endsWith('grpc-ceiling-server.ts') ?? false;
if (isMain) {
  const payload = Buffer.alloc(MESSAGE, 0x5a);
  const server = new grpc.Server({ 'grpc.max_send_message_length': 8 * MESSAGE, 'grpc.max_receive_message_length': 8 * MESSAGE });
  // The same HTTP/2 windows as every Wolk server (lib/grpc/server.ts), so the ceiling is comparable.
  widenStreamWindows(server);
  server.addService(ceilingService as unknown as grpc.ServiceDefinition, {
    get: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const total = call.request.length >= 8 ? Number(call.request.readBigUInt64BE(0)) : 0;
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          const n = Math.min(MESSAGE, total - sent);
          sent += n;
          if (!call.write(n === MESSAGE ? payload : payload.subarray(0, n))) {
            call.once('drain', pump);
            return;
          }
        }
        call.end();
      };
      pump();
    },
    put: (call: grpc.ServerReadableStream<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
      let got = 0;
      call.on('data', (d: Buffer) => (got += d.length));
      call.on('end', () => {
        const out = Buffer.alloc(8);
        out.writeBigUInt64BE(BigInt(got));
        done(null, out);
      });
    },
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    widenConnectionWindows(server);
    process.stdout.write(`port ${port}\n`);
  });
  process.on('SIGTERM', () => server.forceShutdown());
}
