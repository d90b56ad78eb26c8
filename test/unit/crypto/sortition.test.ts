import test from 'ava';
import { CryptoError } from '../../../lib/crypto/errors.js';
import { concatBytes, sha256, sha512, u32be } from '../../../lib/crypto/hash.js';
import {
  SortitionDomain,
  binomialWalk,
  comparePriority,
  proveSortition,
  sortition,
  sortitionAlpha,
  sortitionPriority,
  verifySortition,
} from '../../../lib/crypto/sortition.js';
import { prove, vrfKeyFromSeed } from '../../../lib/crypto/vrf.js';

const enc = (s: string) => new TextEncoder().encode(s);

/** Reproducible pseudo-random 64-byte "VRF outputs": SHA-512 in counter mode under a label. */
function outputs(label: string, count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) out.push(sha512(enc(label), u32be(i)));
  return out;
}

/** beta whose ratio is exactly top53 / 2^53. */
function outputWithRatio(top53: bigint): Uint8Array {
  const out = new Uint8Array(64);
  let h = top53 << 203n;
  for (let i = 31; i >= 0; i--, h >>= 8n) out[i] = Number(h & 0xffn);
  return out;
}

/** Binomial pmf for the test's expectations, by the recurrence in log space (no underflow at large n). */
function binomialPmf(n: number, p: number, upTo: number): number[] {
  const logs = [n * Math.log1p(-p)];
  const logOdds = Math.log(p / (1 - p));
  for (let j = 0; j < upTo; j++) logs.push(logs[j]! + Math.log((n - j) / (j + 1)) + logOdds);
  return logs.map(Math.exp);
}

function meanVar(xs: number[]): { mean: number; variance: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return { mean, variance };
}

