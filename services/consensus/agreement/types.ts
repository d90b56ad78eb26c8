// Domain types of the BA* agreement core (DESIGN.md §5). These are not the protobuf messages: the
// gRPC wiring converts generated messages to and from these at the edge (toProto/fromProto).
//
// Vocabulary follows go-algorand's agreement/ package: a round decides one block; a round runs in
// periods (one attempt each); a period runs in steps (propose, soft, cert, then next steps).

// The vote-level types are the chain's (lib/chain/certificate.ts): one definition for the core, the
// node, the indexer and clients.
import type { Bundle, Certificate, Credential, Hash, Period, Round, Selector, Step, Vote, VoteVerifier, VoterId } from '../../../lib/chain/certificate.js';
export { Step } from '../../../lib/chain/certificate.js';
export type { Bundle, Certificate, Credential, CredentialCheck, Hash, Period, Round, Selector, Value, Vote, VoterId } from '../../../lib/chain/certificate.js';

/**
 * A block as agreement sees it. The header fields below are the ones the protocol itself checks;
 * everything the ledger owns (txs, state root, tx root, NewChunksHash, timestamp) is inside the
 * opaque `body` and judged by the ledger's validity verdict.
 */
export interface Block {
  readonly round: Round;
  readonly prevHash: Hash;
  /** seed_r, derived by `deriveSeed` (codec.ts) from the proposer's VRF output, checked on receipt. */
  readonly seed: Hash;
  /** The original proposer. */
  readonly proposer: VoterId;
  /** The period in which the block was first proposed (Algorand's OriginalPeriod). */
  readonly period: Period;
  /** The proposer's credential for (round, period, propose). */
  readonly credential: Credential;
  readonly body: Uint8Array;
  /** `blockHash(...)` of all the fields above (codec.ts); receivers recompute it. */
  readonly hash: Hash;
}

/**
 * A proposal as gossiped: the proposal-vote (step 0, value = block hash, in the current period;
 * its credential decides priority) together with the payload. Algorand sends these as one
 * "compound message" so that the payload is never dropped for arriving before its vote.
 * A reproposal in a later period carries a new proposal-vote and the original block.
 */
export interface Proposal {
  readonly vote: Vote;
  readonly block: Block;
}

/** What a node gossips. */
export type Message =
  | { readonly kind: 'vote'; readonly vote: Vote }
  | { readonly kind: 'proposal'; readonly proposal: Proposal }
  | { readonly kind: 'bundle'; readonly bundle: Bundle };

// ---------------------------------------------------------------------------------------------
// Events in

export type AgreementEvent =
  /** First event after construction (or restart): reads the ledger tip and persisted state. */
  | { readonly kind: 'start' }
  | { readonly kind: 'message'; readonly message: Message; readonly from?: string }
  /** The timer set by the last `setTimer` action fired; `at` echoes it, `entropy` is a random uint32. */
  | { readonly kind: 'timeout'; readonly at: number; readonly entropy: number }
  /** The ledger's answer to an `assemble` action: the body of a new block for (round, period). */
  | { readonly kind: 'assembled'; readonly round: Round; readonly period: Period; readonly body: Uint8Array }
  /**
   * The ledger's verdict on a `validate` action (DESIGN §4 step 6 checks plug in there). `vouched: false`
   * (with `valid: true`) is a block the ledger can apply but this node will not vote for (its storage did
   * not verify from here): no soft, cert or next vote from us for it, yet committed when a certificate for
   * it arrives, since the certificate is others' quorum and withholding our vote must not cost us the chain.
   * Also the answer to a `recheck` action: `vouched: true` then upgrades the block so we vote for it.
   */
  | { readonly kind: 'verdict'; readonly round: Round; readonly hash: Hash; readonly valid: boolean; readonly vouched?: boolean; readonly reason?: string }
  /** A certified block fetched from a peer after a `catchup` action. */
  | { readonly kind: 'certified'; readonly block: Block; readonly certificate: Certificate };

// ---------------------------------------------------------------------------------------------
// Actions out. The host executes them in order; each must be durable/complete before the next
// (in particular `persist` before the `broadcast` that follows it, and `commit` before anything
// of the next round).

