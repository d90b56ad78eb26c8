// The repairer's decisions (docs/repair.md §2, §3, §7, §9), pure: which keys and block chunk sets need
// repair and in what order, which offered commitments may replace which, and the Repair body. Keys and
// chunk sets share the liveness partition, the choice of offers and the evidence; they differ in how
// many may be replaced (a key back to its own count, a chunk set back to N = params.replication). The I/O (indexer listings, Solicit,
// SubmitTx) is the repairer's; the liveness rule is lib/chain/repair.ts, the one the ledger applies, so
// a plan made from the indexer's view of a round is what the ledger checks against that round's state.
import type { NodeRecord } from '../../gen/wolk/common/v1/node.js';
import type { ChunkSetRecord, KeyRecord } from '../../gen/wolk/common/v1/state.js';
import type { StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import { RepairReason, type Repair } from '../../gen/wolk/common/v1/tx.js';
import { chunkSetRecordRound, chunkSetShortfall, notLiveReason, recordRound, type RepairParams } from '../../lib/chain/repair.js';

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** A key with fewer live commitments than it was written with. */
export interface RepairCandidate {
  readonly path: string;
  readonly record: KeyRecord;
  /** Its commitments whose storers are live (the sources to fetch from). */
  readonly live: readonly StorageCommitment[];
  /** The others, each with the reason the ledger will find in state; deregistered ones first. */
  readonly notLive: readonly NotLive[];
}

/** Node records by id (hex), as the indexer's ListNodes gives them. */
export type NodeLookup = (storerIdHex: string) => NodeRecord | undefined;

/** A not-live commitment with the reason the ledger will find in state. */
export interface NotLive {
  readonly commitment: StorageCommitment;
  readonly reason: RepairReason;
}

/** Commitments split by the ledger's liveness rule; the not-live ones deregistered first. */
function partition(commitments: readonly StorageCommitment[], nodeOf: NodeLookup, params: RepairParams): { live: StorageCommitment[]; notLive: NotLive[] } {
  const live: StorageCommitment[] = [];
  const notLive: NotLive[] = [];
  for (const c of commitments) {
    const reason = notLiveReason(nodeOf(hex(c.storerId)), params);
    if (reason === null) live.push(c);
    else notLive.push({ commitment: c, reason });
  }
  // A storer that left will not come back; one with low reputation may recover: replace the first first.
  notLive.sort((a, b) => (a.reason === b.reason ? 0 : a.reason === RepairReason.REPAIR_REASON_DEREGISTERED ? -1 : 1));
  return { live, notLive };
}

/** The key's liveness; null when every commitment is live. */
export function assessKey(record: KeyRecord, nodeOf: NodeLookup, params: RepairParams): RepairCandidate | null {
  const { live, notLive } = partition(record.commitments, nodeOf, params);
  if (notLive.length === 0) return null;
  return { path: `wolk://${record.owner}/${record.collection}/${record.key}`, record, live, notLive };
}

/**
 * The keys that need repair among `records` (duplicates by path dropped), fewest live copies first,
 * then the oldest write, then by path; at most `limit` (the rest are found on the next scan). Keys with
 * no live copy are in the list too (a not-live holder may still serve the bytes, §7); `lost` lists them
 * again for the report.
 */
export function planRepairs(records: Iterable<KeyRecord>, nodeOf: NodeLookup, params: RepairParams, limit: number): { queue: RepairCandidate[]; noLiveCopy: RepairCandidate[] } {
  const byPath = new Map<string, RepairCandidate>();
  for (const r of records) {
    const c = assessKey(r, nodeOf, params);
    if (c !== null && !byPath.has(c.path)) byPath.set(c.path, c);
  }
  const all = [...byPath.values()].sort(
    (a, b) => a.live.length - b.live.length || Number(recordRound(a.record) - recordRound(b.record)) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
  );
  return { queue: all.slice(0, Math.max(0, limit)), noLiveCopy: all.filter((c) => c.live.length === 0) };
}

/**
 * The offered commitments (Solicit answers) that may replace the candidate's not-live ones, in the order
 * offered, at most one per not-live commitment: from live storers that hold no commitment of the key,
 * one per storer, on a seed at or after the record's last write (the ledger's freshness rule), and
 * passing `valid` (lib/chain/commitment.ts verifyStorageCommitment against the seed round's registry).
 */
export function chooseReplacements(c: RepairCandidate, offered: readonly StorageCommitment[], nodeOf: NodeLookup, params: RepairParams, valid: (x: StorageCommitment) => boolean): StorageCommitment[] {
  return choose(c.record.commitments, recordRound(c.record), c.notLive.length, offered, nodeOf, params, valid);
}

/** The shared rule of chooseReplacements and chooseChunkSetReplacements: at most `max` of `offered`. */
function choose(held: readonly StorageCommitment[], since: bigint, max: number, offered: readonly StorageCommitment[], nodeOf: NodeLookup, params: RepairParams, valid: (x: StorageCommitment) => boolean): StorageCommitment[] {
  const holders = new Set(held.map((x) => hex(x.storerId)));
  const out: StorageCommitment[] = [];
  for (const x of offered) {
    if (out.length >= max) break;
    const id = hex(x.storerId);
    if (holders.has(id)) continue;
    if (notLiveReason(nodeOf(id), params) !== null) continue;
    if (x.seedRound < since) continue;
    if (!valid(x)) continue;
    holders.add(id);
    out.push(x);
  }
  return out;
}

/** The Repair body: the first |replacements| not-live commitments, each replaced by one replacement. */
export function repairBody(c: RepairCandidate, replacements: readonly StorageCommitment[]): Repair {
  if (replacements.length === 0 || replacements.length > c.notLive.length) throw new RangeError(`repairBody: ${replacements.length} replacements for ${c.notLive.length} commitments that are not live`);
  return {
    owner: c.record.owner,
    collection: c.record.collection,
    key: c.record.key,
    recordRound: recordRound(c.record),
    chunkSetRound: 0n,
    replaced: evidence(c.notLive, replacements.length),
    commitments: [...replacements],
  };
}

const evidence = (notLive: readonly NotLive[], n: number) => notLive.slice(0, n).map((x) => ({ commitment: x.commitment, reason: x.reason }));

// ---------------------------------------------------------------------------------------------
// Block chunk sets (docs/repair.md §9)

/** A block's chunk set with fewer than N live commitments. */
export interface ChunkSetCandidate {
  /** Round of the block whose chunk set this is (Repair.chunk_set_round). */
  readonly round: bigint;
  /** For reports, logs and the pending bookkeeping: `chunk-set:<round>`. */
  readonly label: string;
  readonly record: ChunkSetRecord;
  readonly live: readonly StorageCommitment[];
  readonly notLive: readonly NotLive[];
  /**
   * How many a Repair may replace: chunkSetShortfall (N − live, the ledger's bound) and at most the
   * not-live commitments there are (each new commitment replaces one). Always ≥ 1 in a candidate.
   */
  readonly replaceable: number;
}

/**
 * The chunk set's liveness against N (genesis params.replication); null when nothing may be replaced:
 * N or more live, no not-live commitment (a set first committed by fewer than N, all live), or an empty
 * set (every commitment of size 0: a block without chunks holds nothing to keep).
 */
export function assessChunkSet(record: ChunkSetRecord, nodeOf: NodeLookup, params: RepairParams, n: number): ChunkSetCandidate | null {
  if (record.commitments.every((c) => c.size === 0n)) return null;
  const shortfall = chunkSetShortfall(record.commitments, (id) => nodeOf(hex(id)), params, n);
  if (shortfall === 0) return null;
  const { live, notLive } = partition(record.commitments, nodeOf, params);
  const replaceable = Math.min(shortfall, notLive.length);
  if (replaceable === 0) return null;
  return { round: record.round, label: `chunk-set:${record.round}`, record, live, notLive, replaceable };
}

/**
 * The chunk sets that need repair among `records` (duplicates by round dropped: a set is listed once
 * per not-live storer in it), fewest live first, then the oldest write, then the oldest block; at most
 * `limit`.
 */
export function planChunkSetRepairs(records: Iterable<ChunkSetRecord>, nodeOf: NodeLookup, params: RepairParams, n: number, limit: number): ChunkSetCandidate[] {
  const byRound = new Map<bigint, ChunkSetCandidate>();
  for (const r of records) {
    if (byRound.has(r.round)) continue;
    const c = assessChunkSet(r, nodeOf, params, n);
    if (c !== null) byRound.set(r.round, c);
  }
  const all = [...byRound.values()].sort(
    (a, b) => a.live.length - b.live.length || Number(chunkSetRecordRound(a.record) - chunkSetRecordRound(b.record)) || Number(a.round - b.round),
  );
  return all.slice(0, Math.max(0, limit));
}

/**
 * The offered chunk-set commitments (CommitChunks answers) that may replace the set's not-live ones:
 * as chooseReplacements (live storers not already in the set, one each, seed at or after the set's last
 * write, `valid` = verifyChunkCommitment against the seed round's registry), at most `replaceable`.
 */
export function chooseChunkSetReplacements(c: ChunkSetCandidate, offered: readonly StorageCommitment[], nodeOf: NodeLookup, params: RepairParams, valid: (x: StorageCommitment) => boolean): StorageCommitment[] {
  return choose(c.record.commitments, chunkSetRecordRound(c.record), c.replaceable, offered, nodeOf, params, valid);
}

/** The Repair of a chunk set: chunk_set_round, its record round, the first |replacements| not-live commitments replaced. */
export function chunkSetRepairBody(c: ChunkSetCandidate, replacements: readonly StorageCommitment[]): Repair {
  if (replacements.length === 0 || replacements.length > c.replaceable) throw new RangeError(`chunkSetRepairBody: ${replacements.length} replacements, at most ${c.replaceable} may be replaced`);
  return {
    owner: '',
    collection: '',
    key: '',
    recordRound: chunkSetRecordRound(c.record),
    chunkSetRound: c.round,
    replaced: evidence(c.notLive, replacements.length),
    commitments: [...replacements],
  };
}
