// Makes a network's genesis and the node keys it lists, for a Kubernetes deployment (docs/deploy.md,
// step 5). The keys go into the Secret wolk-node-keys, one file per pod, which the pods mount as
// WOLK_DATA_DIR/node-key.json; the genesis goes into the ConfigMap wolk-genesis. Making both up front
// is what lets every node start with a genesis that already lists every node's keys.
//
//   node --import tsx deploy/k8s/make-genesis.ts --out .wolk/k8s-small \
//     --consensus 4 --storers 6 --replication 3 --lambda-ms 250 --audit-depth 10
//   kubectl -n wolk create configmap wolk-genesis --from-file=.wolk/k8s-small/genesis.json
//   kubectl -n wolk create secret generic wolk-node-keys --from-file=.wolk/k8s-small/node-keys/
//
// Endpoints are the pods' stable DNS names: <statefulset>-<i>.<service>.<namespace>.svc.cluster.local.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { validateGenesis, type Genesis, type GenesisNode, type GenesisRole } from '../../lib/chain/genesis.js';
import { rewardMaxDelayFor } from '../../lib/chain/reward.js';
import { toHex } from '../../lib/crypto/hash.js';
import { nodeKeyFromSeeds } from '../../lib/identity/node-key.js';

export interface GenesisPlan {
  readonly network: string;
  readonly namespace: string;
  readonly consensus: number;
  readonly storers: number;
  readonly replication: number;
  /** Expected storers sortition selects per file; default 6 x N, the devnet's ratio (18 for N = 3). */
  readonly storerCommitteeSize: number;
  readonly chunkSize: number;
  readonly lambdaMs: number;
  readonly auditDepth: number;
  /** Standing audits per Reward (genesis params.standingAudits; docs/rewards.md "Standing audits"). */
  readonly standingAudits: number;
  /**
   * The Reward inclusion window in rounds (genesis params.rewardMaxDelay; docs/rewards.md "Inclusion
   * window"). Default: lib/chain/reward.ts rewardMaxDelayFor(λ) (8 at λ 2 s, 60 at λ 250 ms).
   */
  readonly rewardMaxDelay: number;
  readonly stake: bigint;
}

/** One key per pod: the file name in the Secret is what the pod mounts (`$(POD_NAME).json`). */
export interface PlannedKey {
  readonly file: string;
  readonly content: string;
  readonly node: GenesisNode;
}

/** Public keys from the two seeds (lib/identity/node-key.ts). */
export type DeriveKey = (signSeed: Uint8Array, vrfSeed: Uint8Array) => { id: string; vrfPublicKey: Uint8Array };

function makeKey(file: string, endpoint: string, role: GenesisRole, stake: bigint, random: (n: number) => Uint8Array, derive: DeriveKey): PlannedKey {
  const signSeed = random(32);
  const vrfSeed = random(32);
  const key = derive(signSeed, vrfSeed);
  // The format lib/identity/node-key.ts reads.
  const content = JSON.stringify({ version: 1, signSeed: toHex(signSeed), vrfSeed: toHex(vrfSeed) }) + '\n';
  return { file, content, node: { id: key.id, vrfPublicKey: toHex(key.vrfPublicKey), endpoint, roles: [role], stake: stake.toString() } };
}

/**
 * The keys and the genesis of a plan. Pods: consensus-<i> and storer-<i> (StatefulSets), one key
 * shared by the gateway pods (the registered co-signer) and one for the rewards pod.
 */
