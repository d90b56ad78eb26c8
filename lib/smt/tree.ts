// The state tree of consensus (DESIGN §3, §5): a versioned sparse Merkle tree over a KvStore.
// Nodes are immutable and content-addressed (node.ts), so an update writes only new nodes and every
// older root stays readable: the root after each block is kept under its round (Bucket.smtRoot).
import { Bucket, bucketKey, type KvOp, type KvStore, type KvWriteOptions } from '../storage/kv.js';
import { SmtError, SmtErrorCode } from './errors.js';
import {
  EMPTY,
  assertKey,
  compareKeys,
  copyOf,
  decodeNode,
  decodeValue,
  encodeNode,
  encodeValue,
  equalBytes,
  isEmpty,
  keyBit,
  objectHash,
  type SmtNode,
} from './node.js';
import type { SmtProof } from './proof.js';
import { kvNodeSource, smtNodeKey, type NodeSource } from './source.js';

/** One change of a batch: a put, or a delete when value is null. */
export interface SmtChange {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
}

export interface SparseMerkleTreeOptions {
  /** Where new nodes are written and versions kept. */
  readonly kv: KvStore;
  /** Where nodes are read from (default: the same kv). Loads are verified against their hash. */
  readonly source?: NodeSource;
  /** Decoded nodes kept in memory (default 200,000, ~40 MB). Nodes never change, so caching is safe. */
  readonly cacheSize?: number;
}

/** A subtree after an update: its hash, and its kind when known (needed to lift lone leaves). */
interface Ref {
  readonly hash: Uint8Array;
  readonly kind: 'empty' | 'leaf' | 'internal' | 'unknown';
}

interface Entry {
  readonly key: Uint8Array;
  /** null: delete */
  readonly valueHash: Uint8Array | null;
}

const EMPTY_REF: Ref = { hash: EMPTY, kind: 'empty' };

