// deploy/rook against Rook's own CRDs (../shared/schemas/rook/crds.yaml), and the StorageClass that
// every Wolk volume uses wired to the pool and the cluster that exist.
import test from 'ava';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatProblems, problem, unknownMetadataFields, validateModels, type Problem } from './checks.js';
import { loadCrds, schemaFor, validateAgainst, type CrdIndex } from './crd-schema.js';
import { OVERLAYS, renderOverlay, ROOK_CRDS, ROOT, rookObjects, STORAGE_CLASS } from './context.js';
import { asObjects, asString, at, describe, loadYamlFile, toK8sObject, type K8sObject } from './yaml-objects.js';

const ROOK_KINDS = ['CephCluster', 'CephBlockPool'];
let crds: CrdIndex | undefined;
function rookCrds(): CrdIndex {
  return (crds ??= loadCrds(ROOK_CRDS, ROOK_KINDS));
}

/** Rook objects against their CRD schema (and their metadata against ObjectMeta). */
function validateRook(objects: readonly K8sObject[]): Problem[] {
  const out: Problem[] = [];
  for (const o of objects.filter((x) => x.apiVersion.startsWith('ceph.rook.io/'))) {
    const schema = schemaFor(rookCrds(), o.apiVersion, o.kind);
    if (!schema) {
      out.push(problem(o, 'kind', `no CRD for ${o.apiVersion} ${o.kind} in ${ROOK_CRDS}`));
      continue;
    }
    for (const e of validateAgainst(schema, o)) out.push(problem(o, e.path, e.message));
    out.push(...unknownMetadataFields(ROOT, o));
  }
  return out;
}

const objects = rookObjects();
const get = (kind: string) => {
  const found = objects.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`deploy/rook must define exactly one ${kind}, found ${found.length}`);
  return found[0]!;
};

test('the Rook CRDs are where the tests read them', (t) => {
  t.true(existsSync(ROOK_CRDS), `missing ${ROOK_CRDS}: the Rook CRD schemas live in ../shared/schemas/rook/crds.yaml (outside the repository)`);
  t.throws(() => loadCrds(join(ROOT, 'no/such/crds.yaml')), { message: /Rook CRDs not found at .*no\/such\/crds\.yaml/ });
});

test('deploy/rook: CephCluster and CephBlockPool validate against the Rook CRDs, the StorageClass against Kubernetes', async (t) => {
  const problems = [...validateRook(objects), ...(await validateModels(objects, ROOT, (o) => o.apiVersion.startsWith('ceph.rook.io/')))];
  t.is(formatProblems(problems), '');
  t.deepEqual(objects.map((o) => o.kind).sort(), ['CephBlockPool', 'CephCluster', 'StorageClass']);
});

test('the StorageClass provisions RBD images in the pool of the cluster that exists', (t) => {
  const cluster = get('CephCluster');
  const pool = get('CephBlockPool');
  const sc = get('StorageClass');
  const params = (sc['parameters'] ?? {}) as Record<string, string>;
  const ns = cluster.metadata.namespace ?? '';
  t.truthy(ns, 'the CephCluster has a namespace');
  t.is(sc.metadata.name, STORAGE_CLASS);
  t.is(sc['provisioner'], `${ns}.rbd.csi.ceph.com`, 'the RBD CSI driver Rook deploys is named after the operator namespace');
  t.is(params['clusterID'], ns, 'clusterID is the CephCluster namespace');
  t.is(params['pool'], pool.metadata.name);
  t.is(pool.metadata.namespace, ns, 'the pool belongs to that cluster');
  for (const key of ['provisioner', 'controller-expand', 'node-stage']) {
    t.truthy(params[`csi.storage.k8s.io/${key}-secret-name`], `${key} secret name`);
    t.is(params[`csi.storage.k8s.io/${key}-secret-namespace`], ns, `${key} secret namespace`);
  }
  t.true(['ext4', 'xfs'].includes(params['csi.storage.k8s.io/fstype'] ?? ''), 'a filesystem the RBD image is formatted with');
  t.is(sc['allowVolumeExpansion'], true, 'volumes grow in place');
  t.is(sc['reclaimPolicy'], 'Retain', 'deleting a claim must not delete a node key or replicas');
});

