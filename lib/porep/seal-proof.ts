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
import { assertBytes } from '../crypto/errors.js';
import { challengeIndices } from '../merkle/challenge.js';
import { sha256One } from '../merkle/sha256.js';
import { MerkleTree, equal32, isHash, verifyMultiproof } from '../merkle/tree.js';
import { NODE_SIZE, assertNodes, nodesFor } from './params.js';
import { parentsOf } from './graph.js';
import { labelFromParents } from './labels.js';
import { columnHash, commRMatches, nodeLeaves, readColumn, type ReplicaCommitment } from './commit.js';
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
  readonly replica: Uint8Array;
  readonly treeC: MerkleTree;
  readonly treeR: MerkleTree;
  readonly commitment: ReplicaCommitment;
  readonly data: DataSource;
}

/** Builds the seal proof for `k` challenges drawn from `seed`. */
export async function proveSeal(p: SealProver, seed: Uint8Array, k: number): Promise<SealProof> {
  const nodes = p.replica.length / NODE_SIZE;
  const challenges = sealChallenges(seed, p.commitment.commR, nodes, k);
  const indices = neededColumns(nodes, p.layers, challenges);
  const labels: Uint8Array[] = [];
  for (const i of indices) labels.push(await readColumn(p.store, p.layers, i));
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
  readonly nodes: number;
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

function check(s: SealStatement, proof: SealProof): Verdict {
  assertNodes(s.nodes);
  const L = s.layers;
  if (s.nodes < nodesFor(s.data.size)) return refuse(`a sector of ${s.nodes} nodes cannot hold ${s.data.size} bytes`);
  if (!isHash(proof.commC) || !isHash(proof.commRLast)) return refuse('comm_c and comm_r_last must be 32 bytes');
  if (!commRMatches(s.commR, proof.commC, proof.commRLast)) return refuse('comm_r is not H(comm_c ‖ comm_r_last)');
  const challenges = sealChallenges(s.seed, s.commR, s.nodes, s.challenges);

  // columns: exactly the needed set, each L labels, one multiproof against comm_c
  const needed = neededColumns(s.nodes, L, challenges);
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
  if (!verifyMultiproof(proof.commRLast, s.nodes, challenges, rn.nodes.map((r) => nodeLeaves(r)), rn.proof)) {
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
  for (let j = 0; j < challenges.length; j++) {
    const i = challenges[j]!;
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
    const c = chunkOfNode(i, s.data.size, s.data.chunkSize);
    const di = nodeFromChunk(i, s.data.chunkSize, c === null ? null : chunk.get(c)!);
    const key = label(i, L);
    const ri = rn.nodes[j]!;
    for (let b = 0; b < NODE_SIZE; b++) {
      if ((di[b]! ^ key[b]!) !== ri[b]) return refuse(`replica node ${i} is not data ⊕ label(${L}, ${i})`);
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