const hexOf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export class SparseMerkleTree {
  private readonly kv: KvStore;
  private readonly source: NodeSource;
  private readonly cacheSize: number;
  // Two generations: new entries go to `young`; when it fills, it becomes `old` and the previous old is
  // dropped. O(1) per operation and bounded at cacheSize (a Map used as a FIFO, deleting its first key,
  // degrades badly once V8 has to skip many deleted entries).
  private young = new Map<string, SmtNode>();
  private old = new Map<string, SmtNode>();

  constructor(options: SparseMerkleTreeOptions) {
    this.kv = options.kv;
    this.source = options.source ?? kvNodeSource(options.kv);
    this.cacheSize = options.cacheSize ?? 200_000;
  }

  /** The root of the empty tree. */
  static get emptyRoot(): Uint8Array {
    return EMPTY.slice();
  }

  /** The value of `key` under `root`, or null when absent. */
  async get(root: Uint8Array, key: Uint8Array): Promise<Uint8Array | null> {
    assertKey(root, 'root');
    assertKey(key);
    let h = root;
    for (let d = 0; ; d++) {
      if (isEmpty(h)) return null;
      const node = await this.load(h);
      if (node.kind === 'leaf') {
        if (!equalBytes(node.key, key)) return null;
        return decodeValue(await this.loadObject(node.valueHash));
      }
      h = keyBit(key, d) === 0 ? node.left : node.right;
    }
  }

  /** Proof of membership (key present) or non-membership (absent) under `root`. */
  async prove(root: Uint8Array, key: Uint8Array): Promise<SmtProof> {
    assertKey(root, 'root');
    assertKey(key);
    const siblings: Uint8Array[] = [];
    let h = root;
    for (let d = 0; ; d++) {
      if (isEmpty(h)) return { siblings, leaf: null };
      const node = await this.load(h);
      if (node.kind === 'leaf') return { siblings, leaf: { key: node.key.slice(), valueHash: node.valueHash.slice() } };
      const right = keyBit(key, d) === 1;
      siblings.push((right ? node.left : node.right).slice());
      h = right ? node.right : node.left;
    }
  }

  /**
   * Applies a batch of puts and deletes to the tree at `root` and returns the new root. New nodes are
   * written in one atomic batch (pass { sync: true } before acknowledging anything built on it, §7).
   * When a key appears more than once, its last change wins.
   */
  async update(root: Uint8Array, changes: Iterable<SmtChange>, options: KvWriteOptions = {}): Promise<Uint8Array> {
    assertKey(root, 'root');
    const writes = new Map<string, KvOp>();
    const byKey = new Map<string, Entry>();
    for (const c of changes) {
      assertKey(c.key);
      const k = hexOf(c.key);
      byKey.delete(k); // re-insert so the last change is the one kept
      if (c.value === null) {
        byKey.set(k, { key: c.key.slice(), valueHash: null });
      } else {
        if (!(c.value instanceof Uint8Array)) {
          throw new SmtError(SmtErrorCode.INVALID_ARGUMENT, `smt: value: expected Uint8Array or null, got ${typeof c.value}`);
        }
        const enc = encodeValue(c.value);
        const vh = objectHash(enc);
        writes.set(hexOf(vh), { type: 'put', key: smtNodeKey(vh), value: enc });
        byKey.set(k, { key: c.key.slice(), valueHash: vh });
      }
    }
    if (byKey.size === 0) return root.slice();
    const entries = [...byKey.values()].sort((a, b) => compareKeys(a.key, b.key));

    const ref = await this.updateAt({ hash: root, kind: 'unknown' }, 0, entries, 0, entries.length, writes);
    if (writes.size > 0) await this.kv.batch([...writes.values()], options);
    return ref.hash.slice();
  }

  /** Records `root` as the state after block `version` (the round). */
  async commitVersion(version: number | bigint, root: Uint8Array, options: KvWriteOptions = {}): Promise<void> {
    assertKey(root, 'root');
    if (!isEmpty(root)) await this.load(root); // refuse to commit a root whose node is nowhere
    await this.kv.put(versionKey(version), root.slice(), options);
  }

  /** The root committed for `version`, or null. */
  async rootAt(version: number | bigint): Promise<Uint8Array | null> {
    const root = await this.kv.get(versionKey(version));
    return root === null ? null : copyOf(root, 0, root.length);
  }

  /** The highest committed version and its root (after a restart: where to resume), or null. */
  async latestVersion(): Promise<{ version: bigint; root: Uint8Array } | null> {
    const prefix = Uint8Array.of(Bucket.smtRoot);
    for await (const e of this.kv.range({ gte: prefix, lt: Uint8Array.of(Bucket.smtRoot + 1), reverse: true, limit: 1 })) {
      const version = new DataView(e.key.buffer, e.key.byteOffset, e.key.byteLength).getBigUint64(1, false);
      return { version, root: copyOf(e.value, 0, e.value.length) };
    }
    return null;
  }

  /** The encoding of the object with this hash (to serve it to a peer that misses it), or null. */
  async getObject(hash: Uint8Array): Promise<Uint8Array | null> {
    assertKey(hash, 'hash');
    return this.source.getNode(hash);
  }

  // ---- the batch update: a recursive split of the sorted keys over the existing tree ----

  private async updateAt(sub: Ref, depth: number, entries: Entry[], lo: number, hi: number, writes: Map<string, KvOp>): Promise<Ref> {
    if (lo === hi) return sub;
    if (isEmpty(sub.hash)) return this.build(depth, entries.slice(lo, hi).filter(isPut), writes);
    const node = await this.load(sub.hash);
    if (node.kind === 'leaf') {
      // The lone leaf of this subtree joins the batch unless the batch changes its key.
      const batch = entries.slice(lo, hi);
      const merged = batch.some((e) => equalBytes(e.key, node.key))
        ? batch
        : [...batch, { key: node.key, valueHash: node.valueHash }].sort((a, b) => compareKeys(a.key, b.key));
      return this.build(depth, merged.filter(isPut), writes);
    }
    const mid = splitPoint(entries, lo, hi, depth);
    const [left, right] = await Promise.all([
      this.updateAt({ hash: node.left, kind: 'unknown' }, depth + 1, entries, lo, mid, writes),
      this.updateAt({ hash: node.right, kind: 'unknown' }, depth + 1, entries, mid, hi, writes),
    ]);
    if (equalBytes(left.hash, node.left) && equalBytes(right.hash, node.right)) return { hash: sub.hash, kind: 'internal' };
    return this.join(left, right, writes);
  }

  /** T(S, depth) for entries (all puts, sorted) below an empty subtree. */
  private build(depth: number, entries: Entry[], writes: Map<string, KvOp>): Ref {
    if (entries.length === 0) return EMPTY_REF;
    if (entries.length === 1) return this.write({ kind: 'leaf', key: entries[0]!.key, valueHash: entries[0]!.valueHash! }, writes);
    const mid = splitPoint(entries, 0, entries.length, depth);
    const left = mid === 0 ? EMPTY_REF : this.build(depth + 1, entries.slice(0, mid), writes);
    const right = mid === entries.length ? EMPTY_REF : this.build(depth + 1, entries.slice(mid), writes);
    return this.write({ kind: 'internal', left: left.hash, right: right.hash }, writes);
  }

  /** NODE(left, right), keeping the tree canonical: an empty subtree beside a lone leaf lifts the leaf. */
  private async join(left: Ref, right: Ref, writes: Map<string, KvOp>): Promise<Ref> {
    // Only a side next to an empty one needs its kind; the other side is not loaded.
    const le = isEmpty(left.hash);
    const re = isEmpty(right.hash);
    if (le && re) return EMPTY_REF;
    if (le && (await this.kindOf(right)) === 'leaf') return right;
    if (re && (await this.kindOf(left)) === 'leaf') return left;
    return this.write({ kind: 'internal', left: left.hash, right: right.hash }, writes);
  }

  private async kindOf(ref: Ref): Promise<Ref['kind']> {
    if (ref.kind !== 'unknown') return ref.kind;
    if (isEmpty(ref.hash)) return 'empty';
    return (await this.load(ref.hash)).kind;
  }

  private write(node: SmtNode, writes: Map<string, KvOp>): Ref {
    const enc = encodeNode(node);
    const hash = objectHash(enc);
    const hex = hexOf(hash);
    writes.set(hex, { type: 'put', key: smtNodeKey(hash), value: enc });
    this.remember(hex, node);
    return { hash, kind: node.kind };
  }

  // ---- loading, verified against the hash, through a bounded cache ----

  private async load(hash: Uint8Array): Promise<SmtNode> {
    const hex = hexOf(hash);
    const cached = this.young.get(hex) ?? this.old.get(hex);
    if (cached) {
      if (!this.young.has(hex)) this.remember(hex, cached);
      return cached;
    }
    const node = decodeNode(await this.loadObject(hash));
    this.remember(hex, node);
    return node;
  }

  private async loadObject(hash: Uint8Array): Promise<Uint8Array> {
    const bytes = await this.source.getNode(hash);
    if (bytes === null) throw new SmtError(SmtErrorCode.MISSING_NODE, `smt: object ${hexOf(hash)} is in no source`);
    if (!equalBytes(objectHash(bytes), hash)) {
      throw new SmtError(SmtErrorCode.CORRUPT_NODE, `smt: object ${hexOf(hash)}: the bytes returned hash to ${hexOf(objectHash(bytes))}`);
    }
    return bytes;
  }

  private remember(hex: string, node: SmtNode): void {
    if (this.cacheSize <= 0) return;
    if (this.young.size >= Math.ceil(this.cacheSize / 2)) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(hex, node);
  }
}

function isPut(e: Entry): boolean {
  return e.valueHash !== null;
}

/** First index in [lo, hi) whose key has bit `depth` set (entries are sorted, so they are all after). */
function splitPoint(entries: readonly Entry[], lo: number, hi: number, depth: number): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (keyBit(entries[m]!.key, depth) === 0) a = m + 1;
    else b = m;
  }
  return a;
}

function versionKey(version: number | bigint): Uint8Array {
  const v = typeof version === 'bigint' ? version : Number.isSafeInteger(version) ? BigInt(version) : -1n;
  if (v < 0n || v >= 1n << 64n) {
    throw new SmtError(SmtErrorCode.INVALID_ARGUMENT, `smt: version: expected an integer in [0, 2^64), got ${String(version)}`);
  }
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, false);
  return bucketKey(Bucket.smtRoot, b);
}

