// Cryptographic sortition, Algorand style (DESIGN.md §5; Gilad et al., "Algorand: Scaling Byzantine
// Agreements", SOSP 2017, §5 Algorithm 1). A participant holding `weight` of `totalWeight` stake units
// is treated as `weight` sub-users, each selected with probability p = expectedSize / totalWeight, so
// the number selected is Binomial(weight, p). The VRF output picks the outcome: with
//
//   ratio = h / 2^256,  h = beta[0..32] read as a big-endian integer,
//
// the participant's number of selected sub-users is the smallest j with ratio <= BinomialCDF(j; weight, p).
// Splitting stake across identities therefore changes nothing (Binomial(a,p) + Binomial(b,p) =
// Binomial(a+b,p)), which is why the binomial, not a single threshold, is used.
//
// go-algorand (data/committee/sortition) computes ratio = h/2^256 in big.Float and walks
// boost::math's binomial CDF in C++. We walk the CDF ourselves in double precision with the pmf
// recurrence, keeping the running sum scaled by a power of two so that pmf(0) = (1-p)^n, which
// underflows for large n*p, never has to be represented.
//
// Determinism: the walk uses IEEE-754 + - * / (exactly reproducible) plus Math.log1p/Math.exp
// (reproducible across machines running the same V8, i.e. every Wolk node on Node 20). Versus the
// exact CDF, the computed one is off by ~1e-13 relative at most, so a result can differ from the
// exact one only when ratio lands within that distance of a CDF step: measure ~1e-13 per draw.
import { CryptoError, CryptoErrorCode, assertBytes } from './errors.js';
import { concatBytes, sha256, u32be } from './hash.js';
import { proofToHash, prove, verify, type VrfSuite } from './vrf.js';

/** Alpha domains for the VRF draws Wolk makes. Values are hashed into alpha: never change one. */
export enum SortitionDomain {
  /** Storer self-selection for a file: alpha = sortitionAlpha(Storer, seed, filehash). */
  Storer = 'wolk/sortition/storer/v1',
  Proposer = 'wolk/sortition/proposer/v1',
  Committee = 'wolk/sortition/committee/v1',
  Rewards = 'wolk/sortition/rewards/v1',
}

/** How many leading bytes of the VRF output sortition reads (h in ratio = h / 2^256). */
export const SORTITION_HASH_BYTES = 32;

const TWO_POW_53 = 2 ** 53;
const TWO_POW_21 = 2 ** 21;
// The running CDF is kept in [1, 2^RESCALE_BITS) times 2^k·pmf(0); powers of two rescale exactly.
const RESCALE_BITS = 500;
const RESCALE_AT = 2 ** RESCALE_BITS;
const RESCALE_BY = 2 ** -RESCALE_BITS;
const RESCALE_LOG = RESCALE_BITS * Math.LN2;
// The walk is linear in the mean n*p (it stops a few standard deviations past it). Committees are
// thousands; a configuration asking for more than this is a mistake, refused rather than run for seconds.
export const SORTITION_MAX_MEAN = 1e7;
// Below e^-700 (~1e-304) a pmf(0) would approach the subnormal range: switch to scaled sums.
const UNDERFLOW_LOG = -700;
// Past the mean, once a pmf term is below 2^-64 of the running sum it no longer changes the sum.
const NEGLIGIBLE = 2 ** -64;

/**
 * ratio = h / 2^256 rounded down to 53 bits: floor(h / 2^203) / 2^53, exact in a double.
 * Rounding down by < 2^-53 only ever moves ratio by less than any CDF step we can resolve.
 */
function ratioOf(vrfOutput: Uint8Array): number {
  const view = new DataView(vrfOutput.buffer, vrfOutput.byteOffset, 8);
  const top53 = view.getUint32(0, false) * TWO_POW_21 + (view.getUint32(4, false) >>> 11);
  return top53 / TWO_POW_53;
}

function checkWeights(weight: bigint, totalWeight: bigint, expectedSize: number): void {
  if (typeof weight !== 'bigint' || typeof totalWeight !== 'bigint') {
    throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, 'sortition: weight and totalWeight must be bigints');
  }
  if (totalWeight <= 0n) throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `sortition: totalWeight ${totalWeight} must be > 0`);
  if (weight < 0n || weight > totalWeight) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `sortition: weight ${weight} is outside [0, totalWeight=${totalWeight}]`);
  }
  if (weight > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `sortition: weight ${weight} exceeds 2^53 - 1`);
  }
  if (!Number.isFinite(expectedSize) || expectedSize < 0 || expectedSize > Number(totalWeight)) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `sortition: expectedSize ${expectedSize} is outside [0, totalWeight=${totalWeight}]`);
  }
}

/**
 * The number of selected sub-users j in [0, weight]: the smallest j with
 * ratio <= BinomialCDF(j; n = weight, p = expectedSize / totalWeight), ratio = beta[0..32] / 2^256.
 * `vrfOutput` is the VRF's beta (at least 32 bytes). Exact at the edges: weight 0 or expectedSize 0
 * give 0; p = 1 (expectedSize = totalWeight) gives weight.
 */
export function sortition(vrfOutput: Uint8Array, weight: bigint, totalWeight: bigint, expectedSize: number): number {
  assertBytes(vrfOutput, undefined, 'sortition vrfOutput');
  if (vrfOutput.length < SORTITION_HASH_BYTES) {
    throw new CryptoError(CryptoErrorCode.INVALID_LENGTH, `sortition vrfOutput: expected at least ${SORTITION_HASH_BYTES} bytes, got ${vrfOutput.length}`);
  }
  checkWeights(weight, totalWeight, expectedSize);
  const n = Number(weight);
  if (n === 0 || expectedSize === 0) return 0;
  const p = expectedSize / Number(totalWeight);
  if (p >= 1) return n; // every sub-user is selected: the CDF is 0 below n
  if (n * p > SORTITION_MAX_MEAN) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `sortition: expected selection n*p = ${n * p} exceeds ${SORTITION_MAX_MEAN}`);
  }
  return binomialWalk(ratioOf(vrfOutput), n, p);
}

