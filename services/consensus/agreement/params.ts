// Agreement parameters: committee sizes, thresholds and timeouts. Everything is injectable; two
// presets are provided.
//
// Algorand figures (go-algorand config/consensus.go, protocol v8+; DESIGN.md §5): proposers 20
// (v10), soft 2990/2267, cert 1500/1112, next 5000/3838; SmallLambda 2 s, filter timeout 4 s,
// deadline BigLambda + SmallLambda. These sizes assume a large stake population where each vote is
// a random sample; the thresholds (~76% of the expected committee) then give safety with high
// probability if honest stake is above ~80%.
//
// A small network (a devnet of a handful of nodes, the simulator) cannot rely on sampling. The
// small preset therefore makes every stake unit a seat (expected size = total stake, so sortition's
// p = 1 and a voter's weight equals its stake) and uses the classic BFT quorum: more than two
// thirds of total stake. With Byzantine stake below one third, two quorums for different values
// would need (2T - total) > Byzantine stake of double-counted weight, which is impossible; and the
// honest stake alone reaches T, so the protocol stays live after the network heals.

import { ALGORAND_COMMITTEES, smallNetworkCommittees, type CommitteeSizes } from '../../../lib/chain/certificate.js';
import { Step } from './types.js';

// The committee figures and their lookups are the chain's (lib/chain/certificate.ts), shared with
// everyone who checks certificates.
export { committeeOf, expectedSizeOf, type CommitteeParams, type CommitteeSizes } from '../../../lib/chain/certificate.js';

export interface AgreementParams extends CommitteeSizes {
  /** Algorand's SmallLambda (ms): time to propagate a credential; the recovery step unit. */
  readonly lambda: number;
  /** Filter timeout in period 0 (ms): wait for the lowest-priority proposal before soft-voting. */
  readonly filterTimeout0: number;
  /** Filter timeout in later periods (ms). */
  readonly filterTimeout: number;
  /** Deadline timeout (ms after period start): when the first next vote is cast. */
  readonly deadlineTimeout: number;
  /**
   * Cap on the doubling extra time of later next steps (ms). Algorand doubles without cap and
   * relies on its fast-recovery steps; capping keeps recovery after a partition bounded.
   */
  readonly maxRecoveryExtra: number;
  /** From this next step on (or period >= 3) a node rebroadcasts its freshest bundle (partitionPolicy). */
  readonly partitionStep: Step;
  /** Min time (ms) in a round before messages from later rounds trigger a catch-up request, and between requests. */
  readonly catchupInterval: number;
  /** Bound on buffered messages for the next round (they cannot be verified before its seed is known). */
  readonly maxBufferedNextRound: number;
  /** Highest step accepted at all (bounds memory against votes for far-future steps). */
  readonly maxStep: Step;
  /**
   * Dynamic filter timeout (go-algorand calculateFilterTimeout): once this many rounds have been
   * certified in period 0, the period-0 filter timeout becomes the `dynamicFilterIndex`-th smallest
   * of the last `dynamicFilterHistory` arrival times (ms after the round started) of the block that
   * got certified, plus `dynamicFilterGrace`, clamped to [`dynamicFilterLowerBound`, filterTimeout0].
   * 0 turns it off. Only when a node soft-votes changes, never what it may vote for, so safety does
   * not depend on it.
   */
  readonly dynamicFilterHistory: number;
  readonly dynamicFilterIndex: number;
  readonly dynamicFilterGrace: number;
  readonly dynamicFilterLowerBound: number;
}

/** Algorand's committee sizes and thresholds with its 2 s / 4 s timings (production, large stake populations). */
export function algorandParams(overrides: Partial<AgreementParams> = {}): AgreementParams {
  const lambda = 2000;
  return {
    ...ALGORAND_COMMITTEES,
    lambda,
    filterTimeout0: 2 * lambda,
    filterTimeout: 2 * lambda,
    deadlineTimeout: 15000 + lambda,
    maxRecoveryExtra: 64 * lambda,
    partitionStep: Step.next + 3,
    catchupInterval: 2 * lambda,
    maxBufferedNextRound: 10000,
    maxStep: 255,
    // go-algorand: 40 samples, the 38th smallest (95th percentile), +50 ms, at least 2.5 s.
    dynamicFilterHistory: 40,
    dynamicFilterIndex: 37,
    dynamicFilterGrace: 50,
    dynamicFilterLowerBound: 2500,
    ...overrides,
  };
}

/**
 * Small networks (devnet, simulator): every stake unit is a seat; quorum = more than 2/3 of
 * `totalStake`. `lambda` defaults to 50 ms (loopback devnet: tens of ms).
 */
export function smallNetworkParams(totalStake: bigint, overrides: Partial<AgreementParams> = {}): AgreementParams {
  if (totalStake <= 0n) throw new RangeError(`smallNetworkParams: totalStake must be > 0, got ${totalStake}`);
  const lambda = overrides.lambda ?? 50;
  return {
    ...smallNetworkCommittees(totalStake),
    lambda,
    filterTimeout0: 2 * lambda,
    filterTimeout: 2 * lambda,
    deadlineTimeout: 4 * lambda,
    maxRecoveryExtra: 32 * lambda,
    partitionStep: Step.next + 3,
    catchupInterval: 4 * lambda,
    maxBufferedNextRound: 5000,
    maxStep: 255,
    // As Algorand's (95th percentile of 40), but never below λ: at most λ is saved per round.
    dynamicFilterHistory: 40,
    dynamicFilterIndex: 37,
    dynamicFilterGrace: Math.max(1, Math.round(lambda / 4)),
    dynamicFilterLowerBound: lambda,
    ...overrides,
  };
}

/**
 * Algorand's nextVoteRanges (agreement/types.go): next step s votes at a random time in
 * [lower, upper); step next starts at the deadline and each later step's window doubles.
 * Durations are from the period start.
 */
export function nextVoteRange(params: AgreementParams, step: Step): { lower: number; upper: number } {
  let extra = params.lambda;
  let lower = params.deadlineTimeout;
  let upper = lower + extra;
  for (let s = Step.next; s < step; s++) {
    extra = Math.min(extra * 2, params.maxRecoveryExtra);
    lower = upper;
    upper = lower + extra;
  }
  return { lower, upper };
}
