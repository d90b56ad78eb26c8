// Sealed commitments (issue #15, docs/porep.md "Sectors"): the SealedReplica a StorageCommitment carries,
// the seal proof a storer answers ProveSeal with and the signed replica audit it answers ProveReplica
// with, and how every checker verifies them. One home, like commitment.ts: the gateway checks the shape,
// the consensus verifiers the seal proof before their cert vote, the rewards auditor the replica audits.
//
// A storer labels sectors ahead of time (labels depend on the replica id only, never on the data) and
// encodes a file arriving later at nodes [first_node, first_node + m) of one by XOR, m = nodesFor(size):
//
//   replica_id = replicaIdOf(storer_id, sector_id, sector_seed)          lib/porep/replica-id.ts
//   r_j        = d_j ⊕ label(layers, first_node + j)                     j in [0, m)
//   comm_c     = root over the whole sector's columns; comm_r_last = root over r_0..r_{m−1}
//   comm_r     = SHA-256("wolk/porep/comm-r/v1" ‖ comm_c ‖ comm_r_last)
import { ReplicaAudit, SealProof as SealProofCodec, type SealProof as SealProofMsg, type SealedReplica, type StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import { SignDomain, sign, verifySignature } from '../crypto/sign.js';
import { isValidChunkSize } from '../merkle/file.js';
import { MAX_LAYERS, MAX_NODES, NODE_SIZE, chunkSetDataBytes, chunkSetDataCommitment, commROf, fileDataCommitment, nodesFor, replicaIdOf, verifyAudit, verifySeal, type AuditProof, type DataCommitment, type SealProof } from '../porep/index.js';
import type { Verdict } from './commitment.js';

/** The proof-of-replication parameters of a network (genesis params.porep). */
export interface PorepNetworkParams {
  /** Bytes of a pre-labelled sector: a power of two, a multiple of 32 (256 MiB on a real network). */
  readonly sectorBytes: number;
  /** Layers L labelled per sector (4). */
  readonly layers: number;
  /** Nodes a seal proof opens (264: a sealing with ≥ 10 % wrong nodes passes with probability ≤ 2^-40). */
  readonly sealChallenges: number;
  /** Replica nodes an audit opens (16). */
  readonly auditChallenges: number;
}

/**
 * Nodes a spot check of a seal proof opens (docs/porep.md "A wrong sealer is kept off the chain"): the
 * cert-step storage check asks it of every committer of a block's chunk set and of every committer of
 * a file but the one it asks for the full `porep.sealChallenges`, and gateways and the repairer ask it
 * of each storer before its commitment goes into a transaction. A replica sealed over plain data, over
 * fewer layers or under another identity's labels is wrong at every node, so any one challenge catches
 * it; a sealing with 10 % wrong nodes passes 16 with probability 0.9^16 ≈ 0.19 at one verifier (and
 * 0.19^q past q verifiers that each draw their own), and the rewards auditor's full check
 * (genesis porep.sealChallenges, ≤ 2^-40) fails it afterwards. The full 264 for every chunk set cost
 * ~1.3 MB of proof, 0.3–1.3 s to answer and 0.3–0.6 s of CPU per validator and block on the devnet, and
 * 17 of 81 rounds needed extra periods (`npm run bench -- porep-put`, 2026-12-07 06:44).
 */
export const SEAL_SPOT_CHALLENGES = 16;

/** Most nodes a ProveSeal or ProveReplica request may ask for (storer.proto). */
export const MAX_PROOF_CHALLENGES = 1024;
/** Smallest sector a genesis may name: 64 KiB (tests); a real network needs 256 MiB (docs/porep.md). */
export const MIN_GENESIS_SECTOR_BYTES = 64 * 1024;

/** A problem with porep parameters (for genesis validation), or null. */
export function porepParamsProblem(p: unknown): string | null {
  if (typeof p !== 'object' || p === null) return 'must be an object {sectorBytes, layers, sealChallenges, auditChallenges}';
  const o = p as Record<string, unknown>;
  const s = o['sectorBytes'];
  if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < MIN_GENESIS_SECTOR_BYTES || s > MAX_NODES * NODE_SIZE || (s & (s - 1)) !== 0) {
    return `sectorBytes must be a power of two from ${MIN_GENESIS_SECTOR_BYTES} to ${MAX_NODES * NODE_SIZE}, got ${String(s)}`;
  }
  const int = (k: string, min: number, max: number) => {
    const v = o[k];
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max ? null : `${k} must be an integer from ${min} to ${max}, got ${String(v)}`;
  };
  return int('layers', 1, MAX_LAYERS) ?? int('sealChallenges', 1, MAX_PROOF_CHALLENGES) ?? int('auditChallenges', 1, MAX_PROOF_CHALLENGES);
}

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });
const isBytes = (b: unknown, n: number): b is Uint8Array => b instanceof Uint8Array && b.length === n;
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
const buf = (b: Uint8Array) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const EMPTY = Buffer.alloc(0);

