// Where a sealing keeps its layers. Labelling needs only the previous and the current layer in memory
// (2 × sector); the column commitment and the proof of correct sealing need every layer (L × sector),
// so the layers go to a store the caller provides: memory for small sectors and tests, files for large
// ones (the storer's, next to the replica; lib/porep does no I/O). After the seal proof is accepted the
// layers can be dropped: audits need only the replica and its tree.
import { CryptoError, CryptoErrorCode } from '../crypto/errors.js';
import { NODE_SIZE } from './params.js';

export interface LayerStore {
  /** Keeps the labels of `layer` (1-based), nodes × 32 bytes. The store may keep the buffer as is. */
  put(layer: number, labels: Uint8Array): void | Promise<void>;
  /** Labels of nodes [start, start + count) of `layer`, count × 32 bytes. */
  read(layer: number, start: number, count: number): Uint8Array | Promise<Uint8Array>;
  /**
   * Labels of the nodes `indices` of `layer` (any order), indices.length × 32 bytes: the scattered reads
   * of a seal proof in one call. Optional: without it readColumns reads node by node.
   */
  readNodes?(layer: number, indices: Uint32Array): Uint8Array | Promise<Uint8Array>;
}

/** A store holding every layer in memory (L × sector bytes). */
export class MemoryLayerStore implements LayerStore {
  private readonly layers = new Map<number, Uint8Array>();

  put(layer: number, labels: Uint8Array): void {
    this.layers.set(layer, labels);
  }

  read(layer: number, start: number, count: number): Uint8Array {
    const labels = this.layers.get(layer);
    if (!labels || start < 0 || (start + count) * NODE_SIZE > labels.length) {
      throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `porep: layer store: no labels for layer ${layer} nodes [${start}, ${start + count})`);
    }
    return labels.subarray(start * NODE_SIZE, (start + count) * NODE_SIZE);
  }

  readNodes(layer: number, indices: Uint32Array): Uint8Array {
    const out = new Uint8Array(indices.length * NODE_SIZE);
    indices.forEach((i, j) => out.set(this.read(layer, i, 1), j * NODE_SIZE));
    return out;
  }

  /** The whole layer (tests tamper with it to build wrong sealings). */
  layer(layer: number): Uint8Array | undefined {
    return this.layers.get(layer);
  }

  get bytes(): number {
    let total = 0;
    for (const l of this.layers.values()) total += l.length;
    return total;
  }
}
