// Follows finalized blocks (the indexer's read model, the storer's reclamation watch):
// StreamBlocks(from = cursor + 1, follow) from one consensus node at a time. When the stream breaks, ends, delivers a block that does not verify, or goes silent for `stallMs` (a
// node stuck in a round while the chain moves on: BA* certifies a block every round, empty or not), it
// moves to the next node of the list and retries with exponential backoff and full jitter (lib/grpc/retry.ts; reset after a
// block is applied). Every block is handed
// to `apply`, which persists it before the next one is read: the stream is the only queue, so memory
// stays bounded whatever the lag.
import type { CertifiedBlock } from '../../gen/wolk/common/v1/chain.js';
import type { StreamBlocksRequest, StreamBlocksResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import { RpcError, serverStream, type ServerStreamMethod } from '../grpc/client.js';
import { backoffDelay, sleep as abortableSleep } from '../grpc/retry.js';
import type { Logger } from '../log/logger.js';
import { toEndpoints, type Endpoints, type EndpointsLike } from '../net/endpoints.js';

/** The one call the follower makes (the generated ConsensusServiceClient has it). */
export interface BlockSource {
  readonly streamBlocks: ServerStreamMethod<StreamBlocksRequest, StreamBlocksResponse>;
}

export interface FollowerOptions {
  /** Read at each reconnect: an EndpointSet follows DNS (WOLK_CONSENSUS_SRV). */
  readonly endpoints: EndpointsLike;
  readonly source: (endpoint: string) => BlockSource;
  /** Next round wanted (cursor + 1). */
  readonly nextRound: () => Promise<number>;
  readonly apply: (b: CertifiedBlock) => Promise<void>;
  readonly logger: Logger;
  /** Ceiling of the first wait before the next node (default 200 ms); it doubles per failure up to maxBackoffMs (10 s). */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Jitter, in [0, 1); injected for tests (default Math.random). */
  readonly random?: () => number;
  /** No block for this long: the node is taken as stuck and the next one is tried (default 60 s). */
  readonly stallMs?: number;
  /** Injected for tests. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export class Follower {
  private abort = new AbortController();
  private loop: Promise<void> | null = null;
  /** Blocks applied since start, and the last error seen (status). */
  applied = 0;
  lastError: string | null = null;
  connectedTo: string | null = null;

  private readonly endpoints: Endpoints;

  constructor(private readonly o: FollowerOptions) {
    if (Array.isArray(o.endpoints) && o.endpoints.length === 0) throw new Error('follower: no consensus endpoints (WOLK_CONSENSUS)');
    this.endpoints = toEndpoints(o.endpoints);
  }

  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort.abort(); // ends the stream in flight too (serverStream's signal)
    await this.loop;
    this.loop = null;
  }

  private async run(signal: AbortSignal): Promise<void> {
    const min = this.o.minBackoffMs ?? 200;
    const max = this.o.maxBackoffMs ?? 10_000;
    const sleep = this.o.sleep ?? abortableSleep;
    const backoff = { baseMs: min, maxMs: max };
    /** Failures since a block was last applied. */
    let failures = 0;
    let i = 0;
    while (!signal.aborted) {
      let waitMs: number | undefined;
      const list = this.endpoints.current();
      const endpoint = list.length > 0 ? list[i % list.length]! : '';
      try {
        if (endpoint === '') throw new Error(this.endpoints.emptyReason());
        const from = await this.o.nextRound();
        const source = this.o.source(endpoint);
        const stallMs = this.o.stallMs ?? 60_000;
        // The stream ends when the follower stops or the node goes silent for stallMs.
        const silent = new AbortController();
        let stalled = false;
        const onStall = () => {
          stalled = true;
          silent.abort();
        };
        let watchdog = setTimeout(onStall, stallMs);
        this.connectedTo = endpoint;
        try {
          const blocks = serverStream(source.streamBlocks.bind(source), { fromRound: BigInt(from), follow: true }, { endpoint, signal: AbortSignal.any([signal, silent.signal]) });
          for await (const msg of blocks) {
            clearTimeout(watchdog);
            if (signal.aborted) break;
            if (!msg.block) throw new Error('stream message without a block');
            await this.o.apply(msg.block);
            this.applied++;
            failures = 0;
            watchdog = setTimeout(onStall, stallMs);
          }
        } catch (err) {
          if (!stalled) throw err;
        } finally {
          clearTimeout(watchdog);
        }
        if (stalled) throw new Error(`no block for ${stallMs} ms: the node looks stuck`);
        if (!signal.aborted) this.lastError = `stream from ${endpoint} ended`;
      } catch (err) {
        if (signal.aborted) break;
        // An RpcError's message names its endpoint already.
        const why = err instanceof RpcError ? err.details : (err as Error).message;
        this.lastError = `${endpoint}: ${why}`;
        waitMs = backoffDelay(failures, backoff, this.o.random);
        this.o.logger.warn('following stopped; trying the next consensus node', { endpoint, error: why, backoffMs: waitMs });
      } finally {
        this.connectedTo = null;
      }
      i++;
      await sleep(waitMs ?? backoffDelay(failures, backoff, this.o.random), signal);
      failures++;
    }
  }
}
