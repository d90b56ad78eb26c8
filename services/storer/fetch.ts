// Fetching a file for a Solicit from its source (DESIGN §4 step 3): a streaming GetFile to the
// source endpoint (another storer, or the gateway serving its spooled upload). Yields the bytes in
// order; every failure of the source becomes UNAVAILABLE naming the source, so the requester can tell
// "your source is broken" from "I refuse".
import { credentials, status } from '@grpc/grpc-js';
import { FileReadingStorerClient } from '../../lib/grpc/storer-wire.js';
import { serverStream, toRpcError } from '../../lib/grpc/client.js';
import { WolkError, grpcCode, unavailable } from '../../lib/grpc/errors.js';
import { bulkChannelOptions } from '../../lib/grpc/flow-control.js';

export async function* fetchFromSource(endpoint: string, filehash: Uint8Array, maxMessageBytes: number, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const client = new FileReadingStorerClient(endpoint, credentials.createInsecure(), {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    ...bulkChannelOptions,
  });
  let next = 0;
  try {
    for await (const msg of serverStream(client.getFile.bind(client), { filehash: Buffer.from(filehash) }, { endpoint, signal })) {
      if (msg.offset !== BigInt(next)) throw unavailable(`source ${endpoint} sent a piece at offset ${msg.offset}, expected ${next}`);
      next += msg.data.length;
      yield msg.data;
    }
  } catch (err) {
    if (err instanceof WolkError) throw err;
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new WolkError('CANCELLED', 'fetch cancelled');
    const what = grpcCode(err) === status.NOT_FOUND ? 'does not have the file' : `failed: ${toRpcError(err).details}`;
    throw unavailable(`fetching from source ${endpoint} ${what}`);
  } finally {
    client.close();
  }
}
