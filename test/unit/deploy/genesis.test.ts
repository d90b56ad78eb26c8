// deploy/k8s/make-genesis.ts, run with the exact commands docs/deploy.md gives for each overlay,
// produces a genesis and keys that fit that overlay: a key file for every pod that mounts one, the
// pods' real DNS names and ports as endpoints, and the parameters of its wolk-network ConfigMap.
import test from 'ava';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGenesis, validateGenesis } from '../../../lib/chain/genesis.js';
import { toHex } from '../../../lib/crypto/hash.js';
import { loadOrCreateNodeKey } from '../../../lib/identity/node-key.js';
import { makeGenesis, planFromArgs, writeGenesis } from '../../../deploy/k8s/make-genesis.js';
import { IDLE_ROUND_LAMBDAS, REWARD_WINDOW_MS } from '../../../lib/chain/reward.js';
import { containersOf, workloads } from './checks.js';
import { OVERLAYS, renderOverlay, ROOT } from './context.js';
import { resolveEnvironments } from './env-checks.js';
import { asObjects, at, describe, type K8sObject } from './yaml-objects.js';

const doc = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');

/** The make-genesis command the guide gives for an overlay (its --out names the overlay). */
function documentedArgs(overlay: string): string[] {
  const commands = [...doc.matchAll(/node --import tsx deploy\/k8s\/make-genesis\.ts ((?:\\\n|[^\n])+)/g)].map((m) => m[1]!.replace(/\\\n/g, ' '));
  const command = commands.find((c) => c.includes(`--out .wolk/k8s-${overlay} `));
  if (!command) throw new Error(`docs/deploy.md gives no make-genesis command with --out .wolk/k8s-${overlay}`);
  return command.trim().split(/\s+/);
}

/** Deterministic bytes (SHA-256 of a counter), so the test does not depend on the system's randomness. */
function counter(): (n: number) => Uint8Array {
  let i = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let off = 0; off < n; off += 32) out.set(createHash('sha256').update(`wolk-genesis-test-${i++}`).digest().subarray(0, n - off), off);
    return out;
  };
}

/** The key files the pods of an overlay mount from the Secret wolk-node-keys. */
function mountedKeyFiles(objects: readonly K8sObject[]): Map<string, K8sObject> {
  const files = new Map<string, K8sObject>();
  for (const w of workloads(objects)) {
    const keyVolumes = asObjects(at(w, 'spec.template.spec.volumes')).filter((v) => at(v, 'secret.secretName') === 'wolk-node-keys').map((v) => v['name']);
    for (const c of containersOf(w)) {
      for (const m of asObjects(c['volumeMounts']).filter((x) => keyVolumes.includes(x['name']))) {
        if (typeof m['subPath'] === 'string') files.set(m['subPath'], w);
        else if (m['subPathExpr'] === '$(POD_NAME).json') {
          for (let i = 0; i < Number(at(w, 'spec.replicas')); i++) files.set(`${w.metadata.name}-${i}.json`, w);
        } else throw new Error(`${describe(w)}: node key mount ${JSON.stringify(m)} is neither a fixed subPath nor $(POD_NAME).json`);
      }
    }
  }
  return files;
}

