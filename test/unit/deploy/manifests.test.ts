// The Kubernetes manifests as an operator would review them before `kubectl apply -k`: every object
// valid, every reference resolvable, every variable a service reads provided, and each overlay sized
// the way its comments say. A deliberately broken fixture (test/fixtures/deploy/broken) goes through
// the same checks and is rejected, each mistake named by object and path.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { algorandParams, smallNetworkParams } from '../../../services/consensus/agreement/params.js';
import { ENV, SERVICE_NAMES } from '../../../lib/config/env.js';
import { containersOf, formatProblems, quantity, workloads } from './checks.js';
import { checkManifests, OVERLAYS, renderOverlay, ROOT } from './context.js';
import { resolveEnvironments, serviceOfContainer } from './env-checks.js';
import { checkHttpRoutes } from './istio-checks.js';
import { parseImage, renderKustomization } from './kustomize.js';
import { asObjects, at, describe, type K8sObject } from './yaml-objects.js';

const rendered = new Map(OVERLAYS.map((o) => [o, renderOverlay(o)] as const));

function get(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind} ${name} is missing`);
  return o;
}

/** The resolved value of a variable in the first container of a workload. */
function envOf(objects: readonly K8sObject[], kind: string, name: string, variable: string): string | undefined {
  const w = get(objects, kind, name);
  return resolveEnvironments(objects).find((r) => r.workload === w)?.env.get(variable)?.value;
}

for (const overlay of OVERLAYS) {
  const objects = rendered.get(overlay)!;

  test(`${overlay}: every object validates and every reference resolves`, async (t) => {
    const problems = await checkManifests(objects);
    t.is(formatProblems(problems), '', `${problems.length} problems`);
  });

  test(`${overlay}: five services, stateful ones as StatefulSets on Ceph volumes`, (t) => {
    const kinds = Object.fromEntries(workloads(objects).map((w) => [serviceOfContainer(containersOf(w)[0]!), w.kind]));
    t.deepEqual(kinds, { storer: 'StatefulSet', consensus: 'StatefulSet', gateway: 'Deployment', rewards: 'Deployment', indexer: 'Deployment' });
    for (const name of ['storer', 'consensus']) {
      const sts = get(objects, 'StatefulSet', name);
      t.is(at(sts, 'spec.podManagementPolicy'), 'Parallel', `${name}: pods start together`);
      const svc = get(objects, 'Service', String(at(sts, 'spec.serviceName')));
      t.is(at(svc, 'spec.clusterIP'), 'None');
      t.is(at(svc, 'spec.publishNotReadyAddresses'), true, `${name}: peers are listed in DNS before they are ready`);
    }
  });

  test(`${overlay}: one image for every workload, pinned to a tag`, (t) => {
    const images = new Set(workloads(objects).flatMap((w) => containersOf(w).map((c) => String(c['image']))));
    t.is(images.size, 1, [...images].join(', '));
    const image = parseImage([...images][0]!);
    t.truthy(image.tag ?? image.digest, 'an untagged image means :latest');
    t.not(image.tag, 'latest');
  });

  test(`${overlay}: storers can always produce N commitments and drains never take every copy of a file`, (t) => {
    const n = Number(envOf(objects, 'StatefulSet', 'storer', 'WOLK_REPLICATION'));
    const storers = Number(at(get(objects, 'StatefulSet', 'storer'), 'spec.replicas'));
    const maxUnavailable = Number(at(get(objects, 'PodDisruptionBudget', 'storer'), 'spec.maxUnavailable'));
    t.true(storers >= n, `${storers} storers cannot give N = ${n} commitments`);
    t.true(maxUnavailable < n, `PDB maxUnavailable ${maxUnavailable} must stay below N = ${n}`);
    t.true(storers - maxUnavailable >= n, 'uploads still find N storers during a drain');
  });

  test(`${overlay}: consensus drains keep enough stake online for agreement to stay live`, (t) => {
    const nodes = Number(at(get(objects, 'StatefulSet', 'consensus'), 'spec.replicas'));
    const maxUnavailable = Number(at(get(objects, 'PodDisruptionBudget', 'consensus'), 'spec.maxUnavailable'));
    const online = nodes - maxUnavailable;
    // Equal stake per node (genesis): on a small network the quorum is > 2/3 of total stake.
    const stake = 1000n;
    const small = smallNetworkParams(BigInt(nodes) * stake);
    for (const step of [small.soft, small.cert, small.next]) t.true(online * Number(stake) >= step.threshold, `${online} of ${nodes} nodes online miss the quorum ${step.threshold}`);
    // Algorand's sampled committees apply only when the stake population exceeds the committee
    // sizes (params.ts); then the online fraction must reach every step's threshold share.
    const algo = algorandParams();
    if (nodes * Number(stake) >= algo.next.size) {
      for (const step of [algo.soft, algo.cert, algo.next]) {
        t.true(online / nodes > step.threshold / step.size, `${online}/${nodes} online is below ${step.threshold}/${step.size}`);
      }
    }
  });

  test(`${overlay}: the gateway's spool holds its concurrent uploads and fits its ephemeral-storage limit`, (t) => {
    const gw = get(objects, 'Deployment', 'gateway');
    const maxFile = ENV.WOLK_MAX_FILE_BYTES.parse(envOf(objects, 'Deployment', 'gateway', 'WOLK_MAX_FILE_BYTES') ?? '4GiB', 'WOLK_MAX_FILE_BYTES');
    const uploads = ENV.WOLK_MAX_CONCURRENT_UPLOADS.parse(envOf(objects, 'Deployment', 'gateway', 'WOLK_MAX_CONCURRENT_UPLOADS') ?? '16', 'WOLK_MAX_CONCURRENT_UPLOADS');
    const volumes = asObjects(at(gw, 'spec.template.spec.volumes'));
    const spool = volumes.find((v) => v['name'] === 'data');
    const spoolBytes = quantity(at(spool, 'emptyDir.sizeLimit')) ?? 0;
    t.true(spoolBytes >= maxFile * uploads, `spool ${spoolBytes} < ${uploads} uploads x ${maxFile} bytes`);
    const emptyDirs = volumes.reduce((sum, v) => sum + (quantity(at(v, 'emptyDir.sizeLimit')) ?? 0), 0);
    const limit = quantity(at(containersOf(gw)[0], 'resources.limits.ephemeral-storage')) ?? 0;
    t.true(limit >= emptyDirs, `ephemeral-storage limit ${limit} < emptyDir sizes ${emptyDirs}: the kubelet would evict the pod`);
  });

  test(`${overlay}: pods get time to shut down gracefully`, (t) => {
    for (const w of workloads(objects)) {
      const grace = Number(envOf(objects, w.kind, w.metadata.name, 'WOLK_SHUTDOWN_GRACE_MS') ?? ENV.WOLK_SHUTDOWN_GRACE_MS.default.value);
      const seconds = Number(at(w, 'spec.template.spec.terminationGracePeriodSeconds') ?? 30);
      // lib/service/runtime.ts: in-flight calls get WOLK_SHUTDOWN_GRACE_MS, then a hard stop 5 s later.
      t.true(seconds * 1000 > grace + 5000, `${describe(w)}: SIGKILL after ${seconds}s cuts the ${grace} ms grace + 5 s`);
    }
  });

  test(`${overlay}: every key of the Wolk ConfigMaps reaches some container`, (t) => {
    const used = new Set(resolveEnvironments(objects).flatMap((r) => [...r.env.keys()]));
    for (const cm of objects.filter((o) => o.kind === 'ConfigMap')) {
      for (const key of Object.keys((cm['data'] ?? {}) as object)) t.true(used.has(key), `${describe(cm)}: ${key} is set but no container reads it`);
    }
  });

  test(`${overlay}: uploads through the ingress are never retried by the mesh, reads are`, (t) => {
    const vs = get(objects, 'VirtualService', 'gateway');
    const problems = checkHttpRoutes(vs, [
      { method: 'PUT', path: '/wolk/alice/photos/cat.jpg', retriable: false },
      { method: 'POST', path: '/wolk/alice/photos/cat.jpg', retriable: false },
      { method: 'DELETE', path: '/wolk/alice/photos/cat.jpg', retriable: false },
      { method: 'GET', path: '/wolk/alice/photos/cat.jpg', retriable: true },
      { method: 'GET', path: '/healthz', retriable: true },
      { method: 'GET', path: '/anything-else', retriable: false },
    ]);
    t.is(formatProblems(problems), '');
  });
}

