// Istio routing checked against the gRPC contracts: every method of a service reaches a route, only
// idempotent reads are retried (Istio retries 2 times by default when a route says nothing, so every
// route must say), streams have no overall timeout, match rules name methods that exist, and the
// namespace enforces STRICT mTLS.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { containersOf, problem, selectedWorkloads, serviceFqdn, serviceForHost, type Problem } from './checks.js';
import { asArray, asObject, asObjects, asString, at, type JsonObject, type K8sObject } from './yaml-objects.js';

export interface RpcMethod {
  readonly name: string;
  readonly clientStream: boolean;
  readonly serverStream: boolean;
}

/** Full service name ("wolk.storer.v1.StorerService") → its methods, from the .proto files under dir. */
export function readProtoServices(dir: string): Map<string, RpcMethod[]> {
  const out = new Map<string, RpcMethod[]>();
  const walk = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : f.endsWith('.proto') ? [join(d, f)] : []));
  for (const file of walk(dir)) {
    const text = readFileSync(file, 'utf8').replace(/\/\/.*$/gm, '');
    const pkg = /^\s*package\s+([\w.]+)\s*;/m.exec(text)?.[1] ?? '';
    for (const svc of text.matchAll(/service\s+(\w+)\s*\{([\s\S]*?)\n\}/g)) {
      const methods: RpcMethod[] = [];
      for (const m of svc[2]!.matchAll(/rpc\s+(\w+)\s*\(\s*(stream\s+)?[\w.]+\s*\)\s*returns\s*\(\s*(stream\s+)?[\w.]+\s*\)/g)) {
        methods.push({ name: m[1]!, clientStream: m[2] !== undefined, serverStream: m[3] !== undefined });
      }
      out.set(pkg ? `${pkg}.${svc[1]}` : svc[1]!, methods);
    }
  }
  return out;
}

/** A method may be retried by the mesh: a read or check (Get*, List*, Verify*) whose request is not a stream. */
export function retriable(m: RpcMethod): boolean {
  return /^(Get|List|Verify)/.test(m.name) && !m.clientStream;
}

interface Request {
  readonly method: string;
  readonly path: string;
}

function stringMatch(rule: JsonObject, value: string): boolean {
  if (typeof rule['exact'] === 'string') return value === rule['exact'];
  if (typeof rule['prefix'] === 'string') return value.startsWith(rule['prefix']);
  if (typeof rule['regex'] === 'string') return new RegExp(`^(?:${rule['regex']})$`).test(value);
  return true;
}

/** The first HTTP route of a VirtualService that a request takes (Istio evaluates routes in order). */
export function routeFor(vs: K8sObject, req: Request): { route: JsonObject; index: number } | undefined {
  const routes = asObjects(at(vs, 'spec.http'));
  for (const [index, route] of routes.entries()) {
    const matches = asObjects(route['match']);
    if (matches.length === 0) return { route, index };
    const hit = matches.some((m) => (m['uri'] === undefined || stringMatch(asObject(m['uri']), req.path)) && (m['method'] === undefined || stringMatch(asObject(m['method']), req.method)));
    if (hit) return { route, index };
  }
  return undefined;
}

function attempts(route: JsonObject): number | undefined {
  const r = route['retries'];
  if (r === undefined) return undefined;
  const a = asObject(r)['attempts'];
  return typeof a === 'number' ? a : 0;
}

