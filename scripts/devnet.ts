// `npm start`: a devnet of every Wolk service on loopback, each a separate Node process with its own
// data directory under .wolk/devnet/ (WOLK_DEVNET_DIR). Prints the endpoints, writes endpoints.json,
// reports any process that dies, and stops every child on Ctrl-C or SIGTERM, or when the process that
// started it is gone. A second start reuses the same ports, keys, genesis and data; a start in a
// directory where a devnet still runs is refused (devnet-lock.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { freePort, portIsFree } from '../lib/net/ports.js';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { processEnvironment, readEnv, readOption } from '../lib/config/env.js';
import { mkdirp } from '../lib/fs/mkdirp.js';
import { loadOrCreateNodeKey } from '../lib/identity/node-key.js';
import { toHex } from '../lib/crypto/hash.js';
import { validateGenesis } from '../lib/chain/genesis.js';
import { waitForServing } from '../lib/grpc/health-client.js';
import {
  DEFAULT_SHAPE,
  LAUNCHER_KILL_AFTER_MS,
  devnetGenesis,
  devnetPorep,
  endpointsOf,
  environmentFor,
  planProcesses,
  portKeys,
  serviceArgs,
  type DevnetExtras,
  type NodeIdentity,
  type PlannedProcess,
  type PortMap,
} from './devnet-plan.js';
import { acquireDevnetLock, DevnetRunningError, type DevnetLock } from './devnet-lock.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const env = processEnvironment();
const dir = resolve(root, readOption(env, 'WOLK_DEVNET_DIR'));
const say = (line: string) => process.stdout.write(line + '\n');
// The terminal (or npm, whose output we share) may be gone when we stop: a failed write must not cut
// the shutdown of the children short.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);
const warn = (line: string) => process.stderr.write(line + '\n');

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}

/** Ports from ports.json when still free, new ones otherwise; saved for the next start. */
async function planPorts(): Promise<PortMap> {
  const path = join(dir, 'ports.json');
  const saved: PortMap = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as PortMap) : {};
  const ports: PortMap = {};
  const taken = new Set<number>();
  for (const key of portKeys(DEFAULT_SHAPE)) {
    const old = saved[key];
    if (old !== undefined && !taken.has(old) && (await portIsFree(old))) ports[key] = old;
    else {
      let p = await freePort();
      while (taken.has(p)) p = await freePort();
      if (old !== undefined) warn(`port ${old} of ${key} is taken; using ${p}`);
      ports[key] = p;
    }
    taken.add(ports[key]!);
  }
  writeJsonAtomic(path, ports);
  return ports;
}

function tailOf(path: string, lines = 8): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Test-only per-process faults and per-process span files; a fault for a process that is not a storer is refused. */
function devnetExtras(processes: readonly PlannedProcess[]): DevnetExtras {
  const faults = readEnv(env, 'WOLK_DEVNET_FAULTS') ?? new Map<string, readonly string[]>();
  for (const name of faults.keys()) {
    const p = processes.find((q) => q.name === name);
    if (!p || p.service !== 'storer') {
      throw new Error(`WOLK_DEVNET_FAULTS: "${name}" is not a storer of this devnet (storers: ${processes.filter((q) => q.service === 'storer').map((q) => q.name).join(', ')})`);
    }
  }
  const traceDirRaw = readEnv(env, 'WOLK_DEVNET_TRACE_DIR');
  const traceDir = traceDirRaw ? resolve(root, traceDirRaw) : undefined;
  if (traceDir) mkdirp(traceDir);
  // Repairs stay off unless the launcher's environment asks for them (DevnetExtras.repairIntervalMs).
  const repairIntervalMs = env['WOLK_REPAIR_INTERVAL_MS'] === undefined ? 0 : readOption(env, 'WOLK_REPAIR_INTERVAL_MS');
  // Sealing storers keep no spare sector unless asked (DevnetExtras.spareSectors).
  const spareSectors = env['WOLK_SPARE_SECTORS'] === undefined ? 0 : readOption(env, 'WOLK_SPARE_SECTORS');
  return { faults, repairIntervalMs, spareSectors, ...(traceDir ? { traceDir } : {}) };
}

/** How often the launcher checks that the process that started it is still there. */
const PARENT_CHECK_MS = 1000;
/** The directory's pid file once taken; released when the launcher stops or fails to start. */
let held: DevnetLock | undefined;

