// lib/merkle/native.ts for the browser bundle: there is no N-API addon in a page, so lib/merkle hashes
// with its portable path (the same results; test/unit/merkle/native.test.ts checks both agree).
export interface NativeMerkle {
  absorb(stack: Uint8Array, count: number, data: Uint8Array, chunkSize: number, header: Uint8Array, indexOffset: number, firstIndex: number, leavesOut: Uint8Array | null): number;
}
export const nativeMerklePath = (): string | null => null;
export const nativeMerkle = (): NativeMerkle | null => null;
export const nativeMerkleAvailable = false;
export const setNativeMerkle = (_on: boolean): void => undefined;
