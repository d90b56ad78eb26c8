// Plain JSON values read from YAML manifests, and the few accessors the deploy checks need.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

/** A manifest object, with where it came from (for messages). */
export interface K8sObject extends JsonObject {
  apiVersion: string;
  kind: string;
  metadata: JsonObject & { name: string; namespace?: string };
}

export function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asObject(v: Json | undefined): JsonObject {
  return isObject(v) ? v : {};
}

export function asArray(v: Json | undefined): Json[] {
  return Array.isArray(v) ? v : [];
}

export function asObjects(v: Json | undefined): JsonObject[] {
  return asArray(v).filter(isObject);
}

export function asString(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function asStringMap(v: Json | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(asObject(v))) if (typeof x === 'string') out[k] = x;
  return out;
}

/** Reads a dotted path ("spec.template.spec"); undefined when any step is missing. */
export function at(v: Json | undefined, path: string): Json | undefined {
  let cur: Json | undefined = v;
  for (const key of path.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/** "StatefulSet wolk/storer": how messages name an object. */
export function describe(o: K8sObject): string {
  const ns = o.metadata.namespace;
  return `${o.kind} ${ns ? `${ns}/` : ''}${o.metadata.name}`;
}

export function deepClone<T extends Json>(v: T): T {
  return structuredClone(v);
}

/** Every YAML document of a file, as JSON; empty documents are skipped; a syntax error names the file. */
export function loadYamlFile(path: string): Json[] {
  const text = readFileSync(path, 'utf8');
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  const out: Json[] = [];
  for (const doc of list) {
    if (doc.errors.length > 0) throw new Error(`${path}: YAML error: ${doc.errors[0]!.message}`);
    const value = doc.toJS({ maxAliasCount: 100 }) as Json | undefined;
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

/** Checks that a JSON value is a Kubernetes object (apiVersion, kind, metadata.name). */
export function toK8sObject(v: Json, source: string): K8sObject {
  if (!isObject(v)) throw new Error(`${source}: expected a Kubernetes object, got ${JSON.stringify(v)?.slice(0, 80)}`);
  const meta = v['metadata'];
  if (typeof v['apiVersion'] !== 'string' || typeof v['kind'] !== 'string' || !isObject(meta) || typeof meta['name'] !== 'string') {
    throw new Error(`${source}: every object needs apiVersion, kind and metadata.name`);
  }
  return v as K8sObject;
}