async function main(): Promise<void> {
  mkdirp(dir);
  // Before anything in the directory is read or written: a running devnet's files stay untouched.
  const lock = acquireDevnetLock(dir);
  held = lock;
  mkdirp(join(dir, 'logs'));
  const ports = await planPorts();
  const processes = planProcesses(dir, DEFAULT_SHAPE, ports);
  const extras = devnetExtras(processes);

  // Identities first: every node's keys are made (or loaded) so the genesis can list them.
  const identities = new Map<string, NodeIdentity>();
  for (const p of processes) {
    mkdirp(p.dataDir);
    const { key } = loadOrCreateNodeKey(p.dataDir);
    identities.set(p.name, { id: key.id, vrfPublicKey: toHex(key.vrfPublicKey) });
  }
  const genesisPath = join(dir, 'genesis.json');
  let seedHex = toHex(randomBytes(32));
  let timestampMs = Date.now();
  if (existsSync(genesisPath)) {
    const old = validateGenesis(JSON.parse(readFileSync(genesisPath, 'utf8')), genesisPath);
    seedHex = old.seed;
    timestampMs = old.timestampMs;
  }
  let accounts = readEnv(env, 'WOLK_DEVNET_ACCOUNTS') ?? [];
  // An existing devnet keeps the balances it started with (another genesis state would be another chain).
  if (existsSync(genesisPath)) accounts = validateGenesis(JSON.parse(readFileSync(genesisPath, 'utf8')), genesisPath).accounts ?? [];
  // Endpoints can move between starts (a port was taken); keys, seed, time and balances stay.
  const sectorBytes = readEnv(env, 'WOLK_DEVNET_POREP_SECTOR');
  writeJsonAtomic(genesisPath, devnetGenesis(processes, identities, seedHex, timestampMs, accounts, sectorBytes !== undefined ? devnetPorep(sectorBytes) : undefined));

  const children = new Map<string, { proc: PlannedProcess; child: ChildProcess; log: string }>();
  let stopping = false;

  const start = (p: PlannedProcess) => {
    const log = join(dir, 'logs', `${p.name}.log`);
    const fd = openSync(log, 'a');
    const child = spawn(
      process.execPath,
      serviceArgs(p.service),
      { cwd: root, env: { ...process.env, ...environmentFor(p, processes, genesisPath, process.pid, extras) }, stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    children.set(p.name, { proc: p, child, log });
    child.on('exit', (code, signal) => {
      if (stopping) return;
      warn(`✗ ${p.name} (pid ${child.pid}) exited ${signal ? `on ${signal}` : `with code ${code}`}. Last lines of ${log}:`);
      warn(tailOf(log).replace(/^/gm, '    '));
      writeProcesses();
    });
  };

  const writeProcesses = () =>
    writeJsonAtomic(
      join(dir, 'processes.json'),
      [...children.values()].map(({ proc, child, log }) => ({
        name: proc.name,
        service: proc.service,
        pid: child.pid,
        alive: child.exitCode === null && child.signalCode === null,
        grpc: `127.0.0.1:${proc.grpcPort}`,
        ...(proc.httpPort ? { http: `http://127.0.0.1:${proc.httpPort}` } : {}),
        dataDir: proc.dataDir,
        log,
      })),
    );

  const stopAll = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    say(`\nstopping the devnet (${reason})…`);
    const exits = [...children.values()].map(
      ({ child }) =>
        new Promise<void>((res) => {
          if (child.exitCode !== null || child.signalCode !== null) return res();
          child.once('exit', () => res());
          child.kill('SIGTERM');
        }),
    );
    const killer = setTimeout(() => {
      for (const { child } of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, LAUNCHER_KILL_AFTER_MS);
    await Promise.all(exits);
    clearTimeout(killer);
    writeProcesses();
    lock.release();
    say('devnet stopped; data kept in ' + dir);
    process.exit(0);
  };
  process.on('SIGINT', () => void stopAll('SIGINT'));
  process.on('SIGTERM', () => void stopAll('SIGTERM'));
  // A SIGTERM to `npm start`'s own pid may never reach us (npm signals its shell, which dies without
  // passing it on; package.json's `exec` avoids the shell) and SIGKILL never does: when the process
  // that started us is gone we are re-parented, and stop as the services do with WOLK_PARENT_PID.
  const parentAtStart = process.ppid;
  const parentCheck = setInterval(() => {
    if (process.ppid !== parentAtStart) void stopAll(`parent ${parentAtStart} is gone`);
  }, PARENT_CHECK_MS);
  parentCheck.unref();

  say(`starting the Wolk devnet in ${dir} …`);
  for (const p of processes) start(p);
  writeProcesses();

  const ready = await Promise.all(
    processes.map(async (p) => ({ p, ok: await waitForServing(`127.0.0.1:${p.grpcPort}`, 180_000) })),
  );
  if (stopping) return;
  const failed = ready.filter((r) => !r.ok);
  const endpoints = endpointsOf(processes);
  writeJsonAtomic(join(dir, 'endpoints.json'), endpoints);
  for (const { p, ok } of ready) {
    const where = p.httpPort ? `http://127.0.0.1:${p.httpPort} (gRPC 127.0.0.1:${p.grpcPort})` : `127.0.0.1:${p.grpcPort}`;
    say(`${ok ? '✓' : '✗'} ${p.name.padEnd(12)} ${where}`);
  }
  say(`endpoints: ${join(dir, 'endpoints.json')}   logs: ${join(dir, 'logs')}`);
  if (failed.length > 0) {
    warn(`${failed.length} process(es) did not become healthy: ${failed.map((f) => f.p.name).join(', ')}`);
  } else {
    say(`devnet ready: ${processes.length} processes. Ctrl-C stops it.`);
  }
}

main().catch((err: unknown) => {
  if (err instanceof DevnetRunningError) warn(`devnet: ${err.message}`);
  else {
    warn(`devnet: ${(err as Error).message}`);
    held?.release();
  }
  process.exit(1);
});
