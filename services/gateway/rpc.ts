// gRPC clients of the services the gateway talks to, one channel per endpoint. Calls go through the
// client layer (lib/grpc/client.ts: deadline, AbortSignal, RpcError, failover on outages).
import { credentials } from '@grpc/grpc-js';
import { ConsensusServiceClient } from '../../gen/wolk/consensus/v1/consensus.js';
import type { StorerServiceClient } from '../../gen/wolk/storer/v1/storer.js';
import { FileReadingStorerClient } from '../../lib/grpc/storer-wire.js';
import { ClientPool, unaryCall, type UnaryMethod } from '../../lib/grpc/client.js';
import { bulkChannelOptions } from '../../lib/grpc/flow-control.js';

export { RpcError } from '../../lib/grpc/client.js';

/** unaryCall with the gateway's positional arguments (upload.ts calls it so). */
export function unary<Req, Res>(endpoint: string, method: UnaryMethod<Req, Res>, req: Req, timeoutMs: number, signal?: AbortSignal): Promise<Res> {
  return unaryCall(method, req, { endpoint, timeoutMs, signal });
}

const grpcOptions = { 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.max_send_message_length': 64 * 1024 * 1024, ...bulkChannelOptions };

/** Lazily made clients, one per endpoint, closed together. */
export class Clients {
  private readonly storers = new ClientPool((endpoint) => new FileReadingStorerClient(endpoint, credentials.createInsecure(), grpcOptions));
  private readonly consensus = new ClientPool((endpoint) => new ConsensusServiceClient(endpoint, credentials.createInsecure(), grpcOptions));

  storer(endpoint: string): StorerServiceClient {
    return this.storers.get(endpoint);
  }

  consensusNode(endpoint: string): ConsensusServiceClient {
    return this.consensus.get(endpoint);
  }

  /** Consensus clients of nodes that leave `endpoints` are closed (ClientPool.follow). */
  followConsensus(endpoints: Parameters<ClientPool<ConsensusServiceClient>['follow']>[0]): () => void {
    return this.consensus.follow(endpoints);
  }

  close(): void {
    this.storers.close();
    this.consensus.close();
  }
}
