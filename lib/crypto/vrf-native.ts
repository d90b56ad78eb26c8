// The optional native ECVRF verifier (native/vrf, built by scripts/build-native.mjs like native/merkle):
// the same answers as lib/crypto/vrf.ts's JS verify for every input (test/unit/crypto/vrf.test.ts runs
// the RFC 9381 vectors and random and corrupted proofs through both), about ten times faster. Without it
// (no compiler where Wolk was installed, a page in the browser) vrf.ts verifies in JS.
import { loadAddon } from '../native/addon.js';

export interface NativeVrf {
  /** ECVRF_verify (RFC 9381 §5.3, validate_key on) for suite 3 (TAI) or 4 (ELL2); fills betaOut (64 bytes) and returns true for a valid proof. */
  verify(suite: number, publicKey: Uint8Array, alpha: Uint8Array, proof: Uint8Array, betaOut: Uint8Array): boolean;
}

const loaded = loadAddon<NativeVrf>('vrf', ['verify']);
let enabled = true;

/** The native verifier when it is built and enabled, else null. */
export function nativeVrf(): NativeVrf | null {
  return enabled ? loaded : null;
}

/** Whether the addon could be loaded at all (whatever `setNativeVrf` says). */
export const nativeVrfAvailable: boolean = loaded !== null;

/** Turns the native path off or on (tests and the benchmark compare both). */
export function setNativeVrf(on: boolean): void {
  enabled = on;
}
