// A kustomize subset, enough to render deploy/k8s offline (no kustomize binary, no cluster here).
//
// Supported kustomization fields, applied in kustomize's own order (patches, namespace, labels,
// replicas, images):
//   resources     files and directories (a directory must hold a kustomization.yaml); no URLs
//   patches       strategic-merge patches by `path` or inline `patch`, one document each, optionally
//                 with a `target` {kind, name, namespace}; no JSON 6902 patches, no $patch directives
//   namespace     set on every namespaced object (cluster-scoped kinds are left alone)
//   labels        [{pairs, includeSelectors, includeTemplates}]; commonLabels (= includeSelectors)
//   replicas      [{name, count}] on Deployments and StatefulSets
//   images        [{name, newName, newTag, digest}] on containers and initContainers
// Any other field is an error, so an overlay cannot silently rely on a feature rendered here as a no-op.
//
// Strategic merge follows the Kubernetes API's patch strategies for built-in kinds: lists with a
// merge key (containers/env/volumes by name, volumeMounts by mountPath, ports by containerPort or
// port, topologySpreadConstraints by topologyKey) are merged item by item; every other list
// (volumeClaimTemplates, args, tolerations, and every list of a custom resource) is replaced whole.
// Template labels are added to spec.template, not to volumeClaimTemplates.
import { existsSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  asArray,
  asObject,
  asObjects,
  asString,
  asStringMap,
  deepClone,
  describe,
  isObject,
  loadYamlFile,
  toK8sObject,
  type Json,
  type JsonObject,
  type K8sObject,
} from './yaml-objects.js';

const SUPPORTED_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'patches', 'namespace', 'labels', 'commonLabels', 'replicas', 'images']);

/** Kinds without a namespace (among those a Wolk deployment could contain). */
export const CLUSTER_SCOPED = new Set([
  'Namespace',
  'StorageClass',
  'PersistentVolume',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PriorityClass',
  'CSIDriver',
  'IngressClass',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
]);

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);
const BUILTIN_GROUPS = new Set(['v1', 'apps/v1', 'batch/v1', 'policy/v1', 'storage.k8s.io/v1', 'networking.k8s.io/v1', 'autoscaling/v2']);

/** Merge keys of lists in built-in kinds (the Kubernetes API's patchMergeKey). */
const MERGE_KEYS: Record<string, readonly string[]> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  env: ['name'],
  volumes: ['name'],
  imagePullSecrets: ['name'],
  volumeMounts: ['mountPath'],
  ports: ['containerPort', 'port'],
  topologySpreadConstraints: ['topologyKey'],
};

export class KustomizeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KustomizeError';
  }
}

function fail(where: string, message: string): never {
  throw new KustomizeError(`${where}: ${message}`);
}

function kustomizationFile(dir: string): string | undefined {
  return ['kustomization.yaml', 'kustomization.yml', 'Kustomization'].map((f) => join(dir, f)).find((f) => existsSync(f));
}

const idOf = (o: K8sObject) => `${o.kind}|${o.metadata.namespace ?? ''}|${o.metadata.name}`;

