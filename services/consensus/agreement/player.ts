// The BA* player: a pure state machine, `handle(event, now) -> actions` (go-algorand agreement/
// player.go and the machines under it, DESIGN.md §5). It never reads a clock, a socket or a disk:
// time comes in as `now`, randomness as timer entropy, the ledger as a synchronous reader plus
// `validate`/`assemble`/`commit` actions, persistence as `persist` actions.
//
// One round, in Algorand's terms:
//   enter period p: (if selected) assemble + propose; wait for the filter timeout
//   filter timeout: soft-vote the frozen value (lowest-priority proposal seen)           step soft
//   soft quorum for v + block v validated: cert-vote v (until the deadline)              step cert
//   deadline: next-vote (staged value if we vouch for it, else the previous period's next value or ⊥);
//             an unvouched staged or carried value gets its storage re-checked, once per step
//   later timeouts: further next steps with doubling random naps (recovery)
//   cert quorum for v + block v: commit, enter the next round
//   next quorum for v (or ⊥) in period p: enter period p + 1, pin v and repropose it (or propose anew)

import {
  blockHash,
  bytesEqual,
  decodeState,
  deriveSeed,
  encodeState,
  proposalPriority,
  valueKey,
  voteSigningBytes,
  type PersistedVote,
} from './codec.js';
import { committeeOf, expectedSizeOf, nextVoteRange, type AgreementParams } from './params.js';
import { BlockStore, PeriodProposals, periodKey } from './proposals.js';
import {
  Step,
  type AgreementAction,
  type AgreementCrypto,
  type AgreementEvent,
  type AgreementLedgerReader,
  type AgreementLogger,
  type Block,
  type Bundle,
  type Certificate,
  type DropReason,
  type LedgerTip,
  type Message,
  type Period,
  type Proposal,
  type Round,
  type Value,
  type Vote,
} from './types.js';
import { fresherThan, StepTracker, verifyBundle, verifyCertificate, verifyVote, type Threshold, type VoteContext } from './votes.js';

export interface PlayerComponents {
  readonly crypto: AgreementCrypto;
  readonly ledger: AgreementLedgerReader;
  readonly params: AgreementParams;
  readonly logger?: AgreementLogger | null;
  /** Bytes of the last `persist` action before a restart, or null on a fresh start. */
  readonly persisted?: Uint8Array | null;
  /**
   * The proposals of `persistProposal` actions before a restart that belong to the round after the
   * ledger tip (older ones are ignored). Their blocks are checked like received ones and validated again.
   */
  readonly persistedProposals?: readonly Proposal[] | null;
}

export interface PlayerStatus {
  readonly round: Round;
  readonly period: Period;
  readonly step: number;
  readonly tip: LedgerTip;
}

export interface Player {
  handle(event: AgreementEvent, now: number): AgreementAction[];
  status(): PlayerStatus;
  /** Counters: drop reasons and protocol events (votes cast, periods, equivocations seen, ...). */
  counters(): Readonly<Record<string, number>>;
}

export function createPlayer(components: PlayerComponents): Player {
  return new BaPlayer(components);
}

interface NextStatus {
  bottom: boolean;
  value: Value;
}

class BaPlayer implements Player {
  private readonly crypto: AgreementCrypto;
  private readonly ledger: AgreementLedgerReader;
  private readonly params: AgreementParams;
  private readonly logger: AgreementLogger | null;
  private persistedAtStart: Uint8Array | null;
  private proposalsAtStart: readonly Proposal[];
  private started = false;
  private readonly stats = new Map<string, number>();

  // Position
  private tip: LedgerTip = { round: 0, hash: new Uint8Array(32), seed: new Uint8Array(32) };
  private round: Round = 1;
  private period: Period = 0;
  private step = Step.soft as number;
  private napping = false;
  private periodStart = 0;
  private roundStart = 0;
  private deadline = 0;
  private lastCatchupAt = -Infinity;

  // Per round
  private ctx!: VoteContext;
  private myStake = 0n;
  private trackers = new Map<string, StepTracker>();
  private nextStatus = new Map<Period, NextStatus>();
  private staged = new Map<Period, Value>();
  private proposals = new Map<Period, PeriodProposals>();
  private blocks = new BlockStore();
  private freshest: Threshold | null = null;
  private certified: Threshold | null = null;
  private pinned: Value = null;
  /** Our own votes this round by (period, step): never two different values for one key. */
  private myVotes = new Map<string, Value>();
  /** Blocks of this round on disk (a `persistProposal` was emitted, or restored from one). */
  private persistedBlocks = new Set<string>();
  private pendingAssemble: { round: Round; period: Period } | null = null;
  private buffered: Message[] = [];
  private catchingUp = false;
  /** When each period-0 block of this round first arrived (ms after the round started). */
  private arrivals = new Map<string, number>();
  /** Arrival times of the blocks certified in period 0, oldest first (dynamic filter timeout). */
  private readonly arrivalHistory: number[] = [];

