// The gateway's options: their types and the one place they are read from the environment
// (lib/config/env.ts defines every variable and its default).
import { formatHostPort, readDerived, readEnv, readOption, type Environment } from '../../lib/config/env.js';
import { trustedProxies, type TrustedProxies } from './client-address.js';
import type { Genesis } from '../../lib/chain/genesis.js';
import { readCommonOptions, readEndpointSource, readGenesis, type CommonOptions, type EndpointSource } from '../../lib/service/options.js';
import type { RateLimit } from './rate-limit.js';
import type { KnownProcess } from './status.js';

/** Most nonces the replay cache holds within one signature window. */
const REPLAY_CACHE_ENTRIES = 1_000_000;

export interface GatewayOptions extends CommonOptions {
  readonly httpListen: { readonly host: string; readonly port: number };
  /** The indexer and rewards processes /status reports, besides the consensus nodes and storers now. */
  readonly processes: readonly KnownProcess[];
  /** WOLK_CONSENSUS and WOLK_CONSENSUS_SRV. */
  readonly consensus: EndpointSource;
  /** WOLK_STORERS and WOLK_STORERS_SRV. */
  readonly storers: EndpointSource;
  /** WOLK_INDEXER "host:port", if any. */
  readonly indexer: string | undefined;
  /** HOST:PORT storers fetch uploads from (this gateway's gRPC GetFile). */
  readonly advertise: string | undefined;
  readonly replication: number;
  readonly chunkSize: number;
  readonly maxFileBytes: number;
  readonly maxConcurrentUploads: number;
  readonly genesis: Genesis | undefined;
  /** How far the signature's `created` may be from the gateway's clock (RFC 9421 §3.2.1). */
  readonly signatureWindowSeconds: number;
  /** Most nonces the replay cache holds within one window. */
  readonly replayCacheEntries: number;
  /** Time allowed for N storers to commit, on top of the file's size at commitMinBytesPerSecond. */
  readonly commitDeadlineMs: number;
  /** The slowest fetch the commit deadline allows for: a file of S bytes gets S / this seconds more. */
  readonly commitMinBytesPerSecond: number;
  /** Time a synchronous PUT waits for finality before answering 202 with the status URL. */
  readonly finalityTimeoutMs: number;
  /** Resumable (tus) uploads: expiry without a PATCH, per-owner and gateway-wide byte limits. */
  readonly resumable: { readonly expiryMs: number; readonly ownerBytes: number; readonly totalBytes: number };
  /** Longest silence within a request body before it is refused (408); 0: no limit. */
  readonly bodyIdleTimeoutMs: number;
  /** Slow clients and request rates at the HTTP front (docs/http-api.md "Limits"). */
  readonly http: HttpLimits;
}

export interface HttpLimits {
  /** Time to send the request line and headers (Node's headersTimeout); slower: 408, disconnected. */
  readonly headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  readonly keepAliveTimeoutMs: number;
  /** An answer that a client stops reading is cut after this long without progress; 0: never. */
  readonly writeStallTimeoutMs: number;
  /** Requests per client address (every route but /healthz). */
  readonly rateAddress: RateLimit;
  /** Signed writes per signing key. */
  readonly rateKey: RateLimit;
  /** Peers whose X-Forwarded-For names the client (client-address.ts). */
  readonly trustedProxies: TrustedProxies;
}

export function readOptions(env: Environment): GatewayOptions {
  const consensus = readEndpointSource(env, 'WOLK_CONSENSUS');
  const storers = readEndpointSource(env, 'WOLK_STORERS');
  const processes: KnownProcess[] = [];
  const indexer = readEnv(env, 'WOLK_INDEXER');
  if (indexer) processes.push({ role: 'indexer', endpoint: formatHostPort(indexer) });
  const rewards = readEnv(env, 'WOLK_REWARDS');
  if (rewards) processes.push({ role: 'rewards', endpoint: formatHostPort(rewards) });
  const advertise = readEnv(env, 'WOLK_ADVERTISE');
  const genesis = readGenesis(env);
  return {
    ...readCommonOptions(env, 'gateway'),
    httpListen: readOption(env, 'WOLK_HTTP_LISTEN'),
    processes,
    consensus,
    storers,
    indexer: indexer ? formatHostPort(indexer) : undefined,
    advertise: advertise ? formatHostPort(advertise) : undefined,
    replication: readDerived(env, 'WOLK_REPLICATION', genesis?.params.replication),
    chunkSize: readDerived(env, 'WOLK_CHUNK_SIZE', genesis?.params.chunkSize),
    maxFileBytes: readOption(env, 'WOLK_MAX_FILE_BYTES'),
    maxConcurrentUploads: readOption(env, 'WOLK_MAX_CONCURRENT_UPLOADS'),
    genesis,
    signatureWindowSeconds: readOption(env, 'WOLK_SIGNATURE_WINDOW_SECONDS'),
    replayCacheEntries: REPLAY_CACHE_ENTRIES,
    commitDeadlineMs: readOption(env, 'WOLK_COMMIT_DEADLINE_MS'),
    commitMinBytesPerSecond: readOption(env, 'WOLK_COMMIT_MIN_RATE'),
    finalityTimeoutMs: readOption(env, 'WOLK_FINALITY_TIMEOUT_MS'),
    resumable: { expiryMs: readOption(env, 'WOLK_RESUMABLE_EXPIRY_MS'), ownerBytes: readOption(env, 'WOLK_RESUMABLE_OWNER_BYTES'), totalBytes: readOption(env, 'WOLK_RESUMABLE_TOTAL_BYTES') },
    bodyIdleTimeoutMs: readOption(env, 'WOLK_BODY_IDLE_TIMEOUT_MS'),
    http: {
      headersTimeoutMs: readOption(env, 'WOLK_HEADERS_TIMEOUT_MS'),
      keepAliveTimeoutMs: readOption(env, 'WOLK_KEEP_ALIVE_TIMEOUT_MS'),
      writeStallTimeoutMs: readOption(env, 'WOLK_WRITE_STALL_TIMEOUT_MS'),
      rateAddress: { perSecond: readOption(env, 'WOLK_RATE_ADDRESS_PER_SECOND'), burst: readOption(env, 'WOLK_RATE_ADDRESS_BURST') },
      rateKey: { perSecond: readOption(env, 'WOLK_RATE_KEY_PER_SECOND'), burst: readOption(env, 'WOLK_RATE_KEY_BURST') },
      trustedProxies: trustedProxies(readEnv(env, 'WOLK_TRUSTED_PROXIES') ?? []),
    },
  };
}
