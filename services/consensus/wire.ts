// Conversions between the generated protobuf messages and the agreement core's domain types
// (STYLE: toProto/fromProto at the edge). The block layout follows chain.proto and docs/contracts.md:
// the agreement's opaque `body` is the deterministic encoding of the BlockHeader with fields 1–6
// cleared (the "ledger part": state_root, tx_root, new_chunks_hash, timestamp_ms, chunk_commitments_hash), so the agreement
// block hash equals the header hash a client recomputes; transactions and NewChunks travel beside it
// and are bound to it by tx_root and new_chunks_hash.
import { Block as PbBlock, BlockHeader, type Proposal as PbProposal, type Vote as PbVote } from '../../gen/wolk/common/v1/chain.js';
import type { VoteBundle as PbBundle } from '../../gen/wolk/consensus/v1/consensus.js';
import { blockHashFieldsOfHeader } from '../../lib/chain/block-hash.js';
import { credentialFromProto, credentialToProto, safeNumber, voteFromProto, voteToProto, WireError } from '../../lib/chain/certificate.js';
import { SIGNATURE_LENGTH } from '../../lib/crypto/sign.js';
import { VRF_OUTPUT_LENGTH, VRF_PROOF_LENGTH } from '../../lib/crypto/vrf.js';
import { blockHash } from './agreement/codec.js';
import { Step, type AgreementCrypto, type Block, type Bundle, type Credential, type Proposal, type Vote } from './agreement/types.js';

const buf = (b: Uint8Array) => Buffer.from(b);
const u8 = (b: Uint8Array) => new Uint8Array(b);
const toSafe = safeNumber;

// Votes, credentials and certificates convert in lib/chain/certificate.ts (the indexer and clients
// read them too); the block hash rule and the ledger part are lib/chain/block-hash.ts.
export { WireError, credentialFromProto, credentialToProto, voteFromProto, voteToProto, certificateFromProto, certificateToProto } from '../../lib/chain/certificate.js';
export { ledgerPart, encodeLedgerPart } from '../../lib/chain/block-hash.js';

/** The full header of an agreement block (its body decoded back into fields 7–11). */
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
  if (h.chunkCommitmentsHash.length !== 0 && h.chunkCommitmentsHash.length !== 32) throw new WireError('header chunk_commitments_hash must be empty or 32 bytes');
  toSafe(h.round, 'round');
  toSafe(h.originalPeriod, 'original_period');
  // Beyond genesis the proposer and its credential must be well-formed (throws WireError).
  if (h.round !== 0n) credentialFromProto(h.proposerId, h.proposerCredential);
  const b: Omit<Block, 'hash'> = blockHashFieldsOfHeader(h);
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
  return { proposal: { vote: receivedVoteFromProto(p.vote), block }, payload: { txs: p.block.txs, newChunks: p.block.newChunks } };
}

/**
 * A vote received from a peer (in a Proposal, a VoteRequest or a VoteBundle), its sizes checked: a
 * signature, VRF proof or VRF output of the wrong length, or a credential claiming weight 0, could
 * never verify, so it is refused here with a reason instead of being acknowledged and dropped by the
 * core without a word (issue #25.6). Whether the vote verifies stays the core's check.
 */
export function receivedVoteFromProto(pb: PbVote): Vote {
  const v = voteFromProto(pb);
  const c = v.credential;
  if (v.signature.length !== SIGNATURE_LENGTH) throw new WireError(`signature must be ${SIGNATURE_LENGTH} bytes, got ${v.signature.length}`);
  if (c.vrfProof.length !== VRF_PROOF_LENGTH) throw new WireError(`credential VRF proof must be ${VRF_PROOF_LENGTH} bytes, got ${c.vrfProof.length}`);
  if (c.vrfOutput.length !== VRF_OUTPUT_LENGTH) throw new WireError(`credential VRF output must be ${VRF_OUTPUT_LENGTH} bytes, got ${c.vrfOutput.length}`);
  if (c.weight < 1) throw new WireError('credential weight must be at least 1 (0 means not selected)');
  return v;
}

/**
 * A loose vote (ConsensusService.Vote): a soft, cert or next vote. A proposal-vote (step 0) travels
 * inside its Proposal, and soft and cert votes are for a block, never ⊥ (chain.proto Vote).
 */
export function looseVoteFromProto(pb: PbVote): Vote {
  const v = receivedVoteFromProto(pb);
  if (v.step === Step.propose) throw new WireError('a step 0 (proposal) vote travels inside its Proposal, not alone');
  if (v.value === null && (v.step === Step.soft || v.step === Step.cert)) throw new WireError(`a ${v.step === Step.soft ? 'soft' : 'cert'} vote (step ${v.step}) needs a 32-byte value; ⊥ (empty) is for next steps only`);
  return v;
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
    votes: b.votes.map(receivedVoteFromProto),
    equivocations: b.equivocations.map((e) => {
      if (!e.first || !e.second) throw new WireError('equivocation needs two votes');
      return [receivedVoteFromProto(e.first), receivedVoteFromProto(e.second)] as const;
    }),
  };
}