/** Where a file sits in a sector, as numbers (checked by sealedShape). */
export interface SealedRange {
  readonly sectorNodes: number;
  readonly first: number;
  /** m = nodesFor(size): the file's nodes. */
  readonly count: number;
}

/**
 * The structural check of a commitment's sealed replica (what the gateway runs, and every verifier
 * first): 32-byte ids and roots, the network's layer count, a sector of the network's size holding the
 * file's range (or a sector of the file's own size for a file larger than one sector), and comm_r =
 * H(comm_c ‖ comm_r_last). Never throws.
 */
export function sealedShape(c: Pick<StorageCommitment, 'sealed' | 'size'>, p: PorepNetworkParams, dataBytes?: number): Verdict<{ range: SealedRange }> {
  try {
    const s = c.sealed;
    if (!s) return fail('the commitment carries no sealed replica (this network requires one: genesis params.porep)');
    for (const [name, v] of [['sector_id', s.sectorId], ['sector_seed', s.sectorSeed], ['comm_c', s.commC], ['comm_r_last', s.commRLast], ['comm_r', s.commR]] as const) {
      if (!isBytes(v, 32)) return fail(`sealed.${name} is not 32 bytes`);
    }
    if (s.layers !== p.layers) return fail(`sealed.layers ${s.layers}, the network's is ${p.layers}`);
    if (typeof c.size !== 'bigint' || c.size > BigInt(Number.MAX_SAFE_INTEGER)) return fail('size too large to seal');
    // A file's data is its bytes; a chunk set's is its slots (chunkSetSealedBytes), passed by the caller.
    const count = nodesFor(dataBytes ?? Number(c.size));
    const networkNodes = p.sectorBytes / NODE_SIZE;
    if (s.sectorNodes > BigInt(MAX_NODES) || s.firstNode > BigInt(MAX_NODES)) return fail('sealed.sector_nodes or first_node out of range');
    const sectorNodes = Number(s.sectorNodes);
    const first = Number(s.firstNode);
    if (count > networkNodes) {
      if (sectorNodes !== count || first !== 0) return fail(`a file of ${count} nodes, larger than a sector (${networkNodes}), must have a sector of its own: sector_nodes ${count}, first_node 0`);
    } else {
      if (sectorNodes !== networkNodes) return fail(`sealed.sector_nodes ${sectorNodes}, the network's sector is ${networkNodes} nodes`);
      if (first + count > sectorNodes) return fail(`nodes [${first}, ${first + count}) do not fit a sector of ${sectorNodes} nodes`);
    }
    if (!same(commROf(s.commC, s.commRLast), s.commR)) return fail('sealed.comm_r is not H(comm_c ‖ comm_r_last)');
    return { ok: true, range: { sectorNodes, first, count } };
  } catch (err) {
    return fail(`malformed sealed replica (${(err as Error).message})`);
  }
}

/** The replica id of a sealed commitment's sector. */
export function sealedReplicaId(storerId: Uint8Array, s: Pick<SealedReplica, 'sectorId' | 'sectorSeed'>): Uint8Array {
  return replicaIdOf(storerId, s.sectorId, s.sectorSeed);
}

const toNumbers = (xs: readonly bigint[], what: string): number[] =>
  xs.map((x) => {
    if (x > BigInt(MAX_NODES)) throw new RangeError(`${what}: index ${x} out of range`);
    return Number(x);
  });

export function sealProofToProto(p: SealProof): SealProofMsg {
  return {
    commC: buf(p.commC),
    commRLast: buf(p.commRLast),
    columnIndices: p.columns.indices.map(BigInt),
    columns: p.columns.labels.map(buf),
    columnProof: p.columns.proof.map(buf),
    replicaNodes: p.replicaNodes.nodes.map(buf),
    replicaProof: p.replicaNodes.proof.map(buf),
    chunkIndices: p.data.chunkIndices.map(BigInt),
    chunks: p.data.chunks.map(buf),
    dataProof: p.data.proof.map(buf),
  };
}

