// Space reclamation (issue 20.2, docs/storer.md "Space reclamation"): files and block chunks that no
// commitment on chain covers (coverage.ts) are deleted once the deadline `afterMs` has passed, both by
// this storer's clock and on the chain it has followed:
//
// - a file, `afterMs` after FileRecord.storedAtMs (its last SetFile or Solicit), when no key's current
//   record names this storer for it;
// - a chunk, `afterMs` after a sweep first found it uncovered (and not used since: every write or
//   CommitChunks check of it restarts its clock), when no certified block lists it.
//
// "On the chain" means the last block applied has a timestamp at or after the deadline: a storer
// that lags behind the chain (or cannot reach it) deletes nothing, since a SetKey naming it may be in a
// block it has not seen yet. Deletions re-check under the store's own guard (FileStore.reclaim,
// ShareStore.reclaim), so a file asked for again or a chunk written again in the meantime stays.
//
// Chunk clocks live in memory: after a restart every uncovered chunk waits a full deadline again
// (later reclamation, never earlier). A sweep reads every chunk once.
import type { Logger } from '../../lib/log/logger.js';
import { prefixEnd, type KvStore } from '../../lib/storage/kv.js';
import type { Coverage } from './coverage.js';
import type { FileStore } from './files.js';
import { chunkPrefix, hex } from './layout.js';
import type { ShareStore } from './shares.js';

export interface ReclaimerDeps {
  readonly files: FileStore;
  readonly shares: ShareStore;
  readonly kv: KvStore;
  readonly coverage: Coverage;
  /** WOLK_RECLAIM_AFTER_MS (> 0). */
  readonly afterMs: number;
  readonly now: () => number;
  readonly logger: Logger;
  /** Time between sweeps (default afterMs / 4, from 1 s to 5 min). */
  readonly intervalMs?: number;
  /**
   * On a sealed network, the sealer: a deleted file's sealed record and its place in a sector are
   * released after the file is gone (porep/sealer.ts release), so sectors left empty are reclaimed.
   */
  readonly sealed?: {
    release(filehash: Uint8Array): Promise<void>;
    /** Sealed chunk sets with the last time each was asked for; one no certified block names is released when due. */
    listChunkSets?(): { setHash: Uint8Array; sealedAtMs: number }[];
    releaseChunkSet?(setHash: Uint8Array, lastAskedMs: number): Promise<boolean>;
  };
}

export interface SweepResult {
  readonly files: number;
  readonly fileBytes: number;
  readonly chunks: number;
  readonly chunkBytes: number;
  /** The chain time the sweep judged by (null: no block applied yet, nothing judged). */
  readonly chainMs: number | null;
}

/** Chunks deleted per batch. */
const CHUNK_BATCH = 256;

export class Reclaimer {
  /** Uncovered chunks and when a sweep first found them so (hex id → ms). */
  private readonly uncoveredSince = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private readonly log: Logger;
  /** Totals since start (logs, tests). */
  readonly total = { files: 0, fileBytes: 0, chunks: 0, chunkBytes: 0, chunkSets: 0, sweeps: 0 };

  constructor(private readonly deps: ReclaimerDeps) {
    if (!(deps.afterMs > 0)) throw new Error('reclaimer: afterMs must be positive (0 turns reclamation off: do not start one)');
    this.log = deps.logger.child({ module: 'reclaim' });
    deps.shares.onUse = (ids) => {
      for (const id of ids) this.uncoveredSince.delete(hex(id));
    };
  }

  get intervalMs(): number {
    return this.deps.intervalMs ?? Math.min(300_000, Math.max(1000, Math.floor(this.deps.afterMs / 4)));
  }

