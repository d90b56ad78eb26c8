// Proof of correct sealing (docs/porep.md "Seal proof"), interactive: after the storer published comm_r,
// a seed it could not know then (e.g. a later round's seed) selects k nodes,
//
//   challenges = challengeIndices(SHA-256("wolk/porep/seal-challenge/v1" ‖ seed ‖ comm_r), n, k)
//
// (lib/merkle/challenge.ts: k distinct nodes, uniform). For every challenged node i the proof opens
//   - the columns of i and of all its parents (base and expander) against comm_c,
//   - r_i against comm_r_last,
//   - the data chunk holding d_i against the data commitment (the filehash),
// each group as one multiproof, so paths shared between challenges are sent once. The verifier
// recomputes label(l, i) for every layer from the parents' columns, checks it is in i's column, and
// checks r_i = d_i ⊕ label(L, i). A sealing with a fraction ε of nodes wrong (a label that does not
// follow from its parents, or a replica node that does not encode the data) survives with probability
// (1 − ε)^k: params.ts challengesFor.
//
// Ranges (docs/porep.md "Sectors"): a file may occupy nodes [first, first + m) of a larger sector that
// was labelled before the file arrived. Then the challenges are drawn over the file's m nodes (j), the
// sector node is i = first + j, columns and parents are the sector's (comm_c covers the whole sector),
// comm_r_last covers the file's m replica nodes (leaf j), and d_j is node j of the file. A whole-sector
// sealing is the range first = 0, m = n.
import { assertBytes } from '../crypto/errors.js';
import { challengeIndices } from '../merkle/challenge.js';
import { sha256One } from '../merkle/sha256.js';
import { MerkleTree, equal32, isHash, verifyMultiproof } from '../merkle/tree.js';
import { NODE_SIZE, assertNodes, nodesFor } from './params.js';
import { parentsOf } from './graph.js';
import { labelFromParents } from './labels.js';
import { columnHash, commRMatches, nodeLeaves, readColumns, type ReplicaCommitment } from './commit.js';
import { chunkOfNode, nodeFromChunk, type DataCommitment, type DataOpening, type DataSource } from './data.js';
import type { LayerStore } from './layer-store.js';

export const SEAL_CHALLENGE_TAG = new TextEncoder().encode('wolk/porep/seal-challenge/v1');

export interface SealProof {
  readonly commC: Uint8Array;
  readonly commRLast: Uint8Array;
  /** Columns of the challenged nodes and all their parents, strictly increasing indices, one multiproof. */
  readonly columns: { readonly indices: readonly number[]; readonly labels: readonly Uint8Array[]; readonly proof: readonly Uint8Array[] };
  /** r_i of the challenged nodes (in challenge order), one multiproof against comm_r_last. */
  readonly replicaNodes: { readonly nodes: readonly Uint8Array[]; readonly proof: readonly Uint8Array[] };
  /** The chunks holding the challenged data nodes. */
  readonly data: DataOpening;
}

/** The k nodes a seal proof must open, from a seed drawn after comm_r was published. */
export function sealChallenges(seed: Uint8Array, commR: Uint8Array, nodes: number, k: number): number[] {
  return challengeIndices(tagged(SEAL_CHALLENGE_TAG, seed, commR), nodes, k);
}

export function tagged(tag: Uint8Array, seed: Uint8Array, commR: Uint8Array): Uint8Array {
  assertBytes(seed, undefined, 'porep: challenge seed');
  assertBytes(commR, 32, 'porep: comm_r');
  const buf = new Uint8Array(tag.length + seed.length + 32);
  buf.set(tag, 0);
  buf.set(seed, tag.length);
  buf.set(commR, tag.length + seed.length);
  return sha256One(buf);
}

/** Every column a proof for these challenges must open, sorted. */
function neededColumns(nodes: number, layers: number, challenges: readonly number[]): number[] {
  const set = new Set<number>();
  for (const i of challenges) {
    set.add(i);
    const p = parentsOf(nodes, layers, i);
    for (const b of p.base) set.add(b);
    for (const e of p.expander) set.add(e);
  }
  return [...set].sort((a, b) => a - b);
}

