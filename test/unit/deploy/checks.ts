// Checks on a rendered set of manifests, each reported as {object, path, message} so a failure says
// which object and which field: schema validation (kubernetes-models, @kubernetes-models/istio,
// unknown fields) and the cross-references a cluster would only reveal at run time (a Service that
// selects nothing, a probe on a port the container does not open, a PVC on a missing StorageClass).
import { unknownFieldsOf } from './model-shapes.js';
import { podSpecOf } from './kustomize.js';
import {
  asArray,
  asObject,
  asObjects,
  asString,
  asStringMap,
  at,
  describe,
  isObject,
  type Json,
  type JsonObject,
  type K8sObject,
} from './yaml-objects.js';

export interface Problem {
  /** e.g. "StatefulSet wolk/storer" */
  readonly object: string;
  /** e.g. "spec.template.spec.containers[0].ports" */
  readonly path: string;
  readonly message: string;
}

export function problem(o: K8sObject | string, path: string, message: string): Problem {
  return { object: typeof o === 'string' ? o : describe(o), path, message };
}

export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `${p.object}: ${p.path ? `${p.path}: ` : ''}${p.message}`).join('\n');
}

// ---------------------------------------------------------------- schema validation

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** The kubernetes-models / @kubernetes-models/istio module that holds a kind's class (one file per kind: fast to load). */
function modelModule(apiVersion: string, kind: string): string | undefined {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(kind)) return undefined;
  if (/\.istio\.io\/(v1|v1beta1|v1alpha3)$/.test(apiVersion)) return `@kubernetes-models/istio/${apiVersion}/${kind}`;
  if (/^([a-z0-9-]+(\.[a-z0-9-]+)*\.k8s\.io\/|apps\/|policy\/|batch\/|autoscaling\/)?v\d+((alpha|beta)\d+)?$/.test(apiVersion)) return `kubernetes-models/${apiVersion}/${kind}`;
  return undefined;
}

async function modelClass(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  const mod = modelModule(apiVersion, kind);
  if (!mod) return undefined;
  try {
    const m = (await import(mod)) as Record<string, unknown>;
    const cls = m[kind];
    return typeof cls === 'function' ? (cls as ModelClass) : undefined;
  } catch {
    return undefined;
  }
}

/** "/spec/template/spec/containers/0/ports" → "spec.template.spec.containers[0].ports" */
export function jsonPointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .filter((s) => s !== '')
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
}

interface AjvLikeError {
  readonly instancePath?: string;
  readonly message?: string;
  readonly params?: Record<string, unknown>;
}

/**
 * Validates each object with its kubernetes-models / istio class (types, enums, required fields) and
 * rejects fields the model does not declare. Kinds neither package knows are reported, unless
 * `otherwiseValidated` says another check (the Rook CRDs) covers them.
 */
export async function validateModels(objects: readonly K8sObject[], root: string, otherwiseValidated: (o: K8sObject) => boolean = () => false): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const o of objects) {
    if (otherwiseValidated(o)) continue;
    const cls = await modelClass(o.apiVersion, o.kind);
    if (!cls) {
      problems.push(problem(o, 'apiVersion', `no schema for ${o.apiVersion} ${o.kind} in kubernetes-models or @kubernetes-models/istio`));
      continue;
    }
    try {
      new cls(o).validate();
    } catch (err) {
      const errors = (err as { errors?: AjvLikeError[] }).errors;
      if (Array.isArray(errors) && errors.length > 0) {
        for (const e of errors) {
          const allowed = e.params?.['allowedValues'];
          const extra = Array.isArray(allowed) ? ` (${allowed.join(', ')})` : '';
          problems.push(problem(o, jsonPointerToPath(e.instancePath ?? ''), `${e.message ?? 'is invalid'}${extra}`));
        }
      } else problems.push(problem(o, '', (err as Error).message));
    }
    const unknown = unknownFieldsOf(root, o);
    for (const path of unknown ?? []) problems.push(problem(o, path, `unknown field (not in ${o.apiVersion} ${o.kind}; misspelled?)`));
  }
  return problems;
}

