// The CLI's configuration, read once from the environment through lib/config's registry (the only
// reader of variables) into one typed object; commands get this object, never `process.env`.
//
// The devnet is found the way `npm start` makes it, from any directory (the README promises `wolk`
// everywhere after `npm link`): WOLK_DEVNET_DIR, resolved against the repository root when relative
// (as `npm start` resolves it), else <repository root>/.wolk/devnet.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readEnv, type Environment } from '../lib/config/env.js';
import { defaultKeyPath } from '../lib/client/keys.js';
import { gatewayOrigin } from '../lib/client/transport.js';

export interface CliOptions {
  /** WOLK_GATEWAY: the gateway's URL; unset: the devnet's (devnetDir/endpoints.json). */
  readonly gateway: string | undefined;
  /** WOLK_KEY, else ~/.wolk/key.json. */
  readonly keyPath: string;
  /** WOLK_GENESIS: the network's genesis for proof quorum checks; unset: the devnet's when there is one. */
  readonly genesisPath: string | undefined;
  /** The devnet's directory (absolute). */
  readonly devnetDir: string;
  /** Whether devnetDir came from WOLK_DEVNET_DIR (for messages). */
  readonly devnetDirFromEnv: boolean;
  /** The repository the CLI runs from (where `npm start` keeps its devnet). */
  readonly root: string;
}

export function readCliOptions(env: Environment, root: string): CliOptions {
  const gateway = readEnv(env, 'WOLK_GATEWAY');
  const devnet = readEnv(env, 'WOLK_DEVNET_DIR');
  return {
    gateway,
    keyPath: readEnv(env, 'WOLK_KEY') ?? defaultKeyPath(),
    genesisPath: readEnv(env, 'WOLK_GENESIS'),
    devnetDir: resolve(root, devnet ?? join('.wolk', 'devnet')),
    devnetDirFromEnv: devnet !== undefined,
    root,
  };
}

/** The gateway URL: WOLK_GATEWAY, else the running devnet's. The error names every variable that fixes it. */
export function gatewayUrl(o: CliOptions): string {
  if (o.gateway) {
    try {
      gatewayOrigin(o.gateway);
    } catch (err) {
      throw new Error(`WOLK_GATEWAY: ${(err as Error).message}`);
    }
    return o.gateway;
  }
  const file = join(o.devnetDir, 'endpoints.json');
  if (existsSync(file)) {
    let gw: unknown;
    try {
      gw = (JSON.parse(readFileSync(file, 'utf8')) as { gateway?: unknown }).gateway;
    } catch (err) {
      throw new Error(`${file} is not the devnet's endpoints file (${(err as Error).message}); set WOLK_GATEWAY to the gateway's URL`);
    }
    if (typeof gw === 'string' && gw) return gw;
    throw new Error(`${file} names no gateway; set WOLK_GATEWAY to the gateway's URL`);
  }
  const where = o.devnetDirFromEnv ? `WOLK_DEVNET_DIR=${o.devnetDir}` : `the default devnet directory ${o.devnetDir}`;
  throw new Error(
    `no gateway: WOLK_GATEWAY is unset and ${where} has no endpoints.json. Set WOLK_GATEWAY to the gateway's URL (e.g. http://127.0.0.1:8080), ` +
      `or WOLK_DEVNET_DIR to the directory of a running devnet, or start one with \`npm start\` in ${o.root}`,
  );
}

/** The genesis file for proof checks: WOLK_GENESIS, else the devnet's when it exists, else none. */
export function genesisPath(o: CliOptions): string | undefined {
  if (o.genesisPath) return o.genesisPath;
  const devnet = join(o.devnetDir, 'genesis.json');
  return existsSync(devnet) ? devnet : undefined;
}
