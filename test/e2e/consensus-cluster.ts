// A cluster of real consensus processes on loopback for the consensus e2e tests and the benchmark:
// data directories with seeded node keys provisioned as an operator does (node-key.json, read by the
// node as in production; test/helpers/seed.ts), a genesis with a seeded seed listing the
// consensus nodes (plus optional extra nodes), one `node --import tsx services/consensus/main.ts` per
// node with WOLK_LISTEN / WOLK_PEERS / WOLK_GENESIS, and gRPC clients to call them.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, createWriteStream, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { ConsensusServiceClient, type GetStatusResponse } from '../../gen/wolk/consensus/v1/consensus.js';
import type { Genesis, GenesisNode } from '../../lib/chain/genesis.js';
import { toHex } from '../../lib/crypto/index.js';
import type { NodeKey } from '../../lib/identity/node-key.js';
import { freePort } from '../helpers/ports.js';
import { testRandom } from '../helpers/seed.js';

// Nodes start after the clients are made and restart during tests: retry connections quickly.
const CLIENT_OPTIONS = { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 1000 };

/** Node keys and the genesis seed: seeded, so sortition picks the same proposers on every run with one seed. */
const seeded = testRandom('e2e/consensus-cluster.ts');

export interface ClusterNode {
  readonly index: number;
  readonly dataDir: string;
  readonly endpoint: string;
  readonly key: NodeKey;
  readonly client: ConsensusServiceClient;
  proc: ChildProcess | null;
}

export interface Cluster {
  readonly dir: string;
  readonly genesis: Genesis;
  readonly genesisPath: string;
  readonly nodes: ClusterNode[];
  start(i: number): void;
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  readonly size?: number;
  readonly lambdaMs?: number;
  readonly extraNodes?: readonly GenesisNode[];
  readonly network?: string;
  /** More environment per node, over the defaults (WOLK_PEERS: '' leaves the static peer list out). */
  readonly env?: (node: ClusterNode) => Readonly<Record<string, string>>;
}

export async function startCluster(o: ClusterOptions = {}): Promise<Cluster> {
  const size = o.size ?? 4;
  const dir = mkdtempSync(join(tmpdir(), 'wolk-consensus-e2e-'));
  const ports = [];
  for (let i = 0; i < size; i++) ports.push(await freePort());
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < size; i++) {
    const dataDir = join(dir, `consensus-${i}`);
    (await import('node:fs')).mkdirSync(dataDir, { recursive: true });
    const key = seeded.provisionNodeKey(dataDir);
    const endpoint = `127.0.0.1:${ports[i]}`;
    nodes.push({ index: i, dataDir, endpoint, key, client: new ConsensusServiceClient(endpoint, credentials.createInsecure(), CLIENT_OPTIONS), proc: null });
  }
  const genesis: Genesis = {
    network: o.network ?? 'wolk-e2e',
    seed: seeded.hex(32),
    timestampMs: Date.now(),
    params: { replication: 3, storerCommitteeSize: 18, chunkSize: 4096, lambdaMs: o.lambdaMs ?? 150, auditDepth: 4 },
    nodes: [...nodes.map((n) => ({ id: n.key.id, vrfPublicKey: toHex(n.key.vrfPublicKey), endpoint: n.endpoint, roles: ['consensus' as const], stake: '1000' })), ...(o.extraNodes ?? [])],
  };
  const genesisPath = join(dir, 'genesis.json');
  writeFileSync(genesisPath, JSON.stringify(genesis, null, 2));

  const start = (i: number) => {
    const n = nodes[i]!;
    const env = {
      ...process.env,
      WOLK_LISTEN: n.endpoint,
      WOLK_DATA_DIR: n.dataDir,
      WOLK_GENESIS: genesisPath,
      WOLK_PEERS: nodes.filter((m) => m !== n).map((m) => m.endpoint).join(','),
      WOLK_LAMBDA_MS: String(o.lambdaMs ?? 150),
      WOLK_SHUTDOWN_GRACE_MS: '500',
      WOLK_PARENT_PID: String(process.pid),
      WOLK_LOG_LEVEL: process.env['WOLK_E2E_LOG_LEVEL'] ?? 'info',
      ...o.env?.(n),
    };
    const proc = spawn(process.execPath, ['--import', 'tsx', 'services/consensus/main.ts'], { cwd: process.cwd(), env, stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr!.pipe(createWriteStream(join(dir, `consensus-${i}.log`), { flags: 'a' }));
    n.proc = proc;
  };
  const kill = async (i: number, signal: NodeJS.Signals = 'SIGKILL') => {
    const p = nodes[i]!.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill(signal);
    await exited;
    nodes[i]!.proc = null;
  };
  for (let i = 0; i < size; i++) start(i);
  return {
    dir,
    genesis,
    genesisPath,
    nodes,
    start,
    kill,
    async stop() {
      await Promise.all(nodes.map((_, i) => kill(i)));
      for (const n of nodes) n.client.close();
      if (!process.env['WOLK_KEEP_E2E']) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function unaryCall<Req, Res>(
  client: ConsensusServiceClient,
  method: (req: Req, md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res: Res) => void) => unknown,
  req: Req,
  timeoutMs = 5000,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, req, new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

export function status(n: ClusterNode, timeoutMs = 3000): Promise<GetStatusResponse> {
  return unaryCall(n.client, n.client.getStatus, {}, timeoutMs);
}

export async function statusOrNull(n: ClusterNode): Promise<GetStatusResponse | null> {
  try {
    return await status(n, 2000);
  } catch {
    return null;
  }
}
