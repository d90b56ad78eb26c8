// Votes, bundles and certificates: what a vote signs, how a vote's credential and signature are
// checked, when votes make a quorum, and the conversions from their protobuf form. One
// implementation for everyone who checks agreement's evidence: the agreement core
// (services/consensus/agreement re-exports these), a catching-up consensus node, the indexer and
// anyone following the chain with only the genesis. Pure; the key lookups are injected.
//
// A certificate is the bundle of a cert step for a block hash: cert votes of one (round, period)
// from distinct voters plus equivocation pairs (a voter's two different votes; its weight counts for
// every value, as in Algorand) whose sortition weights reach the cert threshold. Weights are
// recomputed from each voter's VRF output and stake, never taken from the message.
import type { BlockHeader, Certificate as PbCertificate, Vote as PbVote } from '../../gen/wolk/common/v1/chain.js';
import type { Credential as PbCredential } from '../../gen/wolk/common/v1/crypto.js';
import { bytesEqual, fromHex } from '../crypto/hash.js';
import { SignDomain, verifySignature } from '../crypto/sign.js';
import { SortitionDomain, sortition, sortitionAlpha } from '../crypto/sortition.js';
import { verify as vrfVerify } from '../crypto/vrf.js';
import { blockHashOfHeader, u64 } from './block-hash.js';
import { nodesWithRole, type Genesis } from './genesis.js';

// ---------------------------------------------------------------------------------------------
// Types (the agreement core's own; services/consensus/agreement/types.ts re-exports them)

/** Block height. */
export type Round = number;
/** Attempt number within a round. */
export type Period = number;
/** Step within a period; see `Step`. Next steps are 3, 4, 5, ... */
export type Step = number;

/** Step numbers as Algorand numbers them (agreement/types.go). */
export const Step = {
  /** Proposal-votes: the proposer's credential, carried with the block. */
  propose: 0,
  /** Soft votes, cast once at the filter timeout for the best proposal seen. */
  soft: 1,
  /** Cert votes, cast once the soft-quorum value's block is validated. A cert quorum finalizes. */
  cert: 2,
  /** First next step; later next steps are next + k (recovery). */
  next: 3,
} as const;

/** 32-byte hash (SHA-256). */
export type Hash = Uint8Array;
/** A participant: the hex of its Ed25519 public key (its node id). */
export type VoterId = string;
/** A proposal-value: the block hash, or `null` for bottom (⊥, "no block"). */
export type Value = Hash | null;

/** A proof of committee membership for (round, period, step) (go-algorand data/committee). */
export interface Credential {
  readonly voterId: VoterId;
  /** VRF proof over the selector (seed, round, period, step). */
  readonly vrfProof: Uint8Array;
  /** VRF output (beta) the proof yields; the sortition input. */
  readonly vrfOutput: Uint8Array;
  /** Claimed number of committee seats; receivers recompute it and drop the vote on mismatch. */
  readonly weight: number;
}

export interface Vote {
  readonly round: Round;
  readonly period: Period;
  readonly step: Step;
  readonly value: Value;
  readonly credential: Credential;
  /** Signature by credential.voterId over `voteSigningBytes`. */
  readonly signature: Uint8Array;
}

/** A quorum of cert votes for one block hash in one (round, period): the proof that the block is final. */
export interface Certificate {
  readonly round: Round;
  readonly period: Period;
  readonly value: Hash;
  readonly votes: readonly Vote[];
  readonly equivocations: readonly (readonly [Vote, Vote])[];
}

/** The votes that make a quorum for one value in one (round, period, step). */
export interface Bundle {
  readonly round: Round;
  readonly period: Period;
  readonly step: Step;
  readonly value: Value;
  readonly votes: readonly Vote[];
  /** Pairs of conflicting votes by one voter; their weight counts for every value (as in Algorand). */
  readonly equivocations: readonly (readonly [Vote, Vote])[];
}