export function makeGenesis(
  plan: GenesisPlan,
  random: (n: number) => Uint8Array = (n) => randomBytes(n),
  now = Date.now(),
  derive: DeriveKey = nodeKeyFromSeeds,
): { genesis: Genesis; keys: PlannedKey[] } {
  const dns = (pod: string, svc: string, port: number) => `${pod}.${svc}.${plan.namespace}.svc.cluster.local:${port}`;
  const keys: PlannedKey[] = [];
  for (let i = 0; i < plan.consensus; i++) keys.push(makeKey(`consensus-${i}.json`, dns(`consensus-${i}`, 'consensus', 7002), 'consensus', plan.stake, random, derive));
  for (let i = 0; i < plan.storers; i++) keys.push(makeKey(`storer-${i}.json`, dns(`storer-${i}`, 'storer', 7001), 'storer', plan.stake, random, derive));
  keys.push(makeKey('rewards.json', `rewards.${plan.namespace}.svc.cluster.local:7003`, 'rewards', plan.stake, random, derive));
  keys.push(makeKey('gateway.json', `gateway-pods.${plan.namespace}.svc.cluster.local:7005`, 'gateway', plan.stake, random, derive));
  const genesis: Genesis = {
    network: plan.network,
    seed: toHex(random(32)),
    timestampMs: now,
    params: {
      replication: plan.replication,
      storerCommitteeSize: plan.storerCommitteeSize,
      chunkSize: plan.chunkSize,
      lambdaMs: plan.lambdaMs,
      auditDepth: plan.auditDepth,
      standingAudits: plan.standingAudits,
      rewardMaxDelay: plan.rewardMaxDelay,
    },
    nodes: keys.map((k) => k.node),
  };
  return { genesis: validateGenesis(genesis, 'generated genesis'), keys };
}

export function planFromArgs(argv: readonly string[]): { plan: GenesisPlan; out: string } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      out: { type: 'string' },
      network: { type: 'string', default: 'wolk' },
      namespace: { type: 'string', default: 'wolk' },
      consensus: { type: 'string', default: '4' },
      storers: { type: 'string', default: '6' },
      replication: { type: 'string', default: '3' },
      committee: { type: 'string' },
      'chunk-size': { type: 'string', default: '4096' },
      'lambda-ms': { type: 'string', default: '2000' },
      'audit-depth': { type: 'string', default: '100' },
      'standing-audits': { type: 'string', default: '2' },
      'reward-max-delay': { type: 'string' },
      stake: { type: 'string', default: '1000' },
    },
    strict: true,
  });
  const int = (name: string, v: string | undefined, min = 1): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected an integer >= ${min}, got ${JSON.stringify(v)}`);
    return n;
  };
  if (!values.out) throw new Error('--out DIR is required (where genesis.json and node-keys/ are written)');
  const replication = int('replication', values.replication);
  const lambdaMs = int('lambda-ms', values['lambda-ms']);
  const storers = int('storers', values.storers);
  if (storers < replication) throw new Error(`--storers ${storers} < --replication ${replication}: no file could get N commitments`);
  return {
    out: values.out,
    plan: {
      network: values.network!,
      namespace: values.namespace!,
      consensus: int('consensus', values.consensus),
      storers,
      replication,
      storerCommitteeSize: values.committee !== undefined ? int('committee', values.committee) : 6 * replication,
      chunkSize: int('chunk-size', values['chunk-size']),
      lambdaMs,
      auditDepth: int('audit-depth', values['audit-depth']),
      standingAudits: int('standing-audits', values['standing-audits'], 0),
      rewardMaxDelay: values['reward-max-delay'] !== undefined ? int('reward-max-delay', values['reward-max-delay']) : rewardMaxDelayFor(lambdaMs),
      stake: BigInt(int('stake', values.stake)),
    },
  };
}

/** Writes DIR/genesis.json and DIR/node-keys/<pod>.json (mode 0600). */
export function writeGenesis(out: string, result: ReturnType<typeof makeGenesis>): void {
  mkdirSync(join(out, 'node-keys'), { recursive: true, mode: 0o700 });
  writeFileSync(join(out, 'genesis.json'), JSON.stringify(result.genesis, null, 2) + '\n');
  for (const k of result.keys) writeFileSync(join(out, 'node-keys', k.file), k.content, { mode: 0o600 });
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  try {
    const { plan, out } = planFromArgs(process.argv.slice(2));
    const result = makeGenesis(plan);
    writeGenesis(out, result);
    process.stdout.write(`wrote ${join(out, 'genesis.json')} (${result.genesis.nodes.length} nodes) and ${result.keys.length} keys in ${join(out, 'node-keys')}/\n`);
  } catch (err) {
    process.stderr.write(`make-genesis: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
