// Unknown-field check for Kubernetes and Istio objects. kubernetes-models' validate() catches wrong
// types and enum values but lets misspelled fields through (its schemas allow extra properties,
// TOOLCHAIN.md). The same packages ship TypeScript declarations that list every field, so the field
// names are read from those .d.ts files (parsed, not type-checked) and every key of an object is
// checked against them, recursively: `spec.template.spec.containers[0].readinesProbe` is reported
// as unknown, with the path.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import { isObject, type Json } from './yaml-objects.js';

/** What a type says about the keys of a value. */
type Shape =
  | { readonly kind: 'any' }
  | { readonly kind: 'scalar' }
  | { readonly kind: 'array'; readonly item: () => Shape }
  | { readonly kind: 'object'; readonly props: ReadonlyMap<string, () => Shape>; readonly index?: () => Shape };

const ANY: Shape = { kind: 'any' };
const SCALAR: Shape = { kind: 'scalar' };

interface ParsedFile {
  readonly path: string;
  readonly source: ts.SourceFile;
  /** local name → declaration */
  readonly declarations: Map<string, ts.InterfaceDeclaration | ts.TypeAliasDeclaration>;
  /** local name → [module specifier, exported name] */
  readonly imports: Map<string, readonly [string, string]>;
  /** exported name → local name */
  readonly exports: Map<string, string>;
}

const files = new Map<string, ParsedFile>();
const shapes = new Map<string, Shape>();

function parseFile(path: string): ParsedFile {
  const cached = files.get(path);
  if (cached) return cached;
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.ES2022, false);
  const parsed: ParsedFile = { path, source, declarations: new Map(), imports: new Map(), exports: new Map() };
  for (const st of source.statements) {
    if (ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) parsed.declarations.set(st.name.text, st);
    else if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      const bindings = st.importClause?.namedBindings;
      if (bindings && ts.isNamedImports(bindings)) {
        for (const el of bindings.elements) parsed.imports.set(el.name.text, [st.moduleSpecifier.text, (el.propertyName ?? el.name).text]);
      }
    } else if (ts.isExportDeclaration(st) && st.exportClause && ts.isNamedExports(st.exportClause) && !st.moduleSpecifier) {
      for (const el of st.exportClause.elements) parsed.exports.set(el.name.text, (el.propertyName ?? el.name).text);
    }
  }
  files.set(path, parsed);
  return parsed;
}

/** Resolves "./EnvVar" or "@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta" to a .d.ts file. */
function resolveModule(fromFile: string, spec: string): string | undefined {
  if (spec.startsWith('.')) {
    const p = resolve(dirname(fromFile), spec);
    return [`${p}.d.ts`, join(p, 'index.d.ts')].find((f) => existsSync(f));
  }
  for (let dir = dirname(fromFile); ; dir = dirname(dir)) {
    const p = join(dir, 'node_modules', spec);
    const found = [`${p}.d.ts`, join(p, 'index.d.ts')].find((f) => existsSync(f));
    if (found) return found;
    if (dirname(dir) === dir) return undefined;
  }
}

function shapeOfName(file: ParsedFile, name: string): Shape {
  const key = `${file.path}#${name}`;
  const cached = shapes.get(key);
  if (cached) return cached;
  shapes.set(key, ANY); // breaks cycles (e.g. JSONSchemaProps); refined below
  let shape: Shape = ANY;
  const local = file.exports.get(name) ?? name;
  const decl = file.declarations.get(local);
  if (decl) shape = shapeOfDeclaration(file, decl);
  else {
    const imported = file.imports.get(local);
    if (imported) {
      const target = resolveModule(file.path, imported[0]);
      if (target) shape = shapeOfName(parseFile(target), imported[1]);
    }
  }
  shapes.set(key, shape);
  return shape;
}

function shapeOfDeclaration(file: ParsedFile, decl: ts.InterfaceDeclaration | ts.TypeAliasDeclaration): Shape {
  if (ts.isTypeAliasDeclaration(decl)) return shapeOfType(file, decl.type);
  const props = new Map<string, () => Shape>();
  let index: (() => Shape) | undefined;
  for (const clause of decl.heritageClauses ?? []) {
    for (const t of clause.types) {
      if (!ts.isIdentifier(t.expression)) continue;
      const base = shapeOfName(file, t.expression.text);
      if (base.kind === 'object') for (const [k, v] of base.props) props.set(k, v);
    }
  }
  collectMembers(file, decl.members, props, (s) => (index = s));
  // TypeMeta comes from @kubernetes-models/base; every top-level object has these two anyway.
  if (!props.has('apiVersion')) props.set('apiVersion', () => SCALAR);
  if (!props.has('kind')) props.set('kind', () => SCALAR);
  return { kind: 'object', props, ...(index ? { index } : {}) };
}

