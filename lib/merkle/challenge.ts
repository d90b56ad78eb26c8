// Which chunks to challenge: storers' VerifyFile, the gateway's commitment check and the rewards
// auditors (DESIGN §4, §6) must all derive the same indices from a public seed. Definition (also in
// docs/merkle.md), so another language derives the same set:
//
//   word stream   block_b = SHA-256("wolk/challenge/v1" ‖ seed ‖ u64be(n) ‖ u64be(b)), b = 0, 1, …;
//                 each block is four u64be words, consumed in order.
//   uniform(m)    next word w, redrawn while w ≥ 2^64 − (2^64 mod m) (no modulo bias); w mod m.
//   selection     k ≥ n: all of 0..n−1. Otherwise a partial Fisher–Yates shuffle of [0, n):
//                 for j in 0..k−1: r = j + uniform(n − j); swap a[j], a[r]. Result: a[0..k−1] sorted
//                 ascending (k distinct indices, O(k) time and memory whatever n is).
import { CryptoError, CryptoErrorCode, assertBytes } from '../crypto/errors.js';
import { sha256One } from './sha256.js';

const TAG = new TextEncoder().encode('wolk/challenge/v1');
const TWO64 = 1n << 64n;

export function challengeIndices(seed: Uint8Array, leafCount: number, k: number): number[] {
  assertBytes(seed, undefined, 'challengeIndices: seed');
  for (const [name, v] of [['leafCount', leafCount], ['k', k]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `challengeIndices: ${name}: expected a safe integer >= 0, got ${v}`);
    }
  }
  const n = leafCount;
  if (k >= n) return Array.from({ length: n }, (_, i) => i);

  const input = new Uint8Array(TAG.length + seed.length + 16);
  input.set(TAG, 0);
  input.set(seed, TAG.length);
  const view = new DataView(input.buffer);
  view.setBigUint64(TAG.length + seed.length, BigInt(n), false);
  let block = 0n;
  let words: DataView | null = null;
  let w = 4;
  const nextWord = (): bigint => {
    if (w === 4) {
      view.setBigUint64(TAG.length + seed.length + 8, block++, false);
      const h = sha256One(input);
      words = new DataView(h.buffer, h.byteOffset, h.byteLength);
      w = 0;
    }
    return words!.getBigUint64(8 * w++, false);
  };
  const uniform = (m: number): number => {
    const mb = BigInt(m);
    const limit = TWO64 - (TWO64 % mb);
    for (;;) {
      const x = nextWord();
      if (x < limit) return Number(x % mb);
    }
  };

  const swapped = new Map<number, number>();
  const at = (i: number) => swapped.get(i) ?? i;
  const out: number[] = [];
  for (let j = 0; j < k; j++) {
    const r = j + uniform(n - j);
    const picked = at(r);
    swapped.set(r, at(j));
    out.push(picked);
  }
  return out.sort((a, b) => a - b);
}
