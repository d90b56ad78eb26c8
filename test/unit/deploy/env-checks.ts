// The environment each container gets, resolved the way the kubelet does it (envFrom, then env in
// order, $(VAR) expansion, configMapKeyRef, downward API), checked against the registry of every
// variable Wolk reads (lib/config/env.ts).
import { ENV, SERVICE_NAMES, variablesOf, type EnvName, type ServiceName } from '../../../lib/config/env.js';
import { containersOf, problem, selectedWorkloads, serviceForHost, workloads, type Problem } from './checks.js';
import { asArray, asObject, asObjects, asString, at, describe, type JsonObject, type K8sObject } from './yaml-objects.js';

/** Variables a service reads, without a default, that a cluster must leave unset (and why). */
export const LEFT_UNSET: Readonly<Record<string, string>> = {
  WOLK_PARENT_PID: 'devnet launcher only: in a cluster the kubelet owns the process',
  WOLK_TRACE_FILE: 'a debugging aid; traces go to the OTLP collector',
  WOLK_FAULTS: 'test-only fault switches, never set in a cluster',
};

/** Alternatives: a service that reads a group needs one of them (the manifests use DNS SRV names). */
export const ALTERNATIVES: readonly (readonly string[])[] = [
  ['WOLK_PEERS', 'WOLK_PEERS_SRV'],
  ['WOLK_CONSENSUS', 'WOLK_CONSENSUS_SRV'],
  ['WOLK_STORERS', 'WOLK_STORERS_SRV'],
];

/** Which service's pods a discovery variable must lead to. */
export const DISCOVERY_TARGET: Readonly<Record<string, ServiceName>> = {
  WOLK_PEERS_SRV: 'consensus',
  WOLK_CONSENSUS_SRV: 'consensus',
  WOLK_STORERS_SRV: 'storer',
  WOLK_INDEXER: 'indexer',
  WOLK_REWARDS: 'rewards',
};

/** Values that must agree across every service that reads them (they describe the network). */
export const NETWORK_WIDE = ['WOLK_REPLICATION', 'WOLK_CHUNK_SIZE', 'WOLK_MAX_FILE_BYTES', 'WOLK_LAMBDA_MS', 'WOLK_AUDIT_DEPTH'] as const;

/** Standard OpenTelemetry variables the Node SDK reads (a typo check for OTEL_*). */
export const KNOWN_OTEL = new Set([
  'OTEL_TRACES_EXPORTER',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TIMEOUT',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_PROPAGATORS',
  'OTEL_BSP_SCHEDULE_DELAY',
  'OTEL_BSP_MAX_QUEUE_SIZE',
  'OTEL_BSP_MAX_EXPORT_BATCH_SIZE',
  'OTEL_BSP_EXPORT_TIMEOUT',
  'OTEL_LOG_LEVEL',
  'OTEL_SDK_DISABLED',
]);

const SAMPLERS = new Set(['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio']);

/** Downward-API helpers a container may define for $(VAR) expansion. */
export const HELPERS = new Set(['POD_NAME', 'POD_IP', 'POD_NAMESPACE', 'NODE_NAME']);

export interface ResolvedVar {
  readonly value: string;
  /** Where it came from, for messages: "env[3]" or "envFrom ConfigMap wolk-common". */
  readonly from: string;
}

export interface ResolvedContainer {
  readonly workload: K8sObject;
  readonly container: JsonObject;
  readonly path: string;
  readonly service: ServiceName | undefined;
  readonly env: Map<string, ResolvedVar>;
  readonly problems: Problem[];
}

/** The Wolk service a container runs, from its command (dist/services/<name>/main.js). */
export function serviceOfContainer(c: JsonObject): ServiceName | undefined {
  const args = asArray(c['command']).concat(asArray(c['args'])).map(String);
  for (const a of args) {
    const m = /(?:^|\/)services\/([a-z]+)\/main\.js$/.exec(a);
    if (m && (SERVICE_NAMES as readonly string[]).includes(m[1]!)) return m[1] as ServiceName;
  }
  return undefined;
}

/** Sample values for the downward API: the first pod of the workload. */
function fieldRefValue(w: K8sObject, fieldPath: string): string | undefined {
  if (fieldPath === 'metadata.name') return `${w.metadata.name}-0`;
  if (fieldPath === 'metadata.namespace') return w.metadata.namespace ?? 'default';
  if (fieldPath === 'status.podIP') return '10.244.1.7';
  if (fieldPath === 'spec.nodeName') return 'node-1';
  return undefined;
}