/** Unknown fields in an object's metadata (for custom resources, whose CRD says only "object"). */
export function unknownMetadataFields(root: string, o: K8sObject): Problem[] {
  const probe = { apiVersion: 'v1', kind: 'ConfigMap', metadata: o.metadata } as K8sObject;
  return (unknownFieldsOf(root, probe) ?? []).map((p) => problem(o, p, 'unknown field (not in ObjectMeta; misspelled?)'));
}

// ---------------------------------------------------------------- helpers over workloads

export const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

export function workloads(objects: readonly K8sObject[]): K8sObject[] {
  return objects.filter((o) => WORKLOADS.has(o.kind));
}

export function podLabels(o: K8sObject): Record<string, string> {
  return asStringMap(at(o, 'spec.template.metadata.labels'));
}

export function containersOf(o: K8sObject): JsonObject[] {
  return asObjects(podSpecOf(o)?.['containers']);
}

export function matchesLabels(selector: Record<string, string>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/** A LabelSelector (matchLabels + matchExpressions In/NotIn/Exists/DoesNotExist) against labels. */
export function selectorMatches(selector: JsonObject, labels: Record<string, string>): boolean {
  const ml = asStringMap(selector['matchLabels']);
  const exprs = asObjects(selector['matchExpressions']);
  if (Object.keys(ml).length === 0 && exprs.length === 0) return false;
  if (!Object.entries(ml).every(([k, v]) => labels[k] === v)) return false;
  return exprs.every((e) => {
    const key = String(e['key']);
    const values = asArray(e['values']).map(String);
    switch (e['operator']) {
      case 'In':
        return labels[key] !== undefined && values.includes(labels[key]);
      case 'NotIn':
        return labels[key] === undefined || !values.includes(labels[key]);
      case 'Exists':
        return labels[key] !== undefined;
      case 'DoesNotExist':
        return labels[key] === undefined;
      default:
        return false;
    }
  });
}

/** The workloads (in the Service's namespace) whose pods a Service selects. */
export function selectedWorkloads(objects: readonly K8sObject[], svc: K8sObject): K8sObject[] {
  const sel = asStringMap(at(svc, 'spec.selector'));
  return workloads(objects).filter((w) => w.metadata.namespace === svc.metadata.namespace && matchesLabels(sel, podLabels(w)));
}

function containerPorts(c: JsonObject): JsonObject[] {
  return asObjects(c['ports']);
}

function hasPort(c: JsonObject, port: Json | undefined): boolean {
  if (typeof port === 'number') return containerPorts(c).some((p) => p['containerPort'] === port);
  if (typeof port === 'string') return containerPorts(c).some((p) => p['name'] === port);
  return false;
}

/** Parses a Kubernetes quantity ("500m", "2", "1Gi", "16G") into a number (cores or bytes). */
export function quantity(q: Json | undefined): number | undefined {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/.exec(q.trim());
  if (!m) return undefined;
  const mult: Record<string, number> = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };
  return Number(m[1]) * (m[2] ? mult[m[2]]! : 1);
}

/** The FQDN a Service answers to. */
export function serviceFqdn(svc: K8sObject): string {
  return `${svc.metadata.name}.${svc.metadata.namespace ?? 'default'}.svc.cluster.local`;
}

/** Finds the Service a host names: "svc", "svc.ns", "svc.ns.svc", "svc.ns.svc.cluster.local". */
export function serviceForHost(objects: readonly K8sObject[], host: string, fromNamespace: string | undefined): K8sObject | undefined {
  const parts = host.split('.');
  const name = parts[0];
  const ns = parts.length >= 2 ? parts[1] : fromNamespace;
  if (parts.length > 2 && parts.slice(2).join('.') !== 'svc' && parts.slice(2).join('.') !== 'svc.cluster.local') return undefined;
  return objects.find((o) => o.kind === 'Service' && o.metadata.name === name && (o.metadata.namespace ?? 'default') === (ns ?? 'default'));
}

