// `wolk s3`: runs the S3-compatible endpoint (lib/s3, docs/s3.md) on loopback until SIGINT/SIGTERM.
// Its settings come from flags or, when a flag is absent, from the environment object the CLI read
// once (WOLK_S3_* below; documented in docs/s3.md):
//   --listen HOST:PORT      WOLK_S3_LISTEN             default 127.0.0.1:9000 (loopback only unless set)
//   --owner NAME            WOLK_S3_OWNER              your claimed Wolk name (required)
//   --data-dir DIR          WOLK_S3_DATA_DIR           default ~/.wolk/s3
//                           WOLK_S3_ACCESS_KEY_ID      the access key id clients sign with (required)
//                           WOLK_S3_SECRET_ACCESS_KEY  its secret (required, at least 16 characters)
// The Ed25519 key is the CLI's (WOLK_KEY); the gateway the CLI's (WOLK_GATEWAY or the devnet's).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readKey } from '../../lib/client/keys.js';
import { WolkClient } from '../../lib/client/client.js';
import { parseHostPort, type Environment } from '../../lib/config/env.js';
import { NAME_RE } from '../../lib/chain/state-keys.js';
import { wolkBackend } from '../../lib/s3/backend.js';
import { createS3Server } from '../../lib/s3/server.js';
import { LocalStore } from '../../lib/s3/store.js';
import { gatewayUrl, type CliOptions } from '../options.js';

export const S3_USAGE = 's3 [--listen HOST:PORT] [--owner NAME] [--data-dir DIR]   (credentials: WOLK_S3_ACCESS_KEY_ID, WOLK_S3_SECRET_ACCESS_KEY; docs/s3.md)';

export interface S3Io {
  readonly say: (line: string) => void;
  /** Resolves when the endpoint should stop (SIGINT/SIGTERM for the CLI). */
  readonly stopped: Promise<void>;
}

export class S3UsageError extends Error {}

export async function runS3(argv: string[], o: CliOptions, env: Environment, io: S3Io): Promise<number> {
  let a;
  try {
    a = parseArgs({ args: argv, options: { listen: { type: 'string' }, owner: { type: 'string' }, 'data-dir': { type: 'string' } }, strict: true, allowPositionals: false });
  } catch (err) {
    throw new S3UsageError(`${(err as Error).message.split('\n')[0]} (${S3_USAGE})`);
  }
  const listen = parseHostPort(a.values.listen ?? env['WOLK_S3_LISTEN'] ?? '127.0.0.1:9000', '--listen/WOLK_S3_LISTEN');
  const owner = a.values.owner ?? env['WOLK_S3_OWNER'];
  if (!owner || !NAME_RE.test(owner)) throw new S3UsageError(`--owner/WOLK_S3_OWNER must be your claimed Wolk name (1-63 of [a-z0-9-]), got ${JSON.stringify(owner ?? '')}`);
  const accessKeyId = env['WOLK_S3_ACCESS_KEY_ID'];
  const secret = env['WOLK_S3_SECRET_ACCESS_KEY'];
  if (!accessKeyId || !/^[A-Za-z0-9]{3,128}$/.test(accessKeyId)) throw new S3UsageError('WOLK_S3_ACCESS_KEY_ID must be set: 3-128 letters and digits, the access key id your S3 clients use');
  if (!secret || secret.length < 16) throw new S3UsageError('WOLK_S3_SECRET_ACCESS_KEY must be set: at least 16 characters, the secret your S3 clients use');
  const dataDir = a.values['data-dir'] ?? env['WOLK_S3_DATA_DIR'] ?? join(homedir(), '.wolk', 's3');
  const gateway = gatewayUrl(o);
  const key = readKey(o.keyPath);
  const ownerId = Buffer.from(key.publicKey).toString('hex');
  // The name must be this key's: otherwise every upload would be refused by the gateway later.
  const name = await new WolkClient(gateway).json<{ owner?: string }>(`/wolk/${owner}`).catch((err: Error) => {
    throw new Error(`cannot look up the owner name "${owner}" at ${gateway}: ${err.message} (claim it with \`wolk claim ${owner}\`)`);
  });
  if (name.owner !== ownerId) throw new Error(`the name "${owner}" belongs to key ${String(name.owner)}, not to yours (${ownerId}, ${o.keyPath})`);
  const server = createS3Server({
    backend: wolkBackend(gateway, key, owner, { uploadStateDir: join(dataDir, 'uploads') }),
    store: new LocalStore(dataDir),
    credentials: { lookup: (id) => (id === accessKeyId ? secret : undefined) },
    ownerId,
    now: Date.now,
    log: io.say,
  });
  server.requestTimeout = 0; // large uploads are streamed; a slow client is not an error
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : listen.port;
  io.say(`wolk s3: http://${listen.host}:${port} serving the collections of "${owner}" through ${gateway} (data ${dataDir})`);
  await io.stopped;
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  return 0;
}

/** Resolves on the first SIGINT or SIGTERM (the CLI's stop for a long-running command). */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
