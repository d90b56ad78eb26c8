// Storage commitments and possession proofs (DESIGN §3, §4 step 4, §6): their canonical bytes, how a
// storer signs them and how anyone verifies them. Pure functions: the storer signs with these, and the
// gateway (before co-signing a SetKey), the consensus verifiers (cert step) and the rewards auditor all
// check with the same code, so one rule decides what a valid commitment is.
//
// Signing (docs/contracts.md, "Canonical signing"): Ed25519 over len(domain) ‖ domain ‖ message, where
// message is the deterministic protobuf encoding of the message with its signature field cleared. The
// bytes are always rebuilt by re-encoding the decoded message, never sliced from what arrived, so a
// message carrying fields this code does not know fails instead of passing with unchecked parts.
import { NewChunks } from '../../gen/wolk/common/v1/chain.js';
import { CommitChunksRequest } from '../../gen/wolk/storer/v1/storer.js';
import { FileAudit, ShareProof, StorageCommitment, type FileLeafProof } from '../../gen/wolk/common/v1/storage.js';
import { sha256 } from '../crypto/hash.js';
import { SignDomain, sign, verifySignature } from '../crypto/sign.js';
import { SortitionDomain, sortition, sortitionAlpha } from '../crypto/sortition.js';
import { verify as vrfVerify } from '../crypto/vrf.js';
import { challengeIndices } from '../merkle/challenge.js';
import { MAX_CHUNK_SIZE, MIN_CHUNK_SIZE, isValidChunkSize, verifyFileBranch } from '../merkle/file.js';
import { verifyReplicaBranch } from '../merkle/replica.js';
import { chunkSetDataBytes } from '../porep/data.js';
import { sealedShape, type PorepNetworkParams } from './sealed.js';

/** Why a check failed, or ok. Reasons are short sentences for logs and client-facing errors. */
export type Verdict<T = object> = ({ readonly ok: true } & T) | { readonly ok: false; readonly reason: string };

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

const isBytes = (b: unknown, n: number): b is Uint8Array => b instanceof Uint8Array && b.length === n;
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
const buf = (b: Uint8Array) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const EMPTY = Buffer.alloc(0);
const U64_MAX = (1n << 64n) - 1n;

// ---------------------------------------------------------------------------------------------
// Storage commitments

/** The VRF input of storer self-selection for one file (crypto.proto: storer selection). */
export function storerAlpha(seed: Uint8Array, filehash: Uint8Array): Uint8Array {
  return sortitionAlpha(SortitionDomain.Storer, seed, filehash);
}

/** The bytes a storer signs for a commitment: its deterministic encoding with `signature` cleared. */
export function commitmentMessage(c: StorageCommitment): Uint8Array {
  return StorageCommitment.encode({ ...c, signature: EMPTY }).finish();
}

/** Signs a commitment with the storer's Ed25519 secret key (domain "wolk/commitment/v1"). */
export function signStorageCommitment(unsigned: Omit<StorageCommitment, 'signature'>, secretKey: Uint8Array): StorageCommitment {
  const c: StorageCommitment = { ...unsigned, signature: EMPTY };
  return { ...c, signature: buf(sign(SignDomain.Commitment, secretKey, commitmentMessage(c))) };
}

/** What the registry (genesis now, chain state later) says about a storer. */
export interface RegisteredStorer {
  /** 32-byte RFC 9381 VRF public key from its NodeRecord. */
  readonly vrfPublicKey: Uint8Array;
  /** Its stake: the sortition weight n. */
  readonly stake: bigint;
}

export interface CommitmentContext {
  /** The registry entry of a storer id (32 bytes), or undefined when it is not a registered storer. */
  readonly lookupStorer: (storerId: Uint8Array) => RegisteredStorer | undefined;
  /** Total storer stake at the seed's round: the sortition denominator. */
  readonly totalWeight: bigint;
  /** Expected committee size τ (genesis params.storerCommitteeSize). */
  readonly expectedSize: number;
  /** The seed the store request used. */
  readonly seed: Uint8Array;
  /** The file the commitment must be for. */
  readonly filehash: Uint8Array;
  /** When known: the seed's round, the file's size and chunk size, which must match too. */
  readonly seedRound?: bigint;
  readonly size?: bigint;
  readonly chunkSize?: number;
}

