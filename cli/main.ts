// `wolk`: the command line over lib/client (docs/cli.md, docs/http-api.md). Results go to stdout as
// JSON; progress and errors to stderr. Exit codes (EXIT): 0 done, 1 failed, 2 bad usage, 3 accepted
// but not final yet (a PUT answered 202, or `wolk status` gave up waiting).
//
// bin/wolk.mjs calls runCli(): from the bundle dist/cli/wolk.mjs (built at install by `npm run
// build:cli`) or, when that is missing or older than its sources, from this file through tsx.
import type { Writable } from 'node:stream';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { WolkClient, WolkHttpError, type ProgressPhase, type UploadStatus } from '../lib/client/client.js';
import { createKey, readKey } from '../lib/client/keys.js';
import { defaultUploadStateDir } from '../lib/client/resumable.js';
import { loadGenesis } from '../lib/chain/genesis.js';
import { parseBytes, parseInteger, processEnvironment, type Environment } from '../lib/config/env.js';
import { progressBar } from './progress.js';
import { gatewayUrl, genesisPath, readCliOptions, type CliOptions } from './options.js';
import { runS3, S3UsageError, untilSignal } from './s3/command.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, notFinal: 3 } as const;

export const USAGE = `usage: wolk <command> [options]   (options also as --name=value)
  keygen                          make a key (WOLK_KEY, default ~/.wolk/key.json); prints {"owner","publicKey"}
  claim NAME                      claim the owner name NAME for your key (on chain; first claim wins)
  mb wolk://OWNER/COLL/           make a collection, or change its settings: [--replication N]
                                  [--chunk-size SIZE] [--max-file-size SIZE] (omitted: the network's;
                                  SIZE in bytes or with KiB/MiB/GiB, e.g. 16KiB)
  bucket wolk://OWNER/COLL/       a collection's settings
  put FILE wolk://OWNER/COLL/KEY  upload FILE [--type MIME] [--async]; exit 3 with the status URL
                                  when the upload is accepted but not final yet. Files of 8 MiB or more
                                  go resumably when the gateway offers it: a cut connection or a gateway
                                  restart is retried, and running the same command again after Ctrl-C
                                  continues where the gateway stopped (state in ~/.wolk/uploads;
                                  --no-resume: one plain PUT)
  status UPLOAD_ID|STATUS_URL     follow an upload to final / failed / rejected [--timeout SECONDS]
                                  (default 120; 0 asks once); exit 3 if still not final
  get wolk://OWNER/COLL/KEY [FILE] download (to stdout without FILE), checked against the proven
                                  filehash; FILE is written only once verified
  ls wolk://OWNER/COLL/           list keys [--prefix P]
  proof wolk://OWNER/COLL/KEY     fetch the key's proof and verify it offline
  status                          the gateway's view of the network
  s3 [--listen HOST:PORT] [--owner NAME] [--data-dir DIR]  an S3-compatible endpoint signing with your key (docs/s3.md)
exit codes: 0 done, 1 failed, 2 bad usage, 3 accepted but not final yet
env: WOLK_GATEWAY (default: the devnet's, from WOLK_DEVNET_DIR/endpoints.json; WOLK_DEVNET_DIR
     defaults to .wolk/devnet in the wolk repository, from any directory), WOLK_KEY,
     WOLK_GENESIS (proofs check the cert quorum against it; default: the devnet's genesis.json)`;

