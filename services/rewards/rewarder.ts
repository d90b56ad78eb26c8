// The rewards verifier (DESIGN §6): each round, if this node's VRF selects it, audits the block Q rounds
// back (auditor.ts), signs one Reward transaction and submits it; keeps its tallies and a reputation
// view per storer in its RocksDB (Bucket.tally). Chain access, storers and time are injected.
import type { CertifiedBlock } from '../../gen/wolk/common/v1/chain.js';
import type { Credential } from '../../gen/wolk/common/v1/crypto.js';
import type { Reward, SignedTransaction, Transaction } from '../../gen/wolk/common/v1/tx.js';
import { GetReputationResponse, GetTallyResponse } from '../../gen/wolk/rewards/v1/rewards.js';
import { auditedRoundFor, effectiveTallies, proveVerifier, type RewardParams } from '../../lib/chain/reward.js';
import { provenStandingState, standingSelection, type StandingTarget } from '../../lib/chain/standing.js';
import type { StateProofAnswer } from '../../lib/chain/storer-registry.js';
import { FULL_REPUTATION_PPM, nextReputation } from '../../lib/chain/reputation.js';
import { txId as txIdOf } from '../../lib/chain/tx-bytes.js';
import { signTransaction } from '../../lib/client/tx.js';
import { u64be } from '../../lib/crypto/index.js';
import type { NodeKey } from '../../lib/identity/node-key.js';
import type { Logger } from '../../lib/log/logger.js';
import { Bucket, bucketKey, type KvStore } from '../../lib/storage/kv.js';
import { runAudit, type AuditContainment, type AuditResult, type SealChecks, type StorerProber } from './auditor.js';
import { signerOf } from '../../lib/identity/node-key.js';

/** What the rewarder needs from consensus (gRPC ConsensusService in production). */
export interface ChainAccess {
  finalizedRound(): Promise<number>;
  block(round: number): Promise<CertifiedBlock>;
  nonceOf(id: Uint8Array): Promise<bigint>;
  submit(stx: SignedTransaction): Promise<Uint8Array>;
}

export interface RewarderOptions {
  readonly key: NodeKey;
  readonly chainId: string;
  readonly params: RewardParams;
  /** This node's rewards stake and the total rewards stake (genesis registry). */
  readonly stake: bigint;
  readonly totalStake: bigint;
  readonly chain: ChainAccess;
  readonly prober: StorerProber;
  readonly kv: KvStore;
  readonly logger: Logger;
  readonly perStorerTimeoutMs: number;
  readonly pollMs: number;
  /** Response deadline and containment (auditor.ts AuditContainment); default: runAudit's. */
  readonly containment?: AuditContainment;
  /** Replica nodes a ProveReplica audit opens (genesis params.porep.auditChallenges). */
  readonly replicaAuditChallenges?: number;
  /** Seal proofs of sealed commitments, asked once per (storer, file) (auditor.ts SealChecks). */
  readonly sealChecks?: SealChecks;
  /**
   * Where the standing selection is read (params.standingAudits > 0): consensus nodes' GetStateProof
   * at a round, every answer checked against that block's state root (lib/chain/standing.ts
   * provenStandingState). Without it, a network with standing audits gets no Rewards from this node.
   */
  readonly stateProof?: (key: Uint8Array, round: number) => Promise<StateProofAnswer>;
  /**
   * The chain's nonceOf(self) already counts this node's pending transactions and starts again at the
   * chain's once one was dropped (tx-nonces.ts, shared with the repairer): use its answer as it is.
   * Without this, the rewarder's own count (nonceFor) took every coordinated answer for chain movement,
   * never started again, and one dropped Reward left a gap no later transaction could cross.
   */
  readonly coordinatedNonces?: boolean;
}

/** Something the caller asked for that cannot be done now (mapped to gRPC codes in server.ts). */
export class RewardsError extends Error {
  constructor(
    readonly code: 'FAILED_PRECONDITION' | 'NOT_FOUND' | 'UNAVAILABLE',
    message: string,
  ) {
    super(message);
  }
}

const TOTALS = 0xff;
const tallyKey = (audited: number) => bucketKey(Bucket.tally, u64be(BigInt(audited)));
const totalsKey = (storer: Uint8Array) => bucketKey(Bucket.tally, Uint8Array.of(TOTALS), storer);