/** Renders the kustomization in `dir` (like `kustomize build dir`); `root` shortens paths in messages. */
export function renderKustomization(dir: string, root = process.cwd()): K8sObject[] {
  const file = kustomizationFile(dir);
  const where = relative(root, file ?? dir) || '.';
  if (!file) fail(where, 'no kustomization.yaml in this directory');
  const docs = loadYamlFile(file);
  if (docs.length !== 1 || !isObject(docs[0])) fail(where, 'expected exactly one YAML document');
  const k = docs[0] as JsonObject;
  if (k['kind'] !== undefined && k['kind'] !== 'Kustomization') fail(where, `kind must be Kustomization, got ${String(k['kind'])}`);
  for (const field of Object.keys(k)) {
    if (!SUPPORTED_FIELDS.has(field)) fail(where, `field "${field}" is not supported by the test renderer (test/unit/deploy/kustomize.ts); supported: ${[...SUPPORTED_FIELDS].join(', ')}`);
  }

  // resources
  let objects: K8sObject[] = [];
  for (const entry of asArray(k['resources'])) {
    if (typeof entry !== 'string') fail(where, `resources: expected a path, got ${JSON.stringify(entry)}`);
    if (/^[a-z]+:\/\//.test(entry) || entry.startsWith('github.com/')) fail(where, `resources: remote resource ${entry} is not supported`);
    const path = resolve(dir, entry);
    if (!existsSync(path)) fail(where, `resources: ${entry} does not exist`);
    if (statSync(path).isDirectory()) objects.push(...renderKustomization(path, root));
    else objects.push(...loadYamlFile(path).map((d, i) => toK8sObject(d, `${relative(root, path)} document ${i + 1}`)));
  }
  const seen = new Map<string, true>();
  for (const o of objects) {
    if (seen.has(idOf(o))) fail(where, `${describe(o)} is defined twice`);
    seen.set(idOf(o), true);
  }

  // patches
  for (const [i, entry] of asObjects(k['patches']).entries()) {
    const label = `patches[${i}]`;
    let patchDocs: Json[];
    let source: string;
    if (typeof entry['path'] === 'string') {
      const path = resolve(dir, entry['path']);
      if (!existsSync(path)) fail(where, `${label}: ${entry['path']} does not exist`);
      patchDocs = loadYamlFile(path);
      source = relative(root, path);
    } else if (typeof entry['patch'] === 'string') {
      patchDocs = [parseInline(entry['patch'], `${where} ${label}`)];
      source = `${where} ${label}`;
    } else {
      fail(where, `${label}: needs "path" or "patch"`);
    }
    if (patchDocs.length !== 1) fail(source, `expected one patch document, found ${patchDocs.length} (one patch per file)`);
    const patch = patchDocs[0]!;
    if (Array.isArray(patch)) fail(source, 'JSON 6902 patches are not supported by the test renderer; use a strategic-merge patch');
    if (!isObject(patch)) fail(source, 'a patch must be an object');
    const target = isObject(entry['target']) ? entry['target'] : undefined;
    objects = applyPatch(objects, patch, target, source);
  }

  // namespace
  const namespace = asString(k['namespace']);
  if (namespace !== undefined) {
    for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = namespace;
  }

  // labels
  const commonLabels = asStringMap(k['commonLabels']);
  if (Object.keys(commonLabels).length > 0) addLabels(objects, commonLabels, true, true);
  for (const [i, spec] of asObjects(k['labels']).entries()) {
    for (const key of Object.keys(spec)) {
      if (!['pairs', 'includeSelectors', 'includeTemplates'].includes(key)) fail(where, `labels[${i}].${key} is not supported`);
    }
    const selectors = spec['includeSelectors'] === true;
    addLabels(objects, asStringMap(spec['pairs']), selectors, selectors || spec['includeTemplates'] === true);
  }

  // replicas
  for (const r of asObjects(k['replicas'])) {
    const name = asString(r['name']);
    const count = r['count'];
    if (!name || typeof count !== 'number' || !Number.isInteger(count) || count < 0) fail(where, `replicas: expected {name, count}, got ${JSON.stringify(r)}`);
    const matched = objects.filter((o) => o.metadata.name === name && ['Deployment', 'StatefulSet', 'ReplicaSet'].includes(o.kind));
    if (matched.length === 0) fail(where, `replicas: no Deployment or StatefulSet named ${name}`);
    for (const o of matched) asObject(o['spec'])['replicas'] = count;
  }

  // images
  for (const img of asObjects(k['images'])) {
    const name = asString(img['name']);
    if (!name) fail(where, `images: each entry needs a name`);
    let used = false;
    for (const o of objects) {
      for (const c of podContainers(o)) {
        const image = asString(c['image']);
        if (!image) continue;
        const parsed = parseImage(image);
        if (parsed.name !== name) continue;
        used = true;
        const newName = asString(img['newName']) ?? parsed.name;
        const digest = asString(img['digest']);
        const tag = asString(img['newTag']) ?? parsed.tag;
        c['image'] = digest ? `${newName}@${digest}` : tag ? `${newName}:${tag}` : newName;
      }
    }
    if (!used) fail(where, `images: no container uses image ${name}`);
  }
  return objects;
}

function parseInline(text: string, where: string): Json {
  const docs = text.split(/^---$/m).filter((d) => d.trim() !== '');
  if (docs.length !== 1) fail(where, 'expected one inline patch document');
  return parseYaml(docs[0]!) as Json;
}

/** `registry:5000/a/b:tag@sha256:...` → name, tag, digest. */
export function parseImage(image: string): { name: string; tag?: string; digest?: string } {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(':');
  const slash = rest.lastIndexOf('/');
  let tag: string | undefined;
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { name: rest, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** The pod spec of a workload or Pod (undefined for other kinds). */
export function podSpecOf(o: K8sObject): JsonObject | undefined {
  if (o.kind === 'Pod') return isObject(o['spec']) ? o['spec'] : undefined;
  const spec = asObject(o['spec']);
  if (o.kind === 'CronJob') {
    const t = asObject(asObject(asObject(spec['jobTemplate'])['spec'])['template']);
    return isObject(t['spec']) ? t['spec'] : undefined;
  }
  if (!WORKLOAD_KINDS.has(o.kind)) return undefined;
  const t = asObject(spec['template']);
  return isObject(t['spec']) ? t['spec'] : undefined;
}

function podContainers(o: K8sObject): JsonObject[] {
  const spec = podSpecOf(o);
  if (!spec) return [];
  return [...asObjects(spec['containers']), ...asObjects(spec['initContainers'])];
}

function ensureMap(parent: JsonObject, key: string): JsonObject {
  if (!isObject(parent[key])) parent[key] = {};
  return parent[key] as JsonObject;
}

function addLabels(objects: K8sObject[], pairs: Record<string, string>, selectors: boolean, templates: boolean): void {
  for (const o of objects) {
    Object.assign(ensureMap(o.metadata, 'labels'), pairs);
    const spec = isObject(o['spec']) ? o['spec'] : undefined;
    if (!spec) continue;
    if (selectors) {
      if (o.kind === 'Service') Object.assign(ensureMap(spec, 'selector'), pairs);
      if (WORKLOAD_KINDS.has(o.kind) || o.kind === 'PodDisruptionBudget') Object.assign(ensureMap(ensureMap(spec, 'selector'), 'matchLabels'), pairs);
    }
    if (templates && WORKLOAD_KINDS.has(o.kind)) {
      Object.assign(ensureMap(ensureMap(ensureMap(spec, 'template'), 'metadata'), 'labels'), pairs);
    }
  }
}

function applyPatch(objects: K8sObject[], patch: JsonObject, target: JsonObject | undefined, source: string): K8sObject[] {
  const pKind = asString(patch['kind']);
  const pMeta = asObject(patch['metadata']);
  const kind = target ? asString(target['kind']) : pKind;
  const name = target ? asString(target['name']) : asString(pMeta['name']);
  const ns = target ? asString(target['namespace']) : asString(pMeta['namespace']);
  if (!kind || !name) fail(source, 'a patch needs kind and metadata.name (or a target with kind and name)');
  const matches = objects.filter((o) => o.kind === kind && o.metadata.name === name && (ns === undefined || o.metadata.namespace === ns));
  if (matches.length === 0) fail(source, `patch for ${kind} ${name} matches no object`);
  return objects.map((o) => {
    if (!matches.includes(o)) return o;
    const body: JsonObject = { ...patch };
    if (target) {
      delete body['apiVersion'];
      delete body['kind'];
      if (isObject(body['metadata'])) {
        const m = { ...body['metadata'] };
        delete m['name'];
        delete m['namespace'];
        body['metadata'] = m;
      }
    }
    const builtin = BUILTIN_GROUPS.has(o.apiVersion);
    return toK8sObject(mergeValue(deepClone(o as JsonObject), body, '', builtin, source), source);
  });
}

/** Strategic merge of `patch` into `base` (both JSON). */
export function mergeValue(base: Json | undefined, patch: Json, field: string, builtin: boolean, source: string): Json {
  if (isObject(patch)) {
    if (!isObject(base)) return stripNulls(patch);
    const out: JsonObject = { ...base };
    for (const [key, value] of Object.entries(patch)) {
      if (key.startsWith('$')) fail(source, `directive ${key} is not supported by the test renderer`);
      if (value === null) delete out[key];
      else out[key] = mergeValue(base[key], value, key, builtin, source);
    }
    return out;
  }
  if (Array.isArray(patch)) {
    const keys = builtin ? MERGE_KEYS[field] : undefined;
    const key = keys?.find((k) => patch.every((item) => isObject(item) && item[k] !== undefined));
    if (!key || !Array.isArray(base)) return patch.map((x) => stripNulls(x));
    const out = [...base];
    for (const item of patch as JsonObject[]) {
      const idx = out.findIndex((b) => isObject(b) && b[key] === item[key]);
      if (idx >= 0) out[idx] = mergeValue(out[idx], item, '', builtin, source);
      else out.push(stripNulls(item));
    }
    return out;
  }
  return patch;
}

function stripNulls(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripNulls);
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = stripNulls(x);
    return out;
  }
  return v;
}
