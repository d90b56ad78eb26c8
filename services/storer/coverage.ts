// What the chain holds this storer responsible for (docs/storer.md "Space reclamation"), kept from the
// certified blocks the storer follows (lib/chain/follower.ts) so the reclaimer (reclaimer.ts) can tell
// covered data from what it may delete.
//
// - A file is covered while some key's current record on chain names this storer among its
//   commitments for that filehash: a SetKey that lists it, or a Repair that adds it. A later SetKey of
//   the same key (an overwrite), or a Repair that replaces this storer's commitment, ends it for that
//   key (the ledger's own transitions, services/consensus/ledger; the indexer applies the same).
// - A block chunk is covered once any certified block lists it in NewChunks.chunk_ids, and stays so:
//   those chunks are the chain's own data (transactions and state-tree nodes), which readers fetch by
//   hash from storers in rendezvous order (docs/consensus.md "Block storage") long after the block's
//   audit at round + auditDepth, and whichever storers the proposer placed them on hold them (the
//   rendezvous placement is not the CommitChunks committee). A chunk-set Repair (docs/repair.md §9)
//   adds committers and does not end a replaced one's responsibility (its storer is dead or failing):
//   nothing ends it. Chunks of blocks that were never certified (losing proposals) are the ones
//   reclaimed.
//
// Layout (bucket coverage):
//   coverage ‖ 0x00                          → cursor: u64 round ‖ hash(32) ‖ seed(32) ‖ u64 timestamp_ms
//   coverage ‖ 0x01 ‖ key state key(32)      → filehash: this key's record names this storer
//   coverage ‖ 0x02 ‖ filehash(32) ‖ key(32) → (empty): the same, by filehash
//   coverage ‖ 0x03 ‖ chunk id(32)           → (empty): a chunk of a certified block
//   coverage ‖ 0x04 ‖ new_chunks_hash(32)    → (empty): a certified block's chunk set this storer
//                                              committed to (its sealed replica stays: porep/sealer.ts)
// Each block's writes and the cursor go in ONE synced batch: a restart resumes after the last block.
import type { CertifiedBlock } from '../../gen/wolk/common/v1/chain.js';
import type { StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import type { CertificateVerifier } from '../../lib/chain/certificate.js';
import { checkNextBlock, type ChainPosition } from '../../lib/chain/certified-block.js';
import { pathStateKey } from '../../lib/chain/state-keys.js';
import { u64be } from '../../lib/crypto/hash.js';
import { Bucket, bucketKey, prefixEnd, type KvOp, type KvStore } from '../../lib/storage/kv.js';
import { hex } from './layout.js';

export interface CoverageCursor extends ChainPosition {
  /** The last applied block's timestamp: the chain has been seen up to this time. */
  readonly timestampMs: number;
}

const CURSOR = bucketKey(Bucket.coverage, Uint8Array.of(0x00));
const keyFileKey = (stateKey: Uint8Array) => bucketKey(Bucket.coverage, Uint8Array.of(0x01), stateKey);
const holderKey = (filehash: Uint8Array, stateKey: Uint8Array) => bucketKey(Bucket.coverage, Uint8Array.of(0x02), filehash, stateKey);
const holderPrefix = (filehash: Uint8Array) => bucketKey(Bucket.coverage, Uint8Array.of(0x02), filehash);
const chunkCoveredKey = (chunkId: Uint8Array) => bucketKey(Bucket.coverage, Uint8Array.of(0x03), chunkId);
const chunkSetKey = (setHash: Uint8Array) => bucketKey(Bucket.coverage, Uint8Array.of(0x04), setHash);

function encodeCursor(c: CoverageCursor): Uint8Array {
  const out = new Uint8Array(80);
  out.set(u64be(c.round), 0);
  out.set(c.hash, 8);
  out.set(c.seed, 40);
  out.set(u64be(c.timestampMs), 72);
  return out;
}

function decodeCursor(b: Uint8Array): CoverageCursor {
  if (b.length !== 80) throw new Error(`storer coverage cursor is ${b.length} bytes, expected 80`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { round: Number(v.getBigUint64(0)), hash: b.slice(8, 40), seed: b.slice(40, 72), timestampMs: Number(v.getBigUint64(72)) };
}

export interface CoverageContext {
  readonly genesisSeedHex: string;
  readonly certificates: CertificateVerifier;
  /** This storer's 32-byte id (commitments name it as storer_id). */
  readonly storerId: Uint8Array;
}

export class Coverage {
  private at: CoverageCursor | null = null;
  private loaded = false;

  constructor(
    private readonly kv: KvStore,
    private readonly ctx: CoverageContext,
  ) {}

  /** The last block applied (null before block 0). */
  async cursor(): Promise<CoverageCursor | null> {
    if (!this.loaded) {
      const b = await this.kv.get(CURSOR);
      this.at = b === null ? null : decodeCursor(b);
      this.loaded = true;
    }
    return this.at;
  }

  /** Whether some key's current record names this storer for `filehash`. */
  async fileCovered(filehash: Uint8Array): Promise<boolean> {
    const p = holderPrefix(filehash);
    for await (const _ of this.kv.range({ gte: p, lt: prefixEnd(p), limit: 1 })) return true;
    return false;
  }

  /** Whether a certified block lists the chunk. */
  async chunkCovered(chunkId: Uint8Array): Promise<boolean> {
    return (await this.kv.get(chunkCoveredKey(chunkId))) !== null;
  }

  /** Whether a certified block names this storer among the committers to the chunk set `setHash`. */
  async chunkSetCovered(setHash: Uint8Array): Promise<boolean> {
    return (await this.kv.get(chunkSetKey(setHash))) !== null;
  }

  /** Checks and applies the next certified block (BlockRejected when it is not the next or does not verify). */
  async apply(cb: CertifiedBlock): Promise<CoverageCursor> {
    const at = await this.cursor();
    const { block, header, round, hash } = checkNextBlock(at, cb, this.ctx.genesisSeedHex, this.ctx.certificates);
    // Writes of this block, by key; reads see them (a key set twice in one block).
    const writes = new Map<string, KvOp>();
    const get = async (k: Uint8Array) => {
      const w = writes.get(hex(k));
      if (w) return w.type === 'put' ? w.value : null;
      return this.kv.get(k);
    };
    const put = (k: Uint8Array, v: Uint8Array) => writes.set(hex(k), { type: 'put', key: k, value: v });
    const del = (k: Uint8Array) => writes.set(hex(k), { type: 'del', key: k });
    const mine = (c: StorageCommitment) => Buffer.compare(c.storerId, this.ctx.storerId) === 0;
    const release = async (stateKey: Uint8Array) => {
      const fh = await get(keyFileKey(stateKey));
      if (fh === null) return;
      del(keyFileKey(stateKey));
      del(holderKey(fh, stateKey));
    };
    const hold = (stateKey: Uint8Array, filehash: Uint8Array) => {
      put(keyFileKey(stateKey), Uint8Array.from(filehash));
      put(holderKey(filehash, stateKey), new Uint8Array(0));
    };
    for (const stx of block.txs) {
      const body = stx.tx?.body;
      if (body?.$case === 'setKey') {
        const k = body.value;
        if (!k.file) continue;
        const stateKey = pathStateKey(k.owner, k.collection, k.key);
        // An overwrite replaces the key's commitments: the old file is no longer held for this key.
        await release(stateKey);
        if (k.commitments.some(mine)) hold(stateKey, k.file.filehash);
      } else if (body?.$case === 'repair' && body.value.chunkSetRound === 0n) {
        // (A chunk set's Repair is in the block's NewChunks.repaired_chunk_sets, below.)
        const r = body.value;
        const stateKey = pathStateKey(r.owner, r.collection, r.key);
        if (r.replaced.some((x) => x.commitment !== undefined && mine(x.commitment))) await release(stateKey);
        const added = r.commitments.find(mine);
        if (added) hold(stateKey, added.filehash);
      }
    }
    for (const id of block.newChunks?.chunkIds ?? []) put(chunkCoveredKey(id), new Uint8Array(0));
    if (block.newChunks?.chunkCommitments.some(mine)) put(chunkSetKey(header.newChunksHash), new Uint8Array(0));
    // An earlier block's chunk set a Repair in this block gave to this storer (docs/repair.md §9): its
    // chunks are covered by that block's listing; its sealed set is covered from here on.
    for (const rs of block.newChunks?.repairedChunkSets ?? []) {
      const added = rs.commitments.find(mine);
      if (added) put(chunkSetKey(added.filehash), new Uint8Array(0));
    }
    const next: CoverageCursor = { round, hash, seed: Uint8Array.from(header.seed), timestampMs: Number(header.timestampMs) };
    put(CURSOR, encodeCursor(next));
    await this.kv.batch([...writes.values()], { sync: true });
    this.at = next;
    return next;
  }
}
