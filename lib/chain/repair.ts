// Repair (docs/repair.md, issue #19): the liveness rule every party applies to a key's commitments,
// the network parameters, the per-block bound, and the one substitution a Repair makes in a KeyRecord
// (the ledger and the indexer both apply it, so their records agree byte for byte).
import type { NodeRecord } from '../../gen/wolk/common/v1/node.js';
import { NodeRole } from '../../gen/wolk/common/v1/node.js';
import type { NewChunks } from '../../gen/wolk/common/v1/chain.js';
import type { ChunkSetRecord, KeyRecord } from '../../gen/wolk/common/v1/state.js';
import type { StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import { RepairReason, type Repair, type SignedTransaction } from '../../gen/wolk/common/v1/tx.js';

export interface RepairParams {
  /** A registered storer whose reputation_ppm is below this is not live (docs/repair.md §1 for the 900 000). */
  readonly liveReputationPpm: number;
  /** Most Repair transactions in one block. */
  readonly maxPerBlock: number;
}

export const DEFAULT_REPAIR_PARAMS: RepairParams = { liveReputationPpm: 900_000, maxPerBlock: 16 };

/** Most commitments one Repair may replace (a bucket's N is at most 64, tx.proto / TxLimits). */
export const MAX_REPLACED = 64;

/** Genesis `params.repair` with the defaults for what it leaves out. */
export function repairParamsOf(p: Partial<RepairParams> | undefined): RepairParams {
  return { ...DEFAULT_REPAIR_PARAMS, ...(p ?? {}) };
}

/** The problem with a genesis `params.repair` value, or null when it is well formed. */
export function repairParamsProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'must be an object';
  const v = value as Record<string, unknown>;
  const ppm = v['liveReputationPpm'];
  if (ppm !== undefined && (!Number.isInteger(ppm) || (ppm as number) < 0 || (ppm as number) > 1_000_000)) return `liveReputationPpm must be an integer from 0 to 1000000, got ${String(ppm)}`;
  const max = v['maxPerBlock'];
  if (max !== undefined && (!Number.isInteger(max) || (max as number) < 1)) return `maxPerBlock must be a positive integer, got ${String(max)}`;
  return null;
}

/**
 * Whether a storer's commitment is live (docs/repair.md §1): `null` when it is (registered with the
 * storer role and reputation at or above the threshold), else the reason it is not. `node` is the
 * storer's node record in the state judged (undefined: no node record).
 */
export function notLiveReason(node: NodeRecord | undefined, params: RepairParams): RepairReason | null {
  if (node === undefined || !node.roles.includes(NodeRole.NODE_ROLE_STORER)) return RepairReason.REPAIR_REASON_DEREGISTERED;
  if (node.reputationPpm < params.liveReputationPpm) return RepairReason.REPAIR_REASON_LOW_REPUTATION;
  return null;
}

export const REASON_NAME: Record<RepairReason, string> = {
  [RepairReason.REPAIR_REASON_UNSPECIFIED]: 'unspecified',
  [RepairReason.REPAIR_REASON_DEREGISTERED]: 'deregistered',
  [RepairReason.REPAIR_REASON_LOW_REPUTATION]: 'low reputation',
  [RepairReason.UNRECOGNIZED]: 'unrecognized',
};

/** The round a KeyRecord was last written: its last Repair's, else its SetKey's (Repair.record_round). */
export function recordRound(rec: KeyRecord): bigint {
  return rec.repairedRound ?? rec.round;
}

// ---------------------------------------------------------------------------------------------
// Block chunk sets (docs/repair.md §9)

/** The chunk set of block `round` as its block made it: what a ChunkSetRecord starts from before any Repair. */
export function chunkSetFromBlock(round: bigint, newChunksHash: Uint8Array, nc: NewChunks): ChunkSetRecord {
  return { round, newChunksHash: Buffer.from(newChunksHash), commitments: [...nc.chunkCommitments], repairedRound: 0n, repairs: 0 };
}

/** The round a chunk set was last written: its last Repair's, else its block's (Repair.record_round). */
export function chunkSetRecordRound(rec: ChunkSetRecord): bigint {
  return rec.repairedRound > 0n ? rec.repairedRound : rec.round;
}

/**
 * How many of a chunk set's commitments a Repair may replace (docs/repair.md §9): N − live when fewer
 * than N (genesis params.replication) are live, else 0. A chunk set often has more committers than N
 * (every storer the sortition selects commits); it is repaired back to N, not to its first count, so a
 * dead storer does not move every chunk set it ever committed to.
 */
export function chunkSetShortfall(commitments: readonly StorageCommitment[], nodeOf: (storerId: Uint8Array) => NodeRecord | undefined, params: RepairParams, n: number): number {
  let live = 0;
  for (const c of commitments) if (notLiveReason(nodeOf(c.storerId), params) === null) live++;
  return Math.max(0, n - live);
}

/** The chunk set after a Repair applied in block `round`: as repairedRecord, for a ChunkSetRecord. */
export function repairedChunkSet(rec: ChunkSetRecord, repair: Repair, round: bigint, same: (a: Uint8Array, b: Uint8Array) => boolean): ChunkSetRecord {
  const commitments = substitute(rec.commitments, repair, same, 'repairedChunkSet');
  return { ...rec, commitments, repairedRound: round, repairs: rec.repairs + 1 };
}

function substitute(held: readonly StorageCommitment[], repair: Repair, same: (a: Uint8Array, b: Uint8Array) => boolean, who: string): StorageCommitment[] {
  const commitments = [...held];
  repair.replaced.forEach((r, i) => {
    const at = commitments.findIndex((c) => r.commitment !== undefined && same(c.signature, r.commitment.signature) && same(c.storerId, r.commitment.storerId));
    if (at < 0) throw new Error(`${who}: replaced commitment ${i} is not in the record`);
    commitments[at] = repair.commitments[i]!;
  });
  return commitments;
}

/** Indices of the Repair transactions of a block, or the reason there are too many. */
export function repairsInBlock(txs: readonly SignedTransaction[], params: RepairParams): { ok: true; count: number } | { ok: false; reason: string } {
  let count = 0;
  for (const t of txs) if (t.tx?.body?.$case === 'repair') count++;
  if (count > params.maxPerBlock) return { ok: false, reason: `${count} Repair transactions in the block, at most ${params.maxPerBlock}` };
  return { ok: true, count };
}

/**
 * The record after a Repair applied in block `round` (docs/repair.md §6): each replaced commitment's
 * position gets its new commitment, so order and count stay; repaired_round and repairs move. The
 * caller has checked that every replaced commitment is in the record (byte-identical); one that is not
 * throws.
 */
export function repairedRecord(rec: KeyRecord, repair: Repair, round: bigint, same: (a: Uint8Array, b: Uint8Array) => boolean): KeyRecord {
  const commitments = substitute(rec.commitments, repair, same, 'repairedRecord');
  return { ...rec, commitments, repairedRound: round, repairs: (rec.repairs ?? 0) + 1 };
}
