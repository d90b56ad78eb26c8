// Unknown-field check for Kubernetes and Istio objects. kubernetes-models' validate() catches wrong
// types and enum values but lets misspelled fields through (its schemas allow extra properties,
// TOOLCHAIN.md). The same packages ship generated TypeScript declarations that list every field, so
// the field names are read from those .d.ts files and every key of an object is checked against
// them, recursively: `spec.template.spec.containers[0].readinesProbe` is reported with its path.
//
// The declarations are generated and regular, so a small parser reads them (loading the TypeScript
// compiler would cost seconds per test process): imports, `export interface I<Kind> [extends ...] {}`,
// `export declare type`, `export { A as B }`; types made of keywords, literals, `Array<T>`, object
// literals with index signatures, unions, intersections and parentheses. Classes are skipped.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isObject, type Json } from './yaml-objects.js';

// ---------------------------------------------------------------- a parser for generated .d.ts

type TypeNode =
  | { readonly k: 'scalar' }
  | { readonly k: 'any' }
  | { readonly k: 'ref'; readonly name: string; readonly args: readonly TypeNode[] }
  | { readonly k: 'array'; readonly item: TypeNode }
  | { readonly k: 'object'; readonly props: ReadonlyMap<string, TypeNode>; readonly index?: TypeNode }
  | { readonly k: 'union' | 'intersection'; readonly types: readonly TypeNode[] };