test('small is devnet-sized: 4 consensus, 6 storers, N = 3', (t) => {
  const objects = rendered.get('small')!;
  t.is(at(get(objects, 'StatefulSet', 'consensus'), 'spec.replicas'), 4);
  t.is(at(get(objects, 'StatefulSet', 'storer'), 'spec.replicas'), 6);
  t.is(envOf(objects, 'StatefulSet', 'storer', 'WOLK_REPLICATION'), '3');
});

test('large is the design target: 512 storers and 512 consensus nodes, N = 8', (t) => {
  const objects = rendered.get('large')!;
  t.is(at(get(objects, 'StatefulSet', 'consensus'), 'spec.replicas'), 512);
  t.is(at(get(objects, 'StatefulSet', 'storer'), 'spec.replicas'), 512);
  t.is(envOf(objects, 'StatefulSet', 'storer', 'WOLK_REPLICATION'), '8');
  t.true(Number(at(get(objects, 'PodDisruptionBudget', 'consensus'), 'spec.maxUnavailable')) > 1, 'drains of a 512-node set should not go one pod at a time');
  // The sizes the overlay's header promises (75 TiB of volumes).
  const volume = (name: string) => quantity(at(asObjects(at(get(objects, 'StatefulSet', name), 'spec.volumeClaimTemplates'))[0], 'spec.resources.requests.storage')) ?? 0;
  t.is((512 * volume('storer') + 512 * volume('consensus')) / 2 ** 40, 75);
});