/** The wire proof as lib/porep's (throws RangeError on absurd indices; verifySeal checks the rest). */
export function sealProofFromProto(m: SealProofMsg): SealProof {
  return {
    commC: m.commC,
    commRLast: m.commRLast,
    columns: { indices: toNumbers(m.columnIndices, 'column_indices'), labels: m.columns, proof: m.columnProof },
    replicaNodes: { nodes: m.replicaNodes, proof: m.replicaProof },
    data: { chunkIndices: toNumbers(m.chunkIndices, 'chunk_indices'), chunks: m.chunks, proof: m.dataProof },
  };
}

/** Bytes of a seal proof on the wire (what a verifier downloads). */
export function sealProofWireBytes(m: SealProofMsg): number {
  return SealProofCodec.encode(m).finish().length;
}

/**
 * Checks a ProveSeal answer for a commitment against the challenge the verifier drew: the sealed replica
 * answered is the committed one, its shape is the network's, and lib/porep verifySeal accepts the proof
 * over the file's range (labels bound to this storer's sector replica id, data opened against the
 * filehash). Never throws.
 */
export function verifySealAnswer(c: StorageCommitment, p: PorepNetworkParams, challenge: Uint8Array, k: number, answer: SealAnswerParts): Verdict {
  if (!isValidChunkSize(c.chunkSize)) return fail(`chunk_size ${c.chunkSize} is not valid`);
  return verifySealedData(c, p, challenge, k, answer, () => fileDataCommitment(c.filehash, Number(c.size), c.chunkSize));
}

/**
 * The same check for a commitment to a block's chunk set (CommitChunks; filehash = new_chunks_hash):
 * the data is the set's slots (lib/porep data.ts chunkSetDataCommitment), each opened chunk checked
 * against the block's `chunkIds`. Never throws.
 */
export function verifyChunkSetSealAnswer(c: StorageCommitment, p: PorepNetworkParams, chunkIds: readonly Uint8Array[], challenge: Uint8Array, k: number, answer: SealAnswerParts): Verdict {
  if (!isValidChunkSize(c.chunkSize)) return fail(`chunk_size ${c.chunkSize} is not valid`);
  return verifySealedData(c, p, challenge, k, answer, () => chunkSetDataCommitment(chunkIds, c.chunkSize), chunkSetDataBytes(chunkIds.length, c.chunkSize));
}

/** What a ProveSeal answer carries. */
export interface SealAnswerParts {
  readonly sealed?: SealedReplica | undefined;
  readonly proof?: SealProofMsg | undefined;
}

