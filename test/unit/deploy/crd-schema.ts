// Validates custom resources (Rook's CephCluster, CephBlockPool, ...) against the openAPIV3Schema of
// their CustomResourceDefinition, the way the API server's structural-schema validation would, for
// the subset of OpenAPI v3 that CRDs use:
//   type, properties, required, enum, items, additionalProperties (schema or boolean),
//   x-kubernetes-preserve-unknown-fields, x-kubernetes-int-or-string, nullable (with or without
//   type), anyOf/oneOf/allOf, minimum/maximum, minLength/maxLength, minItems/maxItems, pattern.
// Unknown fields are errors wherever the schema lists properties (the API server prunes them
// silently, which hides typos: here they fail). Not checked: format, x-kubernetes-validations (CEL)
// and defaults.
import { existsSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { asObject, asObjects, isObject, type Json, type JsonObject } from './yaml-objects.js';

export interface SchemaError {
  /** Dotted path into the object, e.g. spec.replicated.size */
  readonly path: string;
  readonly message: string;
}

type Schema = JsonObject;

/** kind → group/version → schema, from a multi-document CRD file. */
export interface CrdIndex {
  readonly schemas: Map<string, Schema>;
  readonly source: string;
}

/**
 * Loads the CRDs of a multi-document file. With `kinds`, only the documents defining those kinds are
 * parsed (Rook's file is ~1 MB of YAML; parsing all of it takes seconds).
 */
export function loadCrds(path: string, kinds?: readonly string[]): CrdIndex {
  if (!existsSync(path)) {
    throw new Error(`Rook CRDs not found at ${path}: the deploy tests read them from ../shared/schemas/rook/crds.yaml (see /work/shared/schemas/README.md)`);
  }
  const schemas = new Map<string, Schema>();
  const text = readFileSync(path, 'utf8');
  const chunks = text.split(/^---[ \t]*$/m).filter((chunk) => !kinds || kinds.some((k) => new RegExp(`^\\s+kind: ${k}\\s*$`, 'm').test(chunk)));
  for (const doc of chunks.flatMap((chunk) => parseYamlDocuments(chunk, path))) {
    if (!isObject(doc) || doc['kind'] !== 'CustomResourceDefinition') continue;
    const spec = asObject(doc['spec']);
    const group = String(spec['group']);
    const kind = String(asObject(spec['names'])['kind']);
    for (const v of asObjects(spec['versions'])) {
      const schema = asObject(asObject(v['schema'])['openAPIV3Schema']);
      schemas.set(`${group}/${String(v['name'])}/${kind}`, schema);
    }
  }
  if (schemas.size === 0) throw new Error(`${path}: no CustomResourceDefinition with an openAPIV3Schema found`);
  return { schemas, source: path };
}

function parseYamlDocuments(text: string, source: string): Json[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${source}: YAML error: ${doc.errors[0]!.message}`);
    const v = doc.toJS() as Json | undefined;
    return v === null || v === undefined ? [] : [v];
  });
}

/** The schema of apiVersion + kind, or undefined if the CRD file does not define it. */
export function schemaFor(index: CrdIndex, apiVersion: string, kind: string): Schema | undefined {
  return index.schemas.get(`${apiVersion}/${kind}`);
}

const typeName = (v: Json): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v);

function join(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}

/** All errors of `value` against `schema`. */
export function validateAgainst(schema: Schema, value: Json, path = ''): SchemaError[] {
  const errors: SchemaError[] = [];
  check(schema, value, path, errors);
  return errors;
}

function check(schema: Schema, value: Json, path: string, errors: SchemaError[]): void {
  const err = (message: string) => errors.push({ path: path || '(root)', message });
  if (value === null) {
    if (schema['nullable'] !== true && schema['type'] !== undefined) err(`must be ${String(schema['type'])}, got null`);
    return;
  }
  if (schema['x-kubernetes-int-or-string'] === true) {
    if (typeof value !== 'string' && !Number.isInteger(value)) err(`must be an integer or a string, got ${typeName(value)}`);
    return;
  }

  for (const combinator of ['allOf', 'anyOf', 'oneOf'] as const) {
    const branches = asObjects(schema[combinator]);
    if (branches.length === 0) continue;
    const results = branches.map((b) => validateAgainst(b, value, path));
    const passing = results.filter((r) => r.length === 0).length;
    if (combinator === 'allOf') for (const r of results) errors.push(...r);
    else if (combinator === 'anyOf' && passing === 0) err(`matches none of the ${branches.length} anyOf alternatives (${results[0]![0]?.message ?? ''})`);
    else if (combinator === 'oneOf' && passing !== 1) err(`must match exactly one oneOf alternative, matches ${passing}`);
  }

  const type = schema['type'];
  if (typeof type === 'string') {
    const actual = typeName(value);
    const ok = type === actual || (type === 'number' && actual === 'integer');
    if (!ok) {
      err(`must be ${type}, got ${actual} ${JSON.stringify(value)?.slice(0, 40)}`);
      return;
    }
  }

  const enumValues = schema['enum'];
  if (Array.isArray(enumValues) && !enumValues.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    err(`must be one of ${enumValues.map((e) => JSON.stringify(e)).join(', ')}, got ${JSON.stringify(value)}`);
  }

  if (typeof value === 'number') {
    if (typeof schema['minimum'] === 'number' && value < schema['minimum']) err(`must be >= ${schema['minimum']}, got ${value}`);
    if (typeof schema['maximum'] === 'number' && value > schema['maximum']) err(`must be <= ${schema['maximum']}, got ${value}`);
  }
  if (typeof value === 'string') {
    if (typeof schema['minLength'] === 'number' && value.length < schema['minLength']) err(`must be at least ${schema['minLength']} characters`);
    if (typeof schema['maxLength'] === 'number' && value.length > schema['maxLength']) err(`must be at most ${schema['maxLength']} characters`);
    if (typeof schema['pattern'] === 'string') {
      let re: RegExp | undefined;
      try {
        re = new RegExp(schema['pattern'], 'u');
      } catch {
        re = undefined; // a Go (RE2) pattern JavaScript cannot compile: skipped
      }
      if (re && !re.test(value)) err(`must match ${schema['pattern']}, got ${JSON.stringify(value)}`);
    }
  }

  if (Array.isArray(value)) {
    if (typeof schema['minItems'] === 'number' && value.length < schema['minItems']) err(`must have at least ${schema['minItems']} items`);
    if (typeof schema['maxItems'] === 'number' && value.length > schema['maxItems']) err(`must have at most ${schema['maxItems']} items`);
    const items = schema['items'];
    if (isObject(items)) value.forEach((v, i) => check(items, v, join(path, i), errors));
    return;
  }

  if (isObject(value)) {
    for (const r of Array.isArray(schema['required']) ? schema['required'] : []) {
      if (typeof r === 'string' && value[r] === undefined) errors.push({ path: join(path, r), message: 'is required' });
    }
    const props = isObject(schema['properties']) ? schema['properties'] : undefined;
    const additional = schema['additionalProperties'];
    const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
    for (const [key, v] of Object.entries(value)) {
      const sub = props?.[key];
      if (isObject(sub)) check(sub, v, join(path, key), errors);
      else if (isObject(additional)) check(additional, v, join(path, key), errors);
      else if (additional === true || preserve) continue;
      else if (props) errors.push({ path: join(path, key), message: `unknown field (known here: ${Object.keys(props).join(', ')})` });
    }
  }
}
