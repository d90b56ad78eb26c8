// The state tree of consensus (DESIGN §3, §5): a versioned sparse Merkle tree over a KvStore.
// Nodes are immutable and content-addressed (node.ts), so an update writes only new nodes and every
// older root stays readable: the root after each block is kept under its round (Bucket.smtRoot).
//
// Inside, hashes and keys are lowercase hex strings, not byte arrays: a batch touches hundreds of
// thousands of them, and small typed arrays (each with its own ArrayBuffer, many allocated by OpenSSL
// bindings) cost the garbage collector far more than flat strings; hex order is byte order, and the
// strings double as cache keys. Bytes appear only at the API and the store.
import * as nodeCrypto from 'node:crypto';
import { Bucket, bucketKey, type KvOp, type KvStore, type KvWriteOptions } from '../storage/kv.js';
import { SmtError, SmtErrorCode } from './errors.js';
import { SmtTag, assertKey, copyOf } from './node.js';
import type { SmtProof } from './proof.js';
import { LRUCache } from 'lru-cache';
import { TwoGenerationCache } from './generations.js';
import { kvNodeSource, type NodeSource } from './source.js';

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
  /** Decoded nodes kept in memory (default 200,000, ~50 MB). Nodes never change, so caching is safe. */
  readonly cacheSize?: number;
  /**
   * Encoded objects (nodes and values) kept in memory as written or read (default 50,000): value reads
   * and the block's state chunks (the objects an update just wrote, read back to cut them into chunks)
   * otherwise went to RocksDB every time, 15 % of a validator's main thread under the consensus
   * benchmark (2026-12-07). Objects never change, so caching is safe.
   */
  readonly objectCacheSize?: number;
}

type Hex = string;

/** A decoded node, hex inside. */
type HNode = { readonly leaf: true; readonly key: Hex; readonly vh: Hex } | { readonly leaf: false; readonly left: Hex; readonly right: Hex };

/** A subtree after an update: its hash, and its kind when known (needed to lift lone leaves). */
interface Ref {
  readonly hash: Hex;
  readonly kind: 'empty' | 'leaf' | 'internal' | 'unknown';
}

interface Entry {
  readonly key: Hex;
  /** null: delete */
  readonly vh: Hex | null;
}

const EMPTY_HEX: Hex = '0'.repeat(64);
const EMPTY_REF: Ref = { hash: EMPTY_HEX, kind: 'empty' };

type OneShot = (algorithm: string, data: Uint8Array, outputEncoding: 'hex') => string;
const oneShot = (nodeCrypto as unknown as { hash?: OneShot }).hash;
const sha256Hex: (data: Uint8Array) => Hex =
  typeof oneShot === 'function' ? (d) => oneShot('sha256', d, 'hex') : (d) => nodeCrypto.createHash('sha256').update(d).digest('hex');

const toHex = (b: Uint8Array): Hex => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const fromHex = (h: Hex): Uint8Array => {
  const out = new Uint8Array(h.length / 2);
  Buffer.from(out.buffer).write(h, 'hex');
  return out;
};

/** Value of each hex digit's character code. */
const NIBBLE = new Uint8Array(128);
for (let i = 0; i < 16; i++) NIBBLE[i.toString(16).charCodeAt(0)] = i;
function bitOf(key: Hex, i: number): number {
  return (NIBBLE[key.charCodeAt(i >> 2)]! >> (3 - (i & 3))) & 1;
}

// One scratch buffer for node encodings: JS is single-threaded and hashing is synchronous.
const scratch = Buffer.alloc(65);

function encodeInto(node: HNode): Buffer {
  scratch[0] = node.leaf ? SmtTag.leaf : SmtTag.internal;
  scratch.write(node.leaf ? node.key : node.left, 1, 'hex');
  scratch.write(node.leaf ? node.vh : node.right, 33, 'hex');
  return scratch;
}

