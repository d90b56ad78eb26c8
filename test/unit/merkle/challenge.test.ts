import test from 'ava';
import { challengeIndices } from '../../../lib/merkle/index.js';
import { prng, sha, u64 } from './helpers.js';

/** The selection rule of docs/merkle.md, written again with BigInt and arrays. */
function reference(seed: Uint8Array, n: number, k: number): number[] {
  if (k >= n) return Array.from({ length: n }, (_, i) => i);
  const tag = new TextEncoder().encode('wolk/challenge/v1');
  const words: bigint[] = [];
  let block = 0;
  const next = () => {
    if (words.length === 0) {
      const h = sha(tag, seed, u64(n), u64(block++));
      for (let i = 0; i < 4; i++) words.push(BigInt('0x' + Buffer.from(h.subarray(8 * i, 8 * i + 8)).toString('hex')));
    }
    return words.shift()!;
  };
  const a = Array.from({ length: n }, (_, i) => i);
  for (let j = 0; j < k; j++) {
    const m = BigInt(n - j);
    const limit = (1n << 64n) - ((1n << 64n) % m);
    let w = next();
    while (w >= limit) w = next();
    const rr = j + Number(w % m);
    [a[j], a[rr]] = [a[rr]!, a[j]!];
  }
  return a.slice(0, k).sort((x, y) => x - y);
}

test('challengeIndices follows the documented rule; distinct, sorted, in range', (t) => {
  const r = prng(31);
  for (let round = 0; round < 300; round++) {
    const seed = r.bytes(r.int(40));
    const n = r.int(500);
    const k = r.int(n + 5);
    const got = challengeIndices(seed, n, k);
    t.deepEqual(got, reference(seed, n, k), `n=${n} k=${k}`);
    t.is(got.length, Math.min(n, k));
    t.is(new Set(got).size, got.length);
    for (let j = 0; j < got.length; j++) {
      t.true(got[j]! >= 0 && got[j]! < n);
      if (j > 0) t.true(got[j]! > got[j - 1]!);
    }
  }
});

test('challengeIndices: pinned output (for other implementations), seed dependence, edge cases', (t) => {
  const seed = new Uint8Array(32);
  const pinned = challengeIndices(seed, 1_000_000, 8);
  // seed 0x00×32, n = 1e6, k = 8 (also in docs/merkle.md)
  t.deepEqual(pinned, [40956, 50466, 302405, 332737, 445687, 586681, 668344, 837580]);
  t.deepEqual(challengeIndices(seed, 1_000_000, 8), pinned, 'deterministic');
  t.notDeepEqual(challengeIndices(Uint8Array.of(1), 1_000_000, 8), pinned);
  t.deepEqual(challengeIndices(seed, 0, 5), []);
  t.deepEqual(challengeIndices(seed, 10, 0), []);
  t.deepEqual(challengeIndices(seed, 5, 9), [0, 1, 2, 3, 4]);
  t.is(challengeIndices(seed, 2 ** 40, 16).length, 16, 'large n stays O(k)');
  t.throws(() => challengeIndices(seed, -1, 2), { message: /leafCount/ });
});

test('challengeIndices is close to uniform', (t) => {
  const counts = new Array<number>(10).fill(0);
  const rounds = 4000;
  for (let s = 0; s < rounds; s++) for (const i of challengeIndices(new Uint8Array(new Uint32Array([s]).buffer), 10, 3)) counts[i]!++;
  // each index is picked with probability 3/10: 1200 expected, sd ≈ 29
  for (const c of counts) t.true(Math.abs(c - 1200) < 150, `count ${c}`);
});