function neededChunks(challenges: readonly number[], size: number, chunkSize: number): number[] {
  const set = new Set<number>();
  for (const i of challenges) {
    const c = chunkOfNode(i, size, chunkSize);
    if (c !== null) set.add(c);
  }
  return [...set].sort((a, b) => a - b);
}

export interface SealProver {
  readonly layers: number;
  readonly store: LayerStore;
  /** The replica nodes committed by comm_r_last: the whole sector, or the file's range of it. */
  readonly replica: Uint8Array;
  /** Nodes of the sector (comm_c's leaves); default: the replica's node count. */
  readonly sectorNodes?: number;
  /** Sector node of replica node 0; default 0. */
  readonly first?: number;
  readonly treeC: MerkleTree;
  readonly treeR: MerkleTree;
  readonly commitment: ReplicaCommitment;
  readonly data: DataSource;
}

/** Builds the seal proof for `k` challenges drawn from `seed`. */
export async function proveSeal(p: SealProver, seed: Uint8Array, k: number): Promise<SealProof> {
  const count = p.replica.length / NODE_SIZE;
  const nodes = p.sectorNodes ?? count;
  const first = p.first ?? 0;
  assertRange(nodes, first, count);
  const challenges = sealChallenges(seed, p.commitment.commR, count, k);
  const indices = neededColumns(nodes, p.layers, challenges.map((j) => first + j));
  const labels = await readColumns(p.store, p.layers, indices);
  const chunks = neededChunks(challenges, p.data.size, p.data.chunkSize);
  return {
    commC: p.commitment.commC.slice(),
    commRLast: p.commitment.commRLast.slice(),
    columns: { indices, labels, proof: p.treeC.multiproof(indices).hashes },
    replicaNodes: {
      nodes: challenges.map((i) => p.replica.slice(i * NODE_SIZE, (i + 1) * NODE_SIZE)),
      proof: p.treeR.multiproof(challenges).hashes,
    },
    data: chunks.length > 0 ? p.data.open(chunks) : { chunkIndices: [], chunks: [], proof: [] },
  };
}

export interface SealStatement {
  /** replicaIdOf(storerId, dataId, commitSeed) as the verifier computes it. */
  readonly replicaId: Uint8Array;
  readonly commR: Uint8Array;
  /** Nodes of the sector. */
  readonly nodes: number;
  /** The data's range in the sector: first node (default 0) and node count (default `nodes`). */
  readonly first?: number;
  readonly count?: number;
  readonly layers: number;
  readonly data: DataCommitment;
  readonly seed: Uint8Array;
  readonly challenges: number;
}

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };
const refuse = (reason: string): Verdict => ({ ok: false, reason });

/** Checks a seal proof; never throws on a hostile proof (the reason says what failed). */
export function verifySeal(s: SealStatement, proof: SealProof): Verdict {
  try {
    return check(s, proof);
  } catch (e) {
    return refuse(`malformed proof: ${(e as Error).message}`);
  }
}

/** The range [first, first + count) lies inside a sector of `nodes` nodes. */
function assertRange(nodes: number, first: number, count: number): void {
  assertNodes(nodes);
  assertNodes(count);
  if (!Number.isSafeInteger(first) || first < 0 || first + count > nodes) {
    throw new RangeError(`porep: nodes [${first}, ${first + count}) are not inside a sector of ${nodes} nodes`);
  }
}

