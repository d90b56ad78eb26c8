// What the gateway's HTTP flows are built from (services/gateway/api.ts wires them): the chain, the
// storers' clients and registry, the replay cache, the spool, the limits, and the injected clock.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../lib/log/logger.js';
import type { Genesis } from '../../lib/chain/genesis.js';
import type { Chain } from './chain.js';
import { systemClock, type Clock } from './clock.js';
import type { IndexerView } from './indexer.js';
import { createStorerFailures, type StorerFailures } from './read.js';
import type { Registry } from './registry.js';
import type { RateLimits } from './rate-limit.js';
import type { ResumableConfig } from './resumable/tus.js';
import type { ReplayCache } from './replay.js';
import type { Clients } from './rpc.js';
import type { SpoolRegistry } from './source.js';
import { BODY_IDLE_TIMEOUT_MS } from './spool.js';

export interface ApiDeps {
  readonly logger: Logger;
  readonly chain: Chain;
  readonly clients: Clients;
  readonly registry: Registry;
  /** WOLK_INDEXER: listings and the storers' reputation order for GET (optional). */
  readonly indexer?: IndexerView | undefined;
  readonly replay: ReplayCache;
  readonly spools: SpoolRegistry;
  readonly spoolDir: string;
  readonly gatewayKey: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  readonly source: string;
  readonly replication: number;
  readonly chunkSize: number;
  readonly maxFileBytes: number;
  readonly maxConcurrentUploads: number;
  readonly signatureWindowSeconds: number;
  readonly commitDeadlineMs: number;
  /** The commit deadline grows by size / this (seconds): big files take longer to fetch. */
  readonly commitMinBytesPerSecond: number;
  readonly finalityTimeoutMs: number;
  /** Longest silence within a request body before it is refused (408); BODY_IDLE_TIMEOUT_MS by default. */
  readonly bodyIdleTimeoutMs?: number;
  /** The wall clock by default. */
  readonly clock?: Clock;
  /** WOLK_GENESIS: the web console hands it to the browser, which checks certificates against it. */
  readonly genesis?: Genesis | undefined;
  /** Rate limits (rate-limit.ts): signed writes are charged to their key here; absent: no limit. */
  readonly rates?: RateLimits;
  /** Resumable uploads (tus 1.0, resumable/tus.ts); absent: their routes answer 404. */
  readonly resumable?: ResumableConfig;
}

/** One request as the router hands it to a flow. */
export interface Routed {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The path as sent (RFC 9421 @path): what is routed, parsed and covered by signatures. */
  readonly rawPath: string;
  readonly query: URLSearchParams;
  /** Who sent it, by address (client-address.ts): what per-address limits count. */
  readonly address: string;
  /** Aborts when the client goes away before its answer is written. */
  readonly signal: AbortSignal;
  /** Aborts when the body cannot complete (Node's parser found its framing broken). */
  readonly body: AbortSignal;
}

/** ApiDeps with the defaults filled in: what every flow gets. */
export interface ApiContext extends ApiDeps {
  readonly clock: Clock;
  readonly bodyIdleTimeoutMs: number;
  /** Storers that failed a read lately: asked last (read.ts). */
  readonly storerFailures: StorerFailures;
}

export function apiContext(deps: ApiDeps): ApiContext {
  const clock = deps.clock ?? systemClock;
  return { ...deps, clock, bodyIdleTimeoutMs: deps.bodyIdleTimeoutMs ?? BODY_IDLE_TIMEOUT_MS, storerFailures: createStorerFailures(() => clock.now()) };
}

/** How a flow reads a request's body: ended by a broken framing or the idle timeout. */
export const bodyOptions = (ctx: ApiContext, r: Routed) => ({ signal: r.body, idleMs: ctx.bodyIdleTimeoutMs });

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
