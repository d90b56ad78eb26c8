// The optional native ECVRF (native/vrf, built by scripts/build-native.mjs like native/merkle): verify,
// and the point work of prove (encode_to_curve, and the products with the secret scalars in constant
// time). The same answers and the same proofs as lib/crypto/vrf.ts's JS path for every input
// (test/unit/crypto/vrf.test.ts runs the RFC 9381 vectors and random and corrupted proofs through
// both), many times faster. Without it (no compiler where Wolk was installed, a page in the browser)
// vrf.ts runs in JS.
import { addonSwitch } from '../native/addon.js';

export interface NativeVrf {
  /** ECVRF_verify (RFC 9381 §5.3, validate_key on) for suite 3 (TAI) or 4 (ELL2); fills betaOut (64 bytes) and returns true for a valid proof. */
  verify(suite: number, publicKey: Uint8Array, alpha: Uint8Array, proof: Uint8Array, betaOut: Uint8Array): boolean;
  /** point_to_string(encode_to_curve(publicKey, alpha)) into hOut (32 bytes); false only when TAI finds no point. */
  encodeToCurve(suite: number, publicKey: Uint8Array, alpha: Uint8Array, hOut: Uint8Array): boolean;
  /** x·H ‖ k·B ‖ k·H (32 bytes each) into out, constant time in the secret scalars x and k (32 bytes little endian); false when h does not decode. */
  proveProducts(h: Uint8Array, x: Uint8Array, k: Uint8Array, out: Uint8Array): boolean;
}

const addon = addonSwitch<NativeVrf>('vrf', ['verify', 'encodeToCurve', 'proveProducts']);

/** The native verifier and prover when built and enabled, else null. */
export const nativeVrf = (): NativeVrf | null => addon.get();

/** Whether the addon could be loaded at all (whatever `setNativeVrf` says). */
export const nativeVrfAvailable: boolean = addon.available;

/** Turns the native path off or on (tests and the benchmark compare both). */
export const setNativeVrf = (on: boolean): void => addon.set(on);

/** `fn`'s result computed with the native path on or off, switched on again after. */
export const withNativeVrf = <R>(on: boolean, fn: () => R): R => addon.with(on, fn);