function check(s: SealStatement, proof: SealProof): Verdict {
  const first = s.first ?? 0;
  const count = s.count ?? s.nodes;
  assertRange(s.nodes, first, count);
  const L = s.layers;
  if (count < nodesFor(s.data.size)) return refuse(`a range of ${count} nodes cannot hold ${s.data.size} bytes`);
  if (!isHash(proof.commC) || !isHash(proof.commRLast)) return refuse('comm_c and comm_r_last must be 32 bytes');
  if (!commRMatches(s.commR, proof.commC, proof.commRLast)) return refuse('comm_r is not H(comm_c ‖ comm_r_last)');
  const challenges = sealChallenges(s.seed, s.commR, count, s.challenges);

  // columns: exactly the needed set, each L labels, one multiproof against comm_c
  const needed = neededColumns(s.nodes, L, challenges.map((j) => first + j));
  const cols = proof.columns;
  if (!Array.isArray(cols.indices) || cols.indices.length !== needed.length || cols.indices.some((x, j) => x !== needed[j])) {
    return refuse('the opened columns are not those of the challenged nodes and their parents');
  }
  if (!Array.isArray(cols.labels) || cols.labels.length !== needed.length) return refuse('one column per opened index');
  for (const c of cols.labels) {
    if (!(c instanceof Uint8Array) || c.length !== L * NODE_SIZE) return refuse(`a column must hold ${L} labels (${L * NODE_SIZE} bytes)`);
  }
  const colLeaves = cols.labels.map((c) => nodeLeaves(columnHash(c)));
  if (!verifyMultiproof(proof.commC, s.nodes, needed, colLeaves, cols.proof)) return refuse('column paths do not lead to comm_c');
  const column = new Map<number, Uint8Array>(needed.map((x, j) => [x, cols.labels[j]!]));
  const label = (i: number, l: number) => column.get(i)!.subarray((l - 1) * NODE_SIZE, l * NODE_SIZE);

  // replica nodes: one per challenge, one multiproof against comm_r_last
  const rn = proof.replicaNodes;
  if (!Array.isArray(rn.nodes) || rn.nodes.length !== challenges.length || !rn.nodes.every(isHash)) return refuse('one 32-byte replica node per challenge');
  if (!verifyMultiproof(proof.commRLast, count, challenges, rn.nodes.map((r) => nodeLeaves(r)), rn.proof)) {
    return refuse('replica node paths do not lead to comm_r_last');
  }

  // data: exactly the chunks holding the challenged nodes, against the data commitment
  const chunks = neededChunks(challenges, s.data.size, s.data.chunkSize);
  const d = proof.data;
  if (!d || !Array.isArray(d.chunkIndices) || d.chunkIndices.length !== chunks.length || d.chunkIndices.some((x, j) => x !== chunks[j])) {
    return refuse('the opened data chunks are not those holding the challenged nodes');
  }
  if (!s.data.verify(d)) return refuse('data chunks do not match the data commitment');
  const chunk = new Map<number, Uint8Array>(chunks.map((c, j) => [c, d.chunks[j]!]));

  // every label of every challenged node follows from its parents; the replica encodes the data
  for (let n = 0; n < challenges.length; n++) {
    const j = challenges[n]!;
    const i = first + j;
    const p = parentsOf(s.nodes, L, i);
    for (let l = 1; l <= L; l++) {
      const expected = labelFromParents(
        s.replicaId,
        l,
        i,
        p.base.map((b) => label(b, l)),
        l >= 2 ? p.expander.map((e) => label(e, l - 1)) : [],
      );
      if (!equal32(expected, label(i, l))) return refuse(`label(${l}, ${i}) does not follow from its parents`);
    }
    const c = chunkOfNode(j, s.data.size, s.data.chunkSize);
    const dj = nodeFromChunk(j, s.data.chunkSize, c === null ? null : chunk.get(c)!);
    const key = label(i, L);
    const rj = rn.nodes[n]!;
    for (let b = 0; b < NODE_SIZE; b++) {
      if ((dj[b]! ^ key[b]!) !== rj[b]) return refuse(`replica node ${j} is not data ⊕ label(${L}, ${i})`);
    }
  }
  return { ok: true };
}

/** Bytes of a seal proof as it would travel (hashes, labels, chunks and indices as u32). */
export function sealProofSize(proof: SealProof): number {
  const hashes = proof.columns.proof.length + proof.replicaNodes.proof.length + proof.data.proof.length + proof.replicaNodes.nodes.length + 2;
  const labelBytes = proof.columns.labels.reduce((a, c) => a + c.length, 0);
  const chunkBytes = proof.data.chunks.reduce((a, c) => a + c.length, 0);
  return hashes * 32 + labelBytes + chunkBytes + 4 * (proof.columns.indices.length + proof.data.chunkIndices.length);
}