export type AgreementAction =
  /** Persist the agreement state (bytes from codec.ts) durably, before the next action runs. */
  | { readonly kind: 'persist'; readonly state: Uint8Array }
  /**
   * Persist this proposal (its block with the payload the host holds for it, and the proposal-vote
   * that carried it) durably, before the next action runs: emitted once per block and round, before
   * our first soft/cert/next vote for it leaves. Kept until its round is final; on restart the host
   * hands the proposals of its current round back (`PlayerComponents.persistedProposals`), so a node
   * that voted for a block can still cert-vote and relay it after a crash.
   */
  | { readonly kind: 'persistProposal'; readonly proposal: Proposal }
  /** Send our own vote or proposal to every peer. */
  | { readonly kind: 'broadcast'; readonly message: Message }
  /** Forward a message received from `from` that passed all checks (gossip relay). */
  | { readonly kind: 'relay'; readonly message: Message; readonly from?: string }
  /** Replace the single outstanding timer: fire a `timeout` event with this `at` when now >= at. */
  | { readonly kind: 'setTimer'; readonly at: number }
  /** Ask the ledger/mempool for a block body for (round, period); answered by `assembled`. */
  | { readonly kind: 'assemble'; readonly round: Round; readonly period: Period }
  /** Ask the ledger to validate the body; answered by `verdict`. */
  | { readonly kind: 'validate'; readonly block: Block }
  /**
   * Run this node's storage check of an unvouched block again (the ledger's validity is known); answered
   * by a `verdict` with `valid: true` and the new `vouched`. Emitted for the staged or carried value only,
   * at most once per step and never while one is in flight for the block (agreement/README.md).
   */
  | { readonly kind: 'recheck'; readonly block: Block }
  /** The block is final: append it with its certificate, durably, before the next event. */
  | { readonly kind: 'commit'; readonly block: Block; readonly certificate: Certificate }
  /** We are behind: fetch the certified block of `round` from a peer; answered by `certified`. */
  | { readonly kind: 'catchup'; readonly round: Round };

// ---------------------------------------------------------------------------------------------
// Injected components

/**
 * Crypto the core needs, injected so that the simulator can swap in a fast keyed-hash scheme.
 * The production implementation is crypto.ts (RFC 9381 VRF + Ed25519 + SHA-256).
 */
export interface AgreementCrypto extends VoteVerifier {
  /** This node's identity. */
  readonly self: VoterId;
  /** Our credential for the selector with our stake, or null when sortition gives weight 0. */
  proveCredential(sel: Selector, stake: bigint): Credential | null;
  /** Sign `msg` with our vote key. */
  sign(msg: Uint8Array): Uint8Array;
  /** SHA-256 of the concatenation. */
  hash(...parts: Uint8Array[]): Hash;
}

/** The finalized chain head agreement builds on. */
export interface LedgerTip {
  readonly round: Round;
  readonly hash: Hash;
  readonly seed: Hash;
}

/**
 * The synchronous reads agreement makes. The ledger answers `validate` and applies `commit` through
 * actions (AgreementLedger below adds them for hosts that want one object).
 */
export interface AgreementLedgerReader {
  tip(): LedgerTip;
  /** Total stake that votes in `round`. */
  totalStake(round: Round): bigint;
  /** Stake of `voter` in `round` (0n when unknown). */
  stakeOf(voter: VoterId, round: Round): bigint;
}

export interface AgreementLedger extends AgreementLedgerReader {
  validate(block: Block): Promise<{ valid: boolean; reason?: string }>;
  assemble(round: Round, period: Period): Promise<Uint8Array>;
  commit(block: Block, certificate: Certificate): Promise<void>;
  /** A certified block for catch-up, or null when we do not have it. */
  certified(round: Round): Promise<{ block: Block; certificate: Certificate } | null>;
}

/** Optional structured log of notable protocol events (equivocation, period changes). */
export interface AgreementLogger {
  info(msg: string, data?: Record<string, unknown>): void;
  warn(msg: string, data?: Record<string, unknown>): void;
}

/** Why a received message was dropped; counted per reason (Player.counters()). */
export type DropReason =
  | 'bad-proof'
  | 'unknown-voter'
  | 'not-selected'
  | 'weight-mismatch'
  | 'bad-signature'
  | 'wrong-round'
  | 'stale-period'
  | 'future-period'
  | 'bad-step'
  | 'bad-value'
  | 'duplicate'
  | 'equivocator'
  | 'proposal-not-better'
  | 'proposal-frozen'
  | 'bad-block'
  | 'invalid-block'
  | 'irrelevant-block'
  | 'bad-certificate'
  | 'bad-bundle'
  | 'buffer-full';
