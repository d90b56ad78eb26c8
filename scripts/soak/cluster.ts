// A devnet for soaks (issue #20.3): the processes `npm start` plans (scripts/devnet-plan.ts: the same
// shape, genesis, environment and command line), started by this script so that any of them can be
// SIGKILLed and restarted, with every gRPC address one process hands another going through a
// fault-injecting TCP proxy (fault-proxy.ts). Each process listens on a private port; the endpoints
// the plan hands out (genesis, WOLK_ADVERTISE) are proxy ports, and each configured peer list
// (WOLK_PEERS, WOLK_CONSENSUS, WOLK_STORERS, WOLK_INDEXER, WOLK_REWARDS) gets one proxy per
// (client, server) pair, so a partition can cut exactly the links between two sides. Addresses found
// through the chain's registry (a storer the consensus node or gateway looks up, the gateway a storer
// fetches from) use the server's shared proxy "*->NAME", which a partition cuts for everyone.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { freePort } from '../../lib/net/ports.js';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { mkdirp } from '../../lib/fs/mkdirp.js';
import { loadOrCreateNodeKey, type NodeKey } from '../../lib/identity/node-key.js';
import { toHex } from '../../lib/crypto/hash.js';
import { checkHealth, waitForServing } from '../../lib/grpc/health-client.js';
import type { Genesis } from '../../lib/chain/genesis.js';
import { DEFAULT_SHAPE, LAUNCHER_KILL_AFTER_MS, devnetGenesis, environmentFor, planProcesses, portKeys, serviceArgs, type NodeIdentity, type PlannedProcess } from '../devnet-plan.js';
import { startFaultLink, type FaultLink } from './fault-proxy.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Environment variables that carry lists of other processes' gRPC endpoints. */
const PEER_VARIABLES = ['WOLK_PEERS', 'WOLK_CONSENSUS', 'WOLK_STORERS', 'WOLK_INDEXER', 'WOLK_REWARDS'] as const;

export interface SoakProcess {
  readonly plan: PlannedProcess;
  /** Where it really listens (gRPC), bypassing every proxy: what the soak itself observes through. */
  readonly direct: string;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly log: string;
  child: ChildProcess | null;
  starts: number;
}

export interface SoakClusterOptions {
  /** Data directory (default: a new temporary one). */
  readonly dir?: string;
  /** Makes (or loads) a process's node key in its data directory; default loadOrCreateNodeKey. */
  readonly provisionKey?: (name: string, dataDir: string) => NodeKey;
  /** Genesis seed, hex (default random). */
  readonly genesisSeedHex?: string;
  /** Extra environment for every process. */
  readonly env?: Readonly<Record<string, string>>;
  /** How long to wait for every process to answer health checks at start. */
  readonly readyTimeoutMs?: number;
}

export interface SoakCluster {
  readonly dir: string;
  readonly genesis: Genesis;
  readonly genesisPath: string;
  readonly gatewayUrl: string;
  readonly processes: ReadonlyMap<string, SoakProcess>;
  /** Every proxied link by name ("storer-1->consensus-0", "*->storer-1"). */
  readonly links: ReadonlyMap<string, FaultLink>;
  /** Links whose server is `name` (what an inbound fault on that process affects). */
  inbound(name: string): FaultLink[];
  /** Links between the two sides of a partition: from one side to the other, both ways, and every shared link into `side`. */
  across(side: ReadonlySet<string>): FaultLink[];
  alive(name: string): boolean;
  kill(name: string): Promise<void>;
  start(name: string): void;
  /** Waits for `name` to answer SERVING on its own port. */
  waitServing(name: string, timeoutMs: number): Promise<boolean>;
  /** Health of every process (direct, no proxy). */
  health(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

function writeJsonAtomic(path: string, value: unknown): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(value, null, 2) + '\n');
  renameSync(`${path}.tmp`, path);
}