test('each check can fail: a mutated manifest is reported with its object and path', async (t) => {
  const cases: Array<[string, (objects: K8sObject[]) => void, string]> = [
    [
      'a write retried by the mesh',
      (os) => {
        const http = at(get(os, 'VirtualService', 'storer'), 'spec.http') as Array<Record<string, unknown>>;
        http.find((r) => r['name'] === 'uploads')!['retries'] = { attempts: 2 };
      },
      'VirtualService wolk/storer: spec.http[3].retries: /wolk.storer.v1.StorerService/SetFile would be retried 2 times',
    ],
    [
      'a misspelled variable in a ConfigMap',
      (os) => {
        (get(os, 'ConfigMap', 'wolk-common')['data'] as Record<string, string>)['WOLK_LOGLEVEL'] = 'debug';
      },
      'StatefulSet wolk/storer: envFrom ConfigMap wolk-common: WOLK_LOGLEVEL is not a variable Wolk reads',
    ],
    [
      'a value the service cannot parse',
      (os) => {
        (get(os, 'ConfigMap', 'wolk-network')['data'] as Record<string, string>)['WOLK_LAMBDA_MS'] = '2s';
      },
      'value "2s" does not parse: WOLK_LAMBDA_MS: expected an integer',
    ],
    [
      'a PVC on another StorageClass',
      (os) => {
        (get(os, 'PersistentVolumeClaim', 'rewards-data')['spec'] as Record<string, unknown>)['storageClassName'] = 'standard';
      },
      'PersistentVolumeClaim wolk/rewards-data: spec.storageClassName: must be rook-ceph-block',
    ],
    [
      'a VirtualService for a Service that does not exist',
      (os) => {
        (get(os, 'DestinationRule', 'indexer')['spec'] as Record<string, unknown>)['host'] = 'indexers.wolk.svc.cluster.local';
      },
      'DestinationRule wolk/indexer: spec.host: indexers.wolk.svc.cluster.local is not a Service',
    ],
    [
      'a required variable removed',
      (os) => {
        const c = containersOf(get(os, 'StatefulSet', 'consensus'))[0]!;
        c['env'] = asObjects(c['env']).filter((e) => e['name'] !== 'WOLK_PEERS_SRV');
      },
      'none of WOLK_PEERS, WOLK_PEERS_SRV is set',
    ],
  ];
  for (const [what, mutate, expected] of cases) {
    const objects = renderOverlay('small');
    mutate(objects);
    const report = formatProblems(await checkManifests(objects));
    t.true(report.includes(expected), `${what}: expected "${expected}" in:\n${report}`);
  }
});