export class Rewarder {
  private timer: NodeJS.Timeout | null = null;
  private lastRound = -1;
  private running: Promise<void> | null = null;
  /** Audits of reward rounds under way (start): one waiting on containment does not hold the next rounds back. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Submitting and recording run one at a time: nonces follow each other, the reputation view is read and written whole. */
  private serialized: Promise<unknown> = Promise.resolve();
  private readonly abort = new AbortController();
  /** Audits under way by reward round (auditOnce). */
  private readonly auditsInFlight = new Map<number, Promise<AuditResult>>();
  /** Nonce tracking: Rewards of consecutive rounds may be pending at once (see nonceFor). */
  private nextNonce = 0n;
  private chainNonce = -1n;
  private chainNonceMovedAt = 0;

  constructor(private readonly o: RewarderOptions) {}

  /** Audit for reward round R (default: latest finalized + 1); submit when selected and asked to. */
  async tally(round: number | undefined, submit: boolean): Promise<{ reward: Reward; txId: Uint8Array }> {
    let tip: number;
    try {
      tip = await this.o.chain.finalizedRound();
    } catch (err) {
      throw new RewardsError('UNAVAILABLE', `consensus unreachable: ${(err as Error).message}`);
    }
    const R = round ?? tip + 1;
    const audited = auditedRoundFor(R, this.o.params.auditDepth);
    if (audited === null) throw new RewardsError('FAILED_PRECONDITION', `round ${R} has no block ${this.o.params.auditDepth} rounds back to audit yet`);
    if (R - 1 > tip) throw new RewardsError('FAILED_PRECONDITION', `round ${R - 1} is not finalized yet (latest is ${tip})`);
    const prev = await this.o.chain.block(R - 1);
    const old = await this.o.chain.block(audited);
    const prevSeed = new Uint8Array(prev.block!.header!.seed);
    const cred = proveVerifier(this.o.key.vrfSecretKey, prevSeed, R, { stake: this.o.stake, totalStake: this.o.totalStake }, this.o.params.expectedVerifiers);
    if (cred === null && submit) throw new RewardsError('FAILED_PRECONDITION', `this node is not selected as rewards verifier for round ${R}`);
    const verifier: Credential = cred ?? { vrf: undefined, weight: 0, publicKey: Buffer.alloc(0) };
    const { reward } = await this.auditOnce(R, async () => {
      const standing = await this.standingTargets(R, prevSeed, new Uint8Array(prev.block!.header!.stateRoot));
      const result = await runAudit({
        auditedRound: audited,
        challengeSeed: prevSeed,
        newChunks: old.block!.newChunks ?? { chunkIds: [], files: [], chunkCommitments: [], repairedChunkSets: [] },
        verifier,
        params: this.o.params,
        prober: this.o.prober,
        perStorerTimeoutMs: this.o.perStorerTimeoutMs,
        ...(this.o.containment ? { containment: this.o.containment } : {}),
        ...(this.o.replicaAuditChallenges !== undefined ? { replicaAuditChallenges: this.o.replicaAuditChallenges } : {}),
        ...(this.o.sealChecks ? { sealChecks: this.o.sealChecks } : {}),
        standing,
        signal: this.abort.signal,
      });
      for (const x of result.outcomes) if (x.outcome !== 'valid') this.o.logger.info('audit failure', { audited, storer: Buffer.from(x.storerId).toString('hex').slice(0, 16), outcome: x.outcome, reason: x.reason });
      for (const x of result.standing) {
        if (x.outcome !== 'valid') this.o.logger.info('standing audit failure', { round: R, storer: Buffer.from(x.target.storerId).toString('hex').slice(0, 16), key: `${x.target.record.owner}/${x.target.record.collection}/${x.target.record.key}`, outcome: x.outcome, reason: x.reason });
      }
      return result;
    });
    return this.serial(async () => {
      let txId: Uint8Array = new Uint8Array(0);
      // The tip now (audits of several rounds run side by side, and containment takes seconds).
      const now = submit ? await this.o.chain.finalizedRound().catch(() => tip) : tip;
      const expired = submit && now + 1 > R + this.o.params.maxDelay;
      // A block without commitments and no standing audits gives a Reward with nothing in it: not worth a transaction.
      const worthSending = reward.tallies.length > 0 || reward.standing.length > 0;
      if (expired && worthSending) this.o.logger.warn('reward expired before it could be submitted', { round: R, audited, finalized: now, maxDelay: this.o.params.maxDelay });
      if (submit && !expired && worthSending) {
        const nonce = await this.nonceFor(now);
        const tx: Transaction = { sender: Buffer.from(this.o.key.signPublicKey), nonce, fee: 0n, chainId: this.o.chainId, body: { $case: 'reward', value: reward } };
        const stx = signTransaction(tx, signerOf(this.o.key));
        try {
          txId = await this.o.chain.submit(stx);
        } catch (err) {
          throw new RewardsError('FAILED_PRECONDITION', `consensus refused the Reward: ${(err as { details?: string }).details ?? (err as Error).message}`);
        }
        this.nextNonce = nonce + 1n;
      }
      await this.record(audited, reward, txId);
      return { reward, txId };
    });
  }