function decode(bytes: Uint8Array): HNode {
  if (bytes.length !== 65) throw new SmtError(SmtErrorCode.CORRUPT_NODE, `smt: node: expected 65 bytes, got ${bytes.length}`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const a = b.toString('hex', 1, 33);
  const c = b.toString('hex', 33, 65);
  if (b[0] === SmtTag.leaf) return { leaf: true, key: a, vh: c };
  if (b[0] === SmtTag.internal) {
    // a node over two empty subtrees is not canonical (T would be EMPTY)
    if (a === EMPTY_HEX && c === EMPTY_HEX) throw new SmtError(SmtErrorCode.CORRUPT_NODE, 'smt: internal node with two empty children');
    return { leaf: false, left: a, right: c };
  }
  throw new SmtError(SmtErrorCode.CORRUPT_NODE, `smt: node: unknown tag 0x${(b[0] ?? 0).toString(16)}`);
}

function nodeKey(hash: Hex): Uint8Array {
  const k = new Uint8Array(33);
  k[0] = Bucket.smtNode;
  Buffer.from(k.buffer).write(hash, 1, 'hex');
  return k;
}

/** Versions whose roots are kept in memory. */
const RECENT_VERSIONS = 256;

export class SparseMerkleTree {
  private readonly kv: KvStore;
  private readonly source: NodeSource;
  /** Decoded nodes (generations.ts). */
  private readonly nodes: TwoGenerationCache<HNode>;
  /** Encoded objects, as written or verified here. */
  private readonly objects: TwoGenerationCache<Uint8Array>;
  /** Roots of recent versions (a committed version's root is read for every proof served of it). */
  private readonly versions = new LRUCache<string, Uint8Array>({ max: RECENT_VERSIONS });

  constructor(options: SparseMerkleTreeOptions) {
    this.kv = options.kv;
    this.source = options.source ?? kvNodeSource(options.kv);
    this.nodes = new TwoGenerationCache(options.cacheSize ?? 200_000);
    this.objects = new TwoGenerationCache(options.objectCacheSize ?? 50_000);
  }

  /** The root of the empty tree. */
  static get emptyRoot(): Uint8Array {
    return new Uint8Array(32);
  }

  /** The value of `key` under `root`, or null when absent. */
  async get(root: Uint8Array, key: Uint8Array): Promise<Uint8Array | null> {
    assertKey(root, 'root');
    assertKey(key);
    const k = toHex(key);
    let h = toHex(root);
    for (let d = 0; ; d++) {
      if (h === EMPTY_HEX) return null;
      const node = await this.load(h);
      if (node.leaf) {
        if (node.key !== k) return null;
        const bytes = await this.loadObject(node.vh);
        if (bytes[0] !== SmtTag.value) throw new SmtError(SmtErrorCode.CORRUPT_NODE, `smt: object ${node.vh} is not a value`);
        return copyOf(bytes, 1, bytes.length);
      }
      h = bitOf(k, d) === 0 ? node.left : node.right;
    }
  }

  /** Proof of membership (key present) or non-membership (absent) under `root`. */
  async prove(root: Uint8Array, key: Uint8Array): Promise<SmtProof> {
    assertKey(root, 'root');
    assertKey(key);
    const k = toHex(key);
    const siblings: Uint8Array[] = [];
    let h = toHex(root);
    for (let d = 0; ; d++) {
      if (h === EMPTY_HEX) return { siblings, leaf: null };
      const node = await this.load(h);
      if (node.leaf) return { siblings, leaf: { key: fromHex(node.key), valueHash: fromHex(node.vh) } };
      const right = bitOf(k, d) === 1;
      siblings.push(fromHex(right ? node.left : node.right));
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
    const writes = new Map<Hex, Uint8Array>();
    const byKey = new Map<Hex, Entry>();
    for (const c of changes) {
      assertKey(c.key);
      const k = toHex(c.key);
      byKey.delete(k); // re-insert so the last change is the one kept
      if (c.value === null) {
        byKey.set(k, { key: k, vh: null });
      } else {
        if (!(c.value instanceof Uint8Array)) {
          throw new SmtError(SmtErrorCode.INVALID_ARGUMENT, `smt: value: expected Uint8Array or null, got ${typeof c.value}`);
        }
        const enc = new Uint8Array(1 + c.value.length);
        enc[0] = SmtTag.value;
        enc.set(c.value, 1);
        const vh = sha256Hex(enc);
        writes.set(vh, enc);
        byKey.set(k, { key: k, vh });
      }
    }
    if (byKey.size === 0) return root.slice();
    const entries = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

    const ref = await this.updateAt({ hash: toHex(root), kind: 'unknown' }, 0, entries, 0, entries.length, writes);
    if (writes.size > 0) {
      const ops: KvOp[] = [];
      for (const [hash, value] of writes) ops.push({ type: 'put', key: nodeKey(hash), value });
      await this.kv.batch(ops, options);
      for (const [hash, value] of writes) this.objects.set(hash, value);
    }
    return fromHex(ref.hash);
  }

  /** Records `root` as the state after block `version` (the round). */
  async commitVersion(version: number | bigint, root: Uint8Array, options: KvWriteOptions = {}): Promise<void> {
    assertKey(root, 'root');
    const h = toHex(root);
    if (h !== EMPTY_HEX) await this.load(h); // refuse to commit a root whose node is nowhere
    await this.kv.put(versionKey(version), root.slice(), options);
    this.rememberVersion(version, root);
  }

  private rememberVersion(version: number | bigint, root: Uint8Array): void {
    this.versions.set(String(version), root.slice());
  }

  /** The root committed for `version`, or null. */
  async rootAt(version: number | bigint): Promise<Uint8Array | null> {
    const cached = this.versions.get(String(version));
    if (cached) return cached.slice();
    const root = await this.kv.get(versionKey(version));
    if (root === null) return null;
    this.rememberVersion(version, root);
    return copyOf(root, 0, root.length);
  }

  /** The highest committed version and its root (after a restart: where to resume), or null. */
  async latestVersion(): Promise<{ version: bigint; root: Uint8Array } | null> {
    for await (const e of this.kv.range({ gte: Uint8Array.of(Bucket.smtRoot), lt: Uint8Array.of(Bucket.smtRoot + 1), reverse: true, limit: 1 })) {
      const version = new DataView(e.key.buffer, e.key.byteOffset, e.key.byteLength).getBigUint64(1, false);
      return { version, root: copyOf(e.value, 0, e.value.length) };
    }
    return null;
  }

  /** The encoding of the object with this hash (to serve it to a peer that misses it), or null. */
  async getObject(hash: Uint8Array): Promise<Uint8Array | null> {
    assertKey(hash, 'hash');
    const cached = this.objects.get(toHex(hash));
    if (cached) return cached.slice();
    return this.source.getNode(hash);
  }

  // ---- the batch update: a recursive split of the sorted keys over the existing tree ----

  private async updateAt(sub: Ref, depth: number, entries: Entry[], lo: number, hi: number, writes: Map<Hex, Uint8Array>): Promise<Ref> {
    if (lo === hi) return sub;
    if (sub.hash === EMPTY_HEX) return this.build(depth, entries.slice(lo, hi).filter(isPut), writes);
    const node = await this.load(sub.hash);
    if (node.leaf) {
      // The lone leaf of this subtree joins the batch unless the batch changes its key.
      const batch = entries.slice(lo, hi);
      if (!batch.some((e) => e.key === node.key)) {
        let at = 0;
        while (at < batch.length && batch[at]!.key < node.key) at++;
        batch.splice(at, 0, { key: node.key, vh: node.vh });
      }
      return this.build(depth, batch.filter(isPut), writes);
    }
    const mid = splitPoint(entries, lo, hi, depth);
    const [left, right] = await Promise.all([
      this.updateAt({ hash: node.left, kind: 'unknown' }, depth + 1, entries, lo, mid, writes),
      this.updateAt({ hash: node.right, kind: 'unknown' }, depth + 1, entries, mid, hi, writes),
    ]);
    if (left.hash === node.left && right.hash === node.right) return { hash: sub.hash, kind: 'internal' };
    return this.join(left, right, writes);
  }

  /** T(S, depth) for entries (all puts, sorted) below an empty subtree. */
  private build(depth: number, entries: Entry[], writes: Map<Hex, Uint8Array>): Ref {
    if (entries.length === 0) return EMPTY_REF;
    if (entries.length === 1) return this.write({ leaf: true, key: entries[0]!.key, vh: entries[0]!.vh! }, writes);
    const mid = splitPoint(entries, 0, entries.length, depth);
    const left = mid === 0 ? EMPTY_REF : this.build(depth + 1, entries.slice(0, mid), writes);
    const right = mid === entries.length ? EMPTY_REF : this.build(depth + 1, entries.slice(mid), writes);
    return this.write({ leaf: false, left: left.hash, right: right.hash }, writes);
  }

  /** NODE(left, right), keeping the tree canonical: an empty subtree beside a lone leaf lifts the leaf. */
  private async join(left: Ref, right: Ref, writes: Map<Hex, Uint8Array>): Promise<Ref> {
    // Only a side next to an empty one needs its kind; the other side is not loaded.
    const le = left.hash === EMPTY_HEX;
    const re = right.hash === EMPTY_HEX;
    if (le && re) return EMPTY_REF;
    if (le && (await this.kindOf(right)) === 'leaf') return right;
    if (re && (await this.kindOf(left)) === 'leaf') return left;
    return this.write({ leaf: false, left: left.hash, right: right.hash }, writes);
  }

  private async kindOf(ref: Ref): Promise<Ref['kind']> {
    if (ref.kind !== 'unknown') return ref.kind;
    if (ref.hash === EMPTY_HEX) return 'empty';
    return (await this.load(ref.hash)).leaf ? 'leaf' : 'internal';
  }

  private write(node: HNode, writes: Map<Hex, Uint8Array>): Ref {
    const enc = encodeInto(node);
    const hash = sha256Hex(enc);
    writes.set(hash, new Uint8Array(enc));
    this.nodes.set(hash, node);
    return { hash, kind: node.leaf ? 'leaf' : 'internal' };
  }

  // ---- loading, verified against the hash, through a bounded cache ----

  private async load(hash: Hex): Promise<HNode> {
    const cached = this.nodes.get(hash);
    if (cached) return cached;
    const node = decode(await this.loadObject(hash));
    this.nodes.set(hash, node);
    return node;
  }

  /** An object's encoding, verified against its hash (from the object cache: written or verified here before). Callers do not change it. */
  private async loadObject(hash: Hex): Promise<Uint8Array> {
    const cached = this.objects.get(hash);
    if (cached) return cached;
    const bytes = await this.source.getNode(fromHex(hash));
    if (bytes === null) throw new SmtError(SmtErrorCode.MISSING_NODE, `smt: object ${hash} is in no source`);
    const got = sha256Hex(bytes);
    if (got !== hash) throw new SmtError(SmtErrorCode.CORRUPT_NODE, `smt: object ${hash}: the bytes returned hash to ${got}`);
    this.objects.set(hash, bytes);
    return bytes;
  }
}

function isPut(e: Entry): boolean {
  return e.vh !== null;
}

/** First index in [lo, hi) whose key has bit `depth` set (entries are sorted, so they are all after). */
function splitPoint(entries: readonly Entry[], lo: number, hi: number, depth: number): number {
  let a = lo;
  let b = hi;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (bitOf(entries[m]!.key, depth) === 0) a = m + 1;
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
