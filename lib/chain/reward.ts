// Rewards (DESIGN §6; design note "Tallying Rewards"): who audits, which block, with which challenges,
// what the Reward transaction holds, how anyone verifies it without contacting a storer, and what it
// does to balances and reputation. Pure functions: no clock, no network; the rewards service, the
// ledger (verifyRewardTx, rewardEffects) and the indexer (rewardEffects) all use this one file.
//
// Rounds. A Reward is made for a "reward round" R (the round of the block it is meant for, the
// latest finalized round + 1 when the verifier runs):
//   credential     the verifier's VRF over alpha = sortitionAlpha("wolk/sortition/rewards/v1",
//                  seed(R − 1), u64 R) (crypto.proto: rewards verifier), weight by Algorand sortition
//                  of its stake among the rewards-role stake with an expected committee size E;
//                  weight >= 1 = selected.
//   audited block  A = R − Q (Q = audit depth, genesis params.auditDepth): the block Q rounds back.
//                  R is recovered from the transaction as audited_round + Q.
//   challenges     challenge_seed = seed(R − 1): unknown before block R − 1 is final, so no storer can
//                  prepare answers. Per object: SHA-256(len(d) ‖ d ‖ challenge_seed ‖ u64 A ‖ object id
//                  ‖ storer id), d = "wolk/rewards/challenge/v1"; object id = filehash (VerifyFile,
//                  k leaves) or chunk id (VerifyShare nonce).
// Inclusion: a block of round B may include the Reward when R <= B <= R + maxDelay, at most one Reward
// per block (rewardsInBlock), and each audited round is rewarded once (rewardedRoundKey in lib/chain/state-keys.ts, a state key).
//
// Verification (verifyRewardTx): the credential; tallies sorted, one per storer committed in block A,
// each summing to the number of objects that storer is responsible for there; every sample re-checked
// against the commitments in block A (FileAudit: both branches per leaf, the replica root, the
// challenge, k, the signature; ShareProof: chunk, nonce, storer, signature); and the samples match
// the tallies: a storer with valid = v has exactly min(v, samplesPerStorer) samples, one with valid = 0
// none. Invalid and unreachable counts are the verifier's word (a storer's silence cannot be proven),
// which is why they only move reputation, never a balance.
import { NewChunks } from '../../gen/wolk/common/v1/chain.js';
import type { Credential } from '../../gen/wolk/common/v1/crypto.js';
import type { FileAudit, ShareProof, StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import { StandingOutcome, type Reward, type SampledProof, type SignedTransaction, type StandingAudit, type StorerTally } from '../../gen/wolk/common/v1/tx.js';
import { sha256, u64be } from '../crypto/hash.js';
import { SortitionDomain, sortition, sortitionAlpha } from '../crypto/sortition.js';
import { proofToHash, prove, verify as vrfVerify } from '../crypto/vrf.js';
import { verifyFileAudit, verifyShareProof } from './commitment.js';
import type { Genesis } from './genesis.js';
import { FULL_REPUTATION_PPM, nextReputation } from './reputation.js';
import type { StandingTarget } from './standing.js';

export type RewardVerdict<T = object> = ({ readonly ok: true } & T) | { readonly ok: false; readonly reason: string };

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const isBytes = (b: unknown, n: number): b is Uint8Array => b instanceof Uint8Array && b.length === n;

/** Protocol parameters of rewards (same on every node of a network). */
export interface RewardParams {
  /** Q: rounds between the audited block and the reward round. */
  readonly auditDepth: number;
  /** Expected number of verifiers selected per round (sortition's expected size). */
  readonly expectedVerifiers: number;
  /** Leaves challenged per file (VerifyFile k, 1 to 64). */
  readonly leavesPerFile: number;
  /** Valid answers sampled into the transaction per storer. */
  readonly samplesPerStorer: number;
  /** Rounds after R in which the Reward may still be included. */
  readonly maxDelay: number;
  /** Base units credited per valid answer. */
  readonly rewardPerValid: bigint;
  /** Standing audits per Reward (genesis params.standingAudits; lib/chain/standing.ts). 0: none. */
  readonly standingAudits: number;
}

export const DEFAULT_REWARD_PARAMS: Omit<RewardParams, 'auditDepth'> = {
  expectedVerifiers: 1,
  leavesPerFile: 4,
  samplesPerStorer: 1,
  maxDelay: 8,
  rewardPerValid: 10n,
  standingAudits: 0,
};

/** An idle round takes about 2λ of wall time (measured on the devnet: ~1.1 s at λ 500 ms): rounds are no shorter. */
export const IDLE_ROUND_LAMBDAS = 2;
/**
 * The wall time a Reward's inclusion window should span at the least, at idle rounds: several
 * containment cycles (docs/rewards.md "Deadlines and containment": 7 s with the defaults) and the audit.
 */
export const REWARD_WINDOW_MS = 30_000;

/**
 * The genesis params.rewardMaxDelay for a network of round pace λ: enough idle rounds to span
 * REWARD_WINDOW_MS, and never fewer than the default (8 rounds at λ 2 s: 32 s).
 */
export function rewardMaxDelayFor(lambdaMs: number): number {
  return Math.max(DEFAULT_REWARD_PARAMS.maxDelay, Math.ceil(REWARD_WINDOW_MS / (IDLE_ROUND_LAMBDAS * lambdaMs)));
}

/**
 * The network's reward parameters from its genesis: Q = params.auditDepth, params.standingAudits
 * (absent: 0), maxDelay = params.rewardMaxDelay (absent: the default).
 */
export function rewardParamsOf(genesis: Genesis): RewardParams {
  return {
    ...DEFAULT_REWARD_PARAMS,
    auditDepth: genesis.params.auditDepth,
    standingAudits: genesis.params.standingAudits ?? 0,
    maxDelay: genesis.params.rewardMaxDelay ?? DEFAULT_REWARD_PARAMS.maxDelay,
  };
}

/** The challenge of a standing audit of reward round R: the object challenge with R in place of the audited round. */
export function standingChallenge(challengeSeed: Uint8Array, rewardRound: number, filehash: Uint8Array, storerId: Uint8Array): Uint8Array {
  return objectChallenge(challengeSeed, rewardRound, filehash, storerId);
}

// ---------------------------------------------------------------------------------------------
// Selection and challenges

/** VRF input of the rewards-verifier sortition for reward round R on seed(R − 1). */
export function rewardsAlpha(prevSeed: Uint8Array, rewardRound: number | bigint): Uint8Array {
  return sortitionAlpha(SortitionDomain.Rewards, prevSeed, u64be(BigInt(rewardRound)));
}

/** The round audited for reward round R, or null while the chain is shorter than Q + 1 blocks. */
export function auditedRoundFor(rewardRound: number, auditDepth: number): number | null {
  const a = rewardRound - auditDepth;
  return a >= 1 ? a : null;
}

export interface VerifierStake {
  /** The verifier's stake (rewards role). */
  readonly stake: bigint;
  /** Total stake of rewards-role nodes. */
  readonly totalStake: bigint;
}

/** Runs the verifier's own sortition: its credential when selected, null when not. */
export function proveVerifier(vrfSecretKey: Uint8Array, prevSeed: Uint8Array, rewardRound: number, s: VerifierStake, expected: number): Credential | null {
  if (s.stake <= 0n || s.totalStake <= 0n || s.stake > s.totalStake) return null;
  const proof = prove(vrfSecretKey, rewardsAlpha(prevSeed, rewardRound));
  const output = proofToHash(proof)!;
  const weight = sortition(output, s.stake, s.totalStake, Math.min(expected, Number(s.totalStake)));
  if (weight < 1) return null;
  return { vrf: { proof: Buffer.from(proof), output: Buffer.from(output) }, weight, publicKey: Buffer.alloc(0) };
}

/** Checks a verifier credential; the weight when valid. */
export function verifyVerifier(cred: Credential | undefined, vrfPublicKey: Uint8Array, prevSeed: Uint8Array, rewardRound: number, s: VerifierStake, expected: number): RewardVerdict<{ weight: number }> {
  try {
    if (!cred?.vrf || !isBytes(cred.vrf.proof, 80) || !isBytes(cred.vrf.output, 64)) return fail('verifier credential must carry an 80-byte VRF proof and its 64-byte output');
    if (cred.publicKey.length !== 0 && !same(cred.publicKey, vrfPublicKey)) return fail('verifier credential names another VRF key than the registered one');
    const beta = vrfVerify(vrfPublicKey, rewardsAlpha(prevSeed, rewardRound), cred.vrf.proof);
    if (beta === null) return fail(`verifier VRF proof is not valid for reward round ${rewardRound}`);
    if (!same(beta, cred.vrf.output)) return fail('verifier VRF output is not the one its proof gives');
    if (s.stake <= 0n || s.totalStake <= 0n || s.stake > s.totalStake) return fail('verifier has no rewards stake');
    const weight = sortition(beta, s.stake, s.totalStake, Math.min(expected, Number(s.totalStake)));
    if (weight < 1) return fail('sortition does not select this verifier');
    if (weight !== cred.weight) return fail(`verifier claims weight ${cred.weight}, sortition gives ${weight}`);
    return { ok: true, weight };
  } catch (err) {
    return fail(`malformed verifier credential (${(err as Error).message})`);
  }
}

const CHALLENGE_DOMAIN = new TextEncoder().encode('wolk/rewards/challenge/v1');

/** The challenge of one object for one storer (a VerifyFile challenge or a VerifyShare nonce). */
export function objectChallenge(challengeSeed: Uint8Array, auditedRound: number | bigint, objectId: Uint8Array, storerId: Uint8Array): Uint8Array {
  return sha256(Uint8Array.of(CHALLENGE_DOMAIN.length), CHALLENGE_DOMAIN, challengeSeed, u64be(BigInt(auditedRound)), objectId, storerId);
}

// ---------------------------------------------------------------------------------------------
// What an audited block holds

export type AuditObject =
  | { readonly kind: 'file'; readonly id: Uint8Array; readonly commitment: StorageCommitment }
  | { readonly kind: 'chunk'; readonly id: Uint8Array; readonly commitment: StorageCommitment };

/** Per storer (hex id), the objects it is responsible for in a block: files it committed to, and every chunk of each chunk set it committed to (the block's own, and those a Repair in it restored). */
export function auditObjects(nc: NewChunks): Map<string, { storerId: Uint8Array; objects: AuditObject[] }> {
  const out = new Map<string, { storerId: Uint8Array; objects: AuditObject[] }>();
  const add = (c: StorageCommitment, o: AuditObject) => {
    const k = hex(c.storerId);
    let e = out.get(k);
    if (!e) out.set(k, (e = { storerId: new Uint8Array(c.storerId), objects: [] }));
    e.objects.push(o);
  };
  for (const f of nc.files) {
    if (!f.file) continue;
    for (const c of f.commitments) add(c, { kind: 'file', id: new Uint8Array(f.file.filehash), commitment: c });
  }
  for (const c of nc.chunkCommitments) for (const id of nc.chunkIds) add(c, { kind: 'chunk', id: new Uint8Array(id), commitment: c });
  // Chunk sets of earlier blocks this block's Repairs restored (docs/repair.md §9): their new storers
  // answer for every chunk of the set, as the block's own committers do for its set.
  for (const rs of nc.repairedChunkSets) for (const c of rs.commitments) for (const id of rs.chunkIds) add(c, { kind: 'chunk', id: new Uint8Array(id), commitment: c });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Building a Reward

export type ObjectOutcome =
  | { readonly kind: 'file'; readonly storerId: Uint8Array; readonly objectId: Uint8Array; readonly outcome: 'valid'; readonly proof: FileAudit }
  | { readonly kind: 'chunk'; readonly storerId: Uint8Array; readonly objectId: Uint8Array; readonly outcome: 'valid'; readonly proof: ShareProof }
  | { readonly kind: 'file' | 'chunk'; readonly storerId: Uint8Array; readonly objectId: Uint8Array; readonly outcome: 'invalid' | 'unreachable'; readonly reason?: string };

/**
 * The Reward body from per-object outcomes (one per storer and object of the audited block): tallies
 * sorted by storer id, and for each storer its first min(valid, samplesPerStorer) valid answers (in
 * the order given) as samples.
 */
export function buildReward(o: {
  auditedRound: number;
  verifier: Credential;
  challengeSeed: Uint8Array;
  outcomes: readonly ObjectOutcome[];
  samplesPerStorer: number;
  /** The standing audits' results, in the selection's order (lib/chain/standing.ts). */
  standing?: readonly StandingResult[];
}): Reward {
  const per = new Map<string, { id: Uint8Array; t: StorerTally; samples: SampledProof[] }>();
  for (const x of o.outcomes) {
    const k = hex(x.storerId);
    let e = per.get(k);
    if (!e) per.set(k, (e = { id: x.storerId, t: { storerId: Buffer.from(x.storerId), valid: 0, invalid: 0, unreachable: 0 }, samples: [] }));
    if (x.outcome === 'valid') {
      e.t.valid++;
      if (e.samples.length < o.samplesPerStorer) {
        e.samples.push(x.kind === 'file' ? { proof: { $case: 'file', value: x.proof as FileAudit } } : { proof: { $case: 'share', value: x.proof as ShareProof } });
      }
    } else if (x.outcome === 'invalid') e.t.invalid++;
    else e.t.unreachable++;
  }
  const sorted = [...per.values()].sort((a, b) => Buffer.compare(Buffer.from(a.id), Buffer.from(b.id)));
  return {
    auditedRound: BigInt(o.auditedRound),
    verifier: o.verifier,
    tallies: sorted.map((e) => e.t),
    samples: sorted.flatMap((e) => e.samples),
    challengeSeed: Buffer.from(o.challengeSeed),
    standing: (o.standing ?? []).map(standingEntry),
  };
}

/** The result of one standing audit: its target and what the verifier saw (a valid one with the storer's answer). */
export type StandingResult =
  | { readonly target: StandingTarget; readonly outcome: 'valid'; readonly proof: FileAudit }
  | { readonly target: StandingTarget; readonly outcome: 'invalid' | 'unreachable'; readonly reason?: string };

const OUTCOME: Record<StandingResult['outcome'], StandingOutcome> = {
  valid: StandingOutcome.STANDING_OUTCOME_VALID,
  invalid: StandingOutcome.STANDING_OUTCOME_INVALID,
  unreachable: StandingOutcome.STANDING_OUTCOME_UNREACHABLE,
};

function standingEntry(x: StandingResult): StandingAudit {
  return {
    storerId: Buffer.from(x.target.storerId),
    stateKey: Buffer.from(x.target.stateKey),
    filehash: Buffer.from(x.target.record.file!.filehash),
    outcome: OUTCOME[x.outcome],
    proof: x.outcome === 'valid' ? x.proof : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Verifying a Reward (the ledger's check; no storer is contacted)

/**
 * What the ledger supplies to verify a Reward included in the block of round `round`. Everything is
 * finalized chain data: seeds, the audited block's NewChunks, the verifier's registry entry.
 */
export interface RewardContext {
  /** Round of the block that includes the transaction. */
  readonly round: number;
  readonly params: RewardParams;
  /** The seed of a finalized round, or null if unknown. */
  seedAt(round: number): Uint8Array | null;
  /** NewChunks of a finalized round, or null if unknown. */
  newChunksAt(round: number): NewChunks | null;
  /** The sender's registry entry if it is a registered node with the rewards role; else undefined. */
  lookupVerifier(id: Uint8Array): { readonly vrfPublicKey: Uint8Array; readonly stake: bigint } | undefined;
  /** Total stake of rewards-role nodes (the verifier sortition denominator). */
  readonly totalVerifierStake: bigint;
  /**
   * The standing selection of a reward round (lib/chain/standing.ts standingSelection over the state
   * after block R − 1), or null when unknown. Asked only when params.standingAudits > 0.
   */
  standingAt?(rewardRound: number): readonly StandingTarget[] | null;
}

/** Verifies a SignedTransaction carrying a Reward (the sender's signature is the ledger's usual check, not repeated here). */
export function verifyRewardTx(stx: SignedTransaction, ctx: RewardContext): RewardVerdict<{ reward: Reward; rewardRound: number }> {
  const tx = stx.tx;
  if (!tx || tx.body?.$case !== 'reward') return fail('not a Reward transaction');
  return verifyReward(tx.body.value, tx.sender, ctx);
}

export function verifyReward(r: Reward, sender: Uint8Array, ctx: RewardContext): RewardVerdict<{ reward: Reward; rewardRound: number }> {
  try {
    const p = ctx.params;
    if (r.auditedRound < 1n || r.auditedRound > BigInt(Number.MAX_SAFE_INTEGER)) return fail(`audited_round ${r.auditedRound} is out of range`);
    const audited = Number(r.auditedRound);
    const rewardRound = audited + p.auditDepth;
    if (ctx.round < rewardRound) return fail(`audit of round ${audited} belongs to reward round ${rewardRound}, not yet reached (block ${ctx.round})`);
    if (ctx.round > rewardRound + p.maxDelay) return fail(`audit of round ${audited} expired: reward round ${rewardRound} + ${p.maxDelay} < block ${ctx.round}`);
    const prevSeed = ctx.seedAt(rewardRound - 1);
    if (prevSeed === null) return fail(`seed of round ${rewardRound - 1} is unknown`);
    if (!same(r.challengeSeed, prevSeed)) return fail(`challenge_seed is not the seed of round ${rewardRound - 1}`);

    const v = ctx.lookupVerifier(sender);
    if (!v) return fail('sender is not a registered rewards verifier');
    const cred = verifyVerifier(r.verifier, v.vrfPublicKey, prevSeed, rewardRound, { stake: v.stake, totalStake: ctx.totalVerifierStake }, p.expectedVerifiers);
    if (!cred.ok) return fail(`wrong verifier: ${cred.reason}`);

    const nc = ctx.newChunksAt(audited);
    if (nc === null) return fail(`block ${audited} is unknown`);
    const objects = auditObjects(nc);

    // Tallies: exactly the committed storers, ascending, each summing to its object count.
    if (r.tallies.length !== objects.size) return fail(`${r.tallies.length} tallies, block ${audited} has ${objects.size} committed storers`);
    const tallyOf = new Map<string, StorerTally>();
    for (let i = 0; i < r.tallies.length; i++) {
      const t = r.tallies[i]!;
      if (!isBytes(t.storerId, 32)) return fail(`tally ${i}: storer_id is not 32 bytes`);
      if (i > 0 && Buffer.compare(Buffer.from(r.tallies[i - 1]!.storerId), Buffer.from(t.storerId)) >= 0) return fail('tallies are not sorted by storer_id without duplicates');
      const k = hex(t.storerId);
      const o = objects.get(k);
      if (!o) return fail(`tally for storer ${k.slice(0, 16)} that has no commitment in block ${audited}`);
      const sum = t.valid + t.invalid + t.unreachable;
      if (sum !== o.objects.length) return fail(`tally of storer ${k.slice(0, 16)} counts ${sum} objects, it is responsible for ${o.objects.length}`);
      tallyOf.set(k, t);
    }

    // Samples: each re-verified against block A's commitments; counts match the tallies.
    const sampleCount = new Map<string, number>();
    const seen = new Set<string>();
    for (let i = 0; i < r.samples.length; i++) {
      const s = r.samples[i]!.proof;
      if (!s) return fail(`sample ${i} is empty`);
      const storerId = s.value.storerId;
      const objectId = s.$case === 'file' ? s.value.filehash : s.value.chunkId;
      if (!isBytes(storerId, 32) || !isBytes(objectId, 32)) return fail(`sample ${i}: storer and object ids must be 32 bytes`);
      const k = hex(storerId);
      const dup = `${k}/${s.$case}/${hex(objectId)}`;
      if (seen.has(dup)) return fail(`sample ${i} repeats an object`);
      seen.add(dup);
      const o = objects.get(k);
      const obj = o?.objects.find((x) => x.kind === (s.$case === 'file' ? 'file' : 'chunk') && same(x.id, objectId));
      if (!obj) return fail(`sample ${i}: storer ${k.slice(0, 16)} has no commitment for that object in block ${audited}`);
      const challenge = objectChallenge(prevSeed, audited, objectId, storerId);
      if (s.$case === 'file') {
        const c = obj.commitment;
        const res = verifyFileAudit(s.value, { storerId: c.storerId, replicaRoot: c.replicaRoot, filehash: c.filehash, size: c.size, chunkSize: c.chunkSize }, challenge, p.leavesPerFile);
        if (!res.ok) return fail(`sample ${i} (file of storer ${k.slice(0, 16)}): ${res.reason}`);
      } else {
        const res = verifyShareProof(s.value, { chunkId: objectId, nonce: challenge, storerId });
        if (!res.ok) return fail(`sample ${i} (chunk of storer ${k.slice(0, 16)}): ${res.reason}`);
      }
      sampleCount.set(k, (sampleCount.get(k) ?? 0) + 1);
    }
    for (const [k, t] of tallyOf) {
      const want = Math.min(t.valid, p.samplesPerStorer);
      const got = sampleCount.get(k) ?? 0;
      if (got !== want) return fail(`tally does not match the samples: storer ${k.slice(0, 16)} claims ${t.valid} valid, so ${want} sample(s) are needed, got ${got}`);
    }

    const standing = verifyStanding(r.standing, rewardRound, prevSeed, ctx);
    if (!standing.ok) return standing;
    return { ok: true, reward: r, rewardRound };
  } catch (err) {
    return fail(`malformed Reward (${(err as Error).message})`);
  }
}

/**
 * The standing section of a Reward for reward round R: exactly the selection of R (ctx.standingAt), in
 * its order, each entry naming its storer, state key and file; a known outcome; a VALID one carrying
 * the storer's answer to the standing challenge, re-checked against the commitment in the record; any
 * other without an answer.
 */
export function verifyStanding(entries: readonly StandingAudit[], rewardRound: number, prevSeed: Uint8Array, ctx: RewardContext): RewardVerdict {
  const p = ctx.params;
  if (p.standingAudits <= 0) return entries.length === 0 ? { ok: true } : fail(`${entries.length} standing audits, the network has none (params.standingAudits = 0)`);
  const selection = ctx.standingAt?.(rewardRound) ?? null;
  if (selection === null) return fail(`the standing selection of reward round ${rewardRound} is unknown (state after block ${rewardRound - 1})`);
  if (entries.length !== selection.length) return fail(`${entries.length} standing audits, the selection of reward round ${rewardRound} has ${selection.length}`);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const want = selection[i]!;
    if (!isBytes(e.storerId, 32) || !same(e.storerId, want.storerId)) return fail(`standing audit ${i}: storer is not the selection's (${hex(want.storerId).slice(0, 16)})`);
    if (!isBytes(e.stateKey, 32) || !same(e.stateKey, want.stateKey)) return fail(`standing audit ${i}: key is not the selection's (${hex(want.stateKey).slice(0, 16)})`);
    if (!isBytes(e.filehash, 32) || !same(e.filehash, want.record.file!.filehash)) return fail(`standing audit ${i}: filehash is not the record's file`);
    const k = hex(e.storerId).slice(0, 16);
    if (e.outcome === StandingOutcome.STANDING_OUTCOME_VALID) {
      if (!e.proof) return fail(`standing audit ${i} (storer ${k}): VALID without the storer's answer`);
      const c = want.commitment;
      const res = verifyFileAudit(e.proof, { storerId: c.storerId, replicaRoot: c.replicaRoot, filehash: c.filehash, size: c.size, chunkSize: c.chunkSize }, standingChallenge(prevSeed, rewardRound, e.filehash, e.storerId), p.leavesPerFile);
      if (!res.ok) return fail(`standing audit ${i} (storer ${k}): ${res.reason}`);
    } else if (e.outcome === StandingOutcome.STANDING_OUTCOME_INVALID || e.outcome === StandingOutcome.STANDING_OUTCOME_UNREACHABLE) {
      if (e.proof) return fail(`standing audit ${i} (storer ${k}): an answer is carried only for VALID`);
    } else return fail(`standing audit ${i} (storer ${k}): unknown outcome ${e.outcome}`);
  }
  return { ok: true };
}

/** Ledger rule: at most one Reward per block. Returns the reason when the block breaks it. */
export function rewardsInBlock(txs: readonly SignedTransaction[]): RewardVerdict<{ index: number | null }> {
  let index: number | null = null;
  for (let i = 0; i < txs.length; i++) {
    if (txs[i]!.tx?.body?.$case !== 'reward') continue;
    if (index !== null) return fail(`second Reward in the block (transactions ${index} and ${i})`);
    index = i;
  }
  return { ok: true, index };
}

// ---------------------------------------------------------------------------------------------
// Effects on finalization

export interface StorerEffect {
  readonly storerId: Uint8Array;
  /** Base units to add to the storer's balance (valid × rewardPerValid). */
  readonly credit: bigint;
  /** Reputation after this audit. */
  readonly reputationPpm: number;
  readonly tally: StorerTally;
}

/**
 * What a finalized Reward does: credit valid answers, move every audited storer's reputation by the
 * reputation rule (lib/chain/reputation.ts). `reputationOf` gives the current value (unknown storers
 * start at full reputation).
 */
export function rewardEffects(r: Reward, reputationOf: (storerId: Uint8Array) => number | undefined, rewardPerValid: bigint): StorerEffect[] {
  return effectiveTallies(r).map((t) => ({
    storerId: new Uint8Array(t.storerId),
    credit: BigInt(t.valid) * rewardPerValid,
    reputationPpm: nextReputation(reputationOf(t.storerId) ?? FULL_REPUTATION_PPM, t),
    tally: t,
  }));
}

/**
 * A Reward's tallies with its standing audits added (one object each), sorted by storer id: a storer
 * audited in both has one tally, so its reputation moves once per Reward by everything it answered.
 */
export function effectiveTallies(r: Reward): StorerTally[] {
  if (r.standing.length === 0) return r.tallies;
  const per = new Map<string, StorerTally>();
  for (const t of r.tallies) per.set(hex(t.storerId), { ...t });
  for (const s of r.standing) {
    const k = hex(s.storerId);
    let t = per.get(k);
    if (!t) per.set(k, (t = { storerId: s.storerId, valid: 0, invalid: 0, unreachable: 0 }));
    if (s.outcome === StandingOutcome.STANDING_OUTCOME_VALID) t.valid++;
    else if (s.outcome === StandingOutcome.STANDING_OUTCOME_INVALID) t.invalid++;
    else t.unreachable++;
  }
  return [...per.values()].sort((a, b) => Buffer.compare(Buffer.from(a.storerId), Buffer.from(b.storerId)));
}

/** The NewChunks hash binding (chain.proto), for callers that receive NewChunks beside a header. */
export function newChunksHashOf(nc: NewChunks): Uint8Array {
  return sha256(NewChunks.encode({ ...nc, chunkCommitments: [] }).finish());
}
