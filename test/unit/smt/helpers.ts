// Test helpers for lib/smt: a seeded PRNG and the tree's definition (docs/smt.md) written again,
// independently of lib/smt, as a from-scratch rebuild over a plain Map.
import { createHash } from 'node:crypto';

export { prng } from '../merkle/helpers.js';

export function sha(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
export const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

const bit = (key: Uint8Array, i: number) => (key[i >> 3]! >> (7 - (i & 7))) & 1;

/** T(S, 0) over a Map from hex key to value. */
export function referenceRoot(state: Map<string, Uint8Array>): Uint8Array {
  const entries = [...state.entries()].map(([k, v]) => ({ key: unhex(k), vh: sha(Uint8Array.of(0x12), v) }));
  const t = (s: typeof entries, d: number): Uint8Array => {
    if (s.length === 0) return new Uint8Array(32);
    if (s.length === 1) return sha(Uint8Array.of(0x10), s[0]!.key, s[0]!.vh);
    return sha(Uint8Array.of(0x11), t(s.filter((e) => bit(e.key, d) === 0), d + 1), t(s.filter((e) => bit(e.key, d) === 1), d + 1));
  };
  return t(entries, 0);
}