  start(): void {
    this.stopped = false;
    const tick = () => {
      this.running = this.sweep()
        .catch((err: unknown) => this.log.warn('reclamation sweep failed; trying again at the next', { error: (err as Error).message }))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    this.timer = setTimeout(tick, this.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over files and chunks. */
  async sweep(): Promise<SweepResult> {
    const { files, shares, coverage, afterMs } = this.deps;
    const cursor = await coverage.cursor();
    if (cursor === null) return { files: 0, fileBytes: 0, chunks: 0, chunkBytes: 0, chainMs: null };
    const chainMs = cursor.timestampMs;
    const now = this.deps.now();
    const due = (since: number) => now - since >= afterMs && chainMs - since >= afterMs;
    let nFiles = 0;
    let fileBytes = 0;
    const candidates: Uint8Array[] = [];
    for await (const { filehash, record } of files.records()) {
      if (this.stopped) break;
      if (due(record.storedAtMs) && !(await coverage.fileCovered(filehash))) candidates.push(filehash);
    }
    for (const fh of candidates) {
      if (this.stopped) break;
      // Judged again under the file's lock: touched or covered since, it stays.
      const freed = await files.reclaim(fh, async (r) => {
        const c = await coverage.cursor();
        return c !== null && now - r.storedAtMs >= afterMs && c.timestampMs - r.storedAtMs >= afterMs && !(await coverage.fileCovered(fh));
      });
      if (freed !== null) {
        nFiles++;
        fileBytes += freed;
        // After the file's commit point: a crash before this leaves a record sealer.init() drops.
        await this.deps.sealed?.release(fh);
      }
    }
    // Sealed chunk sets of proposals never certified (a certified one this storer committed to is covered
    // for good), before their chunks go; a set asked for again since is not due.
    const sealed = this.deps.sealed;
    if (sealed?.listChunkSets && sealed.releaseChunkSet) {
      for (const { setHash, sealedAtMs } of sealed.listChunkSets()) {
        if (this.stopped) break;
        if (due(sealedAtMs) && !(await coverage.chunkSetCovered(setHash))) {
          if (await sealed.releaseChunkSet(setHash, sealedAtMs)) this.total.chunkSets++;
        }
      }
    }
    let nChunks = 0;
    let chunkBytes = 0;
    const seen = new Set<string>();
    let batch: Uint8Array[] = [];
    const flush = async () => {
      const ids = batch;
      batch = [];
      const r = await shares.reclaim(ids, (id) => {
        const since = this.uncoveredSince.get(hex(id));
        return since !== undefined && due(since);
      });
      nChunks += r.chunks;
      chunkBytes += r.bytes;
      for (const id of ids) this.uncoveredSince.delete(hex(id));
    };
    const prefix = chunkPrefix();
    const ids: Uint8Array[] = [];
    for await (const e of this.deps.kv.range({ gte: prefix, lt: prefixEnd(prefix) })) ids.push(Uint8Array.from(e.key.subarray(prefix.length)));
    for (const id of ids) {
      if (this.stopped) break;
      const k = hex(id);
      if (await coverage.chunkCovered(id)) {
        this.uncoveredSince.delete(k);
        continue;
      }
      seen.add(k);
      const since = this.uncoveredSince.get(k);
      if (since === undefined) this.uncoveredSince.set(k, now);
      else if (due(since)) {
        batch.push(id);
        if (batch.length >= CHUNK_BATCH) await flush();
      }
    }
    if (batch.length > 0) await flush();
    // Forget clocks of chunks gone or covered since.
    if (!this.stopped) for (const k of this.uncoveredSince.keys()) if (!seen.has(k)) this.uncoveredSince.delete(k);
    this.total.files += nFiles;
    this.total.fileBytes += fileBytes;
    this.total.chunks += nChunks;
    this.total.chunkBytes += chunkBytes;
    this.total.sweeps++;
    if (nFiles > 0 || nChunks > 0) this.log.info('reclaimed what no commitment on chain covers', { files: nFiles, fileBytes, chunks: nChunks, chunkBytes, chainRound: cursor.round });
    return { files: nFiles, fileBytes, chunks: nChunks, chunkBytes, chainMs };
  }
}
