// The consensus peers: a static list (WOLK_PEERS) and/or the targets of a DNS SRV name (WOLK_PEERS_SRV,
// as a Kubernetes headless Service publishes), refreshed periodically by lib/net/endpoints.ts (a failed
// lookup keeps the last good peers). One gRPC client per endpoint; a peer that left DNS is dropped.
import { credentials } from '@grpc/grpc-js';
import { ConsensusServiceClient } from '../../gen/wolk/consensus/v1/consensus.js';
import { ClientPool, reconnectChannelOptions } from '../../lib/grpc/client.js';
import type { Logger } from '../../lib/log/logger.js';
import { endpointSet, type EndpointSet, type SrvResolver } from '../../lib/net/endpoints.js';

export interface PeersOptions {
  readonly static: readonly string[];
  readonly srv?: string;
  /** Our own advertised endpoint, never dialled. */
  readonly self: string;
  readonly refreshMs?: number;
  /** Resolves WOLK_PEERS_SRV (default: the system's DNS servers). */
  readonly resolver?: SrvResolver;
  readonly logger: Logger;
  /** Largest gRPC message exchanged with peers. */
  readonly maxMessageBytes: number;
}

export interface PeerState {
  readonly endpoint: string;
  connected: boolean;
}

export class Peers {
  private readonly clients = new ClientPool(
    (endpoint) =>
      new ConsensusServiceClient(endpoint, credentials.createInsecure(), {
        'grpc.max_receive_message_length': this.o.maxMessageBytes,
        'grpc.max_send_message_length': this.o.maxMessageBytes,
        ...reconnectChannelOptions,
      }),
  );
  private readonly state = new Map<string, PeerState>();
  private readonly set: EndpointSet;

  constructor(private readonly o: PeersOptions) {
    this.set = endpointSet({
      static: o.static,
      srv: o.srv,
      exclude: o.self,
      what: 'WOLK_PEERS / WOLK_PEERS_SRV',
      logger: o.logger,
      ...(o.refreshMs !== undefined ? { refreshMs: o.refreshMs } : {}),
      ...(o.resolver !== undefined ? { resolver: o.resolver } : {}),
    });
    this.setEndpoints(this.set.current());
    this.set.onChange((current) => this.setEndpoints(current));
  }

  /** Resolves WOLK_PEERS_SRV once (bounded wait) and keeps refreshing it. */
  async start(): Promise<void> {
    await this.set.start();
  }

  stop(): void {
    this.set.stop();
    this.clients.close();
  }

  endpoints(): string[] {
    return [...this.state.keys()];
  }

  status(): PeerState[] {
    return [...this.state.values()];
  }

  client(endpoint: string): ConsensusServiceClient {
    return this.clients.get(endpoint);
  }

  mark(endpoint: string, connected: boolean): void {
    const s = this.state.get(endpoint);
    if (s) s.connected = connected;
  }

  private setEndpoints(list: readonly string[]): void {
    const want = new Set(list);
    for (const e of [...this.state.keys()]) {
      if (!want.has(e)) {
        this.state.delete(e);
        this.clients.drop(e);
      }
    }
    for (const e of want) if (!this.state.has(e)) this.state.set(e, { endpoint: e, connected: false });
  }
}
