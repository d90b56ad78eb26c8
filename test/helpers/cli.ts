// The `wolk` CLI as a user runs it (bin/wolk.mjs, a real process) against a devnet, for e2e tests: one
// key file in a work directory, the devnet's gateway, and `wolk put` followed to finality.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './process.js';

const run = promisify(execFile);

export type Cli = (...args: string[]) => Promise<{ stdout: string; stderr: string }>;

/**
 * A `wolk` runner in `work` with the key `work/key.json`, talking to the gateway `gateway()` names when
 * called; `env()` adds variables to each run (e.g. WOLK_GENESIS for `wolk proof`).
 */
export function devnetCli(work: string, gateway: () => string, timeoutMs = 240_000, env: () => Record<string, string> = () => ({})): Cli {
  return (...args) =>
    run(process.execPath, [join(ROOT, 'bin/wolk.mjs'), ...args], {
      cwd: work,
      env: { ...process.env, WOLK_GATEWAY: gateway(), WOLK_KEY: join(work, 'key.json'), ...env() },
      maxBuffer: 64 * 1024 * 1024,
      timeout: timeoutMs,
    });
}

/** What `wolk put` and `wolk status` print for a key (one JSON shape, docs/cli.md). */
export interface PutOutput {
  readonly state: string;
  readonly uploadId?: string;
  readonly filehash: string;
  readonly storers: string[];
  readonly round?: string;
}

/**
 * `wolk put`, followed with `wolk status --timeout` when the gateway answered before finality (exit 3,
 * its status URL in the output); anything but a final upload throws.
 */
export async function putFinal(cli: Cli, file: string, uri: string, statusTimeoutSeconds = 200): Promise<PutOutput> {
  const stdout = await cli('put', file, uri).then(
    (r) => r.stdout,
    (e: { code?: number; stdout?: string }) => {
      if (e.code !== 3 || !e.stdout) throw e;
      return e.stdout;
    },
  );
  const first = JSON.parse(stdout) as PutOutput;
  if (first.state === 'final') return first;
  if (first.uploadId === undefined) throw new Error(`${uri}: upload answered ${first.state} without a status to follow`);
  const followed = JSON.parse((await cli('status', first.uploadId, '--timeout', String(statusTimeoutSeconds))).stdout) as PutOutput;
  if (followed.state !== 'final') throw new Error(`${uri}: upload ${first.uploadId} ended ${followed.state}, not final`);
  return followed;
}
