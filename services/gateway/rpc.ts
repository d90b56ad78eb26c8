// gRPC clients of the services the gateway talks to, one channel per endpoint, with unary calls as
// promises that honour a deadline and an AbortSignal (STYLE: every long operation takes a signal).
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { ConsensusServiceClient } from '../../gen/wolk/consensus/v1/consensus.js';
import { StorerServiceClient } from '../../gen/wolk/storer/v1/storer.js';
import { bulkChannelOptions } from '../../lib/grpc/flow-control.js';

type Callback<Res> = (err: ServiceError | null, res: Res) => void;
type UnaryMethod<Req, Res> = (req: Req, md: Metadata, opts: { deadline: number }, cb: Callback<Res>) => { cancel(): void };

export class RpcError extends Error {
  constructor(
    readonly code: number,
    readonly endpoint: string,
    message: string,
  ) {
    super(`${endpoint}: ${message}`);
    this.name = 'RpcError';
  }
  get unavailable(): boolean {
    return this.code === status.UNAVAILABLE || this.code === status.DEADLINE_EXCEEDED || this.code === status.CANCELLED;
  }
}

export function unary<Req, Res>(endpoint: string, method: UnaryMethod<Req, Res>, req: Req, timeoutMs: number, signal?: AbortSignal): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    if (signal?.aborted) return reject(new RpcError(status.CANCELLED, endpoint, 'cancelled'));
    const call = method(req, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(new RpcError(err.code ?? status.UNKNOWN, endpoint, err.details || err.message));
      else resolve(res);
    });
    const onAbort = () => call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const grpcOptions = { 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.max_send_message_length': 64 * 1024 * 1024, ...bulkChannelOptions };

/** Lazily made clients, one per endpoint, closed together. */
export class Clients {
  private readonly storers = new Map<string, StorerServiceClient>();
  private readonly consensus = new Map<string, ConsensusServiceClient>();

  storer(endpoint: string): StorerServiceClient {
    let c = this.storers.get(endpoint);
    if (!c) {
      c = new StorerServiceClient(endpoint, credentials.createInsecure(), grpcOptions);
      this.storers.set(endpoint, c);
    }
    return c;
  }

  consensusNode(endpoint: string): ConsensusServiceClient {
    let c = this.consensus.get(endpoint);
    if (!c) {
      c = new ConsensusServiceClient(endpoint, credentials.createInsecure(), grpcOptions);
      this.consensus.set(endpoint, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.storers.values()) c.close();
    for (const c of this.consensus.values()) c.close();
    this.storers.clear();
    this.consensus.clear();
  }
}
