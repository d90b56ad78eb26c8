// Sparse Merkle tree: hashes and node encodings (the definitions; docs/smt.md repeats them).
//
// Keys are 32 bytes (state key = SHA-256 of the path, DESIGN §3); bit i of a key is bit 7 − (i mod 8)
// of byte ⌊i/8⌋ (most significant first); bit 0 chooses the root's child (0 left, 1 right).
//
// The tree is the 256-level SMT with every subtree that holds exactly one leaf replaced by that leaf,
// and every empty subtree by EMPTY (as Diem's Jellyfish Merkle tree does). It is a function of the key
// set alone:
//
//   T(S, d) = EMPTY                              if S = {}
//           = LEAF(k, vh)                        if S = {(k, vh)}
//           = NODE(T(S₀, d+1), T(S₁, d+1))       otherwise, S_b = entries whose key bit d is b
//   root    = T(all entries, 0)
//
//   EMPTY         = 32 zero bytes (no SHA-256 preimage is known, so no node hashes to it)
//   valueHash vh  = SHA-256(0x12 ‖ value)
//   LEAF(k, vh)   = SHA-256(0x10 ‖ k ‖ vh)
//   NODE(l, r)    = SHA-256(0x11 ‖ l ‖ r)
//
// Why the shortcut rather than the plain 256-level tree with per-level default hashes: an update then
// costs O(log n) hashes instead of 256, and proofs are as short. The "precomputed default hashes" are
// all EMPTY here, because a lone leaf never sits under a chain of defaults.
//
// Every stored object is its encoding, and its id is SHA-256(encoding): the three encodings are
// exactly the preimages above (0x10 ‖ k ‖ vh, 0x11 ‖ l ‖ r, 0x12 ‖ value). So a node or value fetched by
// hash from anyone is checked by hashing it. The domain bytes differ from lib/merkle's (0x00..0x04), so
// no file-tree hash can pass as a state-tree hash.
import { sha256One } from '../merkle/sha256.js';
import { SmtError, SmtErrorCode } from './errors.js';

export const KEY_LENGTH = 32;
export const HASH_LENGTH = 32;
export const MAX_DEPTH = 256;

export enum SmtTag {
  leaf = 0x10,
  internal = 0x11,
  value = 0x12,
}

export const EMPTY: Uint8Array = new Uint8Array(HASH_LENGTH);

export type SmtNode =
  | { readonly kind: 'leaf'; readonly key: Uint8Array; readonly valueHash: Uint8Array }
  | { readonly kind: 'internal'; readonly left: Uint8Array; readonly right: Uint8Array };

export function isEmpty(h: Uint8Array): boolean {
  for (let i = 0; i < HASH_LENGTH; i++) if (h[i] !== 0) return false;
  return true;
}

export function keyBit(key: Uint8Array, i: number): number {
  return (key[i >> 3]! >> (7 - (i & 7))) & 1;
}

export function encodeNode(node: SmtNode): Uint8Array {
  const out = new Uint8Array(1 + 2 * HASH_LENGTH);
  if (node.kind === 'leaf') {
    out[0] = SmtTag.leaf;
    out.set(node.key, 1);
    out.set(node.valueHash, 1 + KEY_LENGTH);
  } else {
    out[0] = SmtTag.internal;
    out.set(node.left, 1);
    out.set(node.right, 1 + HASH_LENGTH);
  }
  return out;
}

/** Decodes a leaf or internal node; throws SmtError(CORRUPT_NODE) on anything else. */
export function decodeNode(bytes: Uint8Array): SmtNode {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 1 + 2 * HASH_LENGTH) {
    throw new SmtError(SmtErrorCode.CORRUPT_NODE, `smt: node: expected 65 bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`);
  }
  const a = copyOf(bytes, 1, 33);
  const b = copyOf(bytes, 33, 65);
  if (bytes[0] === SmtTag.leaf) return { kind: 'leaf', key: a, valueHash: b };
  if (bytes[0] === SmtTag.internal) {
    // a node over two empty subtrees is not canonical (T would be EMPTY)
    if (isEmpty(a) && isEmpty(b)) throw new SmtError(SmtErrorCode.CORRUPT_NODE, 'smt: internal node with two empty children');
    return { kind: 'internal', left: a, right: b };
  }
  throw new SmtError(SmtErrorCode.CORRUPT_NODE, `smt: node: unknown tag 0x${(bytes[0] ?? 0).toString(16)}`);
}

/** The id of any stored object: SHA-256 of its encoding. */
export function objectHash(encoding: Uint8Array): Uint8Array {
  return sha256One(encoding);
}

export function hashNode(node: SmtNode): Uint8Array {
  return sha256One(encodeNode(node));
}

export function leafHash(key: Uint8Array, valueHash: Uint8Array): Uint8Array {
  return hashNode({ kind: 'leaf', key, valueHash });
}

export function internalHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return hashNode({ kind: 'internal', left, right });
}

export function encodeValue(value: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + value.length);
  out[0] = SmtTag.value;
  out.set(value, 1);
  return out;
}

/** vh = SHA-256(0x12 ‖ value): the id of the stored value object. */
export function valueHash(value: Uint8Array): Uint8Array {
  return sha256One(encodeValue(value));
}

export function decodeValue(bytes: Uint8Array): Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length < 1 || bytes[0] !== SmtTag.value) {
    throw new SmtError(SmtErrorCode.CORRUPT_NODE, 'smt: value object: expected tag 0x12');
  }
  return copyOf(bytes, 1, bytes.length);
}

/**
 * A plain Uint8Array copy of bytes[start, end). Not bytes.slice(): stores may hand back Buffers, whose
 * slice() is a view into the store's memory and which compare unequal to plain arrays.
 */
export function copyOf(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(bytes.subarray(start, end));
  return out;
}

export function assertKey(key: unknown, what = 'key'): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== KEY_LENGTH) {
    throw new SmtError(
      SmtErrorCode.INVALID_ARGUMENT,
      `smt: ${what}: expected ${KEY_LENGTH} bytes, got ${key instanceof Uint8Array ? `${key.length} bytes` : typeof key}`,
    );
  }
}

export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < KEY_LENGTH; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
