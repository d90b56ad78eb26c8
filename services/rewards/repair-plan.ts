// The repairer's decisions (docs/repair.md §2, §3, §7), pure: which keys need repair and in what order,
// which offered commitments may replace which, and the Repair body. The I/O (indexer listings, Solicit,
// SubmitTx) is the repairer's; the liveness rule is lib/chain/repair.ts, the one the ledger applies, so
// a plan made from the indexer's view of a round is what the ledger checks against that round's state.
import type { NodeRecord } from '../../gen/wolk/common/v1/node.js';
import type { KeyRecord } from '../../gen/wolk/common/v1/state.js';
import type { StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import { RepairReason, type Repair } from '../../gen/wolk/common/v1/tx.js';
import { notLiveReason, recordRound, type RepairParams } from '../../lib/chain/repair.js';

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** A key with fewer live commitments than it was written with. */
export interface RepairCandidate {
  readonly path: string;
  readonly record: KeyRecord;
  /** Its commitments whose storers are live (the sources to fetch from). */
  readonly live: readonly StorageCommitment[];
  /** The others, each with the reason the ledger will find in state; deregistered ones first. */
  readonly notLive: readonly { readonly commitment: StorageCommitment; readonly reason: RepairReason }[];
}

/** Node records by id (hex), as the indexer's ListNodes gives them. */
export type NodeLookup = (storerIdHex: string) => NodeRecord | undefined;

/** The key's liveness; null when every commitment is live. */
export function assessKey(record: KeyRecord, nodeOf: NodeLookup, params: RepairParams): RepairCandidate | null {
  const live: StorageCommitment[] = [];
  const notLive: { commitment: StorageCommitment; reason: RepairReason }[] = [];
  for (const c of record.commitments) {
    const reason = notLiveReason(nodeOf(hex(c.storerId)), params);
    if (reason === null) live.push(c);
    else notLive.push({ commitment: c, reason });
  }
  if (notLive.length === 0) return null;
  // A storer that left will not come back for this key; one with low reputation may recover: replace the first first.
  notLive.sort((a, b) => (a.reason === b.reason ? 0 : a.reason === RepairReason.REPAIR_REASON_DEREGISTERED ? -1 : 1));
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
  const holders = new Set(c.record.commitments.map((x) => hex(x.storerId)));
  const since = recordRound(c.record);
  const out: StorageCommitment[] = [];
  for (const x of offered) {
    if (out.length === c.notLive.length) break;
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
    recordRound: recordRound(c.record), chunkSetRound: 0n,
    replaced: c.notLive.slice(0, replacements.length).map((x) => ({ commitment: x.commitment, reason: x.reason })),
    commitments: [...replacements],
  };
}