function durationSeconds(d: string | undefined): number | undefined {
  if (d === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d);
  if (!m) return NaN;
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

/** The gRPC service (proto full name) a workload serves: the one its readiness probe asks about. */
function protoServiceOf(w: K8sObject): string | undefined {
  for (const c of containersOf(w)) {
    const s = asString(at(c, 'readinessProbe.grpc.service'));
    if (s) return s;
  }
  return undefined;
}

export function checkIstio(objects: readonly K8sObject[], protos: ReadonlyMap<string, RpcMethod[]>): Problem[] {
  const problems: Problem[] = [];
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const namespaces = new Set(objects.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind)).map((o) => o.metadata.namespace));

  for (const ns of namespaces) {
    const strict = byKind('PeerAuthentication').some((p) => p.metadata.namespace === ns && at(p, 'spec.selector') === undefined && at(p, 'spec.mtls.mode') === 'STRICT');
    if (!strict) problems.push(problem(`Namespace ${String(ns)}`, '', 'no namespace-wide PeerAuthentication with mtls.mode STRICT'));
  }
  for (const dr of byKind('DestinationRule')) {
    const mode = at(dr, 'spec.trafficPolicy.tls.mode');
    if (mode !== undefined && mode !== 'ISTIO_MUTUAL') problems.push(problem(dr, 'spec.trafficPolicy.tls.mode', `${String(mode)} breaks STRICT mTLS (use ISTIO_MUTUAL or leave it to auto mTLS)`));
    for (const key of ['connectionPool', 'outlierDetection']) {
      if (at(dr, `spec.trafficPolicy.${key}`) === undefined) problems.push(problem(dr, `spec.trafficPolicy.${key}`, 'is missing'));
    }
  }

  // Readiness probes name real gRPC services.
  for (const w of objects.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind))) {
    const s = protoServiceOf(w);
    if (s !== undefined && !protos.has(s)) problems.push(problem(w, 'spec.template.spec.containers[0].readinessProbe.grpc.service', `${s} is not a service in proto/`));
  }

  // Match rules name methods that exist.
  const allPaths = [...protos].flatMap(([svc, methods]) => methods.map((m) => `/${svc}/${m.name}`));
  for (const vs of byKind('VirtualService')) {
    asObjects(at(vs, 'spec.http')).forEach((route, ri) => {
      asObjects(route['match']).forEach((m, mi) => {
        const uri = asObject(m['uri']);
        const exact = asString(uri['exact']);
        const prefix = asString(uri['prefix']);
        const grpcLike = (exact ?? prefix ?? '').startsWith('/wolk.');
        if (!grpcLike) return;
        const ok = exact !== undefined ? allPaths.includes(exact) : allPaths.some((p) => p.startsWith(prefix!));
        if (!ok) problems.push(problem(vs, `spec.http[${ri}].match[${mi}].uri`, `${exact ?? prefix} names no method in proto/`));
      });
      if (route['retries'] === undefined) problems.push(problem(vs, `spec.http[${ri}].retries`, 'is missing: Istio then retries twice by default, whatever the method'));
      const t = durationSeconds(asString(route['timeout']));
      if (Number.isNaN(t)) problems.push(problem(vs, `spec.http[${ri}].timeout`, `${String(route['timeout'])} is not a duration`));
    });
  }

  // Per gRPC Service: a VirtualService and a DestinationRule on its host, and per method the right policy.
  for (const svc of byKind('Service')) {
    const served = [...new Set(selectedWorkloads(objects, svc).map(protoServiceOf).filter((s): s is string => s !== undefined))];
    if (served.length === 0) continue;
    const grpcPorts = asObjects(at(svc, 'spec.ports')).filter((p) => p['appProtocol'] === 'grpc' || String(p['name']).startsWith('grpc'));
    if (grpcPorts.length === 0) {
      problems.push(problem(svc, 'spec.ports', 'serves gRPC but no port is named grpc* or has appProtocol grpc (Istio would treat it as opaque TCP: no per-method routes)'));
      continue;
    }
    const fqdn = serviceFqdn(svc);
    const vss = byKind('VirtualService').filter((v) => asArray(at(v, 'spec.hosts')).some((h) => serviceForHost(objects, String(h), v.metadata.namespace) === svc));
    const drs = byKind('DestinationRule').filter((d) => serviceForHost(objects, String(at(d, 'spec.host')), d.metadata.namespace) === svc);
    if (vss.length !== 1) problems.push(problem(svc, '', `${vss.length} VirtualServices route ${fqdn} (expected 1)`));
    if (drs.length !== 1) problems.push(problem(svc, '', `${drs.length} DestinationRules for ${fqdn} (expected 1)`));
    const vs = vss[0];
    if (!vs) continue;
    for (const full of served) {
      for (const m of protos.get(full) ?? []) {
        const path = `/${full}/${m.name}`;
        const hit = routeFor(vs, { method: 'POST', path });
        if (!hit) {
          problems.push(problem(vs, 'spec.http', `no route for ${path} (add a catch-all route last)`));
          continue;
        }
        const where = `spec.http[${hit.index}]`;
        const n = attempts(hit.route);
        if (n !== undefined && n > 0 && !retriable(m)) {
          problems.push(problem(vs, `${where}.retries`, `${path} would be retried ${n} times, but it is not an idempotent read (${m.clientStream ? 'client stream' : 'write'})`));
        }
        if (m.clientStream || m.serverStream) {
          const t = durationSeconds(asString(hit.route['timeout']));
          if (t !== 0) problems.push(problem(vs, `${where}.timeout`, `${path} is a stream: the route needs timeout 0s (no overall limit), got ${String(hit.route['timeout'])}`));
        }
      }
    }
  }
  return problems;
}

/** HTTP gateway routes: uploads (PUT) never retried; the route for a path exists. */
export function checkHttpRoutes(vs: K8sObject, requests: readonly { method: string; path: string; retriable: boolean }[]): Problem[] {
  const problems: Problem[] = [];
  for (const req of requests) {
    const hit = routeFor(vs, req);
    if (!hit) {
      problems.push(problem(vs, 'spec.http', `no route for ${req.method} ${req.path}`));
      continue;
    }
    const n = attempts(hit.route);
    if (n === undefined) problems.push(problem(vs, `spec.http[${hit.index}].retries`, `is missing: Istio would retry ${req.method} ${req.path} twice by default`));
    else if (n > 0 && !req.retriable) problems.push(problem(vs, `spec.http[${hit.index}].retries`, `${req.method} ${req.path} would be retried ${n} times`));
  }
  return problems;
}