export function resolveEnvironments(objects: readonly K8sObject[]): ResolvedContainer[] {
  const out: ResolvedContainer[] = [];
  for (const w of workloads(objects)) {
    containersOf(w).forEach((c, ci) => {
      const path = `spec.template.spec.containers[${ci}]`;
      const env = new Map<string, ResolvedVar>();
      const problems: Problem[] = [];
      const cm = (name: string) => objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name && o.metadata.namespace === w.metadata.namespace);
      for (const ef of asObjects(c['envFrom'])) {
        const name = asString(at(ef, 'configMapRef.name'));
        if (!name) continue;
        for (const [k, v] of Object.entries(asObject(cm(name)?.['data']))) env.set(k, { value: String(v), from: `envFrom ConfigMap ${name}` });
      }
      asObjects(c['env']).forEach((e, ei) => {
        const name = String(e['name']);
        const from = `${path}.env[${ei}]`;
        let value: string | undefined;
        if (typeof e['value'] === 'string') {
          value = e['value'].replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, ref: string) => {
            const earlier = env.get(ref);
            if (!earlier) {
              problems.push(problem(w, from, `${name} refers to $(${ref}), which is not defined before it (the kubelet would leave "${whole}" in the value)`));
              return whole;
            }
            return earlier.value;
          });
        } else {
          const fieldPath = asString(at(e, 'valueFrom.fieldRef.fieldPath'));
          const ref = asObject(at(e, 'valueFrom.configMapKeyRef'));
          if (fieldPath) value = fieldRefValue(w, fieldPath);
          else if (ref['name']) value = asString(asObject(cm(String(ref['name']))?.['data'])[String(ref['key'])]);
        }
        if (value !== undefined) env.set(name, { value, from });
      });
      out.push({ workload: w, container: c, path, service: serviceOfContainer(c), env, problems });
    });
  }
  return out;
}

function portOf(hostPort: string): number | undefined {
  const m = /:(\d+)$/.exec(hostPort);
  return m ? Number(m[1]) : undefined;
}

function named(c: JsonObject, port: number): string | undefined {
  return asString(asObjects(c['ports']).find((p) => p['containerPort'] === port)?.['name']);
}

