// Runs `npm start`'s launcher (scripts/devnet.ts) in a temporary directory for end-to-end tests. A new
// directory is seeded first (test/helpers/seed.ts): node keys and a genesis with a seeded seed, which
// the launcher keeps as it keeps a restarted devnet's, so sortition replays under one WOLK_TEST_SEED.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readEnv, type Environment } from '../../lib/config/env.js';
import { toHex } from '../../lib/crypto/hash.js';
import { mkdirp } from '../../lib/fs/mkdirp.js';
import { loadOrCreateNodeKey, NODE_KEY_FILE } from '../../lib/identity/node-key.js';
import { DEFAULT_SHAPE, devnetGenesis, planProcesses, portKeys, type NodeIdentity } from '../../scripts/devnet-plan.js';
import { pollUntil } from './poll.js';
import { freePort } from './ports.js';
import { ROOT } from './process.js';
import { testRandom } from './seed.js';

const seeded = testRandom('helpers/devnet');

export interface Devnet {
  readonly dir: string;
  readonly child: ChildProcess;
  output(): string;
  /** Waits until the launcher's output matches `pattern`; on timeout the error carries the output. */
  waitForOutput(pattern: RegExp, what: string, deadlineMs: number): Promise<void>;
  endpoints(): { gateway: string; storer: string[]; consensus: string[]; rewards: string[]; indexer: string[] };
  processes(): { name: string; pid: number; grpc: string }[];
  stop(): Promise<number | null>;
}

async function outputMatches(output: () => string, pattern: RegExp, what: string, deadlineMs: number): Promise<void> {
  await pollUntil(output, { what, deadlineMs, until: (o) => pattern.test(o), describe: (o) => `devnet said:\n${o}` });
}

/**
 * For a directory without a devnet yet: every planned process's node key (unless one is there already)
 * and a genesis with a seeded seed, the current time and WOLK_DEVNET_ACCOUNTS. The launcher loads the
 * keys and keeps seed, time and balances of an existing genesis (it rewrites endpoints and nodes).
 */
function seedDevnet(dir: string, env: Environment): void {
  if (existsSync(join(dir, 'genesis.json'))) return;
  // Placeholder ports: the launcher plans its own and rewrites every endpoint.
  const processes = planProcesses(dir, DEFAULT_SHAPE, Object.fromEntries(portKeys(DEFAULT_SHAPE).map((k, i) => [k, 1 + i])));
  const identities = new Map<string, NodeIdentity>();
  for (const p of processes) {
    mkdirp(p.dataDir);
    const key = existsSync(join(p.dataDir, NODE_KEY_FILE)) ? loadOrCreateNodeKey(p.dataDir).key : seeded.provisionNodeKey(p.dataDir);
    identities.set(p.name, { id: key.id, vrfPublicKey: toHex(key.vrfPublicKey) });
  }
  const accounts = readEnv(env, 'WOLK_DEVNET_ACCOUNTS') ?? [];
  writeFileSync(join(dir, 'genesis.json'), JSON.stringify(devnetGenesis(processes, identities, seeded.hex(32), Date.now(), accounts), null, 2) + '\n');
}

export async function startDevnet(dir = mkdtempSync(join(tmpdir(), 'wolk-devnet-')), env: Record<string, string> = {}): Promise<Devnet> {
  seedDevnet(dir, { ...process.env, ...env });
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/devnet.ts'], {
    cwd: ROOT,
    env: { ...process.env, WOLK_DEVNET_DIR: dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const output = () => out;
  await outputMatches(output, /devnet ready: \d+ processes/, 'devnet ready', 240_000);
  return {
    dir,
    child,
    output,
    waitForOutput: (pattern, what, deadlineMs) => outputMatches(output, pattern, what, deadlineMs),
    endpoints: () => JSON.parse(readFileSync(join(dir, 'endpoints.json'), 'utf8')) as ReturnType<Devnet['endpoints']>,
    processes: () => JSON.parse(readFileSync(join(dir, 'processes.json'), 'utf8')) as ReturnType<Devnet['processes']>,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGTERM');
      }),
  };
}

/**
 * A devnet with the rewards service's repairer on (docs/repair.md): fixed ports (the launcher keeps
 * those of ports.json when free), so the indexer's is known up front and given to every process as
 * WOLK_INDEXER; the repairer scans every second. `env` adds to (or overrides) that.
 */
export async function startRepairDevnet(env: Record<string, string> = {}): Promise<Devnet> {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-devnet-'));
  const ports: Record<string, number> = {};
  for (const k of portKeys(DEFAULT_SHAPE)) ports[k] = await freePort();
  writeFileSync(join(dir, 'ports.json'), JSON.stringify(ports));
  return startDevnet(dir, { WOLK_INDEXER: `127.0.0.1:${ports['indexer-0']}`, WOLK_REPAIR_INTERVAL_MS: '1000', ...env });
}