interface Declarations {
  readonly path: string;
  /** local name → type (interfaces become object types; `extends` names in `bases`) */
  readonly types: Map<string, { node: TypeNode; bases: string[] }>;
  /** local name → [module specifier, exported name] */
  readonly imports: Map<string, readonly [string, string]>;
  /** exported name → local name */
  readonly exports: Map<string, string>;
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  const re = /\s+|\/\*[\s\S]*?\*\/|\/\/[^\n]*|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|([A-Za-z_$][\w$]*)|(-?\d+(?:\.\d+)?)|(=>|[{}()[\]<>;:,?|&=.*])/gy;
  for (let pos = 0; pos < text.length; pos = re.lastIndex) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw new Error(`cannot tokenize declarations near: ${text.slice(pos, pos + 40)}`);
    const tok = m[1] ?? m[2] ?? m[3] ?? m[4];
    if (tok !== undefined) tokens.push(tok);
  }
  return tokens;
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: string[], private readonly path: string) {}

  private peek(offset = 0): string | undefined {
    return this.tokens[this.pos + offset];
  }
  private next(): string {
    const t = this.tokens[this.pos++];
    if (t === undefined) throw new Error(`${this.path}: unexpected end of declarations`);
    return t;
  }
  private expect(tok: string): void {
    const t = this.next();
    if (t !== tok) throw new Error(`${this.path}: expected "${tok}", got "${t}" (token ${this.pos})`);
  }
  private eat(tok: string): boolean {
    if (this.peek() === tok) {
      this.pos++;
      return true;
    }
    return false;
  }
  private skipBalanced(open: string, close: string): void {
    this.expect(open);
    for (let depth = 1; depth > 0; ) {
      const t = this.next();
      if (t === open) depth++;
      else if (t === close) depth--;
    }
  }
  /** Skips to the end of a statement: a `;`, or a top-level `{...}` body (classes, functions). */
  private skipStatement(): void {
    while (this.peek() !== undefined && this.peek() !== ';') {
      if (this.peek() === '{') {
        this.skipBalanced('{', '}');
        break;
      }
      this.pos++;
    }
    this.eat(';');
  }

  parseFile(decl: Declarations): void {
    while (this.peek() !== undefined) {
      const t = this.peek();
      if (t === 'import') this.parseImport(decl);
      else if (t === 'export' && this.peek(1) === '{') this.parseExportList(decl);
      else if (t === 'export' || t === 'declare' || t === 'interface' || t === 'type' || t === 'class') this.parseDeclaration(decl);
      else this.skipStatement();
    }
  }

  private parseImport(decl: Declarations): void {
    this.expect('import');
    if (this.peek() !== '{') return this.skipStatement();
    this.next();
    const names: [string, string][] = [];
    while (!this.eat('}')) {
      const exported = this.next();
      const local = this.eat('as') ? this.next() : exported;
      names.push([local, exported]);
      this.eat(',');
    }
    this.expect('from');
    const spec = this.next().slice(1, -1);
    this.eat(';');
    for (const [local, exported] of names) decl.imports.set(local, [spec, exported]);
  }

  private parseExportList(decl: Declarations): void {
    this.expect('export');
    this.expect('{');
    while (!this.eat('}')) {
      const local = this.next();
      const exported = this.eat('as') ? this.next() : local;
      decl.exports.set(exported, local);
      this.eat(',');
    }
    if (this.eat('from')) this.next();
    this.eat(';');
  }

  private parseDeclaration(decl: Declarations): void {
    this.eat('export');
    this.eat('declare');
    const what = this.next();
    if (what === 'interface') {
      const name = this.next();
      if (this.peek() === '<') this.skipBalanced('<', '>');
      const bases: string[] = [];
      if (this.eat('extends')) {
        do {
          bases.push(this.next());
          if (this.peek() === '<') this.skipBalanced('<', '>');
        } while (this.eat(','));
      }
      decl.types.set(name, { node: this.parseObject(), bases });
    } else if (what === 'type') {
      const name = this.next();
      if (this.peek() === '<') this.skipBalanced('<', '>');
      this.expect('=');
      decl.types.set(name, { node: this.parseType(), bases: [] });
      this.eat(';');
    } else this.skipStatement(); // classes, functions, consts
  }

  private parseObject(): TypeNode {
    this.expect('{');
    const props = new Map<string, TypeNode>();
    let index: TypeNode | undefined;
    while (!this.eat('}')) {
      this.eat('readonly');
      if (this.peek() === '[') {
        this.next();
        this.next(); // key name
        this.expect(':');
        this.parseType();
        this.expect(']');
        this.expect(':');
        index = this.parseType();
      } else {
        const raw = this.next();
        const name = raw.startsWith('"') || raw.startsWith("'") ? (JSON.parse(raw.replace(/^'|'$/g, '"')) as string) : raw;
        this.eat('?');
        this.expect(':');
        props.set(name, this.parseType());
      }
      if (!this.eat(';')) this.eat(',');
    }
    return { k: 'object', props, ...(index ? { index } : {}) };
  }

  parseType(): TypeNode {
    this.eat('|');
    const types = [this.parseIntersection()];
    while (this.eat('|')) types.push(this.parseIntersection());
    return types.length === 1 ? types[0]! : { k: 'union', types };
  }

  private parseIntersection(): TypeNode {
    this.eat('&');
    const types = [this.parsePostfix()];
    while (this.eat('&')) types.push(this.parsePostfix());
    return types.length === 1 ? types[0]! : { k: 'intersection', types };
  }

  private parsePostfix(): TypeNode {
    let t = this.parsePrimary();
    while (this.peek() === '[' && this.peek(1) === ']') {
      this.pos += 2;
      t = { k: 'array', item: t };
    }
    return t;
  }

  private parsePrimary(): TypeNode {
    const t = this.peek();
    if (t === '(') {
      this.next();
      const inner = this.parseType();
      this.expect(')');
      return inner;
    }
    if (t === '{') return this.parseObject();
    this.next();
    if (t === undefined) throw new Error(`${this.path}: unexpected end in a type`);
    if (t.startsWith('"') || t.startsWith("'") || /^-?\d/.test(t)) return { k: 'scalar' };
    if (['string', 'number', 'boolean', 'null', 'undefined', 'true', 'false', 'bigint', 'never', 'void'].includes(t)) return { k: 'scalar' };
    if (t === 'any' || t === 'unknown' || t === 'object') return { k: 'any' };
    let name = t;
    while (this.eat('.')) name += `.${this.next()}`;
    const args: TypeNode[] = [];
    if (this.eat('<')) {
      do args.push(this.parseType());
      while (this.eat(','));
      this.expect('>');
    }
    return { k: 'ref', name, args };
  }
}

// ---------------------------------------------------------------- shapes

type Shape =
  | { readonly kind: 'any' }
  | { readonly kind: 'scalar' }
  | { readonly kind: 'array'; readonly item: () => Shape }
  | { readonly kind: 'object'; readonly props: ReadonlyMap<string, () => Shape>; readonly index?: () => Shape };

const ANY: Shape = { kind: 'any' };
const SCALAR: Shape = { kind: 'scalar' };

const files = new Map<string, Declarations>();
const shapes = new Map<string, Shape>();

