// The gateway's options, parsed from the environment in one place.
import { readEnv, readEnvOr, type Environment } from '../../lib/config/env.js';
import { loadGenesis, type Genesis } from '../../lib/chain/genesis.js';
import type { KnownProcess } from './status.js';

export interface GatewayOptions {
  readonly httpListen: { readonly host: string; readonly port: number };
  readonly processes: readonly KnownProcess[];
  readonly consensus: readonly string[];
  readonly storers: readonly string[];
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
}

export function readGatewayOptions(env: Environment): GatewayOptions {
  const consensus = readEnv(env, 'WOLK_CONSENSUS') ?? [];
  const storers = readEnv(env, 'WOLK_STORERS') ?? [];
  const processes: KnownProcess[] = [
    ...consensus.map((endpoint) => ({ role: 'consensus' as const, endpoint })),
    ...storers.map((endpoint) => ({ role: 'storer' as const, endpoint })),
  ];
  const indexer = readEnv(env, 'WOLK_INDEXER');
  if (indexer) processes.push({ role: 'indexer', endpoint: `${indexer.host}:${indexer.port}` });
  const rewards = readEnv(env, 'WOLK_REWARDS');
  if (rewards) processes.push({ role: 'rewards', endpoint: `${rewards.host}:${rewards.port}` });
  const advertise = readEnv(env, 'WOLK_ADVERTISE');
  const genesisPath = readEnv(env, 'WOLK_GENESIS');
  const genesis = genesisPath ? loadGenesis(genesisPath) : undefined;
  return {
    httpListen: readEnvOr(env, 'WOLK_HTTP_LISTEN', { host: '0.0.0.0', port: 8080 }),
    processes,
    consensus,
    storers,
    indexer: indexer ? `${indexer.host}:${indexer.port}` : undefined,
    advertise: advertise ? `${advertise.host}:${advertise.port}` : undefined,
    replication: readEnv(env, 'WOLK_REPLICATION') ?? genesis?.params.replication ?? 8,
    chunkSize: readEnv(env, 'WOLK_CHUNK_SIZE') ?? genesis?.params.chunkSize ?? 4096,
    maxFileBytes: readEnvOr(env, 'WOLK_MAX_FILE_BYTES', 4 * 1024 ** 3),
    maxConcurrentUploads: readEnvOr(env, 'WOLK_MAX_CONCURRENT_UPLOADS', 16),
    genesis,
    signatureWindowSeconds: readEnvOr(env, 'WOLK_SIGNATURE_WINDOW_SECONDS', 300),
    replayCacheEntries: 1_000_000,
    commitDeadlineMs: readEnvOr(env, 'WOLK_COMMIT_DEADLINE_MS', 60_000),
    commitMinBytesPerSecond: readEnvOr(env, 'WOLK_COMMIT_MIN_RATE', 8 * 1024 * 1024),
    finalityTimeoutMs: readEnvOr(env, 'WOLK_FINALITY_TIMEOUT_MS', 60_000),
  };
}
