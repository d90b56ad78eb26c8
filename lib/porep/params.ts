// Parameters of the proof of replication (docs/porep.md). The graph degrees and the node size are fixed
// by the construction (the native labelling loop assumes them); the layer count and the numbers of
// challenges are parameters, with defaults chosen from the measurements in docs/porep.md.
import { CryptoError, CryptoErrorCode } from '../crypto/errors.js';

/** Bytes per node: one SHA-256 output, the unit that is labelled and encoded. */
export const NODE_SIZE = 32;
/** Parents of a node in its own layer: i−1 plus 5 drawn by bucket sampling (graph.ts). */
export const BASE_DEGREE = 6;
/** Parents of a node in the previous layer (layers ≥ 2), drawn by a keyed permutation (graph.ts). */
export const EXPANDER_DEGREE = 8;
/** Sectors up to 2^30 nodes (32 GiB): node indices fit a u32 and 8n fits the Feistel domain. */
export const MAX_NODES = 2 ** 30;
/** Layers a sealing may have: 1 is allowed for tests only (no expander at all). */
export const MAX_LAYERS = 64;

export interface PorepParams {
  /** L: number of labelled layers; the replica is encoded with the last. */
  readonly layers: number;
  /** Nodes opened by a proof of correct sealing (seal-proof.ts). */
  readonly sealChallenges: number;
  /** Replica nodes opened by one audit (audit-proof.ts). */
  readonly auditChallenges: number;
}

/**
 * Number of uniformly drawn challenges that catch a replica with at least a fraction `epsilon` of wrong
 * nodes except with probability at most 2^-bits: the smallest k with (1 − ε)^k ≤ 2^-bits.
 */
export function challengesFor(epsilon: number, bits: number): number {
  if (!(epsilon > 0 && epsilon < 1) || !(bits > 0)) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `porep: challengesFor: expected 0 < epsilon < 1 and bits > 0, got ${epsilon}, ${bits}`);
  }
  return Math.ceil((bits * Math.LN2) / -Math.log1p(-epsilon));
}

/** Soundness target of the seal proof: a sealing with ≥ 10 % wrong nodes passes with probability ≤ 2^-40. */
export const SEAL_EPSILON = 0.1;
export const SEAL_SOUNDNESS_BITS = 40;

/** Defaults (docs/porep.md "Parameters" says how they were chosen). */
export const DEFAULT_PARAMS: PorepParams = Object.freeze({
  layers: 4,
  sealChallenges: challengesFor(SEAL_EPSILON, SEAL_SOUNDNESS_BITS),
  auditChallenges: 16,
});

/**
 * The audit response deadline and the smallest sector that keeps the regeneration attack at ≥ 10× it,
 * from bench/porep.ts (docs/porep.md "Parameters"): node 0 has the smallest cone of any node; in a
 * 4-layer sector of 2^23 nodes (256 MiB) it is 2.509 n = 21.0 M labels (regenerationCone). At ~1.5–2 µs
 * of CPU per label measured, that is 30–40 s; an attacker core 3× faster still needs ≥ 10 s = 10× the
 * deadline. Files this large are sealed as their own sector; smaller ones only inside a packed sector.
 */
export const DEFAULT_AUDIT_DEADLINE_MS = 1000;
export const MIN_SECTOR_BYTES = 256 * 1024 * 1024;

export function assertParams(p: PorepParams): void {
  const check = (name: string, v: unknown, min: number, max: number) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `porep: ${name}: expected an integer in [${min}, ${max}], got ${String(v)}`);
    }
  };
  check('layers', p.layers, 1, MAX_LAYERS);
  check('sealChallenges', p.sealChallenges, 1, 1 << 20);
  check('auditChallenges', p.auditChallenges, 1, 1 << 20);
}

export function assertNodes(nodes: unknown): asserts nodes is number {
  if (typeof nodes !== 'number' || !Number.isSafeInteger(nodes) || nodes < 1 || nodes > MAX_NODES) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `porep: node count: expected an integer in [1, ${MAX_NODES}], got ${String(nodes)}`);
  }
}

/** Nodes needed to hold `size` bytes (the last one zero-padded); at least one. */
export function nodesFor(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new CryptoError(CryptoErrorCode.OUT_OF_RANGE, `porep: size: expected a safe integer >= 0, got ${size}`);
  }
  return Math.max(1, Math.ceil(size / NODE_SIZE));
}
