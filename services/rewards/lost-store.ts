// Files and block chunk sets the repairer found lost (docs/repair.md §7): kept in the rewards node's
// RocksDB (Bucket.lost) so that they outlive the log line and a restart, and listed by
// RewardsService.ListLost. An entry is written by every scan that finds its object lost and cleared by
// the first scan that repairs it after all (a holder came back).
//
// Key: Bucket.lost ‖ UTF-8 of the object's label: its path (`wolk://OWNER/COLLECTION/KEY`) for a file,
// `chunk-set:<round, 20-digit zero-padded decimal>` for a block's chunk set, so sets list in round
// order (and before files: 'c' < 'w'). Value: the LostObject as the RPC answers it.
import { LostObject } from '../../gen/wolk/rewards/v1/rewards.js';
import { Bucket, bucketKey, prefixEnd, type KvOp, type KvStore } from '../../lib/storage/kv.js';
import type { ScanReport } from './repairer.js';

export const DEFAULT_LOST_PAGE = 100;
export const MAX_LOST_PAGE = 1000;

/** A ListLost query the caller got wrong (bad page size or token): INVALID_ARGUMENT at the edge. */
export class LostQueryError extends RangeError {
  override readonly name = 'LostQueryError';
}

/** What a scan found lost: a LostObject without its times, which the store keeps. */
export type LostFinding = Omit<LostObject, 'firstSeenMs' | 'lastSeenMs'>;

/** The label of block `round`'s chunk set: 20 digits hold every u64, so labels sort as rounds do. */
export const chunkSetLabel = (round: bigint): string => `chunk-set:${round.toString().padStart(20, '0')}`;

const CHUNK_SET_LABEL = /^chunk-set:\d{20}$/;
const FILE_PREFIX = 'wolk://';
const U64_MAX = 2n ** 64n - 1n;

/** The label of a file (its path) or of a chunk set (chunkSetLabel); exactly one of the two is set. */
export function lostLabel(o: Pick<LostObject, 'path' | 'chunkSetRound'>): string {
  if (o.path !== '' && o.chunkSetRound === 0n) {
    if (!o.path.startsWith(FILE_PREFIX)) throw new Error(`lost file: path must start with ${FILE_PREFIX}, got ${JSON.stringify(o.path.slice(0, 64))}`);
    return o.path;
  }
  if (o.path === '' && o.chunkSetRound > 0n && o.chunkSetRound <= U64_MAX) return chunkSetLabel(o.chunkSetRound);
  throw new Error(`lost object: expected a path or a chunk-set round > 0, got path ${JSON.stringify(o.path.slice(0, 64))} and round ${o.chunkSetRound}`);
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const keyOf = (label: string) => bucketKey(Bucket.lost, utf8.encode(label));
const PREFIX = bucketKey(Bucket.lost);

function pageSizeOf(n: number): number {
  if (n === 0) return DEFAULT_LOST_PAGE;
  if (!Number.isInteger(n) || n < 1 || n > MAX_LOST_PAGE) throw new LostQueryError(`page_size must be 1 to ${MAX_LOST_PAGE} (0 = ${DEFAULT_LOST_PAGE}), got ${n}`);
  return n;
}

/** A page token is base64url of the last label listed; anything this store could not have issued is refused. */
const token = (label: string) => Buffer.from(label, 'utf8').toString('base64url');
function untoken(t: string): string {
  const refuse = () => new LostQueryError('page_token is not one this node issued');
  if (!/^[A-Za-z0-9_-]+$/.test(t)) throw refuse();
  const bytes = Buffer.from(t, 'base64url');
  if (bytes.toString('base64url') !== t) throw refuse();
  let label: string;
  try {
    label = strictUtf8.decode(bytes);
  } catch {
    throw refuse();
  }
  if (!CHUNK_SET_LABEL.test(label) && !(label.startsWith(FILE_PREFIX) && label.length > FILE_PREFIX.length)) throw refuse();
  return label;
}

export interface LostStore {
  /**
   * Upserts what a scan found lost, in one synced batch: an entry already there keeps its
   * first_seen_ms and takes last_seen_ms = nowMs and the new evidence; a new one has both at nowMs.
   */
  record(objects: readonly LostFinding[], nowMs: number): Promise<void>;
  /** Removes the entries of these labels (objects a later scan repaired), in one synced batch. */
  clear(labels: readonly string[]): Promise<void>;
  /** One page in label order; `next` is '' on the last page. Throws LostQueryError for a bad size or token. */
  list(pageSize: number, pageToken: string): Promise<{ objects: LostObject[]; next: string }>;
}

/** The lost list on the rewards node's KvStore (its RocksDB), written with sync. */
export function kvLostStore(kv: KvStore): LostStore {
  return {
    async record(objects, nowMs) {
      if (objects.length === 0) return;
      const now = BigInt(Math.max(0, Math.floor(nowMs)));
      // One entry per label: a later finding of the same object in one call wins.
      const byLabel = new Map<string, LostFinding>();
      for (const o of objects) byLabel.set(lostLabel(o), o);
      const ops: KvOp[] = [];
      for (const [label, o] of byLabel) {
        const key = keyOf(label);
        const before = await kv.get(key);
        const firstSeenMs = before === null ? now : LostObject.decode(before).firstSeenMs;
        const value: LostObject = { path: o.path, chunkSetRound: o.chunkSetRound, hash: o.hash, evidence: o.evidence, firstSeenMs, lastSeenMs: now };
        ops.push({ type: 'put', key, value: LostObject.encode(value).finish() });
      }
      await kv.batch(ops, { sync: true });
    },
    async clear(labels) {
      if (labels.length === 0) return;
      await kv.batch(
        labels.map((l) => ({ type: 'del' as const, key: keyOf(l) })),
        { sync: true },
      );
    },
    async list(pageSize, pageToken) {
      const size = pageSizeOf(pageSize);
      const gte = pageToken === '' ? PREFIX : bucketKey(Bucket.lost, utf8.encode(untoken(pageToken)), Uint8Array.of(0));
      const objects: LostObject[] = [];
      let last: Uint8Array | null = null;
      let more = false;
      for await (const e of kv.range({ gte, lt: prefixEnd(PREFIX), limit: size + 1 })) {
        if (objects.length === size) {
          more = true;
          break;
        }
        objects.push(LostObject.decode(e.value));
        last = e.key;
      }
      return { objects, next: more && last !== null ? token(strictUtf8.decode(last.subarray(PREFIX.length))) : '' };
    },
  };
}

/**
 * What one scan's report changes in the store: the files and chunk sets it found lost (hex of the
 * repairer's report → bytes) to record, and the labels of those it repaired to clear.
 */
export function lostChanges(report: ScanReport): { record: LostFinding[]; clear: string[] } {
  const evidenceOf = (e: ScanReport['lost'][number]['evidence']) => e.map((x) => ({ storerId: Buffer.from(x.storer, 'hex'), standing: x.standing, source: x.source }));
  const record: LostFinding[] = [
    ...report.lost.map((f) => ({ path: f.path, chunkSetRound: 0n, hash: Buffer.from(f.filehash, 'hex'), evidence: evidenceOf(f.evidence) })),
    ...report.chunkSets.lost.map((s) => ({ path: '', chunkSetRound: BigInt(s.round), hash: Buffer.from(s.newChunksHash, 'hex'), evidence: evidenceOf(s.evidence) })),
  ];
  const clear = [...report.repaired.map((r) => r.path), ...report.chunkSets.repaired.map((r) => chunkSetLabel(BigInt(r.round)))];
  return { record, clear };
}