export async function startSoakCluster(o: SoakClusterOptions = {}): Promise<SoakCluster> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'wolk-soak-'));
  mkdirp(join(dir, 'logs'));
  // The ports the plan hands out are the shared proxies' ("*->NAME"); each process listens elsewhere.
  const advertised: Record<string, number> = {};
  const taken = new Set<number>();
  const newPort = async () => {
    let p = await freePort();
    while (taken.has(p)) p = await freePort();
    taken.add(p);
    return p;
  };
  for (const k of portKeys(DEFAULT_SHAPE)) advertised[k] = await newPort();
  const plan = planProcesses(dir, DEFAULT_SHAPE, advertised);
  const byAdvertised = new Map(plan.map((p) => [`127.0.0.1:${p.grpcPort}`, p]));

  const identities = new Map<string, NodeIdentity>();
  for (const p of plan) {
    mkdirp(p.dataDir);
    const key = o.provisionKey ? o.provisionKey(p.name, p.dataDir) : loadOrCreateNodeKey(p.dataDir).key;
    identities.set(p.name, { id: key.id, vrfPublicKey: toHex(key.vrfPublicKey) });
  }
  const genesis = devnetGenesis(plan, identities, o.genesisSeedHex ?? toHex(randomBytes(32)), Date.now());
  const genesisPath = join(dir, 'genesis.json');
  writeJsonAtomic(genesisPath, genesis);

  const links = new Map<string, FaultLink>();
  const direct = new Map<string, string>();
  for (const p of plan) direct.set(p.name, `127.0.0.1:${await newPort()}`);
  // Shared links on the advertised ports.
  for (const p of plan) links.set(`*->${p.name}`, await startFaultLink(`*->${p.name}`, direct.get(p.name)!, p.grpcPort));

  const processes = new Map<string, SoakProcess>();
  for (const p of plan) {
    const env = environmentFor(p, plan, genesisPath, process.pid);
    env['WOLK_LISTEN'] = direct.get(p.name)!;
    for (const v of PEER_VARIABLES) {
      const list = env[v];
      if (!list) continue;
      const rewritten: string[] = [];
      for (const ep of list.split(',')) {
        const server = byAdvertised.get(ep);
        if (!server) {
          rewritten.push(ep);
          continue;
        }
        const name = `${p.name}->${server.name}`;
        let link = links.get(name);
        if (!link) {
          // A port chosen with the others (not 0): a listener on any free port could take a port
          // planned for a process that has not started yet.
          link = await startFaultLink(name, direct.get(server.name)!, await newPort());
          links.set(name, link);
        }
        rewritten.push(`127.0.0.1:${link.listenPort}`);
      }
      env[v] = rewritten.join(',');
    }
    processes.set(p.name, { plan: p, direct: direct.get(p.name)!, argv: serviceArgs(p.service), env: { ...env, ...(o.env ?? {}) }, log: join(dir, 'logs', `${p.name}.log`), child: null, starts: 0 });
  }

  let stopping = false;
  const record = () =>
    writeJsonAtomic(
      join(dir, 'processes.json'),
      [...processes.values()].map((s) => ({
        name: s.plan.name,
        service: s.plan.service,
        pid: s.child?.pid ?? null,
        alive: s.child !== null && s.child.exitCode === null && s.child.signalCode === null,
        starts: s.starts,
        grpc: `127.0.0.1:${s.plan.grpcPort}`,
        direct: s.direct,
        ...(s.plan.httpPort ? { http: `http://127.0.0.1:${s.plan.httpPort}` } : {}),
        dataDir: s.plan.dataDir,
        log: s.log,
        argv: [process.execPath, ...s.argv],
      })),
    );

  const start = (name: string) => {
    const s = processes.get(name);
    if (!s) throw new Error(`no process ${name}`);
    if (s.child && s.child.exitCode === null && s.child.signalCode === null) throw new Error(`${name} is running`);
    const fd = openSync(s.log, 'a');
    const child = spawn(process.execPath, [...s.argv], { cwd: ROOT, env: { ...process.env, ...s.env }, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    s.child = child;
    s.starts++;
    child.on('exit', () => {
      if (!stopping) record();
    });
    record();
  };

  const alive = (name: string) => {
    const c = processes.get(name)?.child;
    return !!c && c.exitCode === null && c.signalCode === null;
  };

  const cluster: SoakCluster = {
    dir,
    genesis,
    genesisPath,
    gatewayUrl: `http://127.0.0.1:${plan.find((p) => p.service === 'gateway')!.httpPort}`,
    processes,
    links,
    inbound: (name) => [...links.values()].filter((l) => l.name.endsWith(`->${name}`)),
    across(side) {
      return [...links.values()].filter((l) => {
        const [from, to] = l.name.split('->') as [string, string];
        if (from === '*') return side.has(to);
        return side.has(from) !== side.has(to);
      });
    },
    alive,
    start,
    async kill(name) {
      const c = processes.get(name)?.child;
      if (!c || !alive(name)) return;
      await new Promise<void>((res) => {
        c.once('exit', () => res());
        c.kill('SIGKILL');
      });
    },
    waitServing: (name, timeoutMs) => waitForServing(processes.get(name)!.direct, timeoutMs),
    async health() {
      const out: Record<string, string> = {};
      await Promise.all([...processes.values()].map(async (s) => (out[s.plan.name] = alive(s.plan.name) ? await checkHealth(s.direct, '', 3000) : 'DEAD')));
      return out;
    },
    async stop() {
      stopping = true;
      const exits = [...processes.values()].map(
        (s) =>
          new Promise<void>((res) => {
            const c = s.child;
            if (!c || c.exitCode !== null || c.signalCode !== null) return res();
            c.once('exit', () => res());
            c.kill('SIGTERM');
          }),
      );
      const killer = setTimeout(() => {
        for (const s of processes.values()) if (s.child && s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
      }, LAUNCHER_KILL_AFTER_MS);
      await Promise.all(exits);
      clearTimeout(killer);
      record();
      await Promise.all([...links.values()].map((l) => l.close()));
    },
  };

  for (const p of plan) start(p.name);
  const ready = await Promise.all(plan.map(async (p) => ({ name: p.name, ok: await cluster.waitServing(p.name, o.readyTimeoutMs ?? 180_000) })));
  const failed = ready.filter((r) => !r.ok).map((r) => r.name);
  if (failed.length > 0) {
    const tails = failed.map((n) => `${n}:\n${tailOf(processes.get(n)!.log)}`).join('\n');
    await cluster.stop();
    throw new Error(`soak cluster: ${failed.join(', ')} did not become healthy\n${tails}`);
  }
  return cluster;
}

export function tailOf(path: string, lines = 12): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