  constructor(c: PlayerComponents) {
    this.crypto = c.crypto;
    this.ledger = c.ledger;
    this.params = c.params;
    this.logger = c.logger ?? null;
    this.persistedAtStart = c.persisted ?? null;
    this.proposalsAtStart = c.persistedProposals ?? [];
  }

  status(): PlayerStatus {
    return { round: this.round, period: this.period, step: this.step, tip: this.tip };
  }

  counters(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.stats);
  }

  private count(name: string, n = 1): void {
    this.stats.set(name, (this.stats.get(name) ?? 0) + n);
  }

  private drop(reason: DropReason): void {
    this.count(`drop.${reason}`);
  }

  handle(event: AgreementEvent, now: number): AgreementAction[] {
    const out: AgreementAction[] = [];
    if (event.kind === 'start') {
      if (!this.started) this.start(now, out);
      return out;
    }
    if (!this.started) return out;
    switch (event.kind) {
      case 'message':
        this.onMessage(event.message, event.from, now, out);
        break;
      case 'timeout':
        if (event.at === this.deadline) this.onTimeout(event.entropy, now, out);
        break;
      case 'assembled':
        this.onAssembled(event.round, event.period, event.body, now, out);
        break;
      case 'verdict':
        this.onVerdict(event.round, valueKey(event.hash), event.valid, event.vouched ?? true, now, out);
        break;
      case 'certified':
        this.onCertified(event.block, event.certificate, now, out);
        break;
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Start, rounds, periods

  private start(now: number, out: AgreementAction[]): void {
    this.started = true;
    const tip = this.ledger.tip();
    let restored: ReturnType<typeof decodeState> | null = null;
    if (this.persistedAtStart !== null) {
      const s = decodeState(this.persistedAtStart);
      // State of an older round is void: that round is in the ledger already.
      if (s.round === tip.round + 1) restored = s;
    }
    this.persistedAtStart = null;
    this.enterRound(tip, now, out, restored);
    // Blocks we had voted for in this round, from disk: back in the store (validated again) before the
    // quorum replay, so that a carried value can be reproposed, cert-voted and relayed as before the crash.
    const proposals = this.proposalsAtStart;
    this.proposalsAtStart = [];
    for (const p of proposals) this.restoreProposal(p, out);
    // Replay the freshest quorum we had seen: it moves us back to the period we had reached (and
    // relays it to peers). Our own votes are in myVotes, so nothing we sign can differ from before.
    if (restored !== null && restored.bundle !== null) this.onBundle(restored.bundle, undefined, now, out);
  }

  /** A proposal from our own disk (`persistProposal` before a restart): checked as on receipt (vote and header), then validated again. */
  private restoreProposal(p: Proposal, out: AgreementAction[]): void {
    const b = p.block;
    if (b.round !== this.round) return; // an older round is in the ledger already
    const v = p.vote;
    if (v.step !== Step.propose || v.value === null || !bytesEqual(v.value, b.hash) || v.round !== b.round || b.period > v.period || this.checkBlock(b) !== null || !verifyVote(v, this.ctx).ok) {
      this.drop('bad-block');
      return;
    }
    const key = valueKey(b.hash);
    if (!this.blocks.add(key, p, this.protectedBlock)) return;
    this.persistedBlocks.add(key);
    this.count('blocks-restored');
    // Its proposal-vote (verified when it first arrived, signed by the proposer) is a candidate of its
    // period again, as if received anew: back in that period we soft-vote the same value as before
    // (castVote keeps any earlier vote of ours). A period the bundle replay leaves behind forgets it.
    const pp = this.periodProposals(v.period);
    if (!pp.senders.has(v.credential.voterId)) {
      pp.senders.set(v.credential.voterId, key);
      pp.offer(proposalPriority(this.crypto, v.credential), b.hash);
    }
    this.validate(key, out);
  }

  private enterRound(tip: LedgerTip, now: number, out: AgreementAction[], restored: ReturnType<typeof decodeState> | null = null): void {
    this.tip = tip;
    this.round = tip.round + 1;
    this.period = 0;
    this.step = Step.soft;
    this.napping = false;
    this.periodStart = now;
    this.roundStart = now;
    this.count('rounds');
    const total = this.ledger.totalStake(this.round);
    const round = this.round;
    this.ctx = {
      crypto: this.crypto,
      params: this.params,
      seed: tip.seed,
      totalStake: total,
      stakeOf: (voter) => this.ledger.stakeOf(voter, round),
    };
    this.myStake = this.ledger.stakeOf(this.crypto.self, round);
    this.trackers = new Map();
    this.nextStatus = new Map();
    this.staged = new Map();
    this.proposals = new Map();
    this.blocks = new BlockStore();
    this.freshest = null;
    this.certified = null;
    this.pinned = null;
    this.myVotes = new Map();
    this.persistedBlocks = new Set();
    if (restored !== null) for (const v of restored.votes) this.myVotes.set(periodKey(v.period, v.step), v.value);
    this.pendingAssemble = null;
    this.catchingUp = false;
    this.arrivals = new Map();
    this.setDeadline(now + this.filterTimeout(), out);
    this.maybePropose(now, out);

    // Replay what arrived early for this round (it could not be verified before this round's seed).
    const early = this.buffered;
    this.buffered = [];
    for (const m of early) {
      const r = messageRound(m);
      if (r === this.round) this.onMessage(m, undefined, now, out, true);
      else if (r > this.round) this.buffered.push(m);
    }
  }

  private filterTimeout(): number {
    if (this.period !== 0) return this.params.filterTimeout;
    const p = this.params;
    const n = p.dynamicFilterHistory;
    if (n <= 0 || this.arrivalHistory.length < n) return p.filterTimeout0;
    const sorted = [...this.arrivalHistory].sort((a, b) => a - b);
    const dynamic = sorted[Math.min(p.dynamicFilterIndex, n - 1)]! + p.dynamicFilterGrace;
    return Math.min(Math.max(dynamic, p.dynamicFilterLowerBound), p.filterTimeout0);
  }

  private setDeadline(at: number, out: AgreementAction[]): void {
    this.deadline = at;
    out.push({ kind: 'setTimer', at });
  }

  /** go-algorand player.enterPeriod; `nextValue` is set when entering on a next quorum. */
  private enterPeriod(target: Period, now: number, out: AgreementAction[], via: 'soft' | 'cert' | 'next', nextValue: Value = null): void {
    this.partitionPolicy(out);
    // Pin the value that may have been certified (Algorand's proposalStore.Pinned, vbar in the spec).
    if (via === 'next' && nextValue !== null) this.pinned = nextValue;
    else {
      const s = this.staged.get(this.period);
      if (s !== undefined && s !== null) this.pinned = s;
    }
    if (this.pinned !== null) this.validate(valueKey(this.pinned), out);
    this.period = target;
    this.step = Step.soft;
    this.napping = false;
    this.periodStart = now;
    this.count('periods');
    // Forget what can no longer matter; cert trackers stay (a late cert quorum is final whatever its period).
    for (const k of this.trackers.keys()) {
      const [p, s] = k.split(':').map(Number) as [number, number];
      if (p + 1 < target && s !== Step.cert) this.trackers.delete(k);
    }
    for (const p of this.proposals.keys()) if (p + 1 < target) this.proposals.delete(p);
    this.setDeadline(now + this.filterTimeout(), out);

    if (via === 'soft') this.maybeCertVote(now, out);
    if (via === 'next') {
      if (nextValue === null) this.maybePropose(now, out);
      else this.maybeRepropose(nextValue, now, out);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Proposing

  private maybePropose(now: number, out: AgreementAction[]): void {
    if (this.myVotes.has(periodKey(this.period, Step.propose))) return; // proposed before a restart
    const cred = this.prove(Step.propose);
    if (cred === null) return;
    this.pendingAssemble = { round: this.round, period: this.period };
    out.push({ kind: 'assemble', round: this.round, period: this.period });
  }

  private onAssembled(round: Round, period: Period, body: Uint8Array, now: number, out: AgreementAction[]): void {
    const p = this.pendingAssemble;
    if (p === null || p.round !== round || p.period !== period || round !== this.round || period !== this.period) return;
    this.pendingAssemble = null;
    const cred = this.prove(Step.propose);
    if (cred === null) return;
    const header = {
      round,
      prevHash: this.tip.hash,
      seed: deriveSeed(this.crypto, this.tip.seed, round, period, cred.vrfOutput),
      proposer: this.crypto.self,
      period,
      credential: cred,
      body,
    };
    const block: Block = { ...header, hash: blockHash(this.crypto, header) };
    this.sendProposal(block, now, out);
  }

  /** A proposal-vote for `block` in the current period, persisted then broadcast, then processed as received. */
  private sendProposal(block: Block, now: number, out: AgreementAction[]): void {
    const vote = this.makeVote(Step.propose, block.hash);
    if (vote === null) return;
    const proposal: Proposal = { vote, block };
    this.recordVote(Step.propose, block.hash, out);
    out.push({ kind: 'broadcast', message: { kind: 'proposal', proposal } });
    this.count('proposals-sent');
    this.onProposal(proposal, undefined, now, out, true);
  }

  /** After a next-value quorum: propose the pinned block again with a fresh credential (Algorand's repropose). */
  private maybeRepropose(value: Value, now: number, out: AgreementAction[]): void {
    if (value === null || this.myVotes.has(periodKey(this.period, Step.propose))) return;
    const entry = this.blocks.get(valueKey(value));
    if (entry === undefined || entry.status === 'invalid') return;
    if (this.prove(Step.propose) === null) return;
    this.sendProposal(entry.block, now, out);
  }

  // -------------------------------------------------------------------------------------------
  // Voting

  private prove(step: number) {
    if (this.myStake === 0n) return null;
    return this.crypto.proveCredential(
      {
        seed: this.tip.seed,
        round: this.round,
        period: this.period,
        step,
        expectedSize: expectedSizeOf(this.params, step),
        totalStake: this.ctx.totalStake,
      },
      this.myStake,
    );
  }

  private makeVote(step: number, value: Value): Vote | null {
    const cred = this.prove(step);
    if (cred === null) return null;
    const signature = this.crypto.sign(voteSigningBytes(cred.voterId, this.round, this.period, step, value));
    return { round: this.round, period: this.period, step, value, credential: cred, signature };
  }

  private recordVote(step: number, value: Value, out: AgreementAction[]): void {
    this.myVotes.set(periodKey(this.period, step), value);
    const votes: PersistedVote[] = [];
    for (const [k, v] of this.myVotes) {
      const [p, s] = k.split(':').map(Number) as [number, number];
      votes.push({ period: p, step: s, value: v });
    }
    const bundle = this.freshest;
    // Durable before the vote leaves: a restarted node then re-sends the same vote, never another.
    out.push({ kind: 'persist', state: encodeState({ round: this.round, period: this.period, step, votes, bundle }) });
  }

  /** Cast a soft/cert/next vote in the current period, at most one value per step, ever. */
  private castVote(step: number, value: Value, now: number, out: AgreementAction[]): void {
    const key = periodKey(this.period, step);
    const prior = this.myVotes.get(key);
    if (prior !== undefined && valueKey(prior) !== valueKey(value)) {
      this.count('self-equivocation-prevented');
      value = prior;
    }
    const vote = this.makeVote(step, value);
    if (vote === null) return;
    if (value !== null) this.validate(valueKey(value), out);
    // Never acknowledge before durable: the block we vote for goes to disk before the vote leaves, so
    // that after a crash we still hold it (go-algorand persists its proposal store). Without it, if every
    // honest node holding a carried value's block restarts, nobody can cert-vote it ever again.
    this.persistBlock(value, out);
    if (prior === undefined) this.recordVote(step, value, out);
    out.push({ kind: 'broadcast', message: { kind: 'vote', vote } });
    this.count(`votes-cast.${step <= Step.cert ? step : 'next'}`);
    this.onVote(vote, undefined, now, out, true);
  }

  /** Emit `persistProposal` for the block of `value` once per round, if we hold it. */
  private persistBlock(value: Value, out: AgreementAction[]): void {
    if (value === null) return;
    const key = valueKey(value);
    if (this.persistedBlocks.has(key)) return;
    const e = this.blocks.get(key);
    if (e === undefined) return;
    this.persistedBlocks.add(key);
    this.count('blocks-persisted');
    out.push({ kind: 'persistProposal', proposal: e.proposal });
  }

  /** Filter timeout: go-algorand player.issueSoftVote. */
  private softVote(now: number, out: AgreementAction[]): void {
    const pp = this.periodProposals(this.period);
    pp.frozen = true;
    const frozen = pp.best((k) => this.blocks.isInvalid(k));
    const prev = this.period > 0 ? this.nextStatus.get(this.period - 1) : undefined;
    if (prev !== undefined && !prev.bottom && prev.value !== null) {
      // A next-value quorum in the previous period: that value may be certified; carry it.
      this.castVote(Step.soft, prev.value, now, out);
      return;
    }
    if (frozen === null) return;
    const entry = this.blocks.get(frozen.key);
    if (entry !== undefined && entry.block.period < this.period) {
      // A reproposal: vote only for the value our previous period's next quorum carried.
      if (prev?.value != null && valueKey(prev.value) === frozen.key) this.castVote(Step.soft, frozen.value, now, out);
      return;
    }
    this.castVote(Step.soft, frozen.value, now, out);
  }

  /** Soft quorum for v and block v valid, before the deadline, not yet next-voted: cert-vote v. */
  private maybeCertVote(now: number, out: AgreementAction[]): void {
    if (this.step > Step.cert) return;
    const v = this.staged.get(this.period);
    if (v === undefined || v === null || !this.blocks.isValid(valueKey(v))) return;
    for (const k of this.myVotes.keys()) {
      const [p, s] = k.split(':').map(Number) as [number, number];
      // Never cert after next-voting in the same period (a restarted node restarts at step soft).
      if (p === this.period && s >= Step.next) return;
    }
    if (this.myVotes.has(periodKey(this.period, Step.cert))) return;
    this.castVote(Step.cert, v, now, out);
  }

  /** go-algorand player.issueNextVote. */
  private nextVote(now: number, out: AgreementAction[]): void {
    this.partitionPolicy(out);
    let value: Value = null;
    const certVoted = this.myVotes.get(periodKey(this.period, Step.cert));
    const staged = this.staged.get(this.period);
    // A quorum soft-voted (or next-voted) a value our storage check did not vouch for: others' checks
    // passed where ours failed, so ask again; a pass upgrades it and a later step next-votes it.
    if (staged !== undefined && staged !== null) this.maybeRecheck(staged, out);
    const carried = this.period > 0 ? this.nextStatus.get(this.period - 1)?.value ?? null : null;
    if (carried !== null) this.maybeRecheck(carried, out);
    if (certVoted !== undefined) {
      // We cert-voted: we must carry that value (bottom here could complete a ⊥ quorum beside a certificate).
      value = certVoted;
    } else if (staged !== undefined && staged !== null && this.blocks.isValid(valueKey(staged))) {
      value = staged;
    } else if (this.period > 0) {
      const prev = this.nextStatus.get(this.period - 1);
      if (prev !== undefined && !prev.bottom) value = prev.value;
    }
    this.napping = false;
    this.setDeadline(this.periodStart + nextVoteRange(this.params, this.step).upper, out);
    this.castVote(this.step, value, now, out);
  }

  /** Ask the ledger to validate the block of `key` if we hold it and have not asked yet (once per block). */
  private validate(key: string, out: AgreementAction[]): void {
    const e = this.blocks.get(key);
    if (e === undefined || e.validationAsked) return;
    e.validationAsked = true;
    out.push({ kind: 'validate', block: e.block });
  }

  /**
   * Ask the host to run the storage check of unvouched block `value` again: at most one check in flight
   * per block, at most one asked per (period, step), so a block whose files nobody holds costs a storer
   * one challenge per next step of ours (the steps' doubling naps are the backoff), never a loop.
   */
  private maybeRecheck(value: Value, out: AgreementAction[]): void {
    if (value === null) return;
    const e = this.blocks.get(valueKey(value));
    if (e === undefined || e.status !== 'unvouched') return;
    const r = e.recheck;
    // A verdict lost on the way (host queue full) is not waited for beyond the period it was asked in.
    if (r !== null && ((r.inFlight && r.period === this.period) || (r.period === this.period && r.step === this.step))) return;
    e.recheck = { period: this.period, step: this.step, inFlight: true };
    this.count('storage-rechecks');
    out.push({ kind: 'recheck', block: e.block });
  }

  private onTimeout(entropy: number, now: number, out: AgreementAction[]): void {
    // State changes come before the vote: our own vote may complete a quorum that moves us on.
    if (this.step === Step.soft) {
      this.step = Step.cert;
      this.setDeadline(this.periodStart + this.params.deadlineTimeout, out);
      this.softVote(now, out);
      return;
    }
    if (this.step === Step.cert) {
      this.step = Step.next;
      this.nextVote(now, out);
      return;
    }
    if (this.napping) {
      this.nextVote(now, out);
      return;
    }
    if (this.step >= this.params.maxStep) {
      this.setDeadline(this.periodStart + nextVoteRange(this.params, this.step).upper + this.params.maxRecoveryExtra, out);
      return;
    }
    this.step++;
    const { lower, upper } = nextVoteRange(this.params, this.step);
    this.napping = true;
    this.setDeadline(this.periodStart + lower + (entropy % Math.max(1, upper - lower)), out);
  }

  /**
   * go-algorand player.partitionPolicy: when we seem cut off (late next step or period >= 3),
   * rebroadcast the freshest quorum's votes and the staged or pinned block so that peers that missed
   * them can catch up to our period.
   */
  private partitionPolicy(out: AgreementAction[]): void {
    if (this.step < this.params.partitionStep && this.period < 3) return;
    this.count('partition-rebroadcasts');
    const f = this.freshest;
    if (f !== null) out.push({ kind: 'relay', message: { kind: 'bundle', bundle: f } });
    const staged = f !== null && f.value !== null ? f.value : this.staged.get(this.period) ?? null;
    const candidates = [staged, this.pinned];
    for (const v of candidates) {
      if (v === null) continue;
      const e = this.blocks.get(valueKey(v));
      if (e !== undefined && e.status !== 'invalid') {
        out.push({ kind: 'relay', message: { kind: 'proposal', proposal: e.proposal } });
        break;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Messages

  /** Blocks the store must not evict: the pinned value, staged values and the certified value. */
  private readonly protectedBlock = (key: string): boolean => {
    if (this.pinned !== null && valueKey(this.pinned) === key) return true;
    if (this.certified !== null && valueKey(this.certified.value) === key) return true;
    for (const v of this.staged.values()) if (v !== null && valueKey(v) === key) return true;
    return false;
  };

  private periodProposals(p: Period): PeriodProposals {
    let pp = this.proposals.get(p);
    if (pp === undefined) {
      pp = new PeriodProposals();
      this.proposals.set(p, pp);
    }
    return pp;
  }

  private tracker(p: Period, s: number): StepTracker {
    const k = periodKey(p, s);
    let t = this.trackers.get(k);
    if (t === undefined) {
      t = new StepTracker(committeeOf(this.params, s).threshold);
      this.trackers.set(k, t);
    }
    return t;
  }

  private onMessage(m: Message, from: string | undefined, now: number, out: AgreementAction[], replay = false): void {
    if (m.kind === 'vote') this.onVote(m.vote, from, now, out, false, replay);
    else if (m.kind === 'proposal') this.onProposal(m.proposal, from, now, out, false, replay);
    else this.onBundle(m.bundle, from, now, out);
  }

  /** Round filter shared by votes and proposals; buffers next-round messages. */
  private roundFilter(round: Round, m: Message, now: number, out: AgreementAction[]): boolean {
    if (round === this.round) return true;
    if (round < this.round) {
      this.drop('wrong-round');
      return false;
    }
    if (round === this.round + 1) {
      if (this.buffered.length < this.params.maxBufferedNextRound) this.buffered.push(m);
      else this.drop('buffer-full');
    } else {
      this.drop('wrong-round');
    }
    // Peers are ahead of us. If we have been in this round a while, fetch its certified block.
    if (now - this.roundStart >= this.params.catchupInterval) this.requestCatchup(now, out);
    return false;
  }

  private requestCatchup(now: number, out: AgreementAction[]): void {
    if (now - this.lastCatchupAt < this.params.catchupInterval) return;
    this.lastCatchupAt = now;
    this.count('catchup-requests');
    out.push({ kind: 'catchup', round: this.round });
  }

  /**
   * Vote freshness (go-algorand voteFresh): periods within ±1 of ours; cert votes of any earlier
   * period (a cert quorum is final whatever its period). Unlike Algorand we accept next votes of any
   * step up to maxStep rather than only ±1 of our own step: a node whose step clock restarted (crash)
   * or drifted can then still see a quorum its peers formed at a later step. Memory stays bounded by
   * maxStep trackers per period, each holding at most one vote per committee member.
   */
  private voteFresh(v: Vote): DropReason | null {
    if (v.step > this.params.maxStep) return 'bad-step';
    if (v.step === Step.cert && v.period <= this.period + 1) return null;
    if (v.period + 1 < this.period) return 'stale-period';
    if (v.period > this.period + 1) return 'future-period';
    return null;
  }

  private onVote(v: Vote, from: string | undefined, now: number, out: AgreementAction[], own = false, replay = false): void {
    if (!this.roundFilter(v.round, { kind: 'vote', vote: v }, now, out)) return;
    if (v.step === Step.propose) {
      this.drop('bad-step'); // proposal-votes travel with their block (Proposal)
      return;
    }
    if (v.value === null && (v.step === Step.soft || v.step === Step.cert)) {
      this.drop('bad-value');
      return;
    }
    const stale = this.voteFresh(v);
    if (stale !== null) {
      this.drop(stale);
      return;
    }
    const t = this.tracker(v.period, v.step);
    const pre = t.precheck(v);
    if (pre !== null) {
      this.drop(pre);
      return;
    }
    let weight = v.credential.weight;
    if (!own) {
      const r = verifyVote(v, this.ctx);
      if (!r.ok) {
        this.drop(r.reason);
        return;
      }
      weight = r.weight;
    }
    const res = t.add(v, weight);
    if ('drop' in res) {
      this.drop(res.drop);
      return;
    }
    if (res.equivocation) {
      this.count('equivocations-seen');
      this.logger?.warn('equivocating voter', { voter: v.credential.voterId, round: v.round, period: v.period, step: v.step });
    }
    if (!own) out.push({ kind: 'relay', message: { kind: 'vote', vote: v }, from: replay ? undefined : from });
    if (res.threshold !== null) this.onThreshold(res.threshold, now, out);
  }

  /**
   * A bundle (go-algorand bundleFresh/verifyBundle): accepted from any period of our round that is
   * not stale, because a verified quorum proves by itself where its voters are. Its votes then enter
   * the trackers like any others; relayed only when it taught us a new quorum.
   */
  private onBundle(b: Bundle, from: string | undefined, now: number, out: AgreementAction[]): void {
    if (!this.roundFilter(b.round, { kind: 'bundle', bundle: b }, now, out)) return;
    if (b.step === Step.propose || b.step > this.params.maxStep) {
      this.drop('bad-step');
      return;
    }
    if (b.step !== Step.cert && b.period + 1 < this.period) {
      this.drop('stale-period');
      return;
    }
    const t = this.tracker(b.period, b.step);
    if (t.reached() !== null) {
      this.drop('duplicate');
      return;
    }
    const ok = verifyBundle(b, this.ctx);
    if (!ok.ok) {
      this.drop('bad-bundle');
      this.logger?.warn('bad bundle', { round: b.round, period: b.period, step: b.step, reason: ok.reason });
      return;
    }
    let reached: Threshold | null = null;
    const add = (v: Vote): void => {
      const r = t.add(v, v.credential.weight); // weights were checked by verifyBundle
      if (!('drop' in r) && r.threshold !== null) reached = r.threshold;
    };
    for (const v of b.votes) add(v);
    for (const [x, y] of b.equivocations) {
      add(x);
      add(y);
    }
    if (reached === null) return;
    this.count('bundles-accepted');
    out.push({ kind: 'relay', message: { kind: 'bundle', bundle: b }, from });
    this.onThreshold(reached, now, out);
  }

  private onProposal(prop: Proposal, from: string | undefined, now: number, out: AgreementAction[], own = false, replay = false): void {
    const v = prop.vote;
    const b = prop.block;
    if (!this.roundFilter(v.round, { kind: 'proposal', proposal: prop }, now, out)) return;
    if (v.step !== Step.propose || v.value === null || !bytesEqual(v.value, b.hash) || b.round !== v.round || b.period > v.period) {
      this.drop('bad-block');
      return;
    }
    if (v.period + 1 < this.period) {
      this.drop('stale-period');
      return;
    }
    if (v.period > this.period + 1) {
      this.drop('future-period');
      return;
    }
    const key = valueKey(v.value);
    const pp = this.periodProposals(v.period);
    const voter = v.credential.voterId;
    const seenFrom = pp.senders.get(voter);
    const known = this.blocks.get(key) !== undefined;
    if (seenFrom !== undefined && (seenFrom === key || known)) {
      this.drop(seenFrom === key ? 'duplicate' : 'equivocator');
      return;
    }
    if (!own) {
      const r = verifyVote(v, this.ctx);
      if (!r.ok) {
        this.drop(r.reason);
        return;
      }
      const bad = known ? null : this.checkBlock(b);
      if (bad !== null) {
        this.drop('bad-block');
        return;
      }
    }
    let relay = false;
    if (seenFrom === undefined) {
      pp.senders.set(voter, key);
      if (pp.frozen || this.staged.has(v.period)) this.drop('proposal-frozen');
      else if (pp.offer(proposalPriority(this.crypto, v.credential), v.value)) relay = true;
      else this.drop('proposal-not-better');
    } else {
      // An equivocating proposer's second block: not a candidate, but kept in case it gets staged.
      this.drop('equivocator');
    }
    if (v.period === 0 && !this.arrivals.has(key)) this.arrivals.set(key, Math.max(0, now - this.roundStart));
    if (this.blocks.add(key, prop, this.protectedBlock)) {
      // The new best candidate, our own, or a value a quorum or a pin already needs: validate now; any
      // other block waits until a vote, a quorum or a pin needs it (BlockEntry.validationAsked).
      if (relay || own || this.protectedBlock(key)) this.validate(key, out);
      else this.count('validations-deferred');
    } else if (relay) {
      // Keep the newest authenticator so a rebroadcast carries a vote of a fresh period.
      const e = this.blocks.get(key);
      if (e !== undefined && e.proposal.vote.period < v.period) e.proposal = prop;
    }
    if (relay && !own) out.push({ kind: 'relay', message: { kind: 'proposal', proposal: prop }, from: replay ? undefined : from });
  }

  /** Header checks agreement owns: hash, chain link, proposer credential, seed. Returns a reason or null. */
  private checkBlock(b: Block): string | null {
    if (b.round !== this.round) return 'round';
    if (!bytesEqual(b.prevHash, this.tip.hash)) return 'prevHash';
    const { hash: _h, ...header } = b;
    if (!bytesEqual(blockHash(this.crypto, header), b.hash)) return 'hash';
    if (b.credential.voterId !== b.proposer) return 'proposer';
    const check = this.crypto.verifyCredential(
      {
        seed: this.tip.seed,
        round: b.round,
        period: b.period,
        step: Step.propose,
        expectedSize: this.params.proposerSize,
        totalStake: this.ctx.totalStake,
      },
      b.credential,
      this.ctx.stakeOf(b.proposer),
    );
    if (!check.ok || check.weight !== b.credential.weight) return 'credential';
    if (!bytesEqual(deriveSeed(this.crypto, this.tip.seed, b.round, b.period, b.credential.vrfOutput), b.seed)) return 'seed';
    return null;
  }

  private onVerdict(round: Round, key: string, valid: boolean, vouched: boolean, now: number, out: AgreementAction[]): void {
    if (round !== this.round) return;
    const e = this.blocks.get(key);
    if (e === undefined) return;
    if (e.status === 'unvouched') {
      // The answer to a `recheck`: only an upgrade changes anything (valid and vouched never go back).
      if (e.recheck !== null) e.recheck.inFlight = false;
      if (!valid || !vouched) {
        this.count('storage-rechecks-failed');
        return;
      }
      e.status = 'valid';
      this.count('storage-rechecks-passed');
      this.logger?.info('block vouched on re-check', { round, period: this.period, step: this.step });
      // Before the deadline of a period that staged it, that is a cert vote; later, the next step's vote.
      this.maybeCertVote(now, out);
      return;
    }
    if (e.status !== 'pending') return;
    e.status = !valid ? 'invalid' : vouched ? 'valid' : 'unvouched';
    if (!valid || !vouched) {
      // Not to be voted for: the next best candidate of this period is what a soft vote would take now.
      const next = this.periodProposals(this.period).best((k) => this.blocks.isInvalid(k));
      if (next !== null) this.validate(next.key, out);
    }
    if (!valid) {
      this.drop('invalid-block');
      return;
    }
    if (!vouched) this.count('unvouched-blocks');
    const c = this.certified;
    if (c !== null && c.value !== null && valueKey(c.value) === key) {
      this.commit(e.block, c, now, out);
      return;
    }
    this.maybeCertVote(now, out);
  }

  /** A certified block from catch-up: verify the certificate ourselves, then commit once the ledger validates it. */
  private onCertified(block: Block, cert: Certificate, now: number, out: AgreementAction[]): void {
    if (cert.round !== this.round || block.round !== this.round || !bytesEqual(cert.value, block.hash)) return;
    if (this.checkBlock(block) !== null) {
      this.drop('bad-block');
      return;
    }
    const ok = verifyCertificate(cert, this.ctx);
    if (!ok.ok) {
      this.drop('bad-certificate');
      this.logger?.warn('bad certificate from catch-up', { round: cert.round, reason: ok.reason });
      return;
    }
    this.count('catchup-certificates');
    this.catchingUp = true;
    const key = valueKey(block.hash);
    const proposal: Proposal = { vote: cert.votes[0] ?? cert.equivocations[0]![0], block };
    if (this.blocks.add(key, proposal, this.protectedBlock)) this.validate(key, out);
    this.onThreshold({ ...cert, step: Step.cert, value: cert.value }, now, out);
  }

  // -------------------------------------------------------------------------------------------
  // Thresholds (go-algorand player.handleThresholdEvent)

  private onThreshold(t: Threshold, now: number, out: AgreementAction[]): void {
    if (fresherThan(t, this.freshest)) this.freshest = t;
    if (t.step === Step.soft) {
      this.staged.set(t.period, t.value);
      if (t.value !== null) this.validate(valueKey(t.value), out);
      if (t.period > this.period) this.enterPeriod(t.period, now, out, 'soft');
      else if (t.period === this.period) this.maybeCertVote(now, out);
      // A soft quorum for a block we could not vouch for: check again now, in time for the cert vote.
      if (t.period === this.period) this.maybeRecheck(t.value, out);
      return;
    }
    if (t.step === Step.cert) {
      if (this.certified !== null) {
        if (valueKey(this.certified.value) !== valueKey(t.value)) {
          // Impossible with honest stake above the thresholds' bound; loudly visible if it happens.
          this.count('conflicting-certificates');
          this.logger?.warn('two cert quorums in one round', { round: t.round });
        }
        return;
      }
      this.certified = t;
      this.staged.set(t.period, t.value);
      const key = valueKey(t.value);
      this.validate(key, out);
      const e = this.blocks.get(key);
      if (e !== undefined && this.blocks.isCommittable(key)) {
        this.commit(e.block, t, now, out);
        return;
      }
      if (e === undefined) this.requestCatchup(now, out); // quorum without its block: fetch it
      if (t.period > this.period) this.enterPeriod(t.period, now, out, 'cert');
      return;
    }
    // next quorum
    const ns = this.nextStatus.get(t.period) ?? { bottom: false, value: null };
    if (t.value === null) ns.bottom = true;
    else {
      ns.value = t.value;
      this.validate(valueKey(t.value), out);
    }
    this.nextStatus.set(t.period, ns);
    if (t.period >= this.period) this.enterPeriod(t.period + 1, now, out, 'next', t.value);
  }

  private commit(block: Block, t: Threshold, now: number, out: AgreementAction[]): void {
    const certificate: Certificate = {
      round: t.round,
      period: t.period,
      value: block.hash,
      votes: t.votes,
      equivocations: t.equivocations,
    };
    const viaCatchup = this.catchingUp;
    // A sample for the dynamic filter timeout: how long the block certified in period 0 took to reach us.
    const arrived = this.arrivals.get(valueKey(block.hash));
    if (t.period === 0 && !viaCatchup && arrived !== undefined && this.params.dynamicFilterHistory > 0) {
      this.arrivalHistory.push(arrived);
      if (this.arrivalHistory.length > this.params.dynamicFilterHistory) this.arrivalHistory.shift();
    }
    out.push({ kind: 'commit', block, certificate });
    this.count('commits');
    this.enterRound({ round: block.round, hash: block.hash, seed: block.seed }, now, out);
    // Catching up over several rounds: ask for the next one right away.
    if (viaCatchup) {
      this.lastCatchupAt = now;
      out.push({ kind: 'catchup', round: this.round });
    }
  }
}

function messageRound(m: Message): Round {
  return m.kind === 'vote' ? m.vote.round : m.kind === 'proposal' ? m.proposal.vote.round : m.bundle.round;
}
