// Fetching a file for a Solicit from its source (DESIGN §4 step 3): a streaming GetFile to the
// source endpoint (another storer, or the gateway serving its spooled upload). Yields the bytes in
// order; every failure of the source becomes UNAVAILABLE naming the source, so the requester can tell
// "your source is broken" from "I refuse".
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { StorerServiceClient, type GetFileResponse } from '../../gen/wolk/storer/v1/storer.js';
import { WolkError, unavailable } from '../../lib/grpc/errors.js';
import { bulkChannelOptions } from '../../lib/grpc/flow-control.js';

export async function* fetchFromSource(endpoint: string, filehash: Uint8Array, maxMessageBytes: number, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const client = new StorerServiceClient(endpoint, credentials.createInsecure(), {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    ...bulkChannelOptions,
  });
  const call = client.getFile({ filehash: Buffer.from(filehash) });
  const onAbort = () => call.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  let next = 0;
  try {
    for await (const msg of call as AsyncIterable<GetFileResponse>) {
      if (msg.offset !== BigInt(next)) throw unavailable(`source ${endpoint} sent a piece at offset ${msg.offset}, expected ${next}`);
      next += msg.data.length;
      yield msg.data;
    }
  } catch (err) {
    if (err instanceof WolkError) throw err;
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new WolkError('CANCELLED', 'fetch cancelled');
    const e = err as ServiceError;
    const what = e.code === status.NOT_FOUND ? 'does not have the file' : `failed: ${e.details || e.message}`;
    throw unavailable(`fetching from source ${endpoint} ${what}`);
  } finally {
    signal.removeEventListener('abort', onAbort);
    call.cancel();
    client.close();
  }
}
