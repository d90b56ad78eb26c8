// The kustomize-subset renderer behaves like kustomize on the features the overlays use, and refuses
// the ones it does not implement instead of rendering them as no-ops.
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KustomizeError, mergeValue, parseImage, renderKustomization } from './kustomize.js';
import { at, type K8sObject } from './yaml-objects.js';

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-kustomize-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: wolk
          env:
            - {name: A, value: "1"}
            - {name: B, value: "2"}
          args: ["--one"]
        - name: side
          image: busybox:1.36
`;
const STS = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
        - {name: db, image: wolk}
  volumeClaimTemplates:
    - metadata: {name: data}
      spec: {resources: {requests: {storage: 1Gi}}}
    - metadata: {name: logs}
      spec: {resources: {requests: {storage: 1Gi}}}
`;
const SC = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: fast
provisioner: example.com/x
`;

const find = (objs: K8sObject[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind} ${name} not rendered`);
  return o;
};

test('resources from nested directories, namespace on namespaced kinds only, labels kept out of selectors', (t) => {
  const dir = tree({
    'base/kustomization.yaml': 'resources: [deploy.yaml, more]\nnamespace: wolk\nlabels:\n  - pairs: {team: storage}\n    includeTemplates: true\n',
    'base/deploy.yaml': DEPLOYMENT,
    'base/more/kustomization.yaml': 'resources: [sc.yaml]\n',
    'base/more/sc.yaml': SC,
  });
  try {
    const objs = renderKustomization(join(dir, 'base'), dir);
    const web = find(objs, 'Deployment', 'web');
    t.is(web.metadata.namespace, 'wolk');
    t.is(find(objs, 'StorageClass', 'fast').metadata.namespace, undefined);
    t.deepEqual(at(web, 'metadata.labels'), { team: 'storage' });
    t.deepEqual(at(web, 'spec.template.metadata.labels'), { app: 'web', team: 'storage' });
    t.deepEqual(at(web, 'spec.selector.matchLabels'), { app: 'web' }, 'selectors are immutable: includeSelectors false must leave them alone');
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('commonLabels reach selectors too', (t) => {
  const dir = tree({ 'kustomization.yaml': 'resources: [d.yaml]\ncommonLabels: {env: dev}\n', 'd.yaml': DEPLOYMENT });
  try {
    const web = find(renderKustomization(dir, dir), 'Deployment', 'web');
    t.deepEqual(at(web, 'spec.selector.matchLabels'), { app: 'web', env: 'dev' });
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('strategic merge: containers and env merge by name, other lists are replaced', (t) => {
  const dir = tree({
    'base/kustomization.yaml': 'resources: [d.yaml, s.yaml]\n',
    'base/d.yaml': DEPLOYMENT,
    'base/s.yaml': STS,
    'overlay/kustomization.yaml': 'resources: [../base]\npatches:\n  - path: d.yaml\n  - path: s.yaml\n',
    'overlay/d.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          env: [{name: B, value: "20"}, {name: C, value: "3"}]\n          args: ["--two"]\n          resources: null\n',
    'overlay/s.yaml': 'apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  volumeClaimTemplates:\n    - metadata: {name: data}\n      spec: {resources: {requests: {storage: 5Gi}}}\n',
  });
  try {
    const objs = renderKustomization(join(dir, 'overlay'), dir);
    const containers = at(find(objs, 'Deployment', 'web'), 'spec.template.spec.containers') as Array<Record<string, unknown>>;
    t.is(containers.length, 2, 'the sidecar container is kept');
    t.deepEqual(containers[0]!['env'], [
      { name: 'A', value: '1' },
      { name: 'B', value: '20' },
      { name: 'C', value: '3' },
    ]);
    t.deepEqual(containers[0]!['args'], ['--two']);
    const vct = at(find(objs, 'StatefulSet', 'db'), 'spec.volumeClaimTemplates') as unknown[];
    t.is(vct.length, 1, 'volumeClaimTemplates has no merge key in the API: the patch replaces the list');
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('images and replicas', (t) => {
  const dir = tree({
    'kustomization.yaml': 'resources: [d.yaml]\nimages:\n  - {name: wolk, newName: registry.example.com/wolk, newTag: "1.2.3"}\nreplicas:\n  - {name: web, count: 5}\n',
    'd.yaml': DEPLOYMENT,
  });
  try {
    const web = find(renderKustomization(dir, dir), 'Deployment', 'web');
    t.is(at(web, 'spec.replicas'), 5);
    const images = (at(web, 'spec.template.spec.containers') as Array<Record<string, unknown>>).map((c) => c['image']);
    t.deepEqual(images, ['registry.example.com/wolk:1.2.3', 'busybox:1.36']);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('parseImage splits registry ports from tags', (t) => {
  t.deepEqual(parseImage('registry:5000/wolk/wolk:0.1.0'), { name: 'registry:5000/wolk/wolk', tag: '0.1.0' });
  t.deepEqual(parseImage('wolk@sha256:ab'), { name: 'wolk', digest: 'sha256:ab' });
  t.deepEqual(parseImage('wolk'), { name: 'wolk' });
});

test('unsupported features fail with the file and the field, never render as a no-op', (t) => {
  const cases: Record<string, string> = {
    'configMapGenerator:\n  - name: x\n': 'field "configMapGenerator" is not supported',
    'patches:\n  - path: p.yaml\n': 'JSON 6902 patches are not supported',
    'patches:\n  - path: q.yaml\n': 'patch for Deployment nope matches no object',
    'patches:\n  - path: two.yaml\n': 'expected one patch document, found 2',
    'replicas:\n  - {name: nope, count: 2}\n': 'no Deployment or StatefulSet named nope',
    'images:\n  - {name: nginx, newTag: "1"}\n': 'no container uses image nginx',
  };
  for (const [extra, message] of Object.entries(cases)) {
    const dir = tree({
      'kustomization.yaml': `resources: [d.yaml]\n${extra}`,
      'd.yaml': DEPLOYMENT,
      'p.yaml': '- {op: replace, path: /spec/replicas, value: 3}\n',
      'q.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: nope}\n',
      'two.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n',
    });
    try {
      const err = t.throws(() => renderKustomization(dir, dir), { instanceOf: KustomizeError });
      t.true(err?.message.includes(message), `${err?.message} should include "${message}"`);
    } finally {
      rmSync(dir, { recursive: true });
    }
  }
});

test('the same object twice is an error', (t) => {
  const dir = tree({ 'kustomization.yaml': 'resources: [a.yaml, b.yaml]\n', 'a.yaml': SC, 'b.yaml': SC });
  try {
    t.throws(() => renderKustomization(dir, dir), { message: /StorageClass fast is defined twice/ });
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('mergeValue merges ports by containerPort in built-in kinds but replaces lists of custom resources', (t) => {
  const base = { ports: [{ name: 'grpc', containerPort: 7001 }] };
  const patch = { ports: [{ containerPort: 7001, protocol: 'TCP' }] };
  t.deepEqual(mergeValue(base, patch, '', true, 'test'), { ports: [{ name: 'grpc', containerPort: 7001, protocol: 'TCP' }] });
  t.deepEqual(mergeValue(base, patch, '', false, 'test'), patch);
  t.deepEqual(mergeValue({ a: 1, b: { c: 2, d: 3 } }, { a: null, b: { d: null } }, '', true, 'test'), { b: { c: 2 } }, 'null deletes a field');
});
