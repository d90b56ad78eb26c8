// The parent graph of the labelling (docs/porep.md "Graph"), in the manner of Filecoin's Stacked DRG but
// defined here from scratch. Every definition is also in native/porep/src/porep.c, bit for bit.
//
// The graph is public and fixed: it depends only on the node count n and GRAPH_KEY. Its randomness is a
// keyed 32-bit mixer (not a cryptographic PRF: a graph needs no secrecy, only good spread, and the same
// cheap function must run in C and in JS on every node of every layer):
//
//   fmix(x)          MurmurHash3's 32-bit finaliser (a bijection of u32)
//   h32(k, x, y)     fmix(fmix(k ⊕ x) ⊕ y)
//   GRAPH_KEY        SHA-256("wolk/porep/graph/v1") read as eight u32be words k0..k7
//
// Base parents (same layer), degree 6, bucket sampling (Alwen–Blocki–Pietrzak; Filecoin drgraph.rs):
//   i = 0: none.  i = 1: six times node 0.
//   i ≥ 2: parent 0 = i − 1 (so a layer can only be labelled in order), and for j = 1..5:
//     v = 5i (the node's first "metagraph" index), B = ceil(log2 v),
//     b = 1 + h32(k0, i, 3j) mod B,  hi = 2^b (capped at v),  lo = max(2, floor(hi / 2)),
//     w = floor(h32(k0, i, 3j+1) / 2^11) · 2^32 + h32(k0, i, 3j+2)            (53 bits)
//     d = lo + w mod (hi − lo + 1),  parent j = floor((v − d) / 5)             (in [0, i − 1])
//   The distance is drawn from a random power-of-two bucket, so parents lie at every scale: the
//   property that makes the graph depth-robust (no small set of nodes cuts all long paths).
//
// Expander parents (previous layer, layers ≥ 2), degree 8: a keyed permutation π of [0, 8n),
//   parent k of node i = floor(π(8i + k) / 8), k = 0..7,
// so the 8n edge ends are matched one to one: every node of layer l−1 feeds exactly 8 edges into
// layer l, spread uniformly. π is a 4-round balanced Feistel network on 2h bits, h = ceil(bits(8n−1)/2):
//   (L, R) → (R, L ⊕ (h32(k_{1+r}, R, h) mod 2^h)), r = 0..3, and cycle walking (apply again while ≥ 8n).
import { sha256One } from '../merkle/sha256.js';
import { BASE_DEGREE, EXPANDER_DEGREE } from './params.js';

export const GRAPH_TAG = new TextEncoder().encode('wolk/porep/graph/v1');

/** GRAPH_KEY = SHA-256("wolk/porep/graph/v1"): the fixed graph seed. */
export const GRAPH_KEY: Uint8Array = sha256One(GRAPH_TAG).slice();

/** GRAPH_KEY as eight u32be words. */
const KEY: Uint32Array = (() => {
  const h = GRAPH_KEY;
  const v = new DataView(h.buffer, h.byteOffset, h.byteLength);
  return Uint32Array.from({ length: 8 }, (_, j) => v.getUint32(4 * j, false));
})();

function fmix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

function h32(k: number, x: number, y: number): number {
  return fmix(fmix((k ^ x) >>> 0) ^ y);
}

const TWO32 = 2 ** 32;

/** Smallest b with 2^b ≥ v (v ≥ 1). */
function ceilLog2(v: number): number {
  let b = 0;
  while (2 ** b < v) b++;
  return b;
}

/**
 * Writes node i's base parents into `out` (at least BASE_DEGREE entries) and returns how many there are:
 * 0 for node 0, BASE_DEGREE otherwise.
 */
export function baseParents(i: number, out: Uint32Array | number[]): number {
  if (i === 0) return 0;
  if (i === 1) {
    for (let j = 0; j < BASE_DEGREE; j++) out[j] = 0;
    return BASE_DEGREE;
  }
  const m = BASE_DEGREE - 1;
  const v = i * m;
  const buckets = ceilLog2(v);
  const k0 = KEY[0]!;
  out[0] = i - 1;
  for (let j = 1; j <= m; j++) {
    const b = 1 + (h32(k0, i, 3 * j) % buckets);
    const hi = Math.min(v, 2 ** b);
    const lo = Math.max(2, Math.floor(hi / 2));
    const w = Math.floor(h32(k0, i, 3 * j + 1) / 2048) * TWO32 + h32(k0, i, 3 * j + 2);
    const d = lo + (w % (hi - lo + 1));
    out[j] = Math.floor((v - d) / m);
  }
  return BASE_DEGREE;
}

/** The Feistel permutation of [0, 8n) for one node count, with its parameters precomputed. */
export class Expander {
  readonly domain: number;
  private readonly half: number;
  private readonly mask: number;
  private readonly scale: number;

  constructor(readonly nodes: number) {
    this.domain = EXPANDER_DEGREE * nodes;
    const bits = Math.max(2, ceilLog2(this.domain)); // bits to write domain − 1
    this.half = Math.ceil(bits / 2);
    this.scale = 2 ** this.half;
    this.mask = this.scale - 1;
  }

  private permuteOnce(x: number): number {
    let l = Math.floor(x / this.scale);
    let r = x % this.scale;
    for (let round = 0; round < 4; round++) {
      const t = r;
      r = (l ^ (h32(KEY[1 + round]!, r, this.half) & this.mask)) >>> 0;
      l = t;
    }
    return l * this.scale + r;
  }

  /** π(x) for x in [0, 8n), by cycle walking. */
  permute(x: number): number {
    let y = this.permuteOnce(x);
    while (y >= this.domain) y = this.permuteOnce(y);
    return y;
  }

  /** Writes node i's EXPANDER_DEGREE parents in the previous layer into `out`. */
  parents(i: number, out: Uint32Array | number[]): void {
    for (let k = 0; k < EXPANDER_DEGREE; k++) out[k] = Math.floor(this.permute(EXPANDER_DEGREE * i + k) / EXPANDER_DEGREE);
  }
}

/** Every parent of node i in a layer: base (same layer) then expander (previous layer; none in layer 1). */
export function parentsOf(nodes: number, layer: number, i: number): { base: number[]; expander: number[] } {
  const b = new Uint32Array(BASE_DEGREE);
  const count = baseParents(i, b);
  const e = new Uint32Array(EXPANDER_DEGREE);
  if (layer >= 2) new Expander(nodes).parents(i, e);
  return { base: Array.from(b.subarray(0, count)), expander: layer >= 2 ? Array.from(e) : [] };
}
