// A service never crashes on a request: malformed protobuf bytes get INVALID_ARGUMENT, a method not
// built yet gets UNIMPLEMENTED with a message naming what is missing, and the server keeps serving.
import test from 'ava';
import { credentials, makeGenericClientConstructor, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { createRewardsNode } from '../../../services/rewards/node.js';
import { checkHealth } from '../../../lib/grpc/health-client.js';
import { RewardsServiceService } from '../../../gen/wolk/rewards/v1/rewards.js';
import { startInProcess } from '../../helpers/service.js';
import { createGrpcServer } from '../../../lib/grpc/server.js';
import { silentLogger } from '../../../lib/log/logger.js';

/** A client that sends raw bytes to one method, whatever they are. */
function rawCall(endpoint: string, path: string, bytes: Buffer): Promise<ServiceError | null> {
  const Client = makeGenericClientConstructor(
    {
      call: {
        path,
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    'Raw',
  );
  const client = new Client(endpoint, credentials.createInsecure());
  return new Promise((resolve) => {
    (client as unknown as { call: (b: Buffer, m: Metadata, cb: (e: ServiceError | null) => void) => void }).call(bytes, new Metadata(), (err) => {
      client.close();
      resolve(err);
    });
  });
}

test('malformed protobuf bytes get INVALID_ARGUMENT and the service stays up', async (t) => {
  const node = await startInProcess('rewards', createRewardsNode);
  try {
    const endpoint = node.endpoints['grpc']!;
    // 0x0a = field 1, length-delimited, then a length far past the end of the message.
    const err = await rawCall(endpoint, RewardsServiceService.getTally.path, Buffer.from([0x0a, 0xff, 0x01, 0x02]));
    t.is(err?.code, status.INVALID_ARGUMENT);
    t.regex(err?.details ?? '', /not a valid protobuf message/);
    t.is(await checkHealth(endpoint), 'SERVING');
  } finally {
    await node.close();
  }
});

test('a method without a handler answers UNIMPLEMENTED naming what is missing', async (t) => {
  // The server library's rule, on a real server: here GetTally has no handler.
  const server = createGrpcServer({ logger: silentLogger, maxMessageBytes: 1 << 20 });
  server.addService('wolk.rewards.v1.RewardsService', RewardsServiceService, {}, { getTally: 'audits are switched off in this test' });
  const port = await server.listen('127.0.0.1', 0);
  try {
    const err = await rawCall(`127.0.0.1:${port}`, RewardsServiceService.getTally.path, Buffer.alloc(0));
    t.is(err?.code, status.UNIMPLEMENTED);
    t.is(err?.details, 'wolk.rewards.v1.RewardsService/GetTally is not implemented yet: audits are switched off in this test');
  } finally {
    await server.shutdown(0);
  }
});
