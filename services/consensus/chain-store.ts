// Finalized blocks and certificates in RocksDB (DESIGN §7: nothing acknowledged before it is durable).
// Keys: Bucket.block ‖ u64 round → Block, Bucket.certificate ‖ u64 round → Certificate (one atomic,
// synced batch per block), Bucket.meta ‖ "block-hash/" ‖ hash → u64 round, Bucket.agreement → the
// agreement core's persisted state (its crash-recovery record, written before any own vote leaves),
// Bucket.agreement ‖ "proposal/" ‖ u64 round ‖ hash → Proposal (vote + header + payload) of each block
// the core votes for (`persistProposal`, written before the vote leaves; pruned once the round is final).
// A node started from a checkpoint (checkpoint.ts) also keeps Bucket.meta ‖ "checkpoint" → u64 round
// (the block it started from, whose body it never had) and Bucket.meta ‖ "header/" ‖ u64 round →
// BlockHeader for the headers before it (their seeds).
//
// Headers and certificates of recent rounds are kept in memory (a finalized round's never change): the
// ledger reads a seed round's header for every storage commitment it checks (its state root), and
// GetStateProof answers carry the round's header and certificate; each read decoded the whole block
// (and its certificate) from RocksDB (1.5 s of a validator's 44 s busy in the consensus benchmark,
// 2026-12-07). Callers treat what they get as read-only.
import { LRUCache } from 'lru-cache';
import { Block, BlockHeader, Certificate, Proposal } from '../../gen/wolk/common/v1/chain.js';
import { Bucket, bucketKey, type KvStore } from '../../lib/storage/kv.js';

const utf8 = new TextEncoder();
const HASH_INDEX = utf8.encode('block-hash/');
const AGREEMENT_KEY = bucketKey(Bucket.agreement, utf8.encode('player'));
const CHECKPOINT_KEY = bucketKey(Bucket.meta, utf8.encode('checkpoint'));
const HEADER_PREFIX = utf8.encode('header/');
const PROPOSAL_PREFIX = utf8.encode('proposal/');

