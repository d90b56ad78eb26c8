// `wolk`: the command line over lib/client (docs/http-api.md). Results go to stdout as JSON; progress
// and errors to stderr; exit code 0 on success, 1 on failure, 2 on bad usage.
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WolkClient, WolkHttpError } from '../lib/client/client.js';
import { createKey, defaultKeyPath, readKey } from '../lib/client/keys.js';
import { progressBar } from './progress.js';
import { loadGenesis, type Genesis } from '../lib/chain/genesis.js';

const USAGE = `usage: wolk <command>
  keygen                          make a key (WOLK_KEY, default ~/.wolk/key.json); prints {"owner","publicKey"}
  claim NAME                      claim the owner name NAME for your key (on chain; first claim wins)
  mb wolk://OWNER/COLL/           make a collection, or change its settings: [--replication N]
                                  [--chunk-size BYTES] [--max-file-size BYTES] (omitted: the network's)
  bucket wolk://OWNER/COLL/       a collection's settings
  put FILE wolk://OWNER/COLL/KEY  upload FILE [--type MIME] [--async] (with the collection's chunk size)
  get wolk://OWNER/COLL/KEY [FILE] download (to stdout without FILE), checked against the chain's filehash
  ls wolk://OWNER/COLL/           list keys
  proof wolk://OWNER/COLL/KEY     fetch the key's proof and verify it offline
  status                          the gateway's view of the network
env: WOLK_GATEWAY (default: the devnet's, from .wolk/devnet/endpoints.json), WOLK_KEY,
     WOLK_GENESIS (proofs check the cert quorum against it; default: the devnet's genesis.json)`;

class UsageError extends Error {}

function gatewayUrl(env: NodeJS.ProcessEnv): string {
  if (env['WOLK_GATEWAY']) return env['WOLK_GATEWAY'];
  const file = join(env['WOLK_DEVNET_DIR'] ?? '.wolk/devnet', 'endpoints.json');
  if (existsSync(file)) {
    const gw = (JSON.parse(readFileSync(file, 'utf8')) as { gateway?: string }).gateway;
    if (gw) return gw;
  }
  throw new Error(`no gateway: set WOLK_GATEWAY or start a devnet (npm start) so that ${file} exists`);
}

/** The network's genesis for proof checks: WOLK_GENESIS, else the devnet's (when `npm start` made one), else none. */
function genesisOf(env: NodeJS.ProcessEnv): Genesis | undefined {
  const path = env['WOLK_GENESIS'] || join(env['WOLK_DEVNET_DIR'] ?? '.wolk/devnet', 'genesis.json');
  if (!env['WOLK_GENESIS'] && !existsSync(path)) return undefined;
  return loadGenesis(path);
}

function out(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

function flag(args: string[], name: string): string | boolean | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  args.splice(i, 1);
  if (name === '--async') return true;
  const v = args[i];
  if (v === undefined) throw new UsageError(`${name} needs a value`);
  args.splice(i, 1);
  return v;
}

/** A non-negative integer option (sizes accept K/M/G suffixes, powers of 1024), or undefined when absent. */
function intFlag(args: string[], name: string): number | undefined {
  const v = flag(args, name);
  if (v === undefined) return undefined;
  const m = /^(\d+)([KMG]i?B?)?$/i.exec(String(v));
  if (!m) throw new UsageError(`${name} needs a whole number, got "${String(v)}"`);
  const mult = m[2] ? 1024 ** ('KMG'.indexOf(m[2][0]!.toUpperCase()) + 1) : 1;
  const n = Number(m[1]) * mult;
  if (!Number.isSafeInteger(n)) throw new UsageError(`${name} ${String(v)} is too large`);
  return n;
}

