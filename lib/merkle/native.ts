// The optional native batch hasher (native/merkle, built by scripts/build-native.mjs before `npm test`,
// `npm start` and `npm run bench`). One call hashes a run of full chunks as leaves and folds them into a
// TreeAccumulator's stack, or (pieces) a Merkle level's node hashes, with the SHA-256 of the OpenSSL
// inside Node: per 4 KiB chunk that removes the ~2.5 us of per-call overhead Node's crypto adds, which
// is as much as the hashing itself, and for a 65-byte node hash it is most of the cost. Without the
// addon (no compiler where it was installed, e.g. the slim container image) the same results come from
// Node's crypto one call per hash; the tests check both paths agree.
import { addonPath, addonSwitch } from '../native/addon.js';

export interface NativeMerkle {
  /**
   * Hashes `data` (a whole number of full chunks) as leaves `header ‖ chunk` (u64be(firstIndex + i) written at
   * `indexOffset` when >= 0), folds them into `stack` (the accumulator's subtree roots for `count` leaves) and
   * returns the new count; fills `leavesOut` (32 bytes per chunk) when given.
   */
  absorb(
    stack: Uint8Array,
    count: number,
    data: Uint8Array,
    chunkSize: number,
    header: Uint8Array,
    indexOffset: number,
    firstIndex: number,
    leavesOut: Uint8Array | null,
  ): number;
  /** out[32 i, 32 i + 32) = SHA-256(header ‖ piece i) for every `pieceSize`-byte piece of `data`, nothing folded. */
  pieces(data: Uint8Array, pieceSize: number, header: Uint8Array, out: Uint8Array): void;
}

/** Where the built addon is (worker threads load it by path), or null. */
export function nativeMerklePath(): string | null {
  return addonPath('merkle');
}

const addon = addonSwitch<NativeMerkle>('merkle', ['absorb', 'pieces']);

/** The native hasher when it is built and enabled, else null. */
export const nativeMerkle = (): NativeMerkle | null => addon.get();

/** Whether the addon could be loaded at all (whatever `setNativeMerkle` says). */
export const nativeMerkleAvailable: boolean = addon.available;

/** Turns the native path off or on (tests compare both; operators never need it). */
export const setNativeMerkle = (on: boolean): void => addon.set(on);
