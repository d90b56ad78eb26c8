// Audit proof (docs/porep.md "Audits"): the ongoing check that the sealed replica is still held, answered
// under a response deadline. An audit seed selects k replica nodes,
//
//   challenges = challengeIndices(SHA-256("wolk/porep/audit-challenge/v1" ‖ auditSeed ‖ comm_r), n, k)
//
// and the storer opens r_i for each against comm_r_last with one multiproof, sending comm_c so the
// verifier can check both roots against the comm_r on chain. Whoever does not hold a challenged r_i must
// recompute label(L, i) from the data: its whole dependency cone (regenerate.ts), which the deadline is
// chosen to make too slow. The deadline itself is the caller's (storer, rewards): this file has no clock.
import { challengeIndices } from '../merkle/challenge.js';
import { MerkleTree, isHash, rootFromMultiproof } from '../merkle/tree.js';
import { NODE_SIZE, assertNodes } from './params.js';
import { commRMatches, nodeLeaves } from './commit.js';
import { tagged } from './seal-proof.js';

export const AUDIT_CHALLENGE_TAG = new TextEncoder().encode('wolk/porep/audit-challenge/v1');

export interface AuditProof {
  readonly commC: Uint8Array;
  /** r_i of the challenged nodes, in increasing index order. */
  readonly nodes: readonly Uint8Array[];
  /** One multiproof of those nodes against comm_r_last. */
  readonly proof: readonly Uint8Array[];
}

export function auditChallenges(auditSeed: Uint8Array, commR: Uint8Array, nodes: number, k: number): number[] {
  return challengeIndices(tagged(AUDIT_CHALLENGE_TAG, auditSeed, commR), nodes, k);
}

/** Answers an audit from the replica and its tree (comm_r_last's); comm_c and comm_r from the commitment. */
export function proveAudit(replica: Uint8Array, treeR: MerkleTree, commC: Uint8Array, commR: Uint8Array, auditSeed: Uint8Array, k: number): AuditProof {
  const nodes = replica.length / NODE_SIZE;
  const challenges = auditChallenges(auditSeed, commR, nodes, k);
  return {
    commC: commC.slice(),
    nodes: challenges.map((i) => replica.slice(i * NODE_SIZE, (i + 1) * NODE_SIZE)),
    proof: treeR.multiproof(challenges).hashes,
  };
}

export interface AuditStatement {
  readonly commR: Uint8Array;
  readonly nodes: number;
  readonly auditSeed: Uint8Array;
  readonly challenges: number;
}

/** True iff the proof opens the challenged replica nodes under the comm_r on chain. Never throws. */
export function verifyAudit(s: AuditStatement, proof: AuditProof): boolean {
  try {
    assertNodes(s.nodes);
    if (!proof || !isHash(proof.commC) || !Array.isArray(proof.nodes) || !Array.isArray(proof.proof)) return false;
    const challenges = auditChallenges(s.auditSeed, s.commR, s.nodes, s.challenges);
    if (proof.nodes.length !== challenges.length || !proof.nodes.every(isHash)) return false;
    // comm_r_last is not sent: the root the multiproof rebuilds must hash with comm_c to comm_r
    const leaves = proof.nodes.map((r) => nodeLeaves(r));
    const root = rootFromMultiproof(s.nodes, challenges, leaves, proof.proof);
    return root !== null && commRMatches(s.commR, proof.commC, root);
  } catch {
    return false;
  }
}

/** Bytes of an audit proof as it would travel. */
export function auditProofSize(proof: AuditProof): number {
  return 32 * (1 + proof.nodes.length + proof.proof.length);
}