/** Upper critical value of chi-square with `df` degrees of freedom at significance 0.001 (Wilson-Hilferty). */
function chiSquareCritical001(df: number): number {
  const z = 3.090232; // standard normal quantile at 0.999
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/** Chi-square statistic of observed counts against Binomial(n, p), bins merged so each expects >= 5. */
function chiSquare(samples: number[], n: number, p: number): { stat: number; df: number } {
  const N = samples.length;
  const maxJ = Math.max(...samples) + 1;
  const pmf = binomialPmf(n, p, maxJ + 50);
  const counts = new Map<number, number>();
  for (const s of samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  // Bins [lo, hi]: start new bins greedily once the expected count reaches 5; the last bin is open.
  const bins: { expected: number; observed: number }[] = [];
  let cur = { expected: 0, observed: 0 };
  let cum = 0;
  for (let j = 0; j < pmf.length; j++) {
    cur.expected += N * pmf[j]!;
    cur.observed += counts.get(j) ?? 0;
    cum += pmf[j]!;
    if (cur.expected >= 5 && N * (1 - cum) >= 5) {
      bins.push(cur);
      cur = { expected: 0, observed: 0 };
    }
  }
  // The open tail: everything not yet binned.
  const observedSoFar = bins.reduce((a, b) => a + b.observed, 0);
  const expectedSoFar = bins.reduce((a, b) => a + b.expected, 0);
  bins.push({ expected: N - expectedSoFar, observed: N - observedSoFar });
  const stat = bins.reduce((a, b) => a + (b.observed - b.expected) ** 2 / b.expected, 0);
  return { stat, df: bins.length - 1 };
}

test('edges: weight 0 or expectedSize 0 select nobody; p = 1 selects everything', (t) => {
  for (const beta of outputs('edges', 32)) {
    t.is(sortition(beta, 0n, 1000n, 20), 0);
    t.is(sortition(beta, 500n, 1000n, 0), 0);
    t.is(sortition(beta, 1000n, 1000n, 1000), 1000);
    t.is(sortition(beta, 7n, 7n, 7), 7);
    t.is(sortition(beta, 3_000_000n, 3_000_000n, 3_000_000), 3_000_000);
  }
  // ratio = 0 is below every CDF value: j = 0. The largest ratio still selects at most weight.
  t.is(sortition(new Uint8Array(32), 1_000_000n, 2_000_000n, 5000), 0);
  const j = sortition(new Uint8Array(32).fill(0xff), 10n, 20n, 10);
  t.true(j >= 9 && j <= 10);
});

test('exact at a CDF step: n = 1, p = 1/2 gives 0 for ratio <= 1/2 and 1 above', (t) => {
  t.is(sortition(outputWithRatio(1n << 52n), 1n, 2n, 1), 0); // ratio = 0.5 = CDF(0)
  t.is(sortition(outputWithRatio((1n << 52n) + 1n), 1n, 2n, 1), 1);
  t.is(sortition(outputWithRatio((1n << 52n) - 1n), 1n, 2n, 1), 0);
  // n = 2, p = 1/2: CDF = 1/4, 3/4, 1.
  t.is(sortition(outputWithRatio(1n << 51n), 2n, 4n, 2), 0);
  t.is(sortition(outputWithRatio((1n << 51n) + 1n), 2n, 4n, 2), 1);
  t.is(sortition(outputWithRatio(3n << 51n), 2n, 4n, 2), 1);
  t.is(sortition(outputWithRatio((3n << 51n) + 1n), 2n, 4n, 2), 2);
});

test('agrees with the exact rational binomial CDF (n = 30, p = 17/100) away from rounding distance', (t) => {
  const n = 30;
  const a = 17n;
  const b = 100n;
  // CDF(j) = sum_{i<=j} C(n,i) a^i (b-a)^(n-i) / b^n, as exact fractions over b^n.
  const denom = b ** BigInt(n);
  const cdfNum: bigint[] = [];
  let binom = 1n;
  let acc = 0n;
  for (let i = 0; i <= n; i++) {
    if (i > 0) binom = (binom * BigInt(n - i + 1)) / BigInt(i);
    acc += binom * a ** BigInt(i) * (b - a) ** BigInt(n - i);
    cdfNum.push(acc);
  }
  let checked = 0;
  for (const beta of outputs('exact-cdf', 3000)) {
    const j = sortition(beta, BigInt(n), b, Number(a));
    // ratio = floor(h / 2^203) / 2^53 as an exact fraction r / 2^53.
    let h = 0n;
    for (let i = 0; i < 32; i++) h = (h << 8n) | BigInt(beta[i]!);
    const r = h >> 203n;
    const two53 = 1n << 53n;
    // Skip draws within 1e-9 of a CDF step, where double rounding may legitimately decide.
    const near = cdfNum.some((c) => {
      const diff = r * denom - c * two53;
      return (diff < 0n ? -diff : diff) * 1_000_000_000n < denom * two53;
    });
    if (near) continue;
    checked++;
    t.true(r * denom <= cdfNum[j]! * two53, `ratio <= CDF(${j})`);
    if (j > 0) t.true(r * denom > cdfNum[j - 1]! * two53, `ratio > CDF(${j - 1})`);
  }
  t.true(checked > 2990);
});

test('deterministic: the same output and stakes always give the same j', (t) => {
  for (const beta of outputs('determinism', 50)) {
    const j1 = sortition(beta, 123_456n, 10_000_000n, 2990);
    const j2 = sortition(beta.slice(), 123_456n, 10_000_000n, 2990);
    t.is(j1, j2);
    // Only the first 32 bytes matter.
    const tweaked = beta.slice();
    tweaked[40]! ^= 0xff;
    t.is(sortition(tweaked, 123_456n, 10_000_000n, 2990), j1);
  }
});

test('distribution: n = 1000, p = 0.005 over 20000 seeded draws matches Binomial in mean, variance and chi-square (alpha = 0.001)', (t) => {
  const n = 1000;
  const total = 200_000n;
  const expectedSize = 1000; // p = 1000 / 200000 = 0.005
  const p = 0.005;
  const samples = outputs('dist-small', 20_000).map((beta) => sortition(beta, BigInt(n), total, expectedSize));
  const { mean, variance } = meanVar(samples);
  const mu = n * p;
  const sigma2 = n * p * (1 - p);
  t.true(Math.abs(mean - mu) < 5 * Math.sqrt(sigma2 / samples.length), `mean ${mean} vs ${mu}`);
  t.true(Math.abs(variance - sigma2) < 0.06 * sigma2, `variance ${variance} vs ${sigma2}`);
  const { stat, df } = chiSquare(samples, n, p);
  t.log(`chi-square ${stat.toFixed(2)} on ${df} df, critical ${chiSquareCritical001(df).toFixed(2)}`);
  t.true(stat < chiSquareCritical001(df));
});

test('distribution, large stake: n = 4,000,000 of 10,000,000 with expectedSize 5000 (mean 2000) and n = 2e6 with mean 20', (t) => {
  {
    const n = 4_000_000;
    const p = 5000 / 10_000_000;
    const samples = outputs('dist-large', 3000).map((beta) => sortition(beta, BigInt(n), 10_000_000n, 5000));
    const { mean, variance } = meanVar(samples);
    const mu = n * p;
    const sigma2 = n * p * (1 - p);
    t.true(Math.abs(mean - mu) < 5 * Math.sqrt(sigma2 / samples.length), `mean ${mean} vs ${mu}`);
    t.true(Math.abs(variance - sigma2) < 0.15 * sigma2, `variance ${variance} vs ${sigma2}`);
    const { stat, df } = chiSquare(samples, n, p);
    t.log(`large: chi-square ${stat.toFixed(2)} on ${df} df, critical ${chiSquareCritical001(df).toFixed(2)}`);
    t.true(stat < chiSquareCritical001(df));
  }
  {
    const n = 2_000_000;
    const p = 20 / 2_000_000_000;
    // Here pmf(0) = (1-p)^n ~ e^-0.02... the point is n huge with p tiny: Poisson-like, mean 0.02.
    const samples = outputs('dist-poisson', 5000).map((beta) => sortition(beta, BigInt(n), 2_000_000_000n, 20));
    const { mean } = meanVar(samples);
    t.true(Math.abs(mean - n * p) < 5 * Math.sqrt((n * p) / samples.length), `mean ${mean}`);
  }
  {
    const n = 2_000_000;
    const p = 20 / 2_000_000;
    const samples = outputs('dist-mid', 10_000).map((beta) => sortition(beta, BigInt(n), 2_000_000n, 20));
    const { stat, df } = chiSquare(samples, n, p);
    t.log(`mean 20: chi-square ${stat.toFixed(2)} on ${df} df, critical ${chiSquareCritical001(df).toFixed(2)}`);
    t.true(stat < chiSquareCritical001(df));
  }
});

test('tiny p with huge n: (1-p)^n is not mistaken for 1 when 1 - p rounds to 1', (t) => {
  // p = 1e-17, n = 2^52: mean n·p = 0.045, so about 4.4% of draws select someone.
  const n = 2 ** 52;
  const p = 1e-17;
  const selected = outputs('tiny-p', 4000).filter((beta) => binomialWalk(Number(beta[0]! * 2 ** 45 + beta[1]! * 2 ** 37) / 2 ** 53, n, p) > 0).length;
  const expected = 4000 * (1 - Math.exp(-n * p));
  t.true(Math.abs(selected - expected) < 5 * Math.sqrt(expected), `${selected} selected vs ${expected.toFixed(1)} expected`);
});

test('binomialWalk does not underflow when (1-p)^n is below the smallest double', (t) => {
  // n p = 5000: pmf(0) = e^-5000-ish, far below 1e-308. The median of Binomial(1e7, 5e-4) is 5000.
  const j = binomialWalk(0.5, 10_000_000, 5e-4);
  t.true(Math.abs(j - 5000) <= 1, `median ${j}`);
  t.is(binomialWalk(0, 10_000_000, 5e-4), 0);
  const top = binomialWalk(1 - 2 ** -53, 10_000_000, 5e-4);
  t.true(top > 5000 + 8 * 70 && top < 5000 + 12 * 71, `extreme upper quantile ${top}`);
});

test('splitting stake does not change the distribution of the total selected (sub-user additivity)', (t) => {
  // One holder of 2000 units vs two holders of 1000 each, on independent draws: same mean.
  const whole = outputs('split-whole', 6000).map((b) => sortition(b, 2000n, 100_000n, 100));
  const halvesA = outputs('split-a', 6000).map((b) => sortition(b, 1000n, 100_000n, 100));
  const halvesB = outputs('split-b', 6000).map((b) => sortition(b, 1000n, 100_000n, 100));
  const split = halvesA.map((x, i) => x + halvesB[i]!);
  const mw = meanVar(whole);
  const ms = meanVar(split);
  const se = Math.sqrt(2 * (2000 * 0.001 * 0.999) / 6000);
  t.true(Math.abs(mw.mean - ms.mean) < 5 * se, `${mw.mean} vs ${ms.mean}`);
});

test('bad arguments are refused with a typed error', (t) => {
  const beta = outputs('bad', 1)[0]!;
  t.throws(() => sortition(beta, 11n, 10n, 5), { instanceOf: CryptoError, message: /weight 11/ });
  t.throws(() => sortition(beta, -1n, 10n, 5), { instanceOf: CryptoError });
  t.throws(() => sortition(beta, 1n, 0n, 0), { instanceOf: CryptoError });
  t.throws(() => sortition(beta, 1n, 10n, 11), { instanceOf: CryptoError, message: /expectedSize/ });
  t.throws(() => sortition(beta, 1n, 10n, Number.NaN), { instanceOf: CryptoError });
  t.throws(() => sortition(beta.subarray(0, 31), 1n, 10n, 1), { instanceOf: CryptoError, message: /at least 32 bytes/ });
  t.throws(() => sortition(beta, 1n << 60n, 1n << 61n, 10), { instanceOf: CryptoError, message: /2\^53/ });
  t.throws(() => sortition(beta, 100_000_000n, 200_000_000n, 100_000_000), { instanceOf: CryptoError, message: /exceeds/ });
  t.throws(() => sortition(beta, 1 as unknown as bigint, 10n, 1), { instanceOf: CryptoError });
});

test('proveSortition and verifySortition agree on real VRF outputs; an invalid proof selects nobody', (t) => {
  const { secretKey, publicKey } = vrfKeyFromSeed(sha256(enc('storer-1')));
  const seed = sha256(enc('block seed'));
  const filehash = sha256(enc('file'));
  const alpha = sortitionAlpha(SortitionDomain.Storer, seed, filehash);
  let selectedSomewhere = 0;
  for (const weight of [1n, 50n, 500n, 1000n]) {
    const { proof, beta, j } = proveSortition(secretKey, alpha, weight, 1000n, 8);
    t.is(verifySortition(publicKey, alpha, proof, weight, 1000n, 8), j);
    t.is(j, sortition(beta, weight, 1000n, 8));
    if (j > 0) selectedSomewhere++;
    const bad = proof.slice();
    bad[50]! ^= 1;
    t.is(verifySortition(publicKey, alpha, bad, weight, 1000n, 8), 0);
    t.is(verifySortition(publicKey, sortitionAlpha(SortitionDomain.Storer, seed, sha256(enc('other'))), proof, weight, 1000n, 8), 0);
  }
  // With all the stake and expectedSize = total, everyone is selected.
  const all = proveSortition(secretKey, alpha, 1000n, 1000n, 1000);
  t.is(all.j, 1000);
  t.is(verifySortition(publicKey, alpha, all.proof, 1000n, 1000n, 1000), 1000);
  t.is(verifySortition(publicKey, alpha, prove(secretKey, alpha, 'TAI'), 1000n, 1000n, 1000), 0, 'a TAI proof checked as ELL2');
  t.is(verifySortition(publicKey, alpha, prove(secretKey, alpha, 'TAI'), 1000n, 1000n, 1000, 'TAI'), 1000);
  t.log(`selected for ${selectedSomewhere} of 4 weights`);
});

test('sortitionPriority: null for j = 0, the minimum of H(beta ‖ i), and never worse with more sub-users', (t) => {
  const beta = outputs('priority', 1)[0]!;
  t.is(sortitionPriority(beta, 0), null);
  const p1 = sortitionPriority(beta, 1)!;
  t.deepEqual(p1, sha256(beta, u32be(1)));
  let prev = p1;
  for (let j = 2; j <= 40; j++) {
    const pj = sortitionPriority(beta, j)!;
    t.true(comparePriority(pj, prev) <= 0);
    const brute = Array.from({ length: j }, (_, i) => sha256(beta, u32be(i + 1))).sort(comparePriority)[0]!;
    t.deepEqual(pj, brute);
    prev = pj;
  }
  t.throws(() => sortitionPriority(beta, -1), { instanceOf: CryptoError });
  t.true(comparePriority(Uint8Array.of(0, 1), Uint8Array.of(0, 2)) < 0);
  t.is(comparePriority(Uint8Array.of(5), Uint8Array.of(5)), 0);
});

test('sortitionAlpha is injective over domain and part boundaries', (t) => {
  const a = Uint8Array.of(1, 2);
  const b = Uint8Array.of(3);
  const alphas = [
    sortitionAlpha('wolk/x', a, b),
    sortitionAlpha('wolk/x', Uint8Array.of(1), Uint8Array.of(2, 3)),
    sortitionAlpha('wolk/x', concatBytes(a, b)),
    sortitionAlpha('wolk/y', a, b),
    sortitionAlpha('wolk/x', a, b, new Uint8Array(0)),
    sortitionAlpha('wolk/x'),
  ];
  t.is(new Set(alphas.map((x) => Buffer.from(x).toString('hex'))).size, alphas.length);
  t.deepEqual(sortitionAlpha('d', Uint8Array.of(9)), Uint8Array.of(1, 0x64, 0, 0, 0, 1, 9));
  t.throws(() => sortitionAlpha(''), { instanceOf: CryptoError });
});
