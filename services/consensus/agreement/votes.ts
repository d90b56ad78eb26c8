// Vote counting (go-algorand voteTracker / voteTrackerPeriod / voteTrackerRound) and the checks of
// a single vote and of a certificate.
//
// Equivocation (one voter, two values, same round/period/step): we follow Algorand. The voter's
// first vote is moved out of its value's tally and its weight is then counted for EVERY value of
// that step; any third vote is dropped. Rationale: a Byzantine voter can always show different
// votes to different honest nodes, so the quorum arithmetic must already assume its weight counts
// on both sides; counting it everywhere keeps honest nodes from being stalled by an equivocator
// who splits its votes, and it never lets a quorum form without honest support (params.ts).

import { valueKey } from './codec.js';
import { Step, type Bundle, type DropReason, type Value, type Vote, type VoterId } from './types.js';

/** A quorum observed for one value in one step. */
export type Threshold = Bundle;

interface Tally {
  readonly value: Value;
  weight: number;
  readonly votes: Map<VoterId, Vote>;
}

/** Votes of one (round, period, step). */
export class StepTracker {
  private readonly voters = new Map<VoterId, Vote>();
  private readonly weights = new Map<VoterId, number>();
  private readonly tallies = new Map<string, Tally>();
  private readonly equivocators = new Map<VoterId, readonly [Vote, Vote]>();
  private equivocatorWeight = 0;
  private fired: Threshold | null = null;

  constructor(private readonly threshold: number) {}

  /** Cheap pre-check before any crypto: is this vote certainly useless? */
  precheck(vote: Vote): DropReason | null {
    const voter = vote.credential.voterId;
    if (this.equivocators.has(voter)) return 'equivocator';
    const old = this.voters.get(voter);
    if (old !== undefined && valueKey(old.value) === valueKey(vote.value)) return 'duplicate';
    return null;
  }

  /**
   * Count a verified vote of `weight`. Returns the drop reason, or the threshold it completed (at most
   * once per step), or null.
   */
  add(vote: Vote, weight: number): { drop: DropReason } | { threshold: Threshold | null; equivocation: boolean } {
    const pre = this.precheck(vote);
    if (pre !== null) return { drop: pre };
    const voter = vote.credential.voterId;
    const old = this.voters.get(voter);
    let equivocation = false;
    if (old === undefined) {
      this.voters.set(voter, vote);
      this.weights.set(voter, weight);
      const key = valueKey(vote.value);
      let t = this.tallies.get(key);
      if (t === undefined) {
        t = { value: vote.value, weight: 0, votes: new Map() };
        this.tallies.set(key, t);
      }
      t.weight += weight;
      t.votes.set(voter, vote);
    } else {
      // Second, different vote: the voter becomes an equivocator whose weight counts for every value.
      equivocation = true;
      const oldWeight = this.weights.get(voter) ?? weight;
      const oldKey = valueKey(old.value);
      const t = this.tallies.get(oldKey);
      if (t !== undefined) {
        t.weight -= oldWeight;
        t.votes.delete(voter);
        if (t.votes.size === 0) this.tallies.delete(oldKey);
      }
      this.voters.delete(voter);
      this.equivocators.set(voter, [old, vote]);
      this.equivocatorWeight += oldWeight;
    }
    if (this.fired !== null) return { threshold: null, equivocation };
    for (const t of this.tallies.values()) {
      if (t.weight + this.equivocatorWeight >= this.threshold) {
        this.fired = {
          round: vote.round,
          period: vote.period,
          step: vote.step,
          value: t.value,
          votes: [...t.votes.values()],
          equivocations: [...this.equivocators.values()],
        };
        return { threshold: this.fired, equivocation };
      }
    }
    return { threshold: null, equivocation };
  }

  /** The threshold this step reached, if any. */
  reached(): Threshold | null {
    return this.fired;
  }

  /** Every vote counted (for rebroadcast). */
  allVotes(): Vote[] {
    const out = [...this.voters.values()];
    for (const [a, b] of this.equivocators.values()) out.push(a, b);
    return out;
  }
}

/**
 * Freshness order of thresholds within a round (go-algorand voteTrackerRound): cert beats
 * everything; otherwise a later period is fresher; in one period a next quorum beats a soft one and
 * a next-bottom beats a next-value.
 */
export function fresherThan(a: Threshold, b: Threshold | null): boolean {
  if (b === null) return true;
  if (b.step === Step.cert) return false;
  if (a.step === Step.cert) return true;
  if (a.period !== b.period) return a.period > b.period;
  const isNext = (t: Threshold): boolean => t.step >= Step.next;
  if (isNext(a) !== isNext(b)) return isNext(a);
  if (isNext(a) && isNext(b)) return a.value === null && b.value !== null;
  return false;
}

// The checks of a single vote, a bundle and a certificate are the chain's (lib/chain/certificate.ts),
// so a catching-up node, the indexer and clients accept exactly what the core accepts.
export { verifyBundle, verifyCertificate, verifyVote, type VoteContext } from '../../../lib/chain/certificate.js';

/**
 * Regroups a batch of votes into bundles, for transports that carry a bundle as a flat list of votes
 * (both votes of each equivocation pair included). Each (round, period, step) group becomes one
 * bundle for the value most of its voters chose; a voter seen with two values becomes an
 * equivocation pair. Deliver the result as `{ kind: 'bundle' }` messages: the player verifies them
 * (a group that is no quorum is dropped as bad-bundle). Delivering such votes one by one instead
 * loses the point of a bundle: votes from periods beyond ours + 1 are dropped as future-period, so a
 * node left behind by a partition could not be pulled forward.
 */
export function bundlesFromVotes(votes: readonly Vote[]): Bundle[] {
  const groups = new Map<string, Vote[]>();
  for (const v of votes) {
    const k = `${v.round}:${v.period}:${v.step}`;
    let g = groups.get(k);
    if (g === undefined) groups.set(k, (g = []));
    g.push(v);
  }
  const out: Bundle[] = [];
  for (const g of groups.values()) {
    const byVoter = new Map<VoterId, Vote[]>();
    for (const v of g) {
      const list = byVoter.get(v.credential.voterId) ?? [];
      if (!list.some((x) => valueKey(x.value) === valueKey(v.value))) list.push(v);
      byVoter.set(v.credential.voterId, list);
    }
    const equivocations: (readonly [Vote, Vote])[] = [];
    const tally = new Map<string, Vote[]>();
    for (const list of byVoter.values()) {
      if (list.length >= 2) equivocations.push([list[0]!, list[1]!]);
      else {
        const k = valueKey(list[0]!.value);
        tally.set(k, [...(tally.get(k) ?? []), list[0]!]);
      }
    }
    let best: Vote[] = [];
    for (const vs of tally.values()) if (vs.length > best.length) best = vs;
    const first = g[0]!;
    const value = best.length > 0 ? best[0]!.value : equivocations[0]![0].value;
    out.push({ round: first.round, period: first.period, step: first.step, value, votes: best, equivocations });
  }
  return out;
}