function u64(n: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

export interface StoredBlock {
  readonly block: Block;
  /** Undefined for genesis. */
  readonly certificate: Certificate | undefined;
}

/** Recent rounds whose header and certificate are kept in memory. */
const RECENT_ROUNDS = 256;

export class ChainStore {
  private readonly headers = new LRUCache<number, BlockHeader>({ max: RECENT_ROUNDS });
  /** Certificates by round (null: a round with none, i.e. genesis). */
  private readonly certificates = new LRUCache<number, Certificate | { none: true }>({ max: RECENT_ROUNDS });

  constructor(private readonly kv: KvStore) {}

  async put(round: number, hash: Uint8Array, block: Block, certificate: Certificate | undefined, opts: { checkpoint?: boolean } = {}): Promise<void> {
    const ops = [
      { type: 'put' as const, key: bucketKey(Bucket.block, u64(round)), value: Block.encode(block).finish() },
      { type: 'put' as const, key: bucketKey(Bucket.meta, HASH_INDEX, hash), value: u64(round) },
    ];
    if (certificate) ops.push({ type: 'put' as const, key: bucketKey(Bucket.certificate, u64(round)), value: Certificate.encode(certificate).finish() });
    if (opts.checkpoint) ops.push({ type: 'put' as const, key: CHECKPOINT_KEY, value: u64(round) });
    await this.kv.batch(ops, { sync: true });
    if (block.header) this.headers.set(round, block.header);
    this.certificates.set(round, certificate ?? { none: true });
  }

  /** Headers of blocks before a checkpoint (only their seeds are used). */
  async putAncestors(headers: readonly BlockHeader[]): Promise<void> {
    const ops = headers.map((h) => ({ type: 'put' as const, key: bucketKey(Bucket.meta, HEADER_PREFIX, u64(h.round)), value: BlockHeader.encode(h).finish() }));
    if (ops.length > 0) await this.kv.batch(ops, { sync: true });
    for (const h of headers) this.headers.set(Number(h.round), h);
  }

  /** The header of round `round`: from its block, or from the headers kept before a checkpoint. */
  async header(round: number): Promise<BlockHeader | null> {
    const cached = this.headers.get(round);
    if (cached) return cached;
    const b = await this.get(round);
    if (b?.block.header) return b.block.header;
    const h = await this.kv.get(bucketKey(Bucket.meta, HEADER_PREFIX, u64(round)));
    if (h === null) return null;
    const header = BlockHeader.decode(h);
    this.headers.set(round, header);
    return header;
  }

  /** The header and certificate of a stored block (what GetStateProof answers carry), or null. */
  async certifiedHeader(round: number): Promise<{ header: BlockHeader; certificate: Certificate | undefined } | null> {
    const header = this.headers.get(round);
    const cert = this.certificates.get(round);
    if (header && cert) return { header, certificate: 'none' in cert ? undefined : cert };
    const b = await this.get(round);
    return b?.block.header ? { header: b.block.header, certificate: b.certificate } : null;
  }

  /** The round this store started from a checkpoint, or null (it holds the chain from genesis). */
  async checkpointRound(): Promise<number | null> {
    const v = await this.kv.get(CHECKPOINT_KEY);
    return v === null ? null : Number(new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0));
  }

  async get(round: number): Promise<StoredBlock | null> {
    const b = await this.kv.get(bucketKey(Bucket.block, u64(round)));
    if (b === null) return null;
    const c = await this.kv.get(bucketKey(Bucket.certificate, u64(round)));
    const stored = { block: Block.decode(b), certificate: c === null ? undefined : Certificate.decode(c) };
    if (stored.block.header) this.headers.set(round, stored.block.header);
    this.certificates.set(round, stored.certificate ?? { none: true });
    return stored;
  }

  async roundOf(hash: Uint8Array): Promise<number | null> {
    const v = await this.kv.get(bucketKey(Bucket.meta, HASH_INDEX, hash));
    return v === null ? null : Number(new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0));
  }

  /** The highest stored round, or null for an empty store. */
  async latestRound(): Promise<number | null> {
    for await (const e of this.kv.range({ gte: Uint8Array.of(Bucket.block), lt: Uint8Array.of(Bucket.block + 1), reverse: true, limit: 1 })) {
      return Number(new DataView(e.key.buffer, e.key.byteOffset + 1, 8).getBigUint64(0));
    }
    return null;
  }

  async loadAgreementState(): Promise<Uint8Array | null> {
    return this.kv.get(AGREEMENT_KEY);
  }

  async saveAgreementState(state: Uint8Array): Promise<void> {
    await this.kv.put(AGREEMENT_KEY, state, { sync: true });
  }

  /** A proposal the agreement core is about to vote for (synced: it must survive a crash right after the vote). */
  async saveProposal(round: number, hash: Uint8Array, proposal: Proposal): Promise<void> {
    await this.kv.put(bucketKey(Bucket.agreement, PROPOSAL_PREFIX, u64(round), hash), Proposal.encode(proposal).finish(), { sync: true });
  }

  /** The saved proposals of `round`. */
  async loadProposals(round: number): Promise<Proposal[]> {
    const out: Proposal[] = [];
    const range = { gte: bucketKey(Bucket.agreement, PROPOSAL_PREFIX, u64(round)), lt: bucketKey(Bucket.agreement, PROPOSAL_PREFIX, u64(round + 1)) };
    for await (const e of this.kv.range(range)) out.push(Proposal.decode(e.value));
    return out;
  }

  /**
   * Deletes the saved proposals of every round up to `round` (final: the ledger holds their block). Not
   * synced: one that comes back after a crash belongs to a round below the tip and is never loaded.
   */
  async pruneProposals(round: number): Promise<number> {
    const ops: { type: 'del'; key: Uint8Array }[] = [];
    const range = { gte: bucketKey(Bucket.agreement, PROPOSAL_PREFIX), lt: bucketKey(Bucket.agreement, PROPOSAL_PREFIX, u64(round + 1)) };
    for await (const e of this.kv.range(range)) ops.push({ type: 'del', key: e.key });
    if (ops.length > 0) await this.kv.batch(ops);
    return ops.length;
  }
}
