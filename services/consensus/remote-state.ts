// Block chunks on storers over gRPC (DESIGN §4 step 7; docs/consensus.md "Block storage"): the
// proposer writes a block's chunks with SetShares (batches of up to 512 chunks / 2 MiB per storer) to the
// storers responsible for each chunk (block-data.ts storerOrder), and any node reads a state-tree object it lacks with GetShare(hash),
// checking the answer by hashing it; a storer that answers with wrong bytes is counted and the next one
// is asked. Nothing here is trusted beyond what a hash proves.
import { credentials } from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import type { NewChunks } from '../../gen/wolk/common/v1/chain.js';
import type { StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import { StorerServiceClient, type GetShareResponse, type SetSharesRequest } from '../../gen/wolk/storer/v1/storer.js';
import { askToCommit, commitChunksRequest } from '../../lib/chain/commit-chunks-client.js';
import { signShareWrite, unsignedWrite, type RequestSigner } from '../../lib/chain/write-request.js';
import { fromHex } from '../../lib/crypto/hash.js';
import { ClientPool, unaryCall, type UnaryMethod } from '../../lib/grpc/client.js';
import type { Logger } from '../../lib/log/logger.js';
import type { NodeSource } from '../../lib/smt/index.js';
import { storerOrder, type BlockChunk, type StorerRef } from './block-data.js';

export interface StorerChunksOptions {
  /** The storer registry (genesis storers with their endpoints). */
  readonly storers: readonly StorerRef[];
  /** R: storers each chunk is written to (capped at the registry size). */
  readonly replicas: number;
  /** Deadline of one SetShare / GetShare call. */
  readonly callTimeoutMs: number;
  /** Calls in flight at once (all chunks of all blocks together). */
  readonly maxInFlight?: number;
  /** Chunks queued for writing at most; beyond it a block's chunks are not written (logged). */
  readonly maxQueued?: number;
  readonly logger: Logger;
  /** The proposer's key: SetShares and CommitChunks requests are signed with it (lib/chain/write-request.ts). */
  readonly signer?: RequestSigner;
}

/** A block's chunk set for CommitChunks (ledger.ts ChunkSetRequest). */
export interface ChunkSetToCommit {
  readonly newChunks: NewChunks;
  readonly seed: Uint8Array;
  readonly seedRound: number;
}

export interface StoreSummary {
  readonly chunks: number;
  /** Chunks acknowledged (durable) by R storers when the call returned. */
  readonly complete: number;
  /** Chunks that reached fewer than R storers after every storer was tried. */
  readonly short: number;
  /** Chunks still being written (the budget ran out first); they carry on in the background. */
  readonly pending: number;
}

export interface StorerChunksCounters {
  storedChunks: number;
  shortChunks: number;
  fetched: number;
  /** Answers whose bytes did not hash to the chunk id asked for. */
  corruptAnswers: number;
  /** Objects no storer had. */
  missing: number;
}

const sha256hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** One SetShares call carries at most this many chunks / bytes (storer.proto allows 1024 chunks). */
const BATCH_CHUNKS = 512;
const BATCH_BYTES = 2 * 1024 * 1024;

interface Placement {
  readonly chunk: BlockChunk;
  readonly order: readonly StorerRef[];
  /** Next storer in `order` to try. */
  next: number;
  acks: number;
}
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export class StorerChunks {
  readonly counters: StorerChunksCounters = { storedChunks: 0, shortChunks: 0, fetched: 0, corruptAnswers: 0, missing: 0 };
  private readonly clients = new ClientPool((endpoint) => new StorerServiceClient(endpoint, credentials.createInsecure(), { 'grpc.max_receive_message_length': 4 * 1024 * 1024 }));
  private readonly replicas: number;
  private readonly maxInFlight: number;
  private readonly maxQueued: number;
  private inFlight = 0;
  private queued = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly log: Logger;
  private closed = false;
  private readonly closing = new AbortController();
  // Chunk ids (hex) already on R storers, in two generations (bounded): a block proposed again in a
  // later period, or a state object that reappears, is not written again.
  private placedYoung = new Set<string>();
  private placedOld = new Set<string>();

  constructor(private readonly o: StorerChunksOptions) {
    this.replicas = Math.max(1, Math.min(o.replicas, o.storers.length));
    this.maxInFlight = o.maxInFlight ?? 32;
    this.maxQueued = o.maxQueued ?? 100_000;
    this.log = o.logger.child({ module: 'block-storage' });
  }

  get storerCount(): number {
    return this.o.storers.length;
  }

  /**
   * Writes each chunk to its first R accepting storers (in its storerOrder). Returns when all are done or
   * after `budgetMs`, whichever is first; writes still running then go on in the background.
   */
  async store(chunks: readonly BlockChunk[], budgetMs: number): Promise<StoreSummary> {
    if (this.o.storers.length === 0 || chunks.length === 0) return { chunks: chunks.length, complete: 0, short: chunks.length, pending: 0 };
    if (this.queued + chunks.length > this.maxQueued) {
      this.log.warn('block chunks not written: the write queue is full', { chunks: chunks.length, queued: this.queued });
      return { chunks: chunks.length, complete: 0, short: chunks.length, pending: 0 };
    }
    this.queued += chunks.length;
    const work: Placement[] = chunks.map((chunk) => {
      const k = hex(chunk.id);
      const placed = this.placedYoung.has(k) || this.placedOld.has(k);
      return { chunk, order: placed ? [] : storerOrder(chunk.id, this.o.storers), next: 0, acks: placed ? this.replicas : 0 };
    });
    let finished = false;
    const all = this.place(work).finally(() => {
      finished = true;
      this.queued -= chunks.length;
      const done = work.filter((w) => w.acks >= this.replicas).length;
      for (const w of work) if (w.acks >= this.replicas) this.remember(hex(w.chunk.id));
      this.counters.storedChunks += done;
      this.counters.shortChunks += work.length - done;
    });
    let timer: NodeJS.Timeout | undefined;
    const timeUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, budgetMs);
      timer.unref();
    });
    await Promise.race([all, timeUp]);
    clearTimeout(timer);
    // Read at this moment: with the budget spent, chunks not yet on R storers are pending, not short.
    const complete = work.filter((w) => w.acks >= this.replicas).length;
    const short = finished ? chunks.length - complete : 0;
    const summary = { chunks: chunks.length, complete, short, pending: chunks.length - complete - short };
    if (summary.short > 0 || summary.pending > 0) this.log.warn('block chunks not all on R storers yet', { ...summary, replicas: this.replicas });
    return summary;
  }

  /**
   * Rounds of SetShares: every chunk short of R acknowledgements goes to its next untried storers (in
   * its own storerOrder), grouped per storer into batches; a failed batch sends its chunks on to their
   * next storers in the following round. Ends when every chunk has R acks or has tried every storer.
   */
  private async place(work: Placement[]): Promise<void> {
    for (;;) {
      const perStorer = new Map<string, { ref: StorerRef; items: Placement[] }>();
      for (const w of work) {
        for (let need = this.replicas - w.acks; need > 0 && w.next < w.order.length; need--) {
          const ref = w.order[w.next++]!;
          let e = perStorer.get(ref.endpoint);
          if (!e) perStorer.set(ref.endpoint, (e = { ref, items: [] }));
          e.items.push(w);
        }
      }
      if (perStorer.size === 0 || this.closed) return;
      const calls: Promise<void>[] = [];
      for (const { ref, items } of perStorer.values()) {
        for (let i = 0; i < items.length; ) {
          const batch: Placement[] = [];
          let bytes = 0;
          while (i < items.length && batch.length < BATCH_CHUNKS && (batch.length === 0 || bytes + items[i]!.chunk.data.length <= BATCH_BYTES)) {
            bytes += items[i]!.chunk.data.length;
            batch.push(items[i++]!);
          }
          calls.push(
            this.call(ref.endpoint, (cl) => cl.setShares.bind(cl), this.setSharesRequest(ref, batch)).then(
              (res) => {
                batch.forEach((w, j) => {
                  const id = res.chunkIds[j];
                  if (id !== undefined && hex(id) === hex(w.chunk.id)) w.acks++;
                });
              },
              (err: unknown) => this.log.debug('SetShares failed', { storer: ref.endpoint, chunks: batch.length, error: (err as Error).message }),
            ),
          );
        }
      }
      await Promise.all(calls);
    }
  }

  /** A SetShares of `batch` to `ref`, signed for that storer with the proposer's key (domain wolk/share-write/v1). */
  private setSharesRequest(ref: StorerRef, batch: readonly Placement[]): SetSharesRequest {
    const data = batch.map((w) => Buffer.from(w.chunk.data));
    const signer = this.o.signer;
    return { data, ...(signer ? signShareWrite(signer, fromHex(ref.id), batch.map((w) => w.chunk.id)) : unsignedWrite()) };
  }

  private remember(k: string): void {
    if (this.placedYoung.size >= 100_000) {
      this.placedOld = this.placedYoung;
      this.placedYoung = new Set();
    }
    this.placedYoung.add(k);
  }

  /**
   * Asks every registry storer to commit to the block's chunk set (storer.proto CommitChunks), all at
   * once, with the chunk ids only (the chunks were just placed by `store`). A storer that is selected
   * but lacks chunks names them; it is sent them in `data` (≤ 2 MiB per call) until it holds the set.
   * Returns the commitments that arrived by `deadline` (ms since the epoch); later answers are
   * dropped. Nothing here is trusted: the ledger checks every commitment (checkChunkCommitments).
   */
  async commitments(set: ChunkSetToCommit, chunks: readonly BlockChunk[], deadline: number): Promise<StorageCommitment[]> {
    const out: StorageCommitment[] = [];
    if (this.o.storers.length === 0 || Date.now() >= deadline) return out;
    const base = commitChunksRequest(set, this.o.signer);
    const byId = new Map(chunks.map((c) => [hex(c.id), c.data]));
    let done = false;
    const ask = async (s: StorerRef): Promise<void> => {
      const c = await askToCommit(
        (req) => this.call(s.endpoint, (cl) => cl.commitChunks.bind(cl), req, deadline),
        base,
        (id) => byId.get(id),
        () => !done && !this.closed && deadline - Date.now() > 0,
      );
      if (c && !done) out.push(c);
    };
    const all = Promise.all(
      this.o.storers.map((s) => ask(s).catch((err: unknown) => this.log.debug('CommitChunks failed', { storer: s.endpoint, error: (err as Error).message }))),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
      timer.unref();
    });
    await Promise.race([all, timeUp]);
    clearTimeout(timer);
    done = true;
    return [...out];
  }

  /** A chunk by id from the first storer (in storerOrder) whose answer hashes to the id; null if none. */
  async get(id: Uint8Array): Promise<Uint8Array | null> {
    const want = hex(id);
    for (const s of storerOrder(id, this.o.storers)) {
      if (this.closed) break;
      let res: GetShareResponse;
      try {
        res = await this.call(s.endpoint, (cl) => cl.getShare.bind(cl), { chunkId: Buffer.from(id) });
      } catch {
        continue; // NOT_FOUND, unreachable, timed out: the next storer
      }
      if (sha256hex(res.data) !== want) {
        this.counters.corruptAnswers++;
        this.log.warn('a storer answered a chunk with wrong bytes', { storer: s.endpoint, chunk: want.slice(0, 16) });
        continue;
      }
      this.counters.fetched++;
      return new Uint8Array(res.data);
    }
    this.counters.missing++;
    return null;
  }

  /** The storers as a state-tree object source (lib/smt NodeSource). */
  nodeSource(): NodeSource {
    return { getNode: (hash) => this.get(hash) };
  }

  close(): void {
    this.closed = true;
    this.closing.abort();
    this.clients.close();
    for (const w of this.waiting.splice(0)) w();
  }

  /** One unary call under the in-flight bound, with the call deadline (or `deadline`, ms since the epoch, when sooner); close() cancels it. */
  private async call<Req, Res>(endpoint: string, method: (c: StorerServiceClient) => UnaryMethod<Req, Res>, req: Req, deadline = Number.POSITIVE_INFINITY): Promise<Res> {
    while (this.inFlight >= this.maxInFlight && !this.closed) await new Promise<void>((r) => this.waiting.push(r));
    if (this.closed) throw new Error('closed');
    this.inFlight++;
    try {
      return await unaryCall(method(this.clients.get(endpoint)), req, { endpoint, deadline: Math.min(Date.now() + this.o.callTimeoutMs, deadline), signal: this.closing.signal });
    } finally {
      this.inFlight--;
      this.waiting.shift()?.();
    }
  }
}
