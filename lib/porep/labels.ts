// Labelling (docs/porep.md "Labels"): layer by layer, node by node in index order,
//
//   label(l, i) = SHA-256(replicaId ‖ u32be(l) ‖ u64be(i) ‖ label(l, b_1) ‖ … ‖ label(l, b_6)
//                                                        ‖ label(l−1, e_1) ‖ … ‖ label(l−1, e_8))
//
// with b the base parents of i (graph.ts; none for node 0) and e its expander parents (layers ≥ 2 only).
// Parent 0 of every node is i−1, so a layer is a chain: it can only be computed in order, and layer l
// needs layer l−1 complete (expander parents are anywhere in it). The labelling depends on the replica
// id and the node count only, never on the data. The hot loop runs natively when native/porep is built.
import { CryptoError, CryptoErrorCode, assertBytes } from '../crypto/errors.js';
import { sha256One } from '../merkle/sha256.js';
import { BASE_DEGREE, EXPANDER_DEGREE, NODE_SIZE, assertNodes } from './params.js';
import { Expander, GRAPH_KEY, baseParents } from './graph.js';
import { nativePorep } from './native.js';

const HEADER = 32 + 4 + 8;
const MAX_INPUT = HEADER + (BASE_DEGREE + EXPANDER_DEGREE) * NODE_SIZE;

function writeHeader(buf: Uint8Array, view: DataView, replicaId: Uint8Array, layer: number, index: number): void {
  buf.set(replicaId, 0);
  view.setUint32(32, layer, false);
  view.setUint32(36, Math.floor(index / 2 ** 32), false);
  view.setUint32(40, index >>> 0, false);
}

/**
 * Labels nodes [0, count) of `layer` (1-based) of a sector of `nodes` nodes into `out` (32 bytes per node).
 * `prev` is the whole previous layer (nodes × 32 bytes) for layers ≥ 2; ignored for layer 1.
 * `count` < nodes labels a prefix only: what the regeneration attack needs (regenerate.ts).
 */
export function labelLayer(replicaId: Uint8Array, layer: number, nodes: number, prev: Uint8Array | null, out: Uint8Array, count = nodes): void {
  assertBytes(replicaId, 32, 'porep: replicaId');
  assertNodes(nodes);
  if (!Number.isSafeInteger(layer) || layer < 1 || layer > 0xffffffff) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `porep: layer: expected an integer >= 1, got ${layer}`);
  }
  if (!Number.isSafeInteger(count) || count < 0 || count > nodes) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `porep: count: expected an integer in [0, ${nodes}], got ${count}`);
  }
  assertBytes(out, undefined, 'porep: out');
  if (out.length < count * NODE_SIZE) {
    throw new CryptoError(CryptoErrorCode.INVALID_LENGTH, `porep: out: expected at least ${count * NODE_SIZE} bytes, got ${out.length}`);
  }
  if (layer >= 2) {
    assertBytes(prev, undefined, 'porep: previous layer');
    if (prev.length < nodes * NODE_SIZE) {
      throw new CryptoError(CryptoErrorCode.INVALID_LENGTH, `porep: previous layer: expected ${nodes * NODE_SIZE} bytes, got ${prev.length}`);
    }
  }
  const native = nativePorep();
  if (native) {
    native.labelLayer(GRAPH_KEY, replicaId, layer, nodes, count, layer >= 2 ? prev : null, out);
    return;
  }
  const buf = new Uint8Array(MAX_INPUT);
  const view = new DataView(buf.buffer);
  const base = new Uint32Array(BASE_DEGREE);
  const exp = new Uint32Array(EXPANDER_DEGREE);
  const expander = layer >= 2 ? new Expander(nodes) : null;
  for (let i = 0; i < count; i++) {
    writeHeader(buf, view, replicaId, layer, i);
    let o = HEADER;
    const nb = baseParents(i, base);
    for (let j = 0; j < nb; j++, o += NODE_SIZE) buf.set(out.subarray(base[j]! * NODE_SIZE, (base[j]! + 1) * NODE_SIZE), o);
    if (expander) {
      expander.parents(i, exp);
      for (let k = 0; k < EXPANDER_DEGREE; k++, o += NODE_SIZE) buf.set(prev!.subarray(exp[k]! * NODE_SIZE, (exp[k]! + 1) * NODE_SIZE), o);
    }
    out.set(sha256One(buf.subarray(0, o)), i * NODE_SIZE);
  }
}

/**
 * One label from its parents' labels (what a verifier recomputes): `base` are the base parents' labels
 * in graph order (none for node 0), `expander` the expander parents' (none in layer 1).
 */
export function labelFromParents(replicaId: Uint8Array, layer: number, index: number, base: readonly Uint8Array[], expander: readonly Uint8Array[]): Uint8Array {
  assertBytes(replicaId, 32, 'porep: replicaId');
  if (base.length > BASE_DEGREE || expander.length > EXPANDER_DEGREE) {
    throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `porep: at most ${BASE_DEGREE} base and ${EXPANDER_DEGREE} expander parents, got ${base.length} and ${expander.length}`);
  }
  for (const p of [...base, ...expander]) assertBytes(p, NODE_SIZE, 'porep: parent label');
  const buf = new Uint8Array(HEADER + (base.length + expander.length) * NODE_SIZE);
  writeHeader(buf, new DataView(buf.buffer), replicaId, layer, index);
  let o = HEADER;
  for (const p of [...base, ...expander]) {
    buf.set(p, o);
    o += NODE_SIZE;
  }
  return sha256One(buf);
}
