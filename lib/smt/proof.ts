// Proofs of membership and non-membership in the sparse Merkle tree (node.ts has the tree's definition).
//
// A proof for key k is the path from the root towards k until it ends, at depth d (0 ≤ d ≤ 256):
//   siblings[i]  the hash of the other child at depth i+1 (i = 0 is a child of the root), EMPTY allowed
//   leaf         what the path ends at: a leaf {key, valueHash}, or null for an empty subtree
// Membership: the leaf's key is k and its valueHash is that of the claimed value. Non-membership: the
// path ends at EMPTY, or at a leaf of another key whose first d bits equal k's (the lone leaf of that
// subtree, so k is not in it). Proofs are canonical: when d > 0 the deepest sibling is not EMPTY (else
// the subtree would have been lifted), so each (root, key) has exactly one valid proof.
//
// Wire form (compact: EMPTY siblings cost one bit):
//   u16be d ‖ bitmap (⌈d/8⌉ bytes; bit i, most significant first, set iff siblings[i] ≠ EMPTY; unused
//   bits zero) ‖ the non-EMPTY siblings, top-down, 32 bytes each ‖ u8 0 (no leaf) | u8 1 ‖ key ‖ valueHash
import {
  EMPTY,
  HASH_LENGTH,
  KEY_LENGTH,
  MAX_DEPTH,
  copyOf,
  equalBytes,
  internalHash,
  isEmpty,
  keyBit,
  leafHash,
  valueHash,
} from './node.js';

export interface SmtProofLeaf {
  readonly key: Uint8Array;
  readonly valueHash: Uint8Array;
}

export interface SmtProof {
  /** Siblings from the top (children of the root) down; EMPTY for empty subtrees. */
  readonly siblings: readonly Uint8Array[];
  /** The leaf the path ends at, or null when it ends at an empty subtree. */
  readonly leaf: SmtProofLeaf | null;
}

/**
 * True iff `proof` shows that `key` maps to `value` (or is absent, when `value` is null) in the tree
 * with this root. Accepts the object or its wire form. Never throws on hostile input.
 */
export function verifySmtProof(root: Uint8Array, key: Uint8Array, value: Uint8Array | null, proof: SmtProof | Uint8Array): boolean {
  const p = proof instanceof Uint8Array ? decodeSmtProof(proof) : proof;
  if (p === null || !isBytes(root, HASH_LENGTH) || !isBytes(key, KEY_LENGTH)) return false;
  if (value !== null && !(value instanceof Uint8Array)) return false;
  if (!Array.isArray(p.siblings)) return false;
  const d = p.siblings.length;
  if (d > MAX_DEPTH) return false;
  for (const s of p.siblings) if (!isBytes(s, HASH_LENGTH)) return false;
  if (d > 0 && isEmpty(p.siblings[d - 1]!)) return false; // not canonical

  let h: Uint8Array;
  if (p.leaf === null) {
    if (value !== null) return false;
    h = EMPTY;
  } else {
    const { key: lk, valueHash: vh } = p.leaf;
    if (!isBytes(lk, KEY_LENGTH) || !isBytes(vh, HASH_LENGTH)) return false;
    if (value !== null) {
      if (!equalBytes(lk, key) || !equalBytes(vh, valueHash(value))) return false;
    } else {
      if (equalBytes(lk, key)) return false;
      for (let i = 0; i < d; i++) if (keyBit(lk, i) !== keyBit(key, i)) return false;
    }
    h = leafHash(lk, vh);
  }
  for (let i = d - 1; i >= 0; i--) {
    const s = p.siblings[i]!;
    h = keyBit(key, i) === 0 ? internalHash(h, s) : internalHash(s, h);
  }
  return equalBytes(h, root);
}

export function encodeSmtProof(proof: SmtProof): Uint8Array {
  const d = proof.siblings.length;
  const nonEmpty = proof.siblings.filter((s) => !isEmpty(s));
  const bitmapLength = Math.ceil(d / 8);
  const out = new Uint8Array(2 + bitmapLength + HASH_LENGTH * nonEmpty.length + 1 + (proof.leaf ? KEY_LENGTH + HASH_LENGTH : 0));
  new DataView(out.buffer).setUint16(0, d, false);
  let o = 2 + bitmapLength;
  proof.siblings.forEach((s, i) => {
    if (isEmpty(s)) return;
    out[2 + (i >> 3)]! |= 0x80 >> (i & 7);
    out.set(s, o);
    o += HASH_LENGTH;
  });
  if (proof.leaf) {
    out[o++] = 1;
    out.set(proof.leaf.key, o);
    out.set(proof.leaf.valueHash, o + KEY_LENGTH);
  } else {
    out[o] = 0;
  }
  return out;
}

/** Inverse of encodeSmtProof; null on any malformed or non-canonical encoding. */
export function decodeSmtProof(bytes: Uint8Array): SmtProof | null {
  if (!(bytes instanceof Uint8Array) || bytes.length < 3) return null;
  const d = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(0, false);
  if (d > MAX_DEPTH) return null;
  const bitmapLength = Math.ceil(d / 8);
  if (bytes.length < 2 + bitmapLength + 1) return null;
  let count = 0;
  for (let i = 0; i < bitmapLength * 8; i++) {
    const bit = (bytes[2 + (i >> 3)]! >> (7 - (i & 7))) & 1;
    if (bit && i >= d) return null; // unused bits must be zero
    count += bit;
  }
  let o = 2 + bitmapLength;
  if (bytes.length < o + count * HASH_LENGTH + 1) return null;
  const siblings: Uint8Array[] = [];
  for (let i = 0; i < d; i++) {
    if ((bytes[2 + (i >> 3)]! >> (7 - (i & 7))) & 1) {
      const s = copyOf(bytes, o, o + HASH_LENGTH);
      if (isEmpty(s)) return null; // EMPTY has one encoding: a zero bit
      siblings.push(s);
      o += HASH_LENGTH;
    } else {
      siblings.push(new Uint8Array(HASH_LENGTH));
    }
  }
  const tag = bytes[o++];
  if (tag === 0) return o === bytes.length ? { siblings, leaf: null } : null;
  if (tag !== 1 || bytes.length !== o + KEY_LENGTH + HASH_LENGTH) return null;
  return { siblings, leaf: { key: copyOf(bytes, o, o + KEY_LENGTH), valueHash: copyOf(bytes, o + KEY_LENGTH, bytes.length) } };
}

function isBytes(b: unknown, length: number): b is Uint8Array {
  return b instanceof Uint8Array && b.length === length;
}