function verifySealedData(c: StorageCommitment, p: PorepNetworkParams, challenge: Uint8Array, k: number, answer: SealAnswerParts, data: () => DataCommitment, dataBytes?: number): Verdict {
  try {
    const shape = sealedShape(c, p, dataBytes);
    if (!shape.ok) return shape;
    const s = c.sealed!;
    const a = answer.sealed;
    if (!a) return fail('the answer names no sealed replica');
    if (!same(a.commR, s.commR) || !same(a.sectorId, s.sectorId) || a.firstNode !== s.firstNode) return fail('the answer is for another sealed replica than the commitment');
    if (!answer.proof) return fail('the answer carries no proof');
    const { range } = shape;
    return verifySeal(
      {
        replicaId: sealedReplicaId(c.storerId, s),
        commR: s.commR,
        nodes: range.sectorNodes,
        first: range.first,
        count: range.count,
        layers: s.layers,
        data: data(),
        seed: challenge,
        challenges: k,
      },
      sealProofFromProto(answer.proof),
    );
  } catch (err) {
    return fail(`malformed seal proof (${(err as Error).message})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Replica audits (ProveReplica)

export function auditProofToProto(p: AuditProof): NonNullable<ReplicaAudit['proof']> {
  return { commC: buf(p.commC), nodes: p.nodes.map(buf), proof: p.proof.map(buf) };
}

/** The bytes a storer signs for a replica audit: its encoding with `signature` cleared. */
export function replicaAuditMessage(a: ReplicaAudit): Uint8Array {
  return ReplicaAudit.encode({ ...a, signature: EMPTY }).finish();
}

/** Signs a replica audit (domain "wolk/replica-audit/v1"). */
export function signReplicaAudit(unsigned: Omit<ReplicaAudit, 'signature'>, secretKey: Uint8Array): ReplicaAudit {
  const a: ReplicaAudit = { ...unsigned, signature: EMPTY };
  return { ...a, signature: buf(sign(SignDomain.ReplicaAudit, secretKey, replicaAuditMessage(a))) };
}

/**
 * Checks a ProveReplica answer against the storer's sealed commitment and the auditor's challenge: same
 * storer, file and comm_r, the challenge and k echoed, signed by the storer, and the opened replica nodes
 * rebuild comm_r_last with H(comm_c ‖ comm_r_last) = comm_r. The deadline is the caller's. Never throws.
 */
export function verifyReplicaAudit(audit: ReplicaAudit, c: Pick<StorageCommitment, 'storerId' | 'filehash' | 'size' | 'sealed'>, challenge: Uint8Array, k: number, dataBytes?: number): Verdict {
  try {
    const s = c.sealed;
    if (!s || !isBytes(s.commR, 32)) return fail('the commitment carries no sealed replica');
    if (!isBytes(audit.storerId, 32) || !same(audit.storerId, c.storerId)) return fail('audit is from another storer');
    if (!isBytes(audit.filehash, 32) || !same(audit.filehash, c.filehash)) return fail('audit is for another file');
    if (!isBytes(audit.commR, 32) || !same(audit.commR, s.commR)) return fail('comm_r differs from the commitment');
    if (!same(audit.challenge, challenge)) return fail('audit answers another challenge');
    if (audit.k !== k) return fail(`audit answers k=${audit.k}, asked ${k}`);
    if (!Number.isInteger(k) || k < 1 || k > MAX_PROOF_CHALLENGES) return fail(`k must be 1 to ${MAX_PROOF_CHALLENGES}`);
    if (!audit.proof) return fail('audit carries no proof');
    if (!verifySignature(SignDomain.ReplicaAudit, audit.storerId, replicaAuditMessage(audit), audit.signature)) return fail('bad signature');
    if (c.size > BigInt(Number.MAX_SAFE_INTEGER)) return fail('file too large');
    // A file's replica is its bytes' nodes; a chunk set's, its slots' (chunkSetDataBytes, from the block's chunk count).
    const ok = verifyAudit({ commR: s.commR, nodes: nodesFor(dataBytes ?? Number(c.size)), auditSeed: challenge, challenges: k }, audit.proof);
    return ok ? { ok: true } : fail('the replica nodes do not open comm_r (wrong nodes, path or comm_c)');
  } catch (err) {
    return fail(`malformed audit (${(err as Error).message})`);
  }
}

/**
 * What can be checked of a sealed replica without the network's parameters (the gateway, which has no
 * genesis at hand): 32-byte fields, comm_r = H(comm_c ‖ comm_r_last), the file's range inside the sector.
 * Commitments without a sealed replica pass (unsealed networks). Never throws.
 */
export function sealedWellFormed(c: Pick<StorageCommitment, 'sealed' | 'size'>): Verdict {
  try {
    const s = c.sealed;
    if (!s) return { ok: true };
    for (const [name, v] of [['sector_id', s.sectorId], ['sector_seed', s.sectorSeed], ['comm_c', s.commC], ['comm_r_last', s.commRLast], ['comm_r', s.commR]] as const) {
      if (!isBytes(v, 32)) return fail(`sealed.${name} is not 32 bytes`);
    }
    if (s.layers < 1 || s.layers > MAX_LAYERS) return fail(`sealed.layers ${s.layers} out of range`);
    if (s.sectorNodes < 1n || s.sectorNodes > BigInt(MAX_NODES)) return fail('sealed.sector_nodes out of range');
    const count = BigInt(nodesFor(Number(c.size)));
    if (s.firstNode + count > s.sectorNodes) return fail(`nodes [${s.firstNode}, ${s.firstNode + count}) do not fit a sector of ${s.sectorNodes} nodes`);
    if (!same(commROf(s.commC, s.commRLast), s.commR)) return fail('sealed.comm_r is not H(comm_c ‖ comm_r_last)');
    return { ok: true };
  } catch (err) {
    return fail(`malformed sealed replica (${(err as Error).message})`);
  }
}