/** Smallest j in [0, n] with ratio <= BinomialCDF(j; n, p), for 0 < p < 1 and n >= 1. */
export function binomialWalk(ratio: number, n: number, p: number): number {
  if (ratio <= 0) return 0; // CDF(0) = (1-p)^n > 0 >= ratio
  const odds = p / (1 - p);
  const mean = n * p;
  const logPmf0 = n * Math.log1p(-p);
  // True CDF(j) = cdf * e^logScale. While pmf(0) = (1-p)^n is a normal double, logScale = 0 and the
  // walk compares true probabilities with ratio directly (which keeps dyadic steps like CDF = 1/2, 3/4 exact).
  // Otherwise the sum starts at 1 and ratio is moved into the scaled units instead.
  let logScale = 0;
  let threshold = ratio;
  // Not Math.pow(1 - p, n): 1 - p rounds to 1 for p < 2^-53, while n·log1p(-p) keeps n·p exactly.
  let term = Math.exp(logPmf0);
  if (logPmf0 < UNDERFLOW_LOG) {
    logScale = logPmf0;
    threshold = Math.exp(Math.log(ratio) - logScale); // may be +Infinity: then not reached before a rescale
    term = 1;
  }
  let cdf = term;
  for (let j = 0; j < n; j++) {
    if (cdf >= threshold) return j;
    // pmf(j+1) = pmf(j) · (n-j)/(j+1) · p/(1-p)
    term *= ((n - j) / (j + 1)) * odds;
    const before = cdf;
    cdf += term;
    if (cdf >= RESCALE_AT) {
      cdf *= RESCALE_BY;
      term *= RESCALE_BY;
      logScale += RESCALE_LOG;
      threshold = Math.exp(Math.log(ratio) - logScale);
    } else if (j + 1 > mean && (cdf === before || term < cdf * NEGLIGIBLE)) {
      // The tail beyond here cannot move the double-precision CDF: it has reached its final value,
      // within rounding of 1. A ratio still above it (probability ~1e-13) stops here.
      return j + 1;
    }
  }
  return n;
}

/** Proves a sortition draw: the VRF proof and output for alpha, and the selected count j. */
export function proveSortition(
  secretKey: Uint8Array,
  alpha: Uint8Array,
  weight: bigint,
  totalWeight: bigint,
  expectedSize: number,
  suite: VrfSuite = 'ELL2',
): { proof: Uint8Array; beta: Uint8Array; j: number } {
  const proof = prove(secretKey, alpha, suite);
  const beta = proofToHash(proof, suite)!; // a proof prove() just made always decodes
  return { proof, beta, j: sortition(beta, weight, totalWeight, expectedSize) };
}

/**
 * Verifies someone's sortition claim: the number of their selected sub-users, 0 when the proof is
 * invalid (a bad proof selects nobody). Never throws on a bad key or proof.
 */
export function verifySortition(
  publicKey: Uint8Array,
  alpha: Uint8Array,
  proof: Uint8Array,
  weight: bigint,
  totalWeight: bigint,
  expectedSize: number,
  suite: VrfSuite = 'ELL2',
): number {
  const beta = verify(publicKey, alpha, proof, suite);
  if (beta === null) return 0;
  return sortition(beta, weight, totalWeight, expectedSize);
}

/**
 * Priority of a participant with j selected sub-users (Algorand's proposer choice, "lowest wins"):
 * min over i in 1..j of SHA-256(beta ‖ u32be(i)), or null when j = 0. Compare with comparePriority.
 */
export function sortitionPriority(vrfOutput: Uint8Array, j: number): Uint8Array | null {
  assertBytes(vrfOutput, undefined, 'sortitionPriority vrfOutput');
  if (!Number.isInteger(j) || j < 0 || j > 0xffffffff) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `sortitionPriority: j=${j} is not an integer in [0, 2^32)`);
  }
  let best: Uint8Array | null = null;
  for (let i = 1; i <= j; i++) {
    const h = sha256(vrfOutput, u32be(i));
    if (best === null || comparePriority(h, best) < 0) best = h;
  }
  return best;
}

/** Byte-wise (big-endian) order of two priorities: negative when a wins (is lower). */
export function comparePriority(a: Uint8Array, b: Uint8Array): number {
  const len = Math.min(a.length, b.length);
  for (let i = 0; i < len; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

const encoder = new TextEncoder();

/**
 * The one way to build a sortition alpha: len(domain) (1 byte) ‖ domain ‖ (u32be(len) ‖ part)...
 * Length prefixes make the encoding injective, so (seed, filehash) can never collide with another
 * split of the same bytes or with another domain's alpha. Storer selection:
 * sortitionAlpha(SortitionDomain.Storer, seed, filehash).
 */
export function sortitionAlpha(domain: SortitionDomain | string, ...parts: Uint8Array[]): Uint8Array {
  const d = encoder.encode(domain);
  if (d.length === 0 || d.length > 255) {
    throw new CryptoError(CryptoErrorCode.INVALID_ARGUMENT, `sortitionAlpha: domain must be 1..255 bytes, got ${d.length}`);
  }
  const pieces: Uint8Array[] = [Uint8Array.of(d.length), d];
  for (const [i, part] of parts.entries()) {
    assertBytes(part, undefined, `sortitionAlpha part ${i}`);
    pieces.push(u32be(part.length), part);
  }
  return concatBytes(...pieces);
}