/** Result of checking a received credential. */
export type CredentialCheck =
  | { readonly ok: true; readonly weight: number }
  | { readonly ok: false; readonly reason: 'bad-proof' | 'unknown-voter' | 'not-selected' };

/** Inputs of sortition for one (round, period, step) committee. */
export interface Selector {
  /** seed of the previous round (the ledger tip's seed). */
  readonly seed: Hash;
  readonly round: Round;
  readonly period: Period;
  readonly step: Step;
  /** Expected committee size for the step. */
  readonly expectedSize: number;
  /** Total stake for this round. */
  readonly totalStake: bigint;
}

/** The checks of someone else's vote (the agreement core's AgreementCrypto adds proving and signing). */
export interface VoteVerifier {
  /** Verify a received credential and recompute its weight with the voter's stake. */
  verifyCredential(sel: Selector, cred: Credential, stake: bigint): CredentialCheck;
  verify(voter: VoterId, msg: Uint8Array, signature: Uint8Array): boolean;
}

// ---------------------------------------------------------------------------------------------
// Committees

export interface CommitteeParams {
  /** Expected committee weight (sortition's expected size). */
  readonly size: number;
  /** Weight of votes for one value that makes a quorum (>=). */
  readonly threshold: number;
}

/** Committee sizes and thresholds per step (the agreement's parameters add timings). */
export interface CommitteeSizes {
  /** Expected number of proposer seats per (round, period); no threshold (lowest priority wins). */
  readonly proposerSize: number;
  readonly soft: CommitteeParams;
  readonly cert: CommitteeParams;
  /** All next steps (3, 4, ...) share one committee, as in Algorand. */
  readonly next: CommitteeParams;
}

/** Algorand's figures (go-algorand config/consensus.go): for large stake populations, where committees are samples. */
export const ALGORAND_COMMITTEES: CommitteeSizes = {
  proposerSize: 20,
  soft: { size: 2990, threshold: 2267 },
  cert: { size: 1500, threshold: 1112 },
  next: { size: 5000, threshold: 3838 },
};

/**
 * Small networks: every stake unit is a seat (sortition p = 1, weight = stake) and a quorum is more
 * than two thirds of `totalStake` (the classic BFT bound; see services/consensus/agreement/params.ts).
 */
export function smallNetworkCommittees(totalStake: bigint): CommitteeSizes {
  if (totalStake <= 0n) throw new RangeError(`smallNetworkCommittees: totalStake must be > 0, got ${totalStake}`);
  const total = Number(totalStake);
  const quorum = { size: total, threshold: Math.floor((2 * total) / 3) + 1 };
  return { proposerSize: Math.min(20, total), soft: quorum, cert: quorum, next: quorum };
}

/** Below this many consensus nodes sortition cannot sample: the small-network committees apply. */
export const SMALL_NETWORK_NODES = 100;

/** The committees a chain with this genesis votes with. */
export function committeesOfGenesis(genesis: Genesis): CommitteeSizes {
  const committee = nodesWithRole(genesis, 'consensus');
  return committee.nodes.length < SMALL_NETWORK_NODES ? smallNetworkCommittees(committee.totalStake) : ALGORAND_COMMITTEES;
}

export function committeeOf(c: CommitteeSizes, step: Step): CommitteeParams {
  if (step === Step.soft) return c.soft;
  if (step === Step.cert) return c.cert;
  return c.next;
}

export function expectedSizeOf(c: CommitteeSizes, step: Step): number {
  return step === Step.propose ? c.proposerSize : committeeOf(c, step).size;
}

// ---------------------------------------------------------------------------------------------
// Checks

const utf8 = new TextEncoder();
const DOMAIN_VOTE = utf8.encode('wolk/agreement/vote/v1');
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const valueKey = (v: Value): string => (v === null ? '' : hex(v));

