// Offline verification of what the gateway returns for `GET ...?proof` and what consensus returns
// from GetStateProof: the sparse-Merkle proof of the key against the header's state root (lib/smt),
// the header's hash against the certificate (docs/contracts.md "block hash"), and every cert vote's
// Ed25519 signature over the agreement's vote bytes. Needs nothing but this file and lib/.
//
// Not checked here (yet): that the votes' sortition weights reach the cert threshold, which needs the
// committee's stakes at that round (the genesis or the registry); the result says so.
import { createHash } from 'node:crypto';
import { smtProofFromProto } from '../chain/smt-proof.js';
import { verifySignature, SignDomain } from '../crypto/sign.js';
import { verifySmtProof, type SmtProof as LibSmtProof } from '../smt/index.js';
import { valueHash } from '../smt/node.js';
import { BlockHeader, type Certificate, type SmtProof } from '../../gen/wolk/common/v1/chain.js';

const EMPTY = new Uint8Array(32);

/** The proto SmtProof (bitmap + non-default siblings) as lib/smt's proof (all siblings to depth d). */
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

function u64(n: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
const lp = (b: Uint8Array): Buffer[] => [u64(b.length), Buffer.from(b)];
const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/** Block hash from a header alone (docs/contracts.md; services/consensus/agreement/codec.ts is normative). */
export function blockHashOfHeader(h: BlockHeader): Uint8Array {
  const ledger = BlockHeader.encode({
    ...h,
    round: 0n,
    previousHash: Buffer.alloc(0),
    seed: Buffer.alloc(0),
    proposerId: Buffer.alloc(0),
    originalPeriod: 0n,
    proposerCredential: undefined,
  }).finish();
  const c = h.proposerCredential;
  const hex = (b: Uint8Array) => new TextEncoder().encode(Buffer.from(b).toString('hex'));
  return sha(
    Buffer.from('wolk/agreement/block/v1'),
    u64(h.round),
    h.previousHash,
    h.seed,
    ...lp(hex(h.proposerId)),
    u64(h.originalPeriod),
    // The credential's voter is the proposer (services/consensus/wire.ts credentialFromProto); the
    // genesis block has an empty credential.
    ...lp(hex(h.round === 0n ? new Uint8Array(0) : h.proposerId)),
    ...lp(c?.vrf?.proof ?? new Uint8Array(0)),
    ...lp(c?.vrf?.output ?? new Uint8Array(0)),
    u64(c?.weight ?? 0),
    sha(ledger),
  );
}

/** The bytes a vote signs (docs/contracts.md "vote bytes"). */
export function voteBytes(voter: Uint8Array, round: bigint, period: bigint, step: bigint, value: Uint8Array): Uint8Array {
  const voterHex = new TextEncoder().encode(Buffer.from(voter).toString('hex'));
  const v = value.length === 0 ? [Buffer.of(0)] : [Buffer.of(1), Buffer.from(value)];
  return new Uint8Array(Buffer.concat([Buffer.from('wolk/agreement/vote/v1'), ...lp(voterHex), u64(round), u64(period), u64(step), ...v]));
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
    const good =
      v.round === cert.round &&
      v.period === cert.period &&
      v.step === 2n &&
      Buffer.from(v.value).equals(Buffer.from(cert.blockHash)) &&
      verifySignature(SignDomain.Vote, v.voterId, voteBytes(v.voterId, v.round, v.period, v.step, v.value), v.signature);
    if (good) {
      voters.add(id);
      valid++;
      weight += v.credential?.weight ?? 0;
    }
  }
  return { blockHashMatches, votes: cert.votes.length, validVotes: valid, weight, ok: blockHashMatches && valid > 0 && valid === cert.votes.length };
}