async function main(argv: string[]): Promise<number> {
  const env = process.env;
  const [cmd, ...args] = argv;
  const keyPath = defaultKeyPath(env);
  switch (cmd) {
    case 'keygen': {
      const key = createKey(keyPath);
      const publicKey = Buffer.from(key.publicKey).toString('hex');
      out({ owner: publicKey, publicKey, keyFile: keyPath });
      return 0;
    }
    case 'claim': {
      if (args.length !== 1) throw new UsageError('claim NAME');
      out(await new WolkClient(gatewayUrl(env), readKey(keyPath)).claim(args[0]!));
      return 0;
    }
    case 'mb': {
      const replication = intFlag(args, '--replication');
      const chunkSize = intFlag(args, '--chunk-size');
      const maxFileSize = intFlag(args, '--max-file-size');
      if (args.length !== 1) throw new UsageError('mb wolk://OWNER/COLL/ [--replication N] [--chunk-size BYTES] [--max-file-size BYTES]');
      out(
        await new WolkClient(gatewayUrl(env), readKey(keyPath)).makeBucket(args[0]!, {
          ...(replication !== undefined ? { replication } : {}),
          ...(chunkSize !== undefined ? { chunkSize } : {}),
          ...(maxFileSize !== undefined ? { maxFileSize: BigInt(maxFileSize) } : {}),
        }),
      );
      return 0;
    }
    case 'bucket': {
      if (args.length !== 1) throw new UsageError('bucket wolk://OWNER/COLL/');
      out(await new WolkClient(gatewayUrl(env)).bucket(args[0]!));
      return 0;
    }
    case 'put': {
      const type = flag(args, '--type');
      const async = flag(args, '--async') === true;
      if (args.length !== 2) throw new UsageError('put FILE wolk://OWNER/COLL/KEY');
      const bar = progressBar();
      const res = await new WolkClient(gatewayUrl(env), readKey(keyPath)).put(args[0]!, args[1]!, {
        ...(typeof type === 'string' ? { contentType: type } : {}),
        onProgress: (d, t, p) => bar.update(d, t, p),
        respondAsync: async,
      });
      bar.finish();
      out(res);
      return 0;
    }
    case 'get': {
      if (args.length < 1 || args.length > 2) throw new UsageError('get wolk://OWNER/COLL/KEY [FILE]');
      const client = new WolkClient(gatewayUrl(env), undefined, genesisOf(env));
      const proof = await client.proof(args[0]!);
      const bar = progressBar();
      const dest = args[1] ? createWriteStream(args[1]) : process.stdout;
      const res = await client.get(args[0]!, dest, { chunkSize: proof.chunkSize, onProgress: (d, t, p) => bar.update(d, t, p) });
      bar.finish();
      if (res.filehash !== proof.filehash) throw new Error(`the gateway served filehash ${res.filehash}, the proven record says ${proof.filehash}`);
      process.stderr.write(`got ${res.size} bytes, filehash ${res.filehash} (matches the key's record${proof.verified ? ', proof verified' : ''})\n`);
      if (args[1]) out({ ...res, file: args[1], proofVerified: proof.verified });
      return 0;
    }
    case 'ls': {
      if (args.length !== 1) throw new UsageError('ls wolk://OWNER/COLL/');
      out(await new WolkClient(gatewayUrl(env)).list(args[0]!));
      return 0;
    }
    case 'proof': {
      if (args.length !== 1) throw new UsageError('proof wolk://OWNER/COLL/KEY');
      const r = await new WolkClient(gatewayUrl(env), undefined, genesisOf(env)).proof(args[0]!);
      out(r);
      const committee = r.quorum ? ', a cert quorum of the genesis committee' : ' (quorum weight not checked: set WOLK_GENESIS to the network\'s genesis file)';
      process.stderr.write(
        r.verified
          ? `verified offline: ${r.uri} → filehash ${r.filehash} in state root ${r.stateRoot} of round ${r.round}, certified by ${r.certVotes} valid cert votes (weight ${r.certWeight})${committee}\n`
          : `NOT verified: ${r.reason}\n`,
      );
      return r.verified ? 0 : 1;
    }
    case 'status': {
      out(await new WolkClient(gatewayUrl(env)).status());
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return cmd === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`wolk: ${err.message}\n${USAGE}\n`);
      process.exit(2);
    }
    if (err instanceof WolkHttpError) {
      process.stderr.write(`wolk: ${err.message}\n`);
      process.stdout.write(JSON.stringify({ status: err.status, ...err.problem }) + '\n');
      process.exit(1);
    }
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    const why = (err as Error).message === 'fetch failed' && cause ? `cannot reach the gateway (${cause.code ?? cause.message})` : (err as Error).message;
    process.stderr.write(`wolk: ${why}\n`);
    process.exit(1);
  },
);
