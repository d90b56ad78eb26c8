// Test helpers for lib/merkle: a seeded PRNG (reproducible failures: the seed is in the test title)
// and an independent reference of the RFC 6962 recursion, written straight from RFC 6962 §2.1.
import { createHash } from 'node:crypto';

/** mulberry32: a tiny, fast, seeded 32-bit PRNG. */
export function prng(seed: number): { next(): number; int(max: number): number; bytes(n: number): Uint8Array } {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (max) => Math.floor(next() * max),
    bytes: (n) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = (next() * 256) | 0;
      return out;
    },
  };
}

export function sha(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
export const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

/** RFC 6962 §2.1 MTH, recursive, over leaf hashes. */
export function referenceRoot(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha(Uint8Array.of(1), referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

export const referenceLeaf = (d: Uint8Array) => sha(Uint8Array.of(0), d);

/** The file's chunks, cut independently of lib/merkle. */
export function chunksOf(data: Uint8Array, c: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < data.length; o += c) out.push(data.subarray(o, Math.min(o + c, data.length)));
  return out;
}

export function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), false);
  return b;
}

export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}