export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses one command's arguments (node:util parseArgs, strict): its options and exactly min..max positionals. */
function args<O extends Options>(argv: string[], options: O, positionals: [number, number], usage: string) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]} (${usage})`);
  }
  const n = parsed.positionals.length;
  if (n < positionals[0] || n > positionals[1]) throw new UsageError(usage);
  return parsed;
}

/** A byte size option, by the same parser as the byte-size environment variables (lib/config). */
function sizeOption(value: string | undefined, name: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseBytes(min, Number.MAX_SAFE_INTEGER)(value, name);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function intOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseInteger(min, max)(value, name);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export interface CliIo {
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean };
}

function printer(io: CliIo) {
  return {
    out: (value: unknown) => io.stdout.write(JSON.stringify(value, null, 2) + '\n'),
    say: (line: string) => io.stderr.write(line + '\n'),
  };
}

function describeUpload(s: UploadStatus): string {
  switch (s.state) {
    case 'final':
      return `final in round ${s.round ?? '?'}`;
    case 'failed':
    case 'rejected':
      return `${s.state}: ${String(s.problem?.['detail'] ?? s.problem?.['title'] ?? 'no reason given')}`;
    case 'submitted':
      return 'submitted to consensus, not final yet';
    default:
      return 'storers are committing';
  }
}

export async function main(argv: string[], o: CliOptions, io: CliIo): Promise<number> {
  const { out, say } = printer(io);
  const [cmd, ...rest] = argv;
  const genesis = () => {
    const path = genesisPath(o);
    return path ? loadGenesis(path) : undefined;
  };
  switch (cmd) {
    case 'keygen': {
      args(rest, {}, [0, 0], 'keygen');
      const key = createKey(o.keyPath);
      const publicKey = Buffer.from(key.publicKey).toString('hex');
      out({ owner: publicKey, publicKey, keyFile: o.keyPath });
      return EXIT.ok;
    }
    case 'claim': {
      const a = args(rest, {}, [1, 1], 'claim NAME');
      out(await new WolkClient(gatewayUrl(o), readKey(o.keyPath)).claim(a.positionals[0]!));
      return EXIT.ok;
    }
    case 'mb': {
      const a = args(rest, { replication: { type: 'string' }, 'chunk-size': { type: 'string' }, 'max-file-size': { type: 'string' } }, [1, 1], 'mb wolk://OWNER/COLL/ [--replication N] [--chunk-size SIZE] [--max-file-size SIZE]');
      const replication = intOption(a.values.replication, '--replication', 0, 64);
      const chunkSize = sizeOption(a.values['chunk-size'], '--chunk-size');
      const maxFileSize = sizeOption(a.values['max-file-size'], '--max-file-size');
      out(
        await new WolkClient(gatewayUrl(o), readKey(o.keyPath)).makeBucket(a.positionals[0]!, {
          ...(replication !== undefined ? { replication } : {}),
          ...(chunkSize !== undefined ? { chunkSize } : {}),
          ...(maxFileSize !== undefined ? { maxFileSize: BigInt(maxFileSize) } : {}),
        }),
      );
      return EXIT.ok;
    }
    case 'bucket': {
      const a = args(rest, {}, [1, 1], 'bucket wolk://OWNER/COLL/');
      out(await new WolkClient(gatewayUrl(o)).bucket(a.positionals[0]!));
      return EXIT.ok;
    }
    case 'put': {
      const a = args(rest, { type: { type: 'string' }, async: { type: 'boolean' }, 'no-resume': { type: 'boolean' } }, [2, 2], 'put FILE wolk://OWNER/COLL/KEY [--type MIME] [--async] [--no-resume]');
      const bar = progressBar(io.stderr);
      let res;
      try {
        res = await new WolkClient(gatewayUrl(o), readKey(o.keyPath)).put(a.positionals[0]!, a.positionals[1]!, {
          ...(a.values.type !== undefined ? { contentType: a.values.type } : {}),
          onProgress: (d, t, p) => bar.update(d, t, p),
          respondAsync: a.values.async === true,
          // Large files go resumably (tus) when the gateway offers it: a cut is retried, a rerun continues (docs/cli.md).
          ...(a.values['no-resume'] ? {} : { resumable: { stateDir: defaultUploadStateDir(), say: (line: string) => (bar.finish(), say(`wolk: ${line}`)) } }),
        });
      } finally {
        bar.finish();
      }
      out(res);
      if (res.state === 'final') return EXIT.ok;
      say(
        `wolk: ${res.uri} accepted, not final yet (${res.state}); follow it with \`wolk status ${res.uploadId ?? ''}\` or GET ${res.statusUrl ?? '(no status URL)'}`,
      );
      return EXIT.notFinal;
    }
    case 'status': {
      const a = args(rest, { timeout: { type: 'string' } }, [0, 1], 'status [UPLOAD_ID|STATUS_URL [--timeout SECONDS]]');
      const client = new WolkClient(gatewayUrl(o));
      if (a.positionals.length === 0) {
        if (a.values.timeout !== undefined) throw new UsageError('--timeout follows an upload: status UPLOAD_ID --timeout SECONDS');
        out(await client.status());
        return EXIT.ok;
      }
      const timeoutS = intOption(a.values.timeout, '--timeout', 0, 86_400) ?? 120;
      const s = await client.waitUpload(a.positionals[0]!, { timeoutMs: timeoutS * 1000, onState: (x) => say(`${x.uri}: ${describeUpload(x)}`) });
      out(s);
      if (s.state === 'final') return EXIT.ok;
      if (s.state === 'failed' || s.state === 'rejected') return EXIT.failed;
      say(`wolk: still not final after ${timeoutS} s; ask again with \`wolk status ${s.uploadId}\``);
      return EXIT.notFinal;
    }
    case 'get': {
      const a = args(rest, {}, [1, 2], 'get wolk://OWNER/COLL/KEY [FILE]');
      const [uri, file] = a.positionals as [string, string | undefined];
      const client = new WolkClient(gatewayUrl(o), undefined, genesis());
      const proof = await client.proof(uri);
      const bar = progressBar(io.stderr);
      const onProgress = (d: number, t: number, p: ProgressPhase) => bar.update(d, t, p);
      let res;
      try {
        // The record's filehash (from the proof) is what the bytes must hash to; a file is written
        // under a temporary name and renamed only once they do (stdout cannot be taken back).
        res = file
          ? await client.getFile(uri, file, { chunkSize: proof.chunkSize, filehash: proof.filehash, onProgress })
          : await client.get(uri, io.stdout, { chunkSize: proof.chunkSize, filehash: proof.filehash, onProgress });
      } finally {
        bar.finish();
      }
      say(`got ${res.size} bytes, filehash ${res.filehash} (matches the key's record${proof.verified ? ', proof verified' : ''})`);
      if (file) out({ ...res, file, proofVerified: proof.verified });
      return EXIT.ok;
    }
    case 'ls': {
      const a = args(rest, { prefix: { type: 'string' } }, [1, 1], 'ls wolk://OWNER/COLL/ [--prefix P]');
      out(await new WolkClient(gatewayUrl(o)).list(a.positionals[0]!, a.values.prefix !== undefined ? { prefix: a.values.prefix } : {}));
      return EXIT.ok;
    }
    case 'proof': {
      const a = args(rest, {}, [1, 1], 'proof wolk://OWNER/COLL/KEY');
      const r = await new WolkClient(gatewayUrl(o), undefined, genesis()).proof(a.positionals[0]!);
      out(r);
      const committee = r.quorum ? ', a cert quorum of the genesis committee' : " (quorum weight not checked: set WOLK_GENESIS to the network's genesis file)";
      say(
        r.verified
          ? `verified offline: ${r.uri} → filehash ${r.filehash} in state root ${r.stateRoot} of round ${r.round}, certified by ${r.certVotes} valid cert votes (weight ${r.certWeight})${committee}`
          : `NOT verified: ${r.reason}`,
      );
      return r.verified ? EXIT.ok : EXIT.failed;
    }
    case 's3':
      return runS3(rest, o, processEnvironment(), { say, stopped: untilSignal() }).catch((e: unknown) => {
        throw e instanceof S3UsageError ? new UsageError(e.message) : e;
      });
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout.write(USAGE + '\n');
      return cmd === undefined ? EXIT.usage : EXIT.ok;
    default:
      throw new UsageError(`unknown command "${cmd}"`);
  }
}

/** One line for an error, and the exit code; an HTTP problem is also printed as JSON on stdout. */
export function reportError(err: unknown, io: CliIo): number {
  if (err instanceof UsageError) {
    io.stderr.write(`wolk: ${err.message}\n${USAGE}\n`);
    return EXIT.usage;
  }
  if (err instanceof WolkHttpError) {
    io.stderr.write(`wolk: ${err.message}\n`);
    io.stdout.write(JSON.stringify({ status: err.status, ...err.problem }) + '\n');
    return EXIT.failed;
  }
  if (err instanceof Error) {
    io.stderr.write(`wolk: ${err.message}\n`);
    return EXIT.failed;
  }
  io.stderr.write(`wolk: ${String(err)}\n`);
  return EXIT.failed;
}

/** The CLI as a process runs it: options read once from the environment, then the command. */
export async function runCli(argv: string[], context: { root: string; env?: Environment; io?: CliIo }): Promise<number> {
  const io = context.io ?? { stdout: process.stdout, stderr: process.stderr };
  try {
    const options = readCliOptions(context.env ?? processEnvironment(), context.root);
    return await main(argv, options, io);
  } catch (err) {
    return reportError(err, io);
  }
}
