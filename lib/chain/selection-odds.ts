// The chance that a store request ends with fewer than N storer commitments because sortition did not
// select enough storers (docs/storer.md "Uploads that are not selected"). A storer of weight w (effective
// stake) out of W, with expected committee size τ, is selected on a seed when its sortition draw
// (lib/crypto/sortition.ts: Binomial(w, p), p = τ/W) is at least 1, so with probability
//   s = 1 − (1 − p)^w.
// The gateway asks again on up to A seeds in all, keeping the commitments it already has, so a storer
// ends up committed unless it was passed over on all A seeds: probability (1 − p)^(w·A), independent
// across storers (each draw is a VRF output on its own (seed, file) input). The upload fails when fewer
// than N storers are committed in the end: a Poisson-binomial tail, computed exactly below.

/** Probability that a storer of `weight` out of `totalWeight` is passed over on one seed: (1 − p)^w. */
export function passedOverProbability(weight: bigint, totalWeight: bigint, expectedSize: number): number {
  if (totalWeight <= 0n) throw new RangeError(`selection odds: totalWeight must be > 0, got ${totalWeight}`);
  if (weight < 0n || weight > totalWeight) throw new RangeError(`selection odds: weight ${weight} is outside [0, ${totalWeight}]`);
  // As the storers and the ledger compute it (lib/chain/commitment.ts): τ capped at the total weight.
  const p = Math.min(expectedSize, Number(totalWeight)) / Number(totalWeight);
  if (weight === 0n || p === 0) return 1;
  if (p >= 1) return 0;
  return Math.exp(Number(weight) * Math.log1p(-p));
}

export interface SelectionShape {
  /** Each storer's sortition weight (effective stake) on the seeds asked. */
  readonly weights: readonly bigint[];
  /** τ, the genesis storerCommitteeSize. */
  readonly expectedSize: number;
  /** N, the commitments a SetKey needs. */
  readonly replication: number;
  /** Seeds asked in all (the first and the retries). */
  readonly attempts: number;
}

/** Probability that fewer than N distinct storers are selected on at least one of `attempts` seeds. */
export function uploadFailureProbability(shape: SelectionShape): number {
  const { weights, expectedSize, replication, attempts } = shape;
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError(`selection odds: attempts must be an integer >= 1, got ${attempts}`);
  if (!Number.isInteger(replication) || replication < 1) throw new RangeError(`selection odds: replication must be an integer >= 1, got ${replication}`);
  const total = weights.reduce((a, b) => a + b, 0n);
  // below[k] = P(exactly k storers committed so far), for k < N only: the tail we want never needs more.
  let below = new Array<number>(replication).fill(0);
  below[0] = 1;
  for (const w of weights) {
    const miss = Math.pow(passedOverProbability(w, total, expectedSize), attempts);
    const next = new Array<number>(replication).fill(0);
    for (let k = 0; k < replication; k++) {
      next[k]! += below[k]! * miss;
      if (k + 1 < replication) next[k + 1]! += below[k]! * (1 - miss);
    }
    below = next;
  }
  return below.reduce((a, b) => a + b, 0);
}

/** The fewest seeds (up to `max`) that bring the failure probability to at most `target`; null if none does. */
export function attemptsFor(shape: Omit<SelectionShape, 'attempts'>, target: number, max = 16): number | null {
  for (let a = 1; a <= max; a++) if (uploadFailureProbability({ ...shape, attempts: a }) <= target) return a;
  return null;
}