for (const overlay of OVERLAYS) {
  test(`${overlay}: the documented make-genesis command fits the overlay`, (t) => {
    const objects = renderOverlay(overlay);
    const { plan } = planFromArgs(documentedArgs(overlay));
    // The real key derivation (VRF point multiplication) costs ms per node; 1000+ nodes would make
    // this test slow, and what it checks here is names, endpoints and parameters. The test below
    // runs the real derivation.
    const fakeDerive = (sign: Uint8Array, vrf: Uint8Array) => ({ id: toHex(sign), vrfPublicKey: vrf });
    const { genesis, keys } = makeGenesis(plan, counter(), 0, fakeDerive);

    // A key for every pod that mounts one, and no key for a pod that does not exist.
    const mounted = mountedKeyFiles(objects);
    t.deepEqual([...mounted.keys()].sort(), keys.map((k) => k.file).sort());

    // Endpoints: the pod's DNS name and the port its container serves.
    for (const k of keys) {
      const w = mounted.get(k.file)!;
      const [host, port] = k.node.endpoint.split(':') as [string, string];
      const ports = containersOf(w).flatMap((c) => asObjects(c['ports']).map((p) => p['containerPort']));
      t.true(ports.includes(Number(port)), `${k.file}: port ${port} is not served by ${describe(w)}`);
      if (w.kind === 'StatefulSet') t.is(host, `${k.file.replace(/\.json$/, '')}.${String(at(w, 'spec.serviceName'))}.${w.metadata.namespace}.svc.cluster.local`);
      else {
        const svc = objects.find((o) => o.kind === 'Service' && `${o.metadata.name}.${o.metadata.namespace}.svc.cluster.local` === host);
        t.truthy(svc, `${k.file}: ${host} is no Service of the overlay`);
        t.true(asObjects(at(svc, 'spec.ports')).some((p) => p['port'] === Number(port)), `${k.file}: ${host} has no port ${port}`);
      }
    }

    // Parameters: what the services are told in wolk-network.
    const env = (variable: string) => resolveEnvironments(objects).find((r) => r.env.has(variable))?.env.get(variable)?.value;
    t.is(env('WOLK_REPLICATION'), String(genesis.params.replication));
    t.is(env('WOLK_CHUNK_SIZE'), String(genesis.params.chunkSize));
    t.is(env('WOLK_LAMBDA_MS'), String(genesis.params.lambdaMs));
    t.is(env('WOLK_AUDIT_DEPTH'), String(genesis.params.auditDepth));
    t.true(genesis.params.storerCommitteeSize >= genesis.params.replication);
    // The Reward inclusion window spans REWARD_WINDOW_MS of idle rounds (docs/rewards.md "Inclusion window").
    t.true(genesis.params.rewardMaxDelay! * IDLE_ROUND_LAMBDAS * genesis.params.lambdaMs >= REWARD_WINDOW_MS, `rewardMaxDelay ${genesis.params.rewardMaxDelay} at λ ${genesis.params.lambdaMs} ms`);
  });
}

test('make-genesis: the Reward inclusion window follows λ unless given', (t) => {
  const delay = (...args: string[]) => planFromArgs(['--out', 'x', ...args]).plan.rewardMaxDelay;
  t.is(delay('--lambda-ms', '2000'), 8, 'the default 8 rounds already span 32 s at λ 2 s');
  t.is(delay('--lambda-ms', '250'), 60, '60 rounds of 0.5 s at λ 250 ms');
  t.is(delay('--lambda-ms', '250', '--reward-max-delay', '20'), 20);
  t.throws(() => delay('--reward-max-delay', '0'), { message: /--reward-max-delay: expected an integer >= 1/ });
});

test('the written genesis and keys are what the services load', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-genesis-'));
  try {
    const { plan, out } = planFromArgs(['--out', dir, '--consensus', '2', '--storers', '3', '--replication', '2']);
    const result = makeGenesis(plan);
    writeGenesis(out, result);
    const genesis = loadGenesis(join(dir, 'genesis.json'));
    t.deepEqual(validateGenesis(genesis), result.genesis);
    t.is(new Set(genesis.nodes.map((n) => n.id)).size, genesis.nodes.length, 'every node has its own key');
    for (const k of result.keys) {
      const file = join(dir, 'node-keys', k.file);
      t.is(statSync(file).mode & 0o777, 0o600, `${k.file} is readable by its owner only`);
      // A pod's WOLK_DATA_DIR with the Secret's file mounted as node-key.json.
      const dataDir = mkdtempSync(join(tmpdir(), 'wolk-node-'));
      try {
        copyFileSync(file, join(dataDir, 'node-key.json'));
        const { key, created } = loadOrCreateNodeKey(dataDir);
        t.false(created, `${k.file}: the service must load the key, not make a new one`);
        t.is(key.id, k.node.id);
        t.is(toHex(key.vrfPublicKey), k.node.vrfPublicKey);
      } finally {
        rmSync(dataDir, { recursive: true });
      }
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('make-genesis refuses plans that cannot work', (t) => {
  t.throws(() => planFromArgs(['--out', 'x', '--storers', '2', '--replication', '3']), { message: /--storers 2 < --replication 3/ });
  t.throws(() => planFromArgs(['--storers', '6']), { message: /--out DIR is required/ });
  t.throws(() => planFromArgs(['--out', 'x', '--lambda-ms', 'fast']), { message: /--lambda-ms: expected an integer/ });
});