/** What a vote's signature covers: voter, round, period, step, value (Algorand's rawVote; docs/contracts.md "vote bytes"). */
export function voteSigningBytes(voterId: VoterId, round: Round, period: Period, step: Step, value: Value): Uint8Array {
  const voter = utf8.encode(voterId);
  return Buffer.concat([DOMAIN_VOTE, u64(voter.length), voter, u64(round), u64(period), u64(step), ...(value === null ? [Uint8Array.of(0)] : [Uint8Array.of(1), value])]);
}

/** Context to verify votes of one round. */
export interface VoteContext {
  readonly crypto: VoteVerifier;
  readonly params: CommitteeSizes;
  /** The previous round's seed. */
  readonly seed: Hash;
  readonly totalStake: bigint;
  stakeOf(voter: VoterId): bigint;
}

export type VoteRejection = 'bad-step' | 'bad-proof' | 'unknown-voter' | 'not-selected' | 'weight-mismatch' | 'bad-signature';

/** Full cryptographic check of a vote: credential (VRF + sortition weight) and signature. */
export function verifyVote(vote: Vote, ctx: VoteContext): { ok: true; weight: number } | { ok: false; reason: VoteRejection } {
  if (vote.step !== Step.propose && vote.step !== Step.soft && vote.step !== Step.cert && vote.step < Step.next) {
    return { ok: false, reason: 'bad-step' };
  }
  if (vote.step === Step.propose && vote.value === null) return { ok: false, reason: 'bad-step' };
  const cred = vote.credential;
  const check = ctx.crypto.verifyCredential(
    {
      seed: ctx.seed,
      round: vote.round,
      period: vote.period,
      step: vote.step,
      expectedSize: expectedSizeOf(ctx.params, vote.step),
      totalStake: ctx.totalStake,
    },
    cred,
    ctx.stakeOf(cred.voterId),
  );
  if (!check.ok) return { ok: false, reason: check.reason };
  if (check.weight !== cred.weight) return { ok: false, reason: 'weight-mismatch' };
  const msg = voteSigningBytes(cred.voterId, vote.round, vote.period, vote.step, vote.value);
  if (!ctx.crypto.verify(cred.voterId, msg, vote.signature)) return { ok: false, reason: 'bad-signature' };
  return { ok: true, weight: check.weight };
}

/**
 * Check a bundle standalone: every vote is a valid vote of the bundle's round, period and step,
 * voters are distinct, and the weight for `value` (equivocators counting for every value) reaches the
 * step's threshold.
 */
export function verifyBundle(b: Bundle, ctx: VoteContext): { ok: true } | { ok: false; reason: string } {
  if (b.step === Step.propose) return { ok: false, reason: 'proposal-votes form no bundle' };
  const seen = new Set<VoterId>();
  const key = valueKey(b.value);
  let weight = 0;
  const same = (v: Vote): boolean => v.round === b.round && v.period === b.period && v.step === b.step;
  for (const v of b.votes) {
    if (!same(v) || valueKey(v.value) !== key) return { ok: false, reason: 'vote for another round, period, step or value' };
    const voter = v.credential.voterId;
    if (seen.has(voter)) return { ok: false, reason: `voter ${voter} counted twice` };
    seen.add(voter);
    const r = verifyVote(v, ctx);
    if (!r.ok) return { ok: false, reason: `vote of ${voter}: ${r.reason}` };
    weight += r.weight;
  }
  for (const [x, y] of b.equivocations) {
    const voter = x.credential.voterId;
    if (!same(x) || !same(y) || y.credential.voterId !== voter || valueKey(x.value) === valueKey(y.value)) {
      return { ok: false, reason: 'malformed equivocation pair' };
    }
    if (seen.has(voter)) return { ok: false, reason: `voter ${voter} counted twice` };
    seen.add(voter);
    const rx = verifyVote(x, ctx);
    const ry = verifyVote(y, ctx);
    if (!rx.ok || !ry.ok) return { ok: false, reason: `equivocation of ${voter} does not verify` };
    weight += rx.weight;
  }
  const need = committeeOf(ctx.params, b.step).threshold;
  if (weight < need) return { ok: false, reason: `weight ${weight} below the threshold ${need}` };
  return { ok: true };
}