// ---------------------------------------------------------------- cross-references

export interface CrossCheckOptions {
  /** StorageClasses that exist in the cluster (deploy/rook), by name. */
  readonly storageClasses: ReadonlyMap<string, K8sObject>;
  /** The one StorageClass every claim must use. */
  readonly storageClassName: string;
  /** ConfigMaps an operator creates outside these manifests (e.g. the genesis). */
  readonly externalConfigMaps: ReadonlySet<string>;
  /** Secrets an operator creates outside these manifests (e.g. the node keys). */
  readonly externalSecrets: ReadonlySet<string>;
  /** The image's numeric USER (from the Dockerfile). */
  readonly imageUid: number;
}

export function crossCheck(objects: readonly K8sObject[], opts: CrossCheckOptions): Problem[] {
  const problems: Problem[] = [];
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const configMap = (ns: string | undefined, name: string) => objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name && o.metadata.namespace === ns);

  // Services: selectors select pods; target ports exist on the selected containers.
  for (const svc of byKind('Service')) {
    const sel = asStringMap(at(svc, 'spec.selector'));
    if (Object.keys(sel).length === 0) {
      problems.push(problem(svc, 'spec.selector', 'has no selector (every Wolk Service fronts pods of a workload)'));
      continue;
    }
    const selected = selectedWorkloads(objects, svc);
    if (selected.length === 0) {
      problems.push(problem(svc, 'spec.selector', `${JSON.stringify(sel)} selects no pod of any workload in namespace ${svc.metadata.namespace}`));
      continue;
    }
    asObjects(at(svc, 'spec.ports')).forEach((p, i) => {
      const target = p['targetPort'] ?? p['port'];
      for (const w of selected) {
        if (!containersOf(w).some((c) => hasPort(c, target))) {
          problems.push(problem(svc, `spec.ports[${i}].targetPort`, `${JSON.stringify(target)} is not a port of the containers of ${describe(w)}`));
        }
      }
    });
  }

  const pdbs = byKind('PodDisruptionBudget');
  const pvcs = byKind('PersistentVolumeClaim');
  for (const w of workloads(objects)) {
    const labels = podLabels(w);
    const spec = podSpecOf(w) ?? {};
    const tpl = 'spec.template.spec';
    if (!selectorMatches(asObject(at(w, 'spec.selector')), labels)) {
      problems.push(problem(w, 'spec.selector', 'does not match the pod template labels (the API server rejects this)'));
    }

    // StatefulSet: its governing Service is headless and selects its pods.
    if (w.kind === 'StatefulSet') {
      const name = asString(at(w, 'spec.serviceName'));
      const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === name && o.metadata.namespace === w.metadata.namespace);
      if (name === undefined) problems.push(problem(w, 'spec.serviceName', 'is missing: the pods get no stable DNS names'));
      else if (!svc) problems.push(problem(w, 'spec.serviceName', `Service ${String(name)} does not exist`));
      else {
        if (at(svc, 'spec.clusterIP') !== 'None') problems.push(problem(w, 'spec.serviceName', `Service ${name} must be headless (clusterIP: None) for stable pod DNS names`));
        if (!selectedWorkloads(objects, svc).includes(w)) problems.push(problem(w, 'spec.serviceName', `Service ${name} does not select this StatefulSet's pods`));
      }
    }

    // Volumes: every mount has a volume; every referenced ConfigMap / PVC exists.
    const claimTemplates = asObjects(at(w, 'spec.volumeClaimTemplates'));
    const volumes = asObjects(spec['volumes']);
    const volumeNames = new Set([...volumes.map((v) => String(v['name'])), ...claimTemplates.map((t) => String(at(t, 'metadata.name')))]);
    volumes.forEach((v, i) => {
      const cmName = asString(at(v, 'configMap.name'));
      if (cmName && !configMap(w.metadata.namespace, cmName) && !opts.externalConfigMaps.has(cmName)) {
        problems.push(problem(w, `${tpl}.volumes[${i}].configMap.name`, `ConfigMap ${cmName} does not exist`));
      }
      const secret = asString(at(v, 'secret.secretName'));
      if (secret && !objects.some((o) => o.kind === 'Secret' && o.metadata.name === secret && o.metadata.namespace === w.metadata.namespace) && !opts.externalSecrets.has(secret)) {
        problems.push(problem(w, `${tpl}.volumes[${i}].secret.secretName`, `Secret ${secret} does not exist`));
      }
      const claim = asString(at(v, 'persistentVolumeClaim.claimName'));
      if (claim && !pvcs.some((p) => p.metadata.name === claim && p.metadata.namespace === w.metadata.namespace)) {
        problems.push(problem(w, `${tpl}.volumes[${i}].persistentVolumeClaim.claimName`, `PersistentVolumeClaim ${claim} does not exist`));
      }
    });

    containersOf(w).forEach((c, ci) => {
      const cpath = `${tpl}.containers[${ci}]`;
      const envNames = asObjects(c['env']).map((e) => String(e['name']));
      asObjects(c['volumeMounts']).forEach((m, mi) => {
        if (!volumeNames.has(String(m['name']))) problems.push(problem(w, `${cpath}.volumeMounts[${mi}].name`, `no volume or volumeClaimTemplate named ${String(m['name'])}`));
        for (const ref of String(m['subPathExpr'] ?? '').matchAll(/\$\((\w+)\)/g)) {
          if (!envNames.includes(ref[1]!)) problems.push(problem(w, `${cpath}.volumeMounts[${mi}].subPathExpr`, `$(${ref[1]}) is not an env variable of the container`));
        }
      });
      // Probes: the port they probe is opened by the container.
      for (const probeName of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const probe = asObject(c[probeName]);
        for (const action of ['grpc', 'httpGet', 'tcpSocket']) {
          if (!isObject(probe[action])) continue;
          const port = asObject(probe[action])['port'];
          if (!hasPort(c, port)) problems.push(problem(w, `${cpath}.${probeName}.${action}.port`, `${JSON.stringify(port)} is not a port of container ${String(c['name'])}`));
        }
      }
      if (!isObject(c['readinessProbe'])) problems.push(problem(w, `${cpath}.readinessProbe`, 'is missing'));
      if (!isObject(c['livenessProbe'])) problems.push(problem(w, `${cpath}.livenessProbe`, 'is missing'));
      // envFrom / configMapKeyRef point at ConfigMaps (and keys) that exist.
      asObjects(c['envFrom']).forEach((e, ei) => {
        const name = asString(at(e, 'configMapRef.name'));
        if (name && !configMap(w.metadata.namespace, name)) problems.push(problem(w, `${cpath}.envFrom[${ei}].configMapRef.name`, `ConfigMap ${name} does not exist`));
      });
      asObjects(c['env']).forEach((e, ei) => {
        const ref = asObject(at(e, 'valueFrom.configMapKeyRef'));
        const name = asString(ref['name']);
        if (!name) return;
        const cm = configMap(w.metadata.namespace, name);
        if (!cm) problems.push(problem(w, `${cpath}.env[${ei}].valueFrom.configMapKeyRef`, `ConfigMap ${name} does not exist`));
        else if (asObject(cm['data'])[String(ref['key'])] === undefined && ref['optional'] !== true) {
          problems.push(problem(w, `${cpath}.env[${ei}].valueFrom.configMapKeyRef`, `ConfigMap ${name} has no key ${String(ref['key'])}`));
        }
      });
      // Resources: requests for scheduling, a memory limit, requests within limits.
      const req = asObject(at(c, 'resources.requests'));
      const lim = asObject(at(c, 'resources.limits'));
      for (const r of ['cpu', 'memory']) if (req[r] === undefined) problems.push(problem(w, `${cpath}.resources.requests.${r}`, 'is missing'));
      if (lim['memory'] === undefined) problems.push(problem(w, `${cpath}.resources.limits.memory`, 'is missing'));
      for (const [r, v] of Object.entries(req)) {
        const rq = quantity(v);
        const lq = quantity(lim[r]);
        if (rq === undefined) problems.push(problem(w, `${cpath}.resources.requests.${r}`, `${JSON.stringify(v)} is not a quantity`));
        else if (lq !== undefined && rq > lq) problems.push(problem(w, `${cpath}.resources.requests.${r}`, `${String(v)} is above the limit ${String(lim[r])}`));
      }
      // Container hardening.
      const sc = asObject(c['securityContext']);
      if (sc['allowPrivilegeEscalation'] !== false) problems.push(problem(w, `${cpath}.securityContext.allowPrivilegeEscalation`, 'must be false'));
      if (sc['readOnlyRootFilesystem'] !== true) problems.push(problem(w, `${cpath}.securityContext.readOnlyRootFilesystem`, 'must be true (state lives on mounted volumes)'));
      if (!asArray(at(sc, 'capabilities.drop')).includes('ALL')) problems.push(problem(w, `${cpath}.securityContext.capabilities.drop`, 'must drop ALL'));
    });

    // Pod hardening: the image's uid, non-root, and fsGroup so the volume is writable.
    const psc = asObject(spec['securityContext']);
    if (psc['runAsNonRoot'] !== true) problems.push(problem(w, `${tpl}.securityContext.runAsNonRoot`, 'must be true'));
    if (psc['runAsUser'] !== opts.imageUid) problems.push(problem(w, `${tpl}.securityContext.runAsUser`, `must be the image's USER ${opts.imageUid}, got ${JSON.stringify(psc['runAsUser'])}`));
    if (psc['fsGroup'] !== opts.imageUid) problems.push(problem(w, `${tpl}.securityContext.fsGroup`, `must be ${opts.imageUid} so that mounted volumes are writable by the service`));

    // Scheduling spread: anti-affinity and spread constraints must select this workload's own pods.
    asObjects(at(spec, 'affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution')).forEach((t, i) => {
      if (!selectorMatches(asObject(at(t, 'podAffinityTerm.labelSelector')), labels)) {
        problems.push(problem(w, `${tpl}.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[${i}]`, 'labelSelector does not select this workload\'s pods: the rule spreads nothing'));
      }
    });
    asObjects(spec['topologySpreadConstraints']).forEach((t, i) => {
      if (!selectorMatches(asObject(t['labelSelector']), labels)) problems.push(problem(w, `${tpl}.topologySpreadConstraints[${i}].labelSelector`, 'does not select this workload\'s pods'));
    });

    // Exactly one PodDisruptionBudget, and one that lets a drain proceed.
    const mine = pdbs.filter((p) => p.metadata.namespace === w.metadata.namespace && selectorMatches(asObject(at(p, 'spec.selector')), labels));
    if (mine.length !== 1) problems.push(problem(w, 'spec.template.metadata.labels', `${mine.length} PodDisruptionBudgets select these pods (expected 1)`));
    const replicas = typeof at(w, 'spec.replicas') === 'number' ? (at(w, 'spec.replicas') as number) : 1;
    for (const p of mine) {
      const maxU = at(p, 'spec.maxUnavailable');
      const minA = at(p, 'spec.minAvailable');
      if (typeof maxU === 'number' && maxU < 1) problems.push(problem(p, 'spec.maxUnavailable', 'is 0: no node drain can ever evict these pods'));
      if (typeof minA === 'number' && minA >= replicas) problems.push(problem(p, 'spec.minAvailable', `${minA} >= ${replicas} replicas of ${describe(w)}: no node drain can ever evict these pods`));
    }
  }

  for (const p of pdbs) {
    if (!workloads(objects).some((w) => w.metadata.namespace === p.metadata.namespace && selectorMatches(asObject(at(p, 'spec.selector')), podLabels(w)))) {
      problems.push(problem(p, 'spec.selector', 'selects no pod of any workload'));
    }
  }

  // Storage: every claim (standalone or template) is on the Rook StorageClass, which exists.
  const claims: { owner: K8sObject; path: string; spec: JsonObject }[] = [
    ...pvcs.map((p) => ({ owner: p, path: 'spec', spec: asObject(p['spec']) })),
    ...byKind('StatefulSet').flatMap((s) => asObjects(at(s, 'spec.volumeClaimTemplates')).map((t, i) => ({ owner: s, path: `spec.volumeClaimTemplates[${i}].spec`, spec: asObject(t['spec']) }))),
  ];
  for (const c of claims) {
    const sc = asString(c.spec['storageClassName']);
    if (sc !== opts.storageClassName) problems.push(problem(c.owner, `${c.path}.storageClassName`, `must be ${opts.storageClassName} (a Ceph RBD volume), got ${JSON.stringify(sc)}`));
    else if (!opts.storageClasses.has(sc)) problems.push(problem(c.owner, `${c.path}.storageClassName`, `StorageClass ${sc} is not defined in deploy/rook`));
    if (quantity(at(c.spec, 'resources.requests.storage')) === undefined) problems.push(problem(c.owner, `${c.path}.resources.requests.storage`, 'is missing'));
  }

  // Istio: VirtualService and DestinationRule hosts are Services of these manifests; route
  // destinations name a port the Service has; gateways exist.
  const gateways = byKind('Gateway');
  for (const vs of byKind('VirtualService')) {
    const vsGateways = asArray(at(vs, 'spec.gateways')).map(String);
    for (const [i, g] of vsGateways.entries()) {
      if (g !== 'mesh' && !gateways.some((x) => x.metadata.name === g.split('/').pop() && x.metadata.namespace === (g.includes('/') ? g.split('/')[0] : vs.metadata.namespace))) {
        problems.push(problem(vs, `spec.gateways[${i}]`, `Gateway ${g} does not exist`));
      }
    }
    const meshBound = vsGateways.length === 0 || vsGateways.includes('mesh');
    asArray(at(vs, 'spec.hosts')).forEach((h, i) => {
      if (meshBound && !serviceForHost(objects, String(h), vs.metadata.namespace)) problems.push(problem(vs, `spec.hosts[${i}]`, `${String(h)} is not a Service of these manifests`));
    });
    asObjects(at(vs, 'spec.http')).forEach((route, ri) => {
      asObjects(route['route']).forEach((d, di) => {
        const host = String(at(d, 'destination.host'));
        const svc = serviceForHost(objects, host, vs.metadata.namespace);
        const path = `spec.http[${ri}].route[${di}].destination`;
        if (!svc) problems.push(problem(vs, `${path}.host`, `${host} is not a Service of these manifests`));
        else {
          const port = at(d, 'destination.port.number');
          if (port !== undefined && !asObjects(at(svc, 'spec.ports')).some((p) => p['port'] === port)) problems.push(problem(vs, `${path}.port.number`, `${describe(svc)} has no port ${String(port)}`));
        }
      });
    });
  }
  for (const dr of byKind('DestinationRule')) {
    const host = String(at(dr, 'spec.host'));
    if (!serviceForHost(objects, host, dr.metadata.namespace)) problems.push(problem(dr, 'spec.host', `${host} is not a Service of these manifests`));
  }
  return problems;
}