  /**
   * The audit of reward round R, run once however many ask for it at the same time (the loop's own
   * Tally and RPC dry runs of the same round): its challenges and credential are fixed by R, and two
   * audits of one round side by side would double the storers' work and contend for the same
   * containment records.
   */
  private auditOnce(R: number, run: () => Promise<AuditResult>): Promise<AuditResult> {
    let p = this.auditsInFlight.get(R);
    if (!p) {
      p = run().finally(() => this.auditsInFlight.delete(R));
      this.auditsInFlight.set(R, p);
    }
    return p;
  }

  /** Runs `fn` after every earlier serialized call has ended (successfully or not). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.serialized.then(fn, fn);
    this.serialized = p.catch(() => undefined);
    return p;
  }

  /**
   * The standing audits of reward round R (lib/chain/standing.ts), read from the state after block R − 1
   * through proven GetStateProof answers against that block's state root; none when the network has none.
   */
  async standingTargets(R: number, prevSeed: Uint8Array, stateRoot: Uint8Array): Promise<StandingTarget[]> {
    const count = this.o.params.standingAudits;
    if (count <= 0) return [];
    if (!this.o.stateProof) throw new RewardsError('FAILED_PRECONDITION', `the network has ${count} standing audits per Reward, and this node reads no state proofs`);
    return standingSelection(prevSeed, R, provenStandingState(this.o.stateProof, R - 1, stateRoot), count);
  }

  private async record(audited: number, reward: Reward, txId: Uint8Array): Promise<void> {
    const firstTime = (await this.o.kv.get(tallyKey(audited))) === null;
    const ops = [{ type: 'put' as const, key: tallyKey(audited), value: GetTallyResponse.encode({ reward, txId: Buffer.from(txId), finalized: false }).finish() }];
    if (firstTime) {
      // Block tallies and standing results together, as the chain moves reputation (effectiveTallies).
      for (const t of effectiveTallies(reward)) {
        const cur = await this.reputation(t.storerId);
        const totals = cur.totals!;
        ops.push({
          type: 'put',
          key: totalsKey(t.storerId),
          value: GetReputationResponse.encode({
            storerId: Buffer.from(t.storerId),
            reputationPpm: nextReputation(cur.reputationPpm, t),
            totals: { storerId: Buffer.from(t.storerId), valid: totals.valid + t.valid, invalid: totals.invalid + t.invalid, unreachable: totals.unreachable + t.unreachable },
            lastAuditedRound: BigInt(audited),
          }).finish(),
        });
      }
    }
    await this.o.kv.batch(ops, { sync: true });
  }

  /**
   * The next nonce: the chain's, or past the Rewards this node submitted that are still pending (one
   * per selected round; a block includes one Reward, so the next round's may be submitted before the
   * last one is final). A pending Reward expires maxDelay rounds after its reward round; when the
   * chain's nonce has not moved for longer than that, the pending ones are gone and numbering starts
   * again from the chain's.
   */
  private async nonceFor(tip: number): Promise<bigint> {
    const chainNonce = await this.o.chain.nonceOf(this.o.key.signPublicKey);
    if (this.o.coordinatedNonces) return chainNonce;
    if (chainNonce !== this.chainNonce) {
      this.chainNonce = chainNonce;
      this.chainNonceMovedAt = tip;
    } else if (tip - this.chainNonceMovedAt > this.o.params.maxDelay + 1) {
      this.nextNonce = chainNonce;
    }
    return chainNonce > this.nextNonce ? chainNonce : this.nextNonce;
  }

  /**
   * The tally of an audited round. `finalized` is looked up on first need and then kept: the Reward
   * can only be in blocks R to R + maxDelay (R = audited + Q), so at most maxDelay + 1 blocks are read.
   */
  async getTally(audited: number): Promise<GetTallyResponse> {
    const b = await this.o.kv.get(tallyKey(audited));
    if (b === null) throw new RewardsError('NOT_FOUND', `no audit of round ${audited} was run by this node`);
    const res = GetTallyResponse.decode(b);
    if (!res.finalized && res.txId.length === 32 && (await this.isIncluded(audited, res.txId))) {
      res.finalized = true;
      await this.o.kv.batch([{ type: 'put', key: tallyKey(audited), value: GetTallyResponse.encode(res).finish() }], { sync: true });
    }
    return res;
  }