/** The registry checks for every container of the rendered manifests. */
export function checkEnvironments(objects: readonly K8sObject[], otlpProtocols: readonly string[]): Problem[] {
  const problems: Problem[] = [];
  const resolved = resolveEnvironments(objects);
  const networkValues = new Map<string, Map<string, string>>();

  for (const r of resolved) {
    problems.push(...r.problems);
    const w = r.workload;
    const where = (name: string) => r.env.get(name)?.from ?? r.path;
    if (!r.service) {
      problems.push(problem(w, `${r.path}.command`, 'does not run a Wolk service (expected .../services/<name>/main.js)'));
      continue;
    }
    const service = r.service;
    const reads = new Set(variablesOf(service).map((v) => v.name));

    for (const [name, v] of r.env) {
      const registered = Object.prototype.hasOwnProperty.call(ENV, name);
      if (name.startsWith('WOLK_') || registered) {
        const spec = (ENV as Record<string, (typeof ENV)[EnvName] | undefined>)[name];
        if (!spec) {
          problems.push(problem(w, v.from, `${name} is not a variable Wolk reads (not in lib/config/env.ts): a typo?`));
          continue;
        }
        if (!reads.has(name)) problems.push(problem(w, v.from, `${name} is set but the ${service} does not read it (lib/config/env.ts lists ${JSON.stringify(spec.services)})`));
        if (LEFT_UNSET[name] !== undefined) problems.push(problem(w, v.from, `${name} must not be set in a cluster: ${LEFT_UNSET[name]}`));
        try {
          spec.parse(v.value, name);
        } catch (err) {
          problems.push(problem(w, v.from, `value ${JSON.stringify(v.value)} does not parse: ${(err as Error).message}`));
        }
      } else if (name.startsWith('OTEL_')) {
        if (!KNOWN_OTEL.has(name)) problems.push(problem(w, v.from, `${name} is not an OpenTelemetry SDK variable: a typo?`));
      } else if (!HELPERS.has(name)) {
        problems.push(problem(w, v.from, `${name} is neither a Wolk (lib/config/env.ts), OpenTelemetry nor downward-API helper variable`));
      }
    }

    // Every variable the service reads: set, defaulted, one of a set group, or deliberately left unset.
    for (const spec of variablesOf(service)) {
      if (r.env.has(spec.name) || spec.default !== undefined || LEFT_UNSET[spec.name] !== undefined) continue;
      const group = ALTERNATIVES.find((g) => g.includes(spec.name));
      if (group) {
        if (!group.some((n) => r.env.has(n)) && group[0] === spec.name) {
          problems.push(problem(w, `${r.path}.env`, `none of ${group.join(', ')} is set: the ${service} cannot find ${group[0]!.replace('WOLK_', '').toLowerCase()}`));
        }
        continue;
      }
      problems.push(problem(w, `${r.path}.env`, `${spec.name} is read by the ${service}, has no default and is not set (${spec.doc})`));
    }

    // Listen addresses match the container's ports.
    const listen = r.env.get('WOLK_LISTEN')?.value;
    if (listen !== undefined) {
      const p = portOf(listen);
      const name = p === undefined ? undefined : named(r.container, p);
      if (!name?.startsWith('grpc')) problems.push(problem(w, where('WOLK_LISTEN'), `WOLK_LISTEN port ${String(p)} is not a container port named grpc*`));
    }
    const http = r.env.get('WOLK_HTTP_LISTEN')?.value;
    if (http !== undefined) {
      const p = portOf(http);
      if (p === undefined || named(r.container, p) !== 'http') problems.push(problem(w, where('WOLK_HTTP_LISTEN'), `WOLK_HTTP_LISTEN port ${String(p)} is not the container port named http`));
    }

    // The data directory is a writable mount of a volume that keeps the data as long as it must.
    const dataDir = r.env.get('WOLK_DATA_DIR')?.value;
    const mounts = asObjects(r.container['volumeMounts']);
    const volumes = asObjects(at(w, 'spec.template.spec.volumes'));
    const templates = asObjects(at(w, 'spec.volumeClaimTemplates')).map((t) => String(at(t, 'metadata.name')));
    if (dataDir !== undefined) {
      const m = mounts.find((x) => x['mountPath'] === dataDir);
      if (!m || m['readOnly'] === true) problems.push(problem(w, where('WOLK_DATA_DIR'), `WOLK_DATA_DIR ${dataDir} is not a writable volume mount of the container`));
      else {
        const vname = String(m['name']);
        const persistent = templates.includes(vname) || volumes.some((v) => v['name'] === vname && v['persistentVolumeClaim'] !== undefined);
        const scratch = volumes.some((v) => v['name'] === vname && v['emptyDir'] !== undefined);
        // Services with a node key that carries stake, or with primary data, keep WOLK_DATA_DIR on a claim.
        if ((service === 'storer' || service === 'consensus' || service === 'rewards') && !persistent) {
          problems.push(problem(w, where('WOLK_DATA_DIR'), `the ${service}'s data directory (its node key and state) must be a PersistentVolumeClaim, not ${scratch ? 'an emptyDir' : 'this volume'}`));
        }
        if (!persistent && !scratch) problems.push(problem(w, where('WOLK_DATA_DIR'), `volume ${vname} is neither a PersistentVolumeClaim nor an emptyDir`));
      }
    }
    const genesis = r.env.get('WOLK_GENESIS')?.value;
    if (genesis !== undefined) {
      const dir = genesis.slice(0, genesis.lastIndexOf('/'));
      const m = mounts.find((x) => x['mountPath'] === dir);
      if (!m || !volumes.some((v) => v['name'] === m['name'] && v['configMap'] !== undefined)) {
        problems.push(problem(w, where('WOLK_GENESIS'), `${genesis} is not in a mounted ConfigMap volume`));
      }
    }

    // Discovery names lead to Services that select the right pods.
    for (const [name, target] of Object.entries(DISCOVERY_TARGET)) {
      const v = r.env.get(name)?.value;
      if (v === undefined) continue;
      const srv = /^_([a-z0-9-]+)\._tcp\.(.+)$/.exec(v);
      const host = srv ? srv[2]! : v.replace(/:\d+$/, '');
      const svc = serviceForHost(objects, host, w.metadata.namespace);
      if (!svc) {
        problems.push(problem(w, where(name), `${name}=${v}: no Service ${host} in these manifests`));
        continue;
      }
      const runs = selectedWorkloads(objects, svc).flatMap((x) => containersOf(x).map(serviceOfContainer));
      if (!runs.includes(target)) problems.push(problem(w, where(name), `${name}=${v}: ${describe(svc)} does not select ${target} pods`));
      const ports = asObjects(at(svc, 'spec.ports'));
      if (srv) {
        if (at(svc, 'spec.clusterIP') !== 'None') problems.push(problem(w, where(name), `${name}=${v}: ${describe(svc)} is not headless, so its SRV record has one virtual IP instead of every pod`));
        if (!ports.some((p) => p['name'] === srv[1])) problems.push(problem(w, where(name), `${name}=${v}: ${describe(svc)} has no port named ${srv[1]}`));
        if (name === 'WOLK_PEERS_SRV' && at(svc, 'spec.publishNotReadyAddresses') !== true) {
          problems.push(problem(w, where(name), `${describe(svc)} must publish not-ready addresses: peers must find each other before any is ready`));
        }
      } else if (!ports.some((p) => p['port'] === portOf(v))) problems.push(problem(w, where(name), `${name}=${v}: ${describe(svc)} has no port ${String(portOf(v))}`));
    }

    // Static endpoint lists name pods that exist: <statefulset>-<i>.<service>... with i < replicas.
    for (const [name, target] of [['WOLK_CONSENSUS', 'consensus'], ['WOLK_PEERS', 'consensus'], ['WOLK_STORERS', 'storer']] as const) {
      const v = r.env.get(name)?.value;
      if (v === undefined) continue;
      for (const endpoint of v.split(',').map((x) => x.trim()).filter(Boolean)) {
        const m = /^([a-z0-9-]+)-(\d+)\.([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local:(\d+)$/.exec(endpoint);
        const sts = m && objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === m[1] && o.metadata.namespace === m[4] && at(o, 'spec.serviceName') === m[3]);
        if (!m || !sts) {
          problems.push(problem(w, where(name), `${name}: ${endpoint} is not the DNS name of a StatefulSet pod of these manifests`));
          continue;
        }
        const replicas = Number(at(sts, 'spec.replicas') ?? 1);
        if (Number(m[2]) >= replicas) problems.push(problem(w, where(name), `${name}: ${endpoint} does not exist: ${describe(sts)} has ${replicas} replicas`));
        if (!containersOf(sts).some((c) => serviceOfContainer(c) === target)) problems.push(problem(w, where(name), `${name}: ${describe(sts)} does not run the ${target}`));
        if (!containersOf(sts).some((c) => asObjects(c['ports']).some((p) => p['containerPort'] === Number(m[5])))) problems.push(problem(w, where(name), `${name}: ${endpoint}: no container port ${m[5]}`));
      }
    }

    // The advertised address reaches this very pod.
    const adv = r.env.get('WOLK_ADVERTISE')?.value;
    if (adv !== undefined) {
      const host = adv.replace(/:\d+$/, '');
      const port = portOf(adv);
      if (port === undefined || port !== portOf(listen ?? '')) problems.push(problem(w, where('WOLK_ADVERTISE'), `WOLK_ADVERTISE port ${String(port)} differs from the WOLK_LISTEN port`));
      if (w.kind === 'StatefulSet') {
        const expected = `${w.metadata.name}-0.${String(at(w, 'spec.serviceName'))}.${w.metadata.namespace}.svc.cluster.local`;
        if (host !== expected) problems.push(problem(w, where('WOLK_ADVERTISE'), `WOLK_ADVERTISE resolves to ${host} for the first pod; its stable DNS name is ${expected}`));
      } else if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) {
        const headless = objects.filter((o) => o.kind === 'Service' && at(o, 'spec.clusterIP') === 'None' && selectedWorkloads(objects, o).includes(w));
        if (!headless.some((s) => asObjects(at(s, 'spec.ports')).some((p) => p['port'] === port))) {
          problems.push(problem(w, where('WOLK_ADVERTISE'), `the pod IP is advertised on port ${String(port)}, but no headless Service exposes that port of these pods (peers could not reach it under STRICT mTLS)`));
        }
      } else problems.push(problem(w, where('WOLK_ADVERTISE'), `WOLK_ADVERTISE ${adv} is neither the pod's stable DNS name nor its IP`));
    }

    // OpenTelemetry values the installed SDK understands.
    const protocol = r.env.get('OTEL_EXPORTER_OTLP_PROTOCOL')?.value;
    if (protocol !== undefined && !otlpProtocols.includes(protocol)) {
      problems.push(problem(w, where('OTEL_EXPORTER_OTLP_PROTOCOL'), `${protocol}: the installed exporters speak ${otlpProtocols.join(', ')}`));
    }
    const sampler = r.env.get('OTEL_TRACES_SAMPLER')?.value;
    if (sampler !== undefined && !SAMPLERS.has(sampler)) problems.push(problem(w, where('OTEL_TRACES_SAMPLER'), `${sampler} is not a standard sampler`));
    const arg = r.env.get('OTEL_TRACES_SAMPLER_ARG')?.value;
    if (arg !== undefined && !(Number(arg) >= 0 && Number(arg) <= 1)) problems.push(problem(w, where('OTEL_TRACES_SAMPLER_ARG'), `${arg} is not a ratio from 0 to 1`));

    for (const name of NETWORK_WIDE) {
      const v = r.env.get(name)?.value;
      if (v === undefined) continue;
      if (!networkValues.has(name)) networkValues.set(name, new Map());
      networkValues.get(name)!.set(describe(w), v);
    }
  }

  for (const [name, values] of networkValues) {
    if (new Set(values.values()).size > 1) {
      problems.push(problem('(network)', name, `differs between services: ${[...values].map(([o, v]) => `${o}=${v}`).join(', ')}`));
    }
  }
  return problems;
}
