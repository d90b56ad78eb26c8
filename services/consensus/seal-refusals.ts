// Seal proofs this node has refused (issue #15, docs/porep.md "A wrong sealer is kept off the chain").
//
// The cert-step storage check (storage-check.ts) records here every commitment whose storer answered
// ProveSeal with a proof that does not verify: a verdict, not an outage (a storer that is down or late
// is never recorded). Two readers use it:
//   - the storage check itself: a block that carries a refused (storer, file) is not vouched for, without
//     asking the storer again (a recheck, or the next period's proposal of the same transactions);
//   - this node as proposer: transactions bringing a refused commitment are left out of its proposals and
//     dropped from its mempool with the reason (host.ts), and a storer refused for any file or chunk set
//     is not taken among the block's chunk-set committers (node.ts).
// So a block with a wrong sealer gets no vote from a node that caught it, and the next proposal from
// such a node no longer carries it. Entries expire after `ttlMs` and are bounded by count (least
// recently used first out), so memory is bounded whatever storers do. Keys are hex of raw ids.
import { LRUCache } from 'lru-cache';
import type { StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import type { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';

export interface SealRefusal {
  readonly storer: string;
  readonly filehash: string;
  /** The refused commitment's replica root: a later commitment of the storer to the same file with another replica is not refused by this. */
  readonly replicaRoot: string;
  readonly reason: string;
  readonly at: number;
}

export interface SealRefusalsOptions {
  /** How long a refusal counts (ms; default 1 hour). */
  readonly ttlMs?: number;
  /** Refusals remembered at most (default 10 000). */
  readonly capacity?: number;
  /** Clock (ms; default Date.now). */
  readonly now?: () => number;
}

const DEFAULT_TTL_MS = 60 * 60 * 1000;
const DEFAULT_CAPACITY = 10_000;

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** What identifies a refused commitment. */
export type CommitmentRef = Pick<StorageCommitment, 'storerId' | 'filehash' | 'replicaRoot'>;
const keyOf = (c: CommitmentRef) => `${hex(c.storerId)}/${hex(c.filehash)}/${hex(c.replicaRoot)}`;

export class SealRefusals {
  private readonly byFile: LRUCache<string, SealRefusal>;
  private readonly byStorer: LRUCache<string, SealRefusal>;
  private readonly now: () => number;

  constructor(o: SealRefusalsOptions = {}) {
    const ttl = o.ttlMs ?? DEFAULT_TTL_MS;
    const max = o.capacity ?? DEFAULT_CAPACITY;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`seal refusals: capacity must be a positive integer, got ${max}`);
    if (!Number.isFinite(ttl) || ttl <= 0) throw new RangeError(`seal refusals: ttlMs must be positive, got ${ttl}`);
    this.now = o.now ?? Date.now;
    const opts = { max, ttl, ttlAutopurge: false, ttlResolution: 0, perf: { now: () => this.now() } };
    this.byFile = new LRUCache<string, SealRefusal>(opts);
    this.byStorer = new LRUCache<string, SealRefusal>(opts);
  }

  /** Records that the seal proof of commitment `c` (to a file, or to a chunk set: filehash = new_chunks_hash) was refused. */
  refuse(c: CommitmentRef, reason: string): SealRefusal {
    const r: SealRefusal = { storer: hex(c.storerId), filehash: hex(c.filehash), replicaRoot: hex(c.replicaRoot), reason, at: this.now() };
    this.byFile.set(keyOf(c), r);
    this.byStorer.set(r.storer, r);
    return r;
  }

  /** The refusal of this commitment's seal proof (same storer, file and replica root), if one counts. */
  refused(c: CommitmentRef): SealRefusal | undefined {
    return this.byFile.get(keyOf(c));
  }

  /** The latest refusal of any seal proof of this storer, if one counts. */
  refusedStorer(storerId: Uint8Array): SealRefusal | undefined {
    return this.byStorer.get(hex(storerId));
  }

  /** Why this node will not propose `stx`: it brings a commitment (a SetKey's, a Repair's new ones) whose seal proof was refused; null otherwise. */
  leaveOut(stx: SignedTransaction): string | null {
    const body = stx.tx?.body;
    const commitments = body?.$case === 'setKey' || body?.$case === 'repair' ? body.value.commitments : [];
    for (const c of commitments) {
      const r = this.refused(c);
      if (r) return `storer ${r.storer.slice(0, 16)}'s seal proof for file ${r.filehash.slice(0, 16)} was refused by this node's storage check (${r.reason}); upload again`;
    }
    return null;
  }

  get size(): number {
    return this.byFile.size;
  }
}
