// Offline verification of what the gateway returns for `GET ...?proof` and what consensus returns
// from GetStateProof: the sparse-Merkle proof of the key against the header's state root (lib/smt),
// the header's hash against the certificate (docs/contracts.md "block hash"), and every cert vote's
// Ed25519 signature over the agreement's vote bytes. Needs nothing but this file and lib/.
//
// With the network's genesis (the committee and its stakes) and the parent block's header (whose seed
// the credentials were drawn with), checkQuorum also checks what a catching-up node checks: every
// cert vote's VRF credential and sortition weight, distinct voters, and a weight of at least the cert
// threshold (lib/chain/certificate.ts createCertificateVerifier). Without a genesis the quorum is not
// checked, and the result says so.
import { smtProofFromProto } from '../chain/smt-proof.js';
import { verifySignature, SignDomain } from '../crypto/sign.js';
import { verifySmtProof } from '../smt/index.js';
import type { BlockHeader, Certificate, SmtProof } from '../../gen/wolk/common/v1/chain.js';
import { blockHashOfHeader } from '../chain/block-hash.js';
import { createCertificateVerifier, voteSigningBytes } from '../chain/certificate.js';
import type { Genesis } from '../chain/genesis.js';

/** The proto proof as lib/smt's (one conversion for the whole project: lib/chain/smt-proof.ts). */
export const fromProtoSmtProof = smtProofFromProto;

export type ProofCheck = { ok: true; value: Uint8Array | null } | { ok: false; reason: string };

/**
 * The proof response is for `key` and leads to the header's state root: membership with its value, or
 * non-membership (the path ends empty, or at another key's leaf carried in other_key/other_value_hash).
 */
export function verifyProofResponse(r: { proof?: SmtProof; header?: BlockHeader }, key: Uint8Array): ProofCheck {
  if (!r.proof || !r.header) return { ok: false, reason: 'the answer has no proof or no header' };
  if (!Buffer.from(r.proof.key).equals(Buffer.from(key))) return { ok: false, reason: 'the proof is for another key' };
  if (!Buffer.from(r.proof.root).equals(Buffer.from(r.header.stateRoot))) return { ok: false, reason: 'the proof root is not the header\'s state root' };
  const p = fromProtoSmtProof(r.proof);
  if (!p) return { ok: false, reason: 'the proof is malformed' };
  const value = r.proof.value === undefined ? null : new Uint8Array(r.proof.value);
  if (!verifySmtProof(new Uint8Array(r.header.stateRoot), key, value, p)) return { ok: false, reason: 'the proof does not lead to the state root' };
  return { ok: true, value };
}

/** Block hash from a header alone (docs/contracts.md "block hash"; the one rule: lib/chain/block-hash.ts). */
export { blockHashOfHeader };

/** The bytes a vote signs (docs/contracts.md "vote bytes"; lib/chain/certificate.ts). Throws RangeError past 2^53. */
export function voteBytes(voter: Uint8Array, round: bigint, period: bigint, step: bigint, value: Uint8Array): Uint8Array {
  const n = (x: bigint) => (x > BigInt(Number.MAX_SAFE_INTEGER) ? Number.NaN : Number(x));
  return voteSigningBytes(Buffer.from(voter).toString('hex'), n(round), n(period), n(step), value.length === 0 ? null : value);
}

export interface CertificateCheck {
  readonly blockHashMatches: boolean;
  readonly votes: number;
  readonly validVotes: number;
  readonly weight: number;
  readonly ok: boolean;
}

/** The certificate certifies this header: its hash, and cert votes (step 2) with valid signatures from distinct voters. */
export function checkCertificate(header: BlockHeader, cert: Certificate | undefined): CertificateCheck {
  if (!cert) return { blockHashMatches: false, votes: 0, validVotes: 0, weight: 0, ok: false };
  const hash = blockHashOfHeader(header);
  const blockHashMatches = Buffer.from(hash).equals(Buffer.from(cert.blockHash)) && cert.round === header.round;
  const voters = new Set<string>();
  let valid = 0;
  let weight = 0;
  for (const v of cert.votes) {
    const id = Buffer.from(v.voterId).toString('hex');
    if (voters.has(id)) continue;
    let good = false;
    try {
      good =
        v.round === cert.round &&
        v.period === cert.period &&
        v.step === 2n &&
        Buffer.from(v.value).equals(Buffer.from(cert.blockHash)) &&
        verifySignature(SignDomain.Vote, v.voterId, voteBytes(v.voterId, v.round, v.period, v.step, v.value), v.signature);
    } catch {
      good = false; // a round or period past 2^53: no vote of this chain
    }
    if (good) {
      voters.add(id);
      valid++;
      weight += v.credential?.weight ?? 0;
    }
  }
  return { blockHashMatches, votes: cert.votes.length, validVotes: valid, weight, ok: blockHashMatches && valid > 0 && valid === cert.votes.length };
}

/**
 * The certificate is a cert quorum of the genesis committee for exactly this header: `parent` must hash
 * to header.previous_hash (its seed is the credentials' seed), then every vote is checked as consensus
 * nodes check them when catching up.
 */
export function checkQuorum(genesis: Genesis, header: BlockHeader, cert: Certificate | undefined, parent: BlockHeader | undefined): { ok: true } | { ok: false; reason: string } {
  if (!parent) return { ok: false, reason: 'the answer has no parent header to take the seed from' };
  if (parent.round + 1n !== header.round || !Buffer.from(blockHashOfHeader(parent)).equals(Buffer.from(header.previousHash))) {
    return { ok: false, reason: 'the parent header is not the certified block\'s parent' };
  }
  const v = createCertificateVerifier(genesis).verify(header, cert, new Uint8Array(parent.seed));
  return v.ok ? { ok: true } : { ok: false, reason: `not a cert quorum of the genesis committee: ${v.reason}` };
}
