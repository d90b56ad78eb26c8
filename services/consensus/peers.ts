// The consensus peers: a static list (WOLK_PEERS) or the targets of a DNS SRV name (WOLK_PEERS_SRV, as
// a Kubernetes headless Service publishes), refreshed periodically. One gRPC client per endpoint.
import { resolveSrv } from 'node:dns/promises';
import { credentials } from '@grpc/grpc-js';
import { ConsensusServiceClient } from '../../gen/wolk/consensus/v1/consensus.js';
import { ClientPool, reconnectChannelOptions } from '../../lib/grpc/client.js';
import type { Logger } from '../../lib/log/logger.js';

export interface PeersOptions {
  readonly static: readonly string[];
  readonly srv?: string;
  /** Our own advertised endpoint, never dialled. */
  readonly self: string;
  readonly refreshMs?: number;
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
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: PeersOptions) {
    this.setEndpoints(o.static);
  }

  async start(): Promise<void> {
    if (this.o.srv === undefined) return;
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.o.refreshMs ?? 30_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
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
    const want = new Set(list.filter((e) => e !== this.o.self));
    for (const e of [...this.state.keys()]) {
      if (!want.has(e)) {
        this.state.delete(e);
        this.clients.drop(e);
      }
    }
    for (const e of want) if (!this.state.has(e)) this.state.set(e, { endpoint: e, connected: false });
  }

  private async refresh(): Promise<void> {
    try {
      const records = await resolveSrv(this.o.srv!);
      const found = records.map((r) => `${r.name.replace(/\.$/, '')}:${r.port}`);
      this.setEndpoints([...this.o.static, ...found]);
    } catch (err) {
      this.o.logger.warn('peer SRV lookup failed', { srv: this.o.srv, error: err });
    }
  }
}