/** A certificate is a cert-step bundle for a block hash. */
export function verifyCertificate(cert: Certificate, ctx: VoteContext): { ok: true } | { ok: false; reason: string } {
  return verifyBundle({ ...cert, step: Step.cert }, ctx);
}

// ---------------------------------------------------------------------------------------------
// The chain's vote verifier: RFC 9381 ECVRF credentials with binomial sortition, Ed25519 signatures

/** Public keys of participants (the genesis, or the ledger's account records). */
export interface KeyDirectory {
  vrfPublicKey(voter: VoterId): Uint8Array | null;
  signPublicKey(voter: VoterId): Uint8Array | null;
}

/** VRF input of a selector: the Proposer domain for step 0, the Committee domain for voting steps. */
export function selectorAlpha(sel: Selector): Uint8Array {
  const domain = sel.step === Step.propose ? SortitionDomain.Proposer : SortitionDomain.Committee;
  return sortitionAlpha(domain, sel.seed, u64(sel.round), u64(sel.period), u64(sel.step));
}

/** Sortition that never throws on out-of-range inputs: a nonsensical selector selects nobody. */
export function selectorWeight(vrfOutput: Uint8Array, stake: bigint, sel: Selector): number {
  if (stake <= 0n || stake > sel.totalStake) return 0;
  try {
    return sortition(vrfOutput, stake, sel.totalStake, Math.min(sel.expectedSize, Number(sel.totalStake)));
  } catch {
    return 0;
  }
}

