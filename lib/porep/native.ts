// The optional native labelling loop and scattered layer reads (native/porep, built by scripts/build-native.mjs like native/merkle).
// Without it (no compiler where Wolk was installed) labels.ts computes the same labels in JS, one Node
// crypto call per label; the tests check both paths give identical bytes.
import { loadAddon } from '../native/addon.js';

export interface NativePorep {
  /** Labels nodes [0, count) of `layer` into `out`; `prev` is the whole previous layer (layer ≥ 2). */
  labelLayer(graphKey: Uint8Array, replicaId: Uint8Array, layer: number, nodes: number, count: number, prev: Uint8Array | null, out: Uint8Array): void;
  /** Node i's base parents (0 or 6) then its 8 expander parents, from the C graph (tests compare it). */
  parents(graphKey: Uint8Array, nodes: number, i: number): number[];
  /** Node indices[j]'s 32 bytes of the open file `fd` into out[32j, 32j + 32), one pread each. */
  readNodes(fd: number, indices: Uint32Array, out: Uint8Array): void;
}

const loaded = loadAddon<NativePorep>('porep', ['labelLayer', 'parents', 'readNodes']);
let enabled = true;

/** The native loop when it is built and enabled, else null. */
export function nativePorep(): NativePorep | null {
  return enabled ? loaded : null;
}

/** Whether the addon could be loaded at all (whatever `setNativePorep` says). */
export const nativePorepAvailable: boolean = loaded !== null;

/** Turns the native path off or on (tests and the benchmark compare both). */
export function setNativePorep(on: boolean): void {
  enabled = on;
}
