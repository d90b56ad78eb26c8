// The gateway's options, parsed from the environment in one place.
import { readEnv, readEnvOr, type Environment } from '../../lib/config/env.js';
import type { KnownProcess } from './status.js';

export interface GatewayOptions {
  readonly httpListen: { readonly host: string; readonly port: number };
  readonly processes: readonly KnownProcess[];
}

export function readGatewayOptions(env: Environment): GatewayOptions {
  const processes: KnownProcess[] = [
    ...(readEnv(env, 'WOLK_CONSENSUS') ?? []).map((endpoint) => ({ role: 'consensus' as const, endpoint })),
    ...(readEnv(env, 'WOLK_STORERS') ?? []).map((endpoint) => ({ role: 'storer' as const, endpoint })),
  ];
  const indexer = readEnv(env, 'WOLK_INDEXER');
  if (indexer) processes.push({ role: 'indexer', endpoint: `${indexer.host}:${indexer.port}` });
  const rewards = readEnv(env, 'WOLK_REWARDS');
  if (rewards) processes.push({ role: 'rewards', endpoint: `${rewards.host}:${rewards.port}` });
  return {
    httpListen: readEnvOr(env, 'WOLK_HTTP_LISTEN', { host: '0.0.0.0', port: 8080 }),
    processes,
  };
}