export function createVoteVerifier(directory: KeyDirectory): VoteVerifier {
  return {
    verifyCredential(sel, cred, stake) {
      const pk = directory.vrfPublicKey(cred.voterId);
      if (pk === null || stake <= 0n) return { ok: false, reason: 'unknown-voter' };
      const beta = vrfVerify(pk, selectorAlpha(sel), cred.vrfProof);
      if (beta === null || !bytesEqual(beta, cred.vrfOutput)) return { ok: false, reason: 'bad-proof' };
      const weight = selectorWeight(beta, stake, sel);
      return weight === 0 ? { ok: false, reason: 'not-selected' } : { ok: true, weight };
    },
    verify(voter, msg, signature) {
      const pk = directory.signPublicKey(voter);
      return pk !== null && verifySignature(SignDomain.Vote, pk, msg, signature);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Protobuf forms (STYLE: toProto/fromProto at the edge)

/** A message that does not convert: the reason, for logs and INVALID_ARGUMENT. */
export class WireError extends Error {
  override readonly name = 'WireError';
}

export function safeNumber(n: bigint, what: string): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireError(`${what} ${n} is out of range`);
  return Number(n);
}

const u8 = (b: Uint8Array | undefined) => (b === undefined ? new Uint8Array(0) : new Uint8Array(b));

export function credentialToProto(c: Credential): PbCredential {
  // public_key left empty: "use the registered key" (crypto.proto); the voter is named by voter_id.
  return { vrf: { proof: Buffer.from(c.vrfProof), output: Buffer.from(c.vrfOutput) }, weight: c.weight, publicKey: Buffer.alloc(0) };
}

export function credentialFromProto(voter: Uint8Array, c: PbCredential | undefined): Credential {
  if (!c || !c.vrf) throw new WireError('credential is missing');
  if (voter.length !== 32) throw new WireError('voter id must be 32 bytes');
  return { voterId: hex(voter), vrfProof: u8(c.vrf.proof), vrfOutput: u8(c.vrf.output), weight: c.weight };
}

export function voteToProto(v: Vote): PbVote {
  return {
    round: BigInt(v.round),
    period: BigInt(v.period),
    step: BigInt(v.step),
    value: v.value === null ? Buffer.alloc(0) : Buffer.from(v.value),
    voterId: Buffer.from(v.credential.voterId, 'hex'),
    credential: credentialToProto(v.credential),
    signature: Buffer.from(v.signature),
  };
}

export function voteFromProto(v: PbVote): Vote {
  if (v.value.length !== 0 && v.value.length !== 32) throw new WireError('vote value must be empty or 32 bytes');
  return {
    round: safeNumber(v.round, 'round'),
    period: safeNumber(v.period, 'period'),
    step: safeNumber(v.step, 'step'),
    value: v.value.length === 0 ? null : u8(v.value),
    credential: credentialFromProto(v.voterId, v.credential),
    signature: u8(v.signature),
  };
}

export function certificateToProto(c: Certificate): PbCertificate {
  return {
    round: BigInt(c.round),
    period: BigInt(c.period),
    blockHash: Buffer.from(c.value),
    votes: c.votes.map(voteToProto),
    equivocations: c.equivocations.map(([a, b]) => ({ first: voteToProto(a), second: voteToProto(b) })),
  };
}

export function certificateFromProto(c: PbCertificate | undefined): Certificate {
  if (!c) throw new WireError('certificate is missing');
  if (c.blockHash.length !== 32) throw new WireError('certificate block_hash must be 32 bytes');
  return {
    round: safeNumber(c.round, 'round'),
    period: safeNumber(c.period, 'period'),
    value: u8(c.blockHash),
    votes: c.votes.map(voteFromProto),
    equivocations: c.equivocations.map((e) => {
      if (!e.first || !e.second) throw new WireError('equivocation needs two votes');
      return [voteFromProto(e.first), voteFromProto(e.second)] as const;
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Following the chain with the genesis alone (indexer, audits)

export type CertificateVerdict = { ok: true; hash: Uint8Array } | { ok: false; reason: string };

export interface CertificateVerifier {
  /** The block hash recomputed from the header (never taken from the wire). */
  hashOf(header: BlockHeader): Uint8Array;
  /** Checks `cert` finalizes `header`, whose parent has seed `prevSeed`. */
  verify(header: BlockHeader, cert: PbCertificate | undefined, prevSeed: Uint8Array): CertificateVerdict;
}

/**
 * Checks certificates against the genesis committee exactly as a catching-up consensus node does:
 * every cert vote's VRF credential and sortition weight, its Ed25519 signature over the vote bytes,
 * distinct voters, equivocation pairs, and a quorum weight of at least the cert threshold for
 * exactly the header's hash.
 */
export function createCertificateVerifier(genesis: Genesis): CertificateVerifier {
  const committee = nodesWithRole(genesis, 'consensus');
  const directory = new Map(committee.nodes.map((n) => [n.id, { vrf: fromHex(n.vrfPublicKey), sign: fromHex(n.id), stake: BigInt(n.stake) }]));
  const params = committeesOfGenesis(genesis);
  const crypto = createVoteVerifier({ vrfPublicKey: (v) => directory.get(v)?.vrf ?? null, signPublicKey: (v) => directory.get(v)?.sign ?? null });
  return {
    hashOf: (header) => blockHashOfHeader(header),
    verify(header, pbCert, prevSeed) {
      try {
        const hash = blockHashOfHeader(header);
        const cert = certificateFromProto(pbCert);
        if (BigInt(cert.round) !== header.round || !bytesEqual(cert.value, hash)) return { ok: false, reason: `certificate of round ${cert.round} is not for block ${header.round}` };
        const res = verifyCertificate(cert, { crypto, params, seed: prevSeed, totalStake: committee.totalStake, stakeOf: (v) => directory.get(v)?.stake ?? 0n });
        return res.ok ? { ok: true, hash } : { ok: false, reason: res.reason };
      } catch (err) {
        return { ok: false, reason: (err as Error).message };
      }
    },
  };
}