/**
 * Checks a StorageCommitment completely: shape, that it is for this file and this seed, that the
 * storer is registered with this VRF key, its signature, the VRF proof over
 * sortitionAlpha(storer domain, seed, filehash), that the carried output is the proof's, and that
 * sortition with the registered stake gives exactly the claimed weight (>= 1). A proof made for another
 * seed or file (reuse), another storer's proof, or a weight the stake does not give all fail.
 * Never throws; returns the weight when valid.
 */
export function verifyStorageCommitment(c: StorageCommitment, ctx: CommitmentContext): Verdict<{ weight: number }> {
  try {
    if (!isBytes(c.storerId, 32)) return fail('storer_id is not 32 bytes');
    if (!isBytes(c.vrfPublicKey, 32)) return fail('vrf_public_key is not 32 bytes');
    if (!c.vrf || !isBytes(c.vrf.proof, 80) || !isBytes(c.vrf.output, 64)) return fail('vrf proof must be 80 bytes with a 64-byte output');
    if (!isBytes(c.replicaRoot, 32)) return fail('replica_root is not 32 bytes');
    if (!isBytes(c.filehash, 32)) return fail('filehash is not 32 bytes');
    if (!isBytes(c.seed, 32)) return fail('seed is not 32 bytes');
    if (!isBytes(c.signature, 64)) return fail('signature is not 64 bytes');
    if (!isValidChunkSize(c.chunkSize)) return fail(`chunk_size ${c.chunkSize} is not a power of two in [4096, 32768]`);
    if (typeof c.size !== 'bigint' || c.size < 0n || c.size > U64_MAX) return fail('size is not a u64');

    if (!same(c.filehash, ctx.filehash)) return fail('commits to another file');
    if (!same(c.seed, ctx.seed)) return fail('VRF evaluated on another seed');
    if (ctx.seedRound !== undefined && c.seedRound !== ctx.seedRound) return fail(`seed_round ${c.seedRound}, expected ${ctx.seedRound}`);
    if (ctx.size !== undefined && c.size !== ctx.size) return fail(`size ${c.size}, expected ${ctx.size}`);
    if (ctx.chunkSize !== undefined && c.chunkSize !== ctx.chunkSize) return fail(`chunk_size ${c.chunkSize}, expected ${ctx.chunkSize}`);
    if (c.weight < 1) return fail('weight 0: not a commitment of a selected storer');

    const registered = ctx.lookupStorer(c.storerId);
    if (!registered) return fail('storer is not registered');
    if (!same(registered.vrfPublicKey, c.vrfPublicKey)) return fail('VRF key differs from the registered one');

    if (!verifySignature(SignDomain.Commitment, c.storerId, commitmentMessage(c), c.signature)) return fail('bad signature');

    const beta = vrfVerify(c.vrfPublicKey, storerAlpha(ctx.seed, ctx.filehash), c.vrf.proof);
    if (beta === null) return fail('VRF proof is not valid for this seed and file');
    if (!same(beta, c.vrf.output)) return fail('VRF output is not the one the proof gives');
    if (ctx.totalWeight <= 0n) return fail('registry total weight is 0');
    if (registered.stake > ctx.totalWeight) return fail('registered stake exceeds the total weight');
    const expected = Math.min(ctx.expectedSize, Number(ctx.totalWeight));
    const weight = sortition(beta, registered.stake, ctx.totalWeight, expected);
    if (weight < 1) return fail('sortition does not select this storer');
    if (weight !== c.weight) return fail(`claims weight ${c.weight}, sortition gives ${weight}`);
    return { ok: true, weight };
  } catch (err) {
    return fail(`malformed commitment (${(err as Error).message})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Commitments to a block's own chunks (storer.proto CommitChunks; NewChunks.chunk_commitments)

const CHUNK_SET = new TextEncoder().encode('wolk/chunk-set/v1');

/**
 * replica_root of a chunk-set commitment: SHA-256(len(d) ‖ d ‖ storer_id ‖ new_chunks_hash),
 * d = "wolk/chunk-set/v1". Chunks are proven one at a time with VerifyShare (whose digest binds the
 * storer id), so no replica tree is needed; this binds the commitment to its storer and set.
 */
export function chunkSetReplicaRoot(storerId: Uint8Array, newChunksHash: Uint8Array): Uint8Array {
  return sha256(Uint8Array.of(CHUNK_SET.length), CHUNK_SET, storerId, newChunksHash);
}

/** size and chunk_size of a chunk-set commitment: total bytes, and the smallest valid chunk size no chunk exceeds. */
export function chunkSetShape(lengths: Iterable<number>): { size: bigint; chunkSize: number } {
  let size = 0n;
  let max = 0;
  for (const n of lengths) {
    size += BigInt(n);
    if (n > max) max = n;
  }
  if (max > MAX_CHUNK_SIZE) throw new RangeError(`a chunk of ${max} bytes exceeds ${MAX_CHUNK_SIZE}`);
  let chunkSize = MIN_CHUNK_SIZE;
  while (chunkSize < max) chunkSize *= 2;
  return { size, chunkSize };
}

/** The bytes a CommitChunks requester signs (domain wolk/chunk-commit-request/v1): the request's encoding with `signature` and `data` cleared. */
export function commitChunksMessage(req: CommitChunksRequest): Uint8Array {
  return CommitChunksRequest.encode({ ...req, data: [], signature: Buffer.alloc(0) }).finish();
}

/**
 * BlockHeader.chunk_commitments_hash: empty when the block has no chunk commitments (so blocks
 * without any, genesis included, hash as before the field existed); otherwise SHA-256 of the
 * deterministic encoding of a NewChunks holding only `chunk_commitments`, in the block's order.
 */
export function chunkCommitmentsHash(commitments: readonly StorageCommitment[]): Uint8Array {
  if (commitments.length === 0) return new Uint8Array(0);
  return sha256(NewChunks.encode({ chunkIds: [], files: [], chunkCommitments: [...commitments], repairedChunkSets: [] }).finish());
}

/** What a chunk-set commitment is checked against (besides the registry): the block's set and seed. */
export interface ChunkCommitmentContext extends Omit<CommitmentContext, 'filehash' | 'size' | 'chunkSize'> {
  readonly newChunksHash: Uint8Array;
  /** The chunks' lengths, when the verifier holds them: size and chunk_size must then match. */
  readonly chunkLengths?: readonly number[];
  /**
   * The set's shape when the verifier does not hold the chunks but knows it from the set's existing
   * commitments, which its block's validation checked against the chunks (a chunk-set Repair,
   * docs/repair.md §9): size, chunk_size and the number of chunks. chunkLengths wins when both are given.
   */
  readonly shape?: { readonly size: bigint; readonly chunkSize: number; readonly chunks: number };
  /**
   * A sealed network's parameters (genesis params.porep): the commitment must then carry a sealed
   * replica of the set's slots (lib/chain/sealed.ts sealedShape; docs/porep.md "Block chunk sets").
   * Its seal proof is the storage check's (consensus) and the auditor's, not this structural rule's.
   */
  readonly porep?: PorepNetworkParams;
}

/**
 * A chunk-set commitment: a valid StorageCommitment (lib rule above) for filehash = new_chunks_hash,
 * with replica_root = chunkSetReplicaRoot(storer, new_chunks_hash) and, when the chunks are known,
 * size/chunk_size = chunkSetShape of their lengths.
 */
export function verifyChunkCommitment(c: StorageCommitment, ctx: ChunkCommitmentContext): Verdict<{ weight: number }> {
  try {
    const shape = ctx.chunkLengths ? { ...chunkSetShape(ctx.chunkLengths), chunks: ctx.chunkLengths.length } : ctx.shape;
    const v = verifyStorageCommitment(c, { ...ctx, filehash: ctx.newChunksHash, ...(shape ? { size: shape.size, chunkSize: shape.chunkSize } : {}) });
    if (!v.ok) return v;
    if (!same(c.replicaRoot, chunkSetReplicaRoot(c.storerId, ctx.newChunksHash))) return fail('replica_root is not the chunk-set root of this storer and set');
    if (ctx.porep) {
      const chunks = shape?.chunks;
      if (chunks === undefined) return fail('a sealed network\'s chunk commitment is checked with the chunks\' lengths or the set\'s shape');
      // An empty set (a block without new chunks) holds nothing to replicate: no sealed replica.
      if (chunks === 0) return c.sealed ? fail('a sealed replica of an empty chunk set') : v;
      const sealed = sealedShape(c, ctx.porep, chunkSetDataBytes(chunks, c.chunkSize));
      if (!sealed.ok) return fail(`sealed replica: ${sealed.reason}`);
    } else if (c.sealed) {
      return fail('a sealed replica on a network that does not seal (no genesis params.porep)');
    }
    return v;
  } catch (err) {
    return fail(`malformed commitment (${(err as Error).message})`);
  }
}

/**
 * Checks a NotSelected answer: the VRF proof is valid for (seed, filehash) under the registered key and
 * sortition gives weight 0, i.e. the storer did not lie about not being selected.
 */
export function verifyNotSelected(
  answer: { storerId: Uint8Array; vrfPublicKey: Uint8Array; vrf?: { proof: Uint8Array; output: Uint8Array } | undefined },
  ctx: Omit<CommitmentContext, 'seedRound' | 'size' | 'chunkSize'>,
): Verdict {
  try {
    if (!isBytes(answer.storerId, 32) || !isBytes(answer.vrfPublicKey, 32)) return fail('storer_id and vrf_public_key must be 32 bytes');
    if (!answer.vrf || !isBytes(answer.vrf.proof, 80) || !isBytes(answer.vrf.output, 64)) return fail('vrf proof must be 80 bytes with a 64-byte output');
    const registered = ctx.lookupStorer(answer.storerId);
    if (!registered) return fail('storer is not registered');
    if (!same(registered.vrfPublicKey, answer.vrfPublicKey)) return fail('VRF key differs from the registered one');
    const beta = vrfVerify(answer.vrfPublicKey, storerAlpha(ctx.seed, ctx.filehash), answer.vrf.proof);
    if (beta === null) return fail('VRF proof is not valid for this seed and file');
    if (!same(beta, answer.vrf.output)) return fail('VRF output is not the one the proof gives');
    const expected = Math.min(ctx.expectedSize, Number(ctx.totalWeight));
    const weight = sortition(beta, registered.stake, ctx.totalWeight, expected);
    if (weight !== 0) return fail(`claims not selected, but sortition gives weight ${weight}`);
    return { ok: true };
  } catch (err) {
    return fail(`malformed answer (${(err as Error).message})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Chunk possession (VerifyShare)

const SHARE_POSSESSION = new TextEncoder().encode('wolk/share-possession/v1');
const SHARE_PREFIX = Uint8Array.of(SHARE_POSSESSION.length);

/** digest = SHA-256(len(d) ‖ d ‖ nonce ‖ storer_id ‖ chunk), d = "wolk/share-possession/v1" (storage.proto). */
export function shareDigest(nonce: Uint8Array, storerId: Uint8Array, chunk: Uint8Array): Uint8Array {
  return sha256(SHARE_PREFIX, SHARE_POSSESSION, nonce, storerId, chunk);
}

export function signShareProof(unsigned: Omit<ShareProof, 'signature'>, secretKey: Uint8Array): ShareProof {
  const p: ShareProof = { ...unsigned, signature: EMPTY };
  return { ...p, signature: buf(sign(SignDomain.ShareProof, secretKey, ShareProof.encode(p).finish())) };
}

/**
 * Checks a ShareProof: for this chunk id and the challenger's nonce, signed by `storerId` when given
 * (else by the id it names). With the chunk bytes at hand the digest is recomputed too; without them
 * only the binding (chunk id, nonce, storer, signature) can be checked.
 */
export function verifyShareProof(
  proof: ShareProof,
  expected: { readonly chunkId: Uint8Array; readonly nonce: Uint8Array; readonly storerId?: Uint8Array; readonly chunk?: Uint8Array },
): Verdict {
  try {
    if (!isBytes(proof.chunkId, 32) || !isBytes(proof.storerId, 32) || !isBytes(proof.nonce, 32) || !isBytes(proof.digest, 32)) {
      return fail('chunk_id, storer_id, nonce and digest must be 32 bytes');
    }
    if (!same(proof.chunkId, expected.chunkId)) return fail('proof is for another chunk');
    if (!same(proof.nonce, expected.nonce)) return fail('proof answers another nonce');
    if (expected.storerId && !same(proof.storerId, expected.storerId)) return fail('proof is from another storer');
    const message = ShareProof.encode({ ...proof, signature: EMPTY }).finish();
    if (!verifySignature(SignDomain.ShareProof, proof.storerId, message, proof.signature)) return fail('bad signature');
    if (expected.chunk) {
      if (!same(sha256(expected.chunk), expected.chunkId)) return fail('the chunk given does not hash to chunk_id');
      if (!same(shareDigest(proof.nonce, proof.storerId, expected.chunk), proof.digest)) return fail('digest does not match the chunk');
    }
    return { ok: true };
  } catch (err) {
    return fail(`malformed proof (${(err as Error).message})`);
  }
}

// ---------------------------------------------------------------------------------------------
// File audits (VerifyFile)

/** Largest k a challenge may ask for (storer.proto: 1 to 64). */
export const MAX_AUDIT_LEAVES = 64;

/**
 * The leaves a challenge selects: lib/merkle challengeIndices(challenge, leafCount, k): min(k, n)
 * distinct indices, ascending. The audit's leaves come in this order.
 */
export function auditIndices(challenge: Uint8Array, leafCount: number, k: number): number[] {
  return challengeIndices(challenge, leafCount, k);
}

export function signFileAudit(unsigned: Omit<FileAudit, 'signature'>, secretKey: Uint8Array): FileAudit {
  const a: FileAudit = { ...unsigned, signature: EMPTY };
  return { ...a, signature: buf(sign(SignDomain.FileProof, secretKey, FileAudit.encode(a).finish())) };
}

/** What an audit is checked against: normally the storer's StorageCommitment. */
export interface AuditTarget {
  readonly storerId: Uint8Array;
  readonly replicaRoot: Uint8Array;
  readonly filehash: Uint8Array;
  readonly size: bigint;
  readonly chunkSize: number;
}

/**
 * Checks a FileAudit against the storer's commitment and the challenge: same storer, file and replica
 * root; exactly the leaves the challenge selects, in order; every chunk proven both against filehash
 * (it is the file's content) and against replica_root (this storer's own replica); signed by the storer.
 */
export function verifyFileAudit(audit: FileAudit, target: AuditTarget, challenge: Uint8Array, k: number): Verdict {
  try {
    if (!isBytes(audit.storerId, 32) || !same(audit.storerId, target.storerId)) return fail('audit is from another storer');
    if (!isBytes(audit.filehash, 32) || !same(audit.filehash, target.filehash)) return fail('audit is for another file');
    if (!isBytes(audit.replicaRoot, 32) || !same(audit.replicaRoot, target.replicaRoot)) return fail('replica_root differs from the commitment');
    if (!same(audit.challenge, challenge)) return fail('audit answers another challenge');
    if (audit.k !== k) return fail(`audit answers k=${audit.k}, asked ${k}`);
    if (!Number.isInteger(k) || k < 1 || k > MAX_AUDIT_LEAVES) return fail(`k must be 1 to ${MAX_AUDIT_LEAVES}`);
    if (target.size > BigInt(Number.MAX_SAFE_INTEGER)) return fail('file too large to audit here');
    const size = Number(target.size);
    const leafCount = Math.ceil(size / target.chunkSize);
    const indices = auditIndices(challenge, leafCount, k);
    if (audit.leaves.length !== indices.length) return fail(`audit has ${audit.leaves.length} leaves, the challenge selects ${indices.length}`);
    for (let j = 0; j < indices.length; j++) {
      const problem = leafProblem(audit.leaves[j]!, indices[j]!, leafCount, size, target);
      if (problem) return fail(`leaf ${indices[j]}: ${problem}`);
    }
    const message = FileAudit.encode({ ...audit, signature: EMPTY }).finish();
    if (!verifySignature(SignDomain.FileProof, audit.storerId, message, audit.signature)) return fail('bad signature');
    return { ok: true };
  } catch (err) {
    return fail(`malformed audit (${(err as Error).message})`);
  }
}

function leafProblem(leaf: FileLeafProof, index: number, leafCount: number, size: number, t: AuditTarget): string | null {
  const fb = leaf.fileBranch;
  const rb = leaf.replicaBranch;
  if (!fb || !rb) return 'missing a branch';
  for (const b of [fb, rb]) {
    if (b.leafIndex !== BigInt(index)) return `branch for leaf ${b.leafIndex}`;
    if (b.leafCount !== BigInt(leafCount)) return `branch for a tree of ${b.leafCount} leaves, the file has ${leafCount}`;
  }
  if (!verifyFileBranch(t.filehash, size, t.chunkSize, index, leaf.chunk, fb.siblings)) return 'chunk is not the file content (file branch fails)';
  if (!verifyReplicaBranch(t.replicaRoot, t.storerId, t.filehash, size, t.chunkSize, index, leaf.chunk, rb.siblings)) {
    return 'replica branch fails';
  }
  return null;
}