  private async isIncluded(audited: number, txId: Uint8Array): Promise<boolean> {
    let tip: number;
    try {
      tip = await this.o.chain.finalizedRound();
    } catch {
      return false; // unknown now; asked again next time
    }
    const R = audited + this.o.params.auditDepth;
    const want = Buffer.from(txId);
    for (let r = R; r <= Math.min(tip, R + this.o.params.maxDelay); r++) {
      let block: CertifiedBlock;
      try {
        block = await this.o.chain.block(r);
      } catch {
        return false;
      }
      for (const stx of block.block?.txs ?? []) {
        if (stx.tx?.body?.$case === 'reward' && want.equals(Buffer.from(txIdOf(stx)))) return true;
      }
    }
    return false;
  }

  async reputation(storer: Uint8Array): Promise<GetReputationResponse> {
    const b = await this.o.kv.get(totalsKey(storer));
    if (b !== null) return GetReputationResponse.decode(b);
    return { storerId: Buffer.from(storer), reputationPpm: FULL_REPUTATION_PPM, totals: { storerId: Buffer.from(storer), valid: 0, invalid: 0, unreachable: 0 }, lastAuditedRound: 0n };
  }

  /**
   * Each new finalized round: audit and submit if selected. Reward rounds passed while an audit ran
   * are caught up as long as their Reward can still be included (R + maxDelay, with 2 rounds to spare).
   */
  start(): void {
    const tick = async () => {
      try {
        const tip = await this.o.chain.finalizedRound();
        if (tip === this.lastRound) return;
        const next = tip + 1;
        const oldest = next - Math.max(0, this.o.params.maxDelay - 2);
        const resumed = this.lastRound < 0 ? await this.containedRounds(oldest) : [];
        const from = this.lastRound < 0 ? next : Math.max(this.lastRound + 2, oldest);
        this.lastRound = tip;
        // After a restart: audits that stopped while a storer was contained resume (containment.ts keeps its misses).
        // Rounds are audited side by side (at most maxDelay at once): an audit that waits on a contained
        // storer (seconds) must not make the next rounds' Rewards expire.
        for (const R of [...resumed.filter((r) => r < from), ...Array.from({ length: Math.max(0, next - from + 1) }, (_, i) => from + i)]) {
          while (this.inFlight.size >= Math.max(1, this.o.params.maxDelay)) await Promise.race(this.inFlight);
          const audit: Promise<void> = this.auditIfSelected(R).finally(() => this.inFlight.delete(audit));
          this.inFlight.add(audit);
        }
      } catch (err) {
        this.o.logger.warn('audit round failed', { error: (err as Error).message });
      }
    };
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = tick().finally(() => (this.running = null));
    }, this.o.pollMs);
  }

  /**
   * Reward rounds of audits left with contained objects (a stop or crash mid-audit) whose Reward can
   * still be included (R ≥ oldest), ascending. Objects of older rounds can no longer be tallied on chain:
   * they are released, with a warning naming them.
   */
  private async containedRounds(oldest: number): Promise<number[]> {
    const store = this.o.containment?.store;
    if (!store) return [];
    const rounds = new Set<number>();
    const expired = [];
    for (const c of await store.list()) {
      const R = c.auditedRound + this.o.params.auditDepth;
      if (R >= oldest) rounds.add(R);
      else expired.push(c);
    }
    if (expired.length > 0) {
      this.o.logger.warn('contained audits expired while the service was down: released untallied', {
        objects: expired.length,
        storers: [...new Set(expired.map((c) => Buffer.from(c.storerId).toString('hex').slice(0, 16)))],
        auditedRounds: [...new Set(expired.map((c) => c.auditedRound))],
      });
      await store.update([], expired);
    }
    return [...rounds].sort((a, b) => a - b);
  }

  private async auditIfSelected(R: number): Promise<void> {
    if (auditedRoundFor(R, this.o.params.auditDepth) === null) return;
    try {
      const prevSeed = new Uint8Array((await this.o.chain.block(R - 1)).block!.header!.seed);
      if (proveVerifier(this.o.key.vrfSecretKey, prevSeed, R, { stake: this.o.stake, totalStake: this.o.totalStake }, this.o.params.expectedVerifiers) === null) return;
      const { reward, txId } = await this.tally(R, true);
      if (txId.length === 0) return;
      this.o.logger.info('reward submitted', { round: R, audited: Number(reward.auditedRound), storers: reward.tallies.length, standing: reward.standing.length, txId: Buffer.from(txId).toString('hex').slice(0, 16) });
    } catch (err) {
      this.o.logger.warn('audit round failed', { round: R, error: (err as Error).message });
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.abort.abort();
    await this.running;
    await Promise.all(this.inFlight);
  }
}