function collectMembers(file: ParsedFile, members: ts.NodeArray<ts.TypeElement>, props: Map<string, () => Shape>, setIndex: (s: () => Shape) => void): void {
  for (const m of members) {
    if (ts.isPropertySignature(m) && m.type) {
      const n = m.name;
      const name = ts.isIdentifier(n) || ts.isStringLiteral(n) ? n.text : undefined;
      const type = m.type;
      if (name !== undefined) props.set(name, lazy(() => shapeOfType(file, type)));
    } else if (ts.isIndexSignatureDeclaration(m) && m.type) {
      const type = m.type;
      setIndex(lazy(() => shapeOfType(file, type)));
    }
  }
}

function lazy(f: () => Shape): () => Shape {
  let value: Shape | undefined;
  return () => (value ??= f());
}

function mergeObjects(parts: Shape[]): Shape {
  const objects = parts.filter((p): p is Extract<Shape, { kind: 'object' }> => p.kind === 'object');
  if (parts.some((p) => p.kind === 'any')) return ANY;
  if (objects.length === 0) return parts.find((p) => p.kind === 'array') ?? SCALAR;
  const props = new Map<string, () => Shape>();
  let index: (() => Shape) | undefined;
  for (const o of objects) {
    for (const [k, v] of o.props) props.set(k, v);
    index ??= o.index;
  }
  return { kind: 'object', props, ...(index ? { index } : {}) };
}

function shapeOfType(file: ParsedFile, node: ts.TypeNode): Shape {
  if (ts.isParenthesizedTypeNode(node)) return shapeOfType(file, node.type);
  if (ts.isTypeLiteralNode(node)) {
    const props = new Map<string, () => Shape>();
    let index: (() => Shape) | undefined;
    collectMembers(file, node.members, props, (s) => (index = s));
    return { kind: 'object', props, ...(index ? { index } : {}) };
  }
  if (ts.isArrayTypeNode(node)) {
    const el = node.elementType;
    return { kind: 'array', item: lazy(() => shapeOfType(file, el)) };
  }
  if (ts.isUnionTypeNode(node)) {
    // Literal unions are enums (validate() checks them); object unions are oneOf: any branch's keys.
    return mergeObjects(node.types.map((t) => shapeOfType(file, t)));
  }
  if (ts.isIntersectionTypeNode(node)) {
    // Istio's oneOf encoding: `{all fields} & (Exclude<...> | ...)`. Only the object literals list fields.
    const parts = node.types.map((t) => shapeOfType(file, t)).filter((s) => s.kind === 'object');
    return parts.length > 0 ? mergeObjects(parts) : ANY;
  }
  if (ts.isTypeReferenceNode(node)) {
    const name = ts.isIdentifier(node.typeName) ? node.typeName.text : node.typeName.right.text;
    if (name === 'Array' && node.typeArguments?.[0]) {
      const el = node.typeArguments[0];
      return { kind: 'array', item: lazy(() => shapeOfType(file, el)) };
    }
    if (name === 'Exclude' || name === 'Record' || name === 'Partial') return ANY;
    return shapeOfName(file, name);
  }
  if (node.kind === ts.SyntaxKind.AnyKeyword || node.kind === ts.SyntaxKind.UnknownKeyword || node.kind === ts.SyntaxKind.ObjectKeyword) return ANY;
  return SCALAR;
}

/** The shape of a top-level kind, from its declaration file and interface name. */
function shapeOfKind(dtsPath: string, kind: string): Shape {
  if (!existsSync(dtsPath)) return ANY;
  return shapeOfName(parseFile(dtsPath), `I${kind}`);
}

/** Unknown fields of `value` against `shape`, as dotted paths. */
function unknownFields(value: Json, shape: Shape, path: string, out: string[]): void {
  if (shape.kind === 'any' || shape.kind === 'scalar') return;
  if (shape.kind === 'array') {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, shape.item(), `${path}[${i}]`, out));
    return;
  }
  if (!isObject(value)) return;
  for (const [key, v] of Object.entries(value)) {
    const sub = shape.props.get(key) ?? shape.index;
    const p = path ? `${path}.${key}` : key;
    if (!sub) out.push(p);
    else unknownFields(v, sub(), p, out);
  }
}

/**
 * The unknown-field paths of a Kubernetes object, or undefined when its kind has no declaration in
 * kubernetes-models / @kubernetes-models/istio. `root` is the repository root.
 */
export function unknownFieldsOf(root: string, obj: { apiVersion: string; kind: string } & Record<string, Json>): string[] | undefined {
  const dts = declarationFile(root, obj.apiVersion, obj.kind);
  if (!dts) return undefined;
  const shape = shapeOfKind(dts, obj.kind);
  if (shape.kind !== 'object') return undefined;
  const out: string[] = [];
  unknownFields(obj, shape, '', out);
  return out;
}

/** kubernetes-models/<group>/<version>/<Kind>.d.ts or @kubernetes-models/istio/<group>/<version>/<Kind>.d.ts */
export function declarationFile(root: string, apiVersion: string, kind: string): string | undefined {
  const candidates = apiVersion.includes('istio.io')
    ? [join(root, 'node_modules/@kubernetes-models/istio', apiVersion, `${kind}.d.ts`)]
    : [join(root, 'node_modules/kubernetes-models', apiVersion, `${kind}.d.ts`)];
  return candidates.find((f) => existsSync(f));
}