test('the pool keeps every acknowledged write on two hosts and keeps writing with one host down', (t) => {
  const pool = get('CephBlockPool');
  const size = Number(at(pool, 'spec.replicated.size'));
  const minSize = Number((at(pool, 'spec.parameters') as Record<string, string> | undefined)?.['min_size'] ?? size - Math.floor(size / 2));
  t.is(at(pool, 'spec.failureDomain'), 'host', 'copies on different hosts');
  t.is(at(pool, 'spec.replicated.requireSafeReplicaSize'), true);
  t.true(minSize >= 2, `min_size ${minSize}: an acknowledged write could exist in one copy only`);
  t.true(size > minSize, `size ${size} = min_size ${minSize}: one host down would block every volume's writes`);
  const mons = Number(at(get('CephCluster'), 'spec.mon.count'));
  t.true(mons >= 3 && mons % 2 === 1, `${mons} monitors: an odd number >= 3 keeps a majority through one failure`);
  t.is(at(get('CephCluster'), 'spec.mon.allowMultiplePerNode'), false);
});

test('every Wolk claim in every overlay uses the StorageClass defined here', (t) => {
  for (const overlay of OVERLAYS) {
    const claims = renderOverlay(overlay).flatMap((o) =>
      o.kind === 'PersistentVolumeClaim' ? [{ o, sc: asString(at(o, 'spec.storageClassName')) }] : asObjects(at(o, 'spec.volumeClaimTemplates')).map((v) => ({ o, sc: asString(at(v, 'spec.storageClassName')) })),
    );
    t.true(claims.length >= 3, `${overlay}: storer, consensus and rewards claim volumes`);
    for (const c of claims) t.is(c.sc, get('StorageClass').metadata.name, `${overlay}: ${describe(c.o)}`);
  }
});

test('a broken CephBlockPool is rejected with each mistake and its path', (t) => {
  const broken = loadYamlFile(join(ROOT, 'test/fixtures/deploy/broken-rook.yaml')).map((d, i) => toK8sObject(d, `broken-rook.yaml ${i}`));
  const report = formatProblems(validateRook(broken));
  for (const expected of [
    'CephBlockPool rook-ceph/replicapool: spec.failureDomian: unknown field',
    'CephBlockPool rook-ceph/replicapool: spec.replicated.size: must be integer, got string "two"',
    'CephBlockPool rook-ceph/replicapool: spec.mirroring.mode: must be one of "pool", "image", "init-only", got "everything"',
  ]) {
    t.true(report.includes(expected), `expected "${expected}" in:\n${report}`);
  }
});

test('the CRD validator: nullable, int-or-string, preserved unknown fields, additionalProperties, patterns, required', (t) => {
  const schema = {
    type: 'object',
    required: ['name'],
    properties: {
      name: { type: 'string', pattern: '^[a-z]+$' },
      maybe: { nullable: true, properties: { a: { type: 'integer', minimum: 1 } } },
      port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
      free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      labels: { type: 'object', additionalProperties: { type: 'string' } },
    },
  };
  t.deepEqual(validateAgainst(schema, { name: 'ok', maybe: null, port: 'http', free: { anything: [1] }, labels: { a: 'b' } }), []);
  t.deepEqual(
    validateAgainst(schema, { maybe: { a: 0, b: 1 }, port: 1.5, labels: { a: 1 }, extra: true }).map((e) => `${e.path}: ${e.message}`),
    [
      'name: is required',
      'maybe.a: must be >= 1, got 0',
      'maybe.b: unknown field (known here: a)',
      'port: must be an integer or a string, got number',
      'labels.a: must be string, got integer 1',
      'extra: unknown field (known here: name, maybe, port, free, labels)',
    ],
  );
  t.deepEqual(validateAgainst(schema, { name: 'NO' }).map((e) => e.message), ['must match ^[a-z]+$, got "NO"']);
});
