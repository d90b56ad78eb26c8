// Sealing and unsealing (docs/porep.md "Encoding"):
//
//   r_i = d_i ⊕ label(L, i)       d_i = bytes [32i, 32i + 32) of the data, zero-padded past its end
//
// XOR is the cheapest invertible encoding and its own inverse: unsealing is the same labelling followed
// by the same XOR. Filecoin adds in a prime field instead only because its proofs are SNARK circuits over
// that field; ours are checked directly, on bytes. The encoding key (the last layer) is independent of
// the data, so a replica node reveals nothing to whoever lacks label(L, i), and knowing d_i, r_i gives
// the label but no shortcut to any other.
import { CryptoError, CryptoErrorCode, assertBytes } from '../crypto/errors.js';
import { NODE_SIZE, assertNodes, nodesFor } from './params.js';
import { labelLayer } from './labels.js';
import type { LayerStore } from './layer-store.js';

export interface SealInput {
  readonly replicaId: Uint8Array;
  /** The sector's data: at most nodes × 32 bytes; the rest of the sector is zeros. */
  readonly data: Uint8Array;
  readonly layers: number;
  /** Sector size in nodes; default nodesFor(data.length). */
  readonly nodes?: number;
  /** Receives every layer (for the column commitment and the seal proof); null to keep none. */
  readonly store: LayerStore | null;
  readonly signal?: AbortSignal;
}

export interface Sealed {
  /** The replica: nodes × 32 bytes. */
  readonly replica: Uint8Array;
  readonly nodes: number;
}

function sectorNodes(dataLength: number, nodes: number | undefined): number {
  const n = nodes ?? nodesFor(dataLength);
  assertNodes(n);
  if (dataLength > n * NODE_SIZE) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `porep: ${dataLength} bytes of data do not fit a sector of ${n} nodes`);
  }
  return n;
}

/** Labels every layer of a sector, handing each to `onLayer`; returns the last. Memory: 2 × sector. */
async function labelAll(replicaId: Uint8Array, layers: number, nodes: number, onLayer: ((l: number, labels: Uint8Array) => void | Promise<void>) | null, signal?: AbortSignal): Promise<Uint8Array> {
  if (!Number.isSafeInteger(layers) || layers < 1) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `porep: layers: expected an integer >= 1, got ${layers}`);
  }
  let prev: Uint8Array | null = null;
  let spare: Uint8Array | null = null;
  for (let l = 1; l <= layers; l++) {
    signal?.throwIfAborted();
    // a fresh buffer per layer when a store keeps them; otherwise two buffers, reused in turn
    const cur: Uint8Array = onLayer || spare === null ? new Uint8Array(nodes * NODE_SIZE) : spare;
    labelLayer(replicaId, l, nodes, prev, cur);
    if (onLayer) await onLayer(l, cur);
    spare = onLayer ? null : prev;
    prev = cur;
  }
  return prev!;
}

/** r = d ⊕ key over whole nodes, d zero-padded to key's length. */
export function xorNodes(data: Uint8Array, key: Uint8Array): Uint8Array {
  const out = key.slice();
  const n = Math.min(data.length, out.length);
  for (let o = 0; o < n; o++) out[o]! ^= data[o]!;
  return out;
}

/** Seals `data` as one sector for `replicaId`: L layers of labels, then r = d ⊕ label(L). */
export async function seal(input: SealInput): Promise<Sealed> {
  assertBytes(input.replicaId, 32, 'porep: replicaId');
  assertBytes(input.data, undefined, 'porep: data');
  const nodes = sectorNodes(input.data.length, input.nodes);
  const store = input.store;
  const last = await labelAll(input.replicaId, input.layers, nodes, store ? (l, labels) => store.put(l, labels) : null, input.signal);
  return { replica: xorNodes(input.data, last), nodes };
}

/**
 * Unseals: relabels (2 × sector of memory, no store) and XORs. Returns the first `size` bytes (default:
 * the whole sector).
 */
export async function unseal(replica: Uint8Array, replicaId: Uint8Array, layers: number, size?: number, signal?: AbortSignal): Promise<Uint8Array> {
  assertBytes(replica, undefined, 'porep: replica');
  assertBytes(replicaId, 32, 'porep: replicaId');
  if (replica.length === 0 || replica.length % NODE_SIZE !== 0) {
    throw new CryptoError(CryptoErrorCode.INVALID_LENGTH, `porep: replica: expected a positive multiple of ${NODE_SIZE} bytes, got ${replica.length}`);
  }
  const nodes = replica.length / NODE_SIZE;
  assertNodes(nodes);
  const bytes = size ?? replica.length;
  if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > replica.length) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `porep: size: expected an integer in [0, ${replica.length}], got ${String(size)}`);
  }
  const last = await labelAll(replicaId, layers, nodes, null, signal);
  return xorNodes(replica, last).subarray(0, bytes);
}
