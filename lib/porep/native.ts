// The optional native labelling loop and scattered layer reads (native/porep, built by scripts/build-native.mjs like native/merkle).
// Without it (no compiler where Wolk was installed) labels.ts computes the same labels in JS, one Node
// crypto call per label; the tests check both paths give identical bytes.
import { addonSwitch } from '../native/addon.js';

export interface NativePorep {
  /** Labels nodes [0, count) of `layer` into `out`; `prev` is the whole previous layer (layer ≥ 2). */
  labelLayer(graphKey: Uint8Array, replicaId: Uint8Array, layer: number, nodes: number, count: number, prev: Uint8Array | null, out: Uint8Array): void;
  /** Node i's base parents (0 or 6) then its 8 expander parents, from the C graph (tests compare it). */
  parents(graphKey: Uint8Array, nodes: number, i: number): number[];
  /** Node indices[j]'s 32 bytes of the open file `fd` into out[32j, 32j + 32), one pread each. */
  readNodes(fd: number, indices: Uint32Array, out: Uint8Array): void;
}

const addon = addonSwitch<NativePorep>('porep', ['labelLayer', 'parents', 'readNodes']);

/** The native loop when it is built and enabled, else null. */
export const nativePorep = (): NativePorep | null => addon.get();

/** Whether the addon could be loaded at all (whatever `setNativePorep` says). */
export const nativePorepAvailable: boolean = addon.available;

/** Turns the native path off or on (tests and the benchmark compare both). */
export const setNativePorep = (on: boolean): void => addon.set(on);