test('the broken fixture is rejected with the object and the path of each mistake', async (t) => {
  const objects = renderKustomization(join(ROOT, 'test/fixtures/deploy/broken'), ROOT);
  const report = formatProblems(await checkManifests(objects));
  const expected = [
    // misspelled field
    'StatefulSet wolk/storer: spec.serviceNmae: unknown field (not in apps/v1 StatefulSet; misspelled?)',
    // wrong type
    'StatefulSet wolk/storer: spec.replicas: must be integer',
    // a Service selecting nothing
    'Service wolk/ghost: spec.selector: {"app.kubernetes.io/name":"storre"} selects no pod of any workload in namespace wolk',
    // consequences of the misspelling: the governing Service is gone
    'StatefulSet wolk/storer: spec.serviceName: is missing: the pods get no stable DNS names',
    // a variable the registry does not know
    'StatefulSet wolk/storer: spec.template.spec.containers[0].env[0]: WOLK_REPLICATON is not a variable Wolk reads (not in lib/config/env.ts): a typo?',
    // a probe on a port the container does not open
    'StatefulSet wolk/storer: spec.template.spec.containers[0].readinessProbe.grpc.port: 7002 is not a port of container storer',
    // a claim on another StorageClass
    'StatefulSet wolk/storer: spec.volumeClaimTemplates[0].spec.storageClassName: must be rook-ceph-block (a Ceph RBD volume), got "standard"',
    // variables the storer needs and does not get
    'StatefulSet wolk/storer: spec.template.spec.containers[0].env: WOLK_GENESIS is read by the storer, has no default and is not set',
  ];
  for (const line of expected) t.true(report.includes(line), `expected\n  ${line}\nin the report:\n${report}`);
});

test('the registry the manifests are checked against lists every variable the service code reads', (t) => {
  // The env checks trust lib/config/env.ts's `services`; a readEnv() in a service that the registry
  // does not attribute to it would be a variable the manifests never get asked for.
  const files = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  const readsIn = (dir: string) => new Set(files(dir).flatMap((f) => [...readFileSync(join(ROOT, f), 'utf8').matchAll(/read(?:Env|Option|Derived)\(\s*\w+\s*,\s*'([A-Z0-9_]+)'/g)].map((m) => m[1]!)));
  const registry = ENV as Record<string, { services: readonly string[] | 'all' }>;
  for (const service of SERVICE_NAMES) {
    for (const name of readsIn(`services/${service}`)) {
      const spec = registry[name];
      t.truthy(spec, `services/${service} reads ${name}, which is not in lib/config/env.ts`);
      if (spec) t.true(spec.services === 'all' || spec.services.includes(service), `services/${service} reads ${name}, but lib/config/env.ts lists it for ${JSON.stringify(spec.services)}`);
    }
  }
  for (const name of readsIn('lib')) t.is(registry[name]?.services, 'all', `lib/ reads ${name} for every service, so the registry must say 'all'`);
});

test('readiness probes ask for a gRPC service name the service registers with its health server', (t) => {
  // A name the server does not register answers NOT_FOUND: the pod would never become ready.
  for (const overlay of OVERLAYS) {
    for (const w of workloads(rendered.get(overlay)!)) {
      for (const c of containersOf(w)) {
        const name = at(c, 'readinessProbe.grpc.service');
        if (typeof name !== 'string') continue;
        const service = serviceOfContainer(c)!;
        const sources = readdirSync(join(ROOT, 'services', service)).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(ROOT, 'services', service, f), 'utf8'));
        t.true(sources.some((s) => s.includes(`fullName: '${name}'`)), `${overlay}: ${describe(w)} probes ${name}, which services/${service} does not register`);
      }
    }
  }
});