function declarations(path: string): Declarations {
  const cached = files.get(path);
  if (cached) return cached;
  const decl: Declarations = { path, types: new Map(), imports: new Map(), exports: new Map() };
  new Parser(tokenize(readFileSync(path, 'utf8')), path).parseFile(decl);
  files.set(path, decl);
  return decl;
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

function lazy(f: () => Shape): () => Shape {
  let value: Shape | undefined;
  return () => (value ??= f());
}

function shapeOfName(file: Declarations, name: string): Shape {
  const key = `${file.path}#${name}`;
  const cached = shapes.get(key);
  if (cached) return cached;
  shapes.set(key, ANY); // breaks cycles (e.g. JSONSchemaProps); refined below
  let shape: Shape = ANY;
  const local = file.exports.get(name) ?? name;
  const own = file.types.get(local);
  if (own) {
    shape = shapeOfType(file, own.node);
    if (shape.kind === 'object' && own.bases.length > 0) {
      const props = new Map(shape.props);
      for (const b of own.bases) {
        const base = shapeOfName(file, b);
        if (base.kind === 'object') for (const [k, v] of base.props) if (!props.has(k)) props.set(k, v);
      }
      // TypeMeta (from @kubernetes-models/base) adds these two to every top-level kind.
      for (const k of ['apiVersion', 'kind']) if (!props.has(k)) props.set(k, () => SCALAR);
      shape = { kind: 'object', props, ...(shape.index ? { index: shape.index } : {}) };
    }
  } else {
    const imported = file.imports.get(local);
    const target = imported ? resolveModule(file.path, imported[0]) : undefined;
    if (imported && target) shape = shapeOfName(declarations(target), imported[1]);
  }
  shapes.set(key, shape);
  return shape;
}

function mergeObjects(parts: readonly Shape[]): Shape {
  if (parts.some((p) => p.kind === 'any')) return ANY;
  const objects = parts.filter((p): p is Extract<Shape, { kind: 'object' }> => p.kind === 'object');
  if (objects.length === 0) return parts.find((p) => p.kind === 'array') ?? SCALAR;
  const props = new Map<string, () => Shape>();
  let index: (() => Shape) | undefined;
  for (const o of objects) {
    for (const [k, v] of o.props) if (!props.has(k)) props.set(k, v);
    index ??= o.index;
  }
  return { kind: 'object', props, ...(index ? { index } : {}) };
}

function shapeOfType(file: Declarations, node: TypeNode): Shape {
  switch (node.k) {
    case 'scalar':
      return SCALAR;
    case 'any':
      return ANY;
    case 'array':
      return { kind: 'array', item: lazy(() => shapeOfType(file, node.item)) };
    case 'object': {
      const props = new Map<string, () => Shape>();
      for (const [k, t] of node.props) props.set(k, lazy(() => shapeOfType(file, t)));
      const idx = node.index;
      return { kind: 'object', props, ...(idx ? { index: lazy(() => shapeOfType(file, idx)) } : {}) };
    }
    // Literal unions are enums (validate() checks them); object unions (oneOf): any branch's fields.
    case 'union':
      return mergeObjects(node.types.map((t) => shapeOfType(file, t)));
    // Istio's oneOf encoding is `{all fields} & (Exclude<...> | ...)`: only object literals list fields.
    case 'intersection': {
      const parts = node.types.map((t) => shapeOfType(file, t)).filter((p) => p.kind === 'object');
      return parts.length > 0 ? mergeObjects(parts) : ANY;
    }
    case 'ref': {
      if ((node.name === 'Array' || node.name === 'ReadonlyArray') && node.args[0]) {
        const item = node.args[0];
        return { kind: 'array', item: lazy(() => shapeOfType(file, item)) };
      }
      if (node.args.length > 0 || node.name.includes('.')) return ANY; // Exclude<>, Record<>, import("...").X
      return shapeOfName(file, node.name);
    }
  }
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

/** kubernetes-models/<group>/<version>/<Kind>.d.ts or @kubernetes-models/istio/<group>/<version>/<Kind>.d.ts */
export function declarationFile(root: string, apiVersion: string, kind: string): string | undefined {
  const pkg = apiVersion.includes('istio.io') ? 'node_modules/@kubernetes-models/istio' : 'node_modules/kubernetes-models';
  const file = join(root, pkg, apiVersion, `${kind}.d.ts`);
  return existsSync(file) ? file : undefined;
}

/**
 * The unknown-field paths of a Kubernetes object, or undefined when its kind has no declaration in
 * kubernetes-models / @kubernetes-models/istio. `root` is the repository root.
 */
export function unknownFieldsOf(root: string, obj: { apiVersion: string; kind: string } & Record<string, Json>): string[] | undefined {
  const dts = declarationFile(root, obj.apiVersion, obj.kind);
  if (!dts) return undefined;
  const shape = shapeOfName(declarations(dts), `I${obj.kind}`);
  if (shape.kind !== 'object') return undefined;
  const out: string[] = [];
  unknownFields(obj, shape, '', out);
  return out;
}
