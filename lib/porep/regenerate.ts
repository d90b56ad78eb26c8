// The regeneration attack, done optimally (docs/porep.md "Security"): a storer that kept only the plain
// data (or fetches it from a peer when challenged) must produce r_i = d_i ⊕ label(L, i), and label(L, i)
// depends on its dependency cone only. Because parent 0 of every node is i − 1, the cone inside a layer
// is a prefix: nodes [0, i] of layer L, and in layer l − 1 the prefix up to the largest expander parent
// of that prefix. The expander spreads parents uniformly, so below the top layer the cone is (almost)
// the whole layer: regeneration costs about (L − 1) + i/n layers of sequential labelling. This file
// computes exactly that cone and nothing more, so the benchmark measures the attack at its cheapest.
import { CryptoError, CryptoErrorCode, assertBytes } from '../crypto/errors.js';
import { EXPANDER_DEGREE, NODE_SIZE, assertNodes } from './params.js';
import { Expander } from './graph.js';
import { labelLayer } from './labels.js';

/**
 * cone[l − 1] = how many nodes (a prefix [0, cone[l − 1])) of layer l the label (L, index) depends on.
 * Depends on the graph only: an attacker computes it once per sector size and index.
 */
export function regenerationCone(nodes: number, layers: number, index: number): number[] {
  assertNodes(nodes);
  if (!Number.isSafeInteger(layers) || layers < 1) throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `porep: layers: expected an integer >= 1, got ${layers}`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= nodes) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `porep: node index ${index} outside [0, ${nodes})`);
  }
  const cone = new Array<number>(layers).fill(nodes);
  cone[layers - 1] = index + 1;
  const expander = new Expander(nodes);
  const parents = new Uint32Array(EXPANDER_DEGREE);
  for (let l = layers; l >= 2; l--) {
    const prefix = cone[l - 1]!;
    if (prefix === nodes) break; // π is onto: the whole layer l needs the whole layer l − 1, and so on down
    let max = 0;
    for (let j = 0; j < prefix && max < nodes - 1; j++) {
      expander.parents(j, parents);
      for (const p of parents) if (p > max) max = p;
    }
    cone[l - 2] = max + 1;
  }
  return cone;
}

export interface Regeneration {
  /** label(L, index), as the honest sealing computed it. */
  readonly label: Uint8Array;
  /** Labels computed: the size of the cone. */
  readonly labelsComputed: number;
}

/**
 * Recomputes label(L, index) from nothing but the replica id, computing only its cone (`cone` from
 * regenerationCone, computed here when not given). Memory: 2 × sector. The replica node is then
 * d_index ⊕ label.
 */
export function regenerateNode(replicaId: Uint8Array, nodes: number, layers: number, index: number, cone?: readonly number[]): Regeneration {
  assertBytes(replicaId, 32, 'porep: replicaId');
  const c = cone ?? regenerationCone(nodes, layers, index);
  if (c.length !== layers || c[layers - 1]! <= index) {
    throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `porep: the cone does not reach node ${index} of layer ${layers}`);
  }
  let prev: Uint8Array | null = null;
  let cur: Uint8Array = new Uint8Array(nodes * NODE_SIZE);
  let spare: Uint8Array | null = null;
  let computed = 0;
  for (let l = 1; l <= layers; l++) {
    labelLayer(replicaId, l, nodes, prev, cur, c[l - 1]!);
    computed += c[l - 1]!;
    spare = prev;
    prev = cur;
    cur = spare ?? new Uint8Array(nodes * NODE_SIZE);
  }
  return { label: prev!.slice(index * NODE_SIZE, (index + 1) * NODE_SIZE), labelsComputed: computed };
}

/**
 * What an outsourcer must compute to answer an audit of a file sealed at nodes [first, first + count)
 * of a sector it no longer holds: label(L, j) for every j of the range (the replica tree needs all of
 * them), from nothing but the replica id. The cone of the range's last node covers the whole range, so
 * this is one cone's labelling (regenerationCone of first + count − 1), returned as count × 32 bytes.
 */
export function regenerateRange(replicaId: Uint8Array, nodes: number, layers: number, first: number, count: number): Regeneration {
  assertBytes(replicaId, 32, 'porep: replicaId');
  if (!Number.isSafeInteger(count) || count < 1 || !Number.isSafeInteger(first) || first < 0 || first + count > nodes) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `porep: nodes [${first}, ${first + count}) outside a sector of ${nodes}`);
  }
  const cone = regenerationCone(nodes, layers, first + count - 1);
  let prev: Uint8Array | null = null;
  let cur: Uint8Array = new Uint8Array(nodes * NODE_SIZE);
  let computed = 0;
  for (let l = 1; l <= layers; l++) {
    labelLayer(replicaId, l, nodes, prev, cur, cone[l - 1]!);
    computed += cone[l - 1]!;
    const spare: Uint8Array | null = prev;
    prev = cur;
    cur = spare ?? new Uint8Array(nodes * NODE_SIZE);
  }
  return { label: prev!.slice(first * NODE_SIZE, (first + count) * NODE_SIZE), labelsComputed: computed };
}
