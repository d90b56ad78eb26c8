// Proposal bookkeeping of one round (go-algorand proposalTracker / proposalStore): per period the
// proposal-votes ranked by priority until the filter timeout freezes the choice, and the blocks
// (payloads) with the ledger's verdict on each.

import { compareBytes, valueKey } from './codec.js';
import type { Block, Hash, Period, Proposal, VoterId } from './types.js';

/**
 * `unvouched`: valid for the ledger, but this node withholds its votes (e.g. its storage check failed);
 * committed like a valid block once certified.
 */
export type BlockStatus = 'pending' | 'valid' | 'unvouched' | 'invalid';

export interface BlockEntry {
  readonly block: Block;
  /** The proposal message that carried it (its "authenticator"), for rebroadcast. */
  proposal: Proposal;
  status: BlockStatus;
  /**
   * The last storage re-check asked for an unvouched block: the (period, step) it was asked in and
   * whether its verdict is still outstanding. Bounds re-checks to one per step, one at a time.
   */
  recheck: { period: Period; step: number; inFlight: boolean } | null;
  /**
   * Whether the ledger was asked to validate it. A proposal that is not the best candidate when it
   * arrives is kept unvalidated until a vote, a quorum or a pin needs it (go-algorand validates only
   * the payloads of the leading proposal and of staged or pinned values): with every validator a
   * proposer, validating every block made each node's work per round grow with the committee.
   */
  validationAsked: boolean;
}

interface Candidate {
  readonly priority: Uint8Array;
  readonly key: string;
  readonly value: Hash;
}

/** Proposal-votes of one period. */
export class PeriodProposals {
  /** Senders seen this period: a second proposal-vote from one sender is dropped. */
  readonly senders = new Map<VoterId, string>();
  /** Accepted candidates, best (lowest priority) first; bounded. */
  private readonly candidates: Candidate[] = [];
  frozen = false;

  constructor(private readonly maxCandidates = 16) {}

  /** Offer a verified proposal-vote; true if it is now the best candidate (worth relaying). */
  offer(priority: Uint8Array, value: Hash): boolean {
    const key = valueKey(value);
    let i = 0;
    while (i < this.candidates.length && compareBytes(this.candidates[i]!.priority, priority) <= 0) i++;
    if (i >= this.maxCandidates) return false;
    this.candidates.splice(i, 0, { priority, key, value });
    if (this.candidates.length > this.maxCandidates) this.candidates.pop();
    return i === 0;
  }

  /**
   * The value to soft-vote (Algorand's frozen value mu(S, r, p)): the best candidate whose block is
   * not known to be invalid. We skip known-invalid blocks so that an invalid proposal with the best
   * credential costs a period only when nodes have not yet judged it.
   */
  best(isInvalid: (key: string) => boolean): { key: string; value: Hash } | null {
    for (const c of this.candidates) if (!isInvalid(c.key)) return c;
    return null;
  }
}

/** Blocks of the current round by value key; bounded against floods of equivocating proposals. */
export class BlockStore {
  private readonly entries = new Map<string, BlockEntry>();

  constructor(private readonly max = 64) {}

  get(key: string): BlockEntry | undefined {
    return this.entries.get(key);
  }

  /**
   * Adds a block; false when already present. When full, the oldest block that `keep` does not
   * protect (pinned, staged or certified values) makes room; if every block is protected the new one
   * is refused. Without eviction, a flood of proposals over many periods could leave no room for the
   * one block that later gets certified.
   */
  add(key: string, proposal: Proposal, keep: (key: string) => boolean): boolean {
    if (this.entries.has(key)) return false;
    if (this.entries.size >= this.max) {
      let victim: string | undefined;
      for (const k of this.entries.keys()) {
        if (!keep(k)) {
          victim = k;
          break;
        }
      }
      if (victim === undefined) return false;
      this.entries.delete(victim);
    }
    this.entries.set(key, { block: proposal.block, proposal, status: 'pending', recheck: null, validationAsked: false });
    return true;
  }

  /** Not to be voted for: invalid, or valid without our vouching. */
  isInvalid(key: string): boolean {
    const s = this.entries.get(key)?.status;
    return s === 'invalid' || s === 'unvouched';
  }

  /** Valid and vouched for: may get our votes. */
  isValid(key: string): boolean {
    return this.entries.get(key)?.status === 'valid';
  }

  /** The ledger can apply it (vouched or not): may be committed under a certificate. */
  isCommittable(key: string): boolean {
    const s = this.entries.get(key)?.status;
    return s === 'valid' || s === 'unvouched';
  }
}

export function periodKey(period: Period, step: number): string {
  return `${period}:${step}`;
}
