// Conversions between the generated protobuf messages and the agreement core's domain types
// (STYLE: toProto/fromProto at the edge). The block layout follows chain.proto and docs/contracts.md:
// the agreement's opaque `body` is the deterministic encoding of the BlockHeader with fields 1–6
// cleared (the "ledger part": state_root, tx_root, new_chunks_hash, timestamp_ms), so the agreement
// block hash equals the header hash a client recomputes; transactions and NewChunks travel beside it
// and are bound to it by tx_root and new_chunks_hash.
import { Block as PbBlock, BlockHeader, type Certificate as PbCertificate, type Proposal as PbProposal, type Vote as PbVote } from '../../gen/wolk/common/v1/chain.js';
import type { Credential as PbCredential } from '../../gen/wolk/common/v1/crypto.js';
import { blockHash } from './agreement/codec.js';
import type { VoteBundle as PbBundle } from '../../gen/wolk/consensus/v1/consensus.js';
import type { AgreementCrypto, Block, Bundle, Certificate, Credential, Proposal, Vote } from './agreement/types.js';

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
const buf = (b: Uint8Array) => Buffer.from(b);
const u8 = (b: Uint8Array | undefined) => (b === undefined ? new Uint8Array(0) : new Uint8Array(b));

/** A message that does not convert: the reason, for logs and INVALID_ARGUMENT. */
export class WireError extends Error {
  override readonly name = 'WireError';
}

function toSafe(n: bigint, what: string): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireError(`${what} ${n} is out of range`);
  return Number(n);
}

export function credentialToProto(c: Credential): PbCredential {
  // public_key left empty: "use the registered key" (crypto.proto); the voter is named by voter_id.
  return { vrf: { proof: buf(c.vrfProof), output: buf(c.vrfOutput) }, weight: c.weight, publicKey: Buffer.alloc(0) };
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
    value: v.value === null ? Buffer.alloc(0) : buf(v.value),
    voterId: Buffer.from(v.credential.voterId, 'hex'),
    credential: credentialToProto(v.credential),
    signature: buf(v.signature),
  };
}

export function voteFromProto(v: PbVote): Vote {
  if (v.value.length !== 0 && v.value.length !== 32) throw new WireError('vote value must be empty or 32 bytes');
  return {
    round: toSafe(v.round, 'round'),
    period: toSafe(v.period, 'period'),
    step: toSafe(v.step, 'step'),
    value: v.value.length === 0 ? null : u8(v.value),
    credential: credentialFromProto(v.voterId, v.credential),
    signature: u8(v.signature),
  };
}

/** The ledger part of a header: fields 7–10 only. */
export function ledgerPart(h: Pick<BlockHeader, 'stateRoot' | 'txRoot' | 'newChunksHash' | 'timestampMs'>): BlockHeader {
  return {
    round: 0n,
    previousHash: Buffer.alloc(0),
    seed: Buffer.alloc(0),
    proposerId: Buffer.alloc(0),
    originalPeriod: 0n,
    proposerCredential: undefined,
    stateRoot: buf(h.stateRoot),
    txRoot: buf(h.txRoot),
    newChunksHash: buf(h.newChunksHash),
    timestampMs: h.timestampMs,
  };
}

export function encodeLedgerPart(h: Pick<BlockHeader, 'stateRoot' | 'txRoot' | 'newChunksHash' | 'timestampMs'>): Uint8Array {
  return BlockHeader.encode(ledgerPart(h)).finish();
}

/** The full header of an agreement block (its body decoded back into fields 7–10). */
export function headerOf(b: Block): BlockHeader {
  const part = BlockHeader.decode(b.body);
  return {
    ...part,
    round: BigInt(b.round),
    previousHash: buf(b.prevHash),
    seed: buf(b.seed),
    proposerId: b.proposer === '' ? Buffer.alloc(0) : Buffer.from(b.proposer, 'hex'),
    originalPeriod: BigInt(b.period),
    proposerCredential: b.proposer === '' ? undefined : credentialToProto(b.credential),
  };
}

/** The agreement block of a header; its hash recomputed (never taken from the wire). */
export function blockFromHeader(crypto: AgreementCrypto, h: BlockHeader | undefined): Block {
  if (!h) throw new WireError('block header is missing');
  for (const [name, f] of [['previous_hash', h.previousHash], ['seed', h.seed], ['state_root', h.stateRoot], ['tx_root', h.txRoot], ['new_chunks_hash', h.newChunksHash]] as const) {
    if (f.length !== 32) throw new WireError(`header ${name} must be 32 bytes`);
  }
  const round = toSafe(h.round, 'round');
  const genesis = round === 0;
  const b: Omit<Block, 'hash'> = {
    round,
    prevHash: u8(h.previousHash),
    seed: u8(h.seed),
    proposer: genesis ? '' : hex(h.proposerId),
    period: toSafe(h.originalPeriod, 'original_period'),
    credential: genesis ? emptyCredential() : credentialFromProto(h.proposerId, h.proposerCredential),
    body: encodeLedgerPart(h),
  };
  return { ...b, hash: blockHash(crypto, b) };
}

export function emptyCredential(): Credential {
  return { voterId: '', vrfProof: new Uint8Array(0), vrfOutput: new Uint8Array(0), weight: 0 };
}

/** The payload that travels beside an agreement block: its transactions and NewChunks. */
export type Payload = Pick<PbBlock, 'txs' | 'newChunks'>;

export function blockToProto(b: Block, payload: Payload): PbBlock {
  return { header: headerOf(b), txs: payload.txs, newChunks: payload.newChunks };
}

export function proposalToProto(p: Proposal, payload: Payload): PbProposal {
  return { vote: voteToProto(p.vote), block: blockToProto(p.block, payload) };
}

export function proposalFromProto(crypto: AgreementCrypto, p: PbProposal): { proposal: Proposal; payload: Payload } {
  if (!p.vote || !p.block) throw new WireError('proposal needs a vote and a block');
  const block = blockFromHeader(crypto, p.block.header);
  return { proposal: { vote: voteFromProto(p.vote), block }, payload: { txs: p.block.txs, newChunks: p.block.newChunks } };
}

export function certificateToProto(c: Certificate): PbCertificate {
  return {
    round: BigInt(c.round),
    period: BigInt(c.period),
    blockHash: buf(c.value),
    votes: c.votes.map(voteToProto),
    equivocations: c.equivocations.map(([a, b]) => ({ first: voteToProto(a), second: voteToProto(b) })),
  };
}

export function certificateFromProto(c: PbCertificate | undefined): Certificate {
  if (!c) throw new WireError('certificate is missing');
  if (c.blockHash.length !== 32) throw new WireError('certificate block_hash must be 32 bytes');
  return {
    round: toSafe(c.round, 'round'),
    period: toSafe(c.period, 'period'),
    value: u8(c.blockHash),
    votes: c.votes.map(voteFromProto),
    equivocations: c.equivocations.map((e) => {
      if (!e.first || !e.second) throw new WireError('equivocation needs two votes');
      return [voteFromProto(e.first), voteFromProto(e.second)] as const;
    }),
  };
}

/** Most votes a bundle may carry (an equivocation pair counts two): above any committee's size. */
export const MAX_BUNDLE_VOTES = 8192;

export function bundleToProto(b: Bundle): PbBundle {
  return {
    round: BigInt(b.round),
    period: BigInt(b.period),
    step: BigInt(b.step),
    value: b.value === null ? Buffer.alloc(0) : buf(b.value),
    votes: b.votes.map(voteToProto),
    equivocations: b.equivocations.map(([x, y]) => ({ first: voteToProto(x), second: voteToProto(y) })),
  };
}

/** Shape checks only; whether the votes verify and reach a quorum is the agreement core's check. */
export function bundleFromProto(b: PbBundle | undefined): Bundle {
  if (!b) throw new WireError('bundle is missing');
  if (b.value.length !== 0 && b.value.length !== 32) throw new WireError('bundle value must be empty or 32 bytes');
  const n = b.votes.length + 2 * b.equivocations.length;
  if (n === 0) throw new WireError('bundle has no votes');
  if (n > MAX_BUNDLE_VOTES) throw new WireError(`bundle has ${n} votes, at most ${MAX_BUNDLE_VOTES} allowed`);
  return {
    round: toSafe(b.round, 'round'),
    period: toSafe(b.period, 'period'),
    step: toSafe(b.step, 'step'),
    value: b.value.length === 0 ? null : u8(b.value),
    votes: b.votes.map(voteFromProto),
    equivocations: b.equivocations.map((e) => {
      if (!e.first || !e.second) throw new WireError('equivocation needs two votes');
      return [voteFromProto(e.first), voteFromProto(e.second)] as const;
    }),
  };
}
