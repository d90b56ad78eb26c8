// The bounded mempool: transactions checked at the edge wait here until a block includes them.
// Bounds (STYLE: every queue has one): a total count, and a count per sender so that one account
// cannot fill the pool with future nonces. Order for assembly: by nonce, then by arrival, so each
// sender's transactions come in nonce order and earlier arrivals go first.
//
// Nonce gaps: a transaction whose nonce is ahead of its sender's next nonce waits here for the ones
// before it. If those never come (the client that signed them gave up), everything after the gap
// would wait forever and hold the sender's share of the pool; so when a sender's next nonce has had
// no pending transaction for `gapWaitMs` (and the account did not move meanwhile), its waiting
// transactions are dropped and remembered as rejected (cause 'gap'): their clients sign them again.
//
// The mempool also remembers, bounded, why recent transactions left it without a block (rejected at
// SubmitTx or at assembly, dropped for a gap, or pruned because another transaction of the sender
// spent their nonce): GetTransaction answers from it.
import type { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
import { txId } from '../../lib/chain/tx-bytes.js';

export interface MempoolOptions {
  readonly maxSize: number;
  readonly maxPerSender: number;
  /** How long a sender's transactions may wait for a missing nonce before they are dropped. */
  readonly gapWaitMs: number;
  /** Rejections remembered for GetTransaction (the oldest forgotten first). */
  readonly maxRejections: number;
}

export const DEFAULT_MEMPOOL: MempoolOptions = { maxSize: 20_000, maxPerSender: 64, gapWaitMs: 30_000, maxRejections: 20_000 };

/** A transaction that left the mempool for good without a block. */
export interface Rejection {
  readonly reason: string;
  /**
   * 'refused': it does not apply (SubmitTx or assembly said why); 'gap': dropped while waiting for
   * missing nonces; 'contested': left out of a proposal that took another transaction of the sender
   * with the same nonce (undecided until a block spends that nonce: the proposal may lose).
   * Whatever the cause, a nonce the sender's account has passed without this transaction is spent.
   */
  readonly cause: 'refused' | 'gap' | 'contested';
  readonly sender: Uint8Array;
  readonly nonce: bigint;
  readonly at: number;
}

interface Entry {
  readonly id: string;
  readonly sender: string;
  readonly nonce: bigint;
  readonly seq: number;
  readonly stx: SignedTransaction;
  readonly addedAt: number;
}

export type AddResult = 'added' | 'duplicate' | 'full' | 'sender-full';

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export class Mempool {
  private readonly byId = new Map<string, Entry>();
  private readonly perSender = new Map<string, number>();
  private readonly rejections = new Map<string, Rejection>();
  /** Per sender whose next nonce has no pending transaction: since when (ms), at which account nonce. */
  private readonly stalled = new Map<string, { since: number; nonce: bigint }>();
  private seq = 0;

  private readonly options: MempoolOptions;

  constructor(options: Partial<MempoolOptions> = {}) {
    this.options = { ...DEFAULT_MEMPOOL, ...options };
  }

  get size(): number {
    return this.byId.size;
  }

  has(id: Uint8Array): boolean {
    return this.byId.has(hex(id));
  }

  add(stx: SignedTransaction, id: Uint8Array, now = Date.now()): AddResult {
    const key = hex(id);
    if (this.byId.has(key)) return 'duplicate';
    if (this.byId.size >= this.options.maxSize) return 'full';
    const sender = hex(stx.tx!.sender);
    const n = this.perSender.get(sender) ?? 0;
    if (n >= this.options.maxPerSender) return 'sender-full';
    this.byId.set(key, { id: key, sender, nonce: stx.tx!.nonce, seq: this.seq++, stx, addedAt: now });
    this.perSender.set(sender, n + 1);
    // Admitted again (e.g. a balance arrived since it was refused): its old refusal no longer holds.
    this.rejections.delete(key);
    return 'added';
  }

  /** The pending transaction with this id (hex or bytes), if any. */
  get(id: Uint8Array | string): SignedTransaction | undefined {
    return this.byId.get(typeof id === 'string' ? id : hex(id))?.stx;
  }

  /** Why a recent transaction left (or never entered) the mempool without a block; undefined: not known. */
  rejection(id: Uint8Array | string): Rejection | undefined {
    return this.rejections.get(typeof id === 'string' ? id : hex(id));
  }

  /** Removes `stx` if pending and remembers it as rejected for `reason` (SubmitTx or assembly refused it). */
  reject(stx: SignedTransaction, id: Uint8Array, reason: string, now = Date.now(), cause: Rejection['cause'] = 'refused'): void {
    const key = hex(id);
    this.remove(key);
    this.rejections.delete(key);
    if (this.rejections.size >= this.options.maxRejections) this.rejections.delete(this.rejections.keys().next().value!);
    this.rejections.set(key, { reason, cause, sender: stx.tx?.sender ?? new Uint8Array(0), nonce: stx.tx?.nonce ?? 0n, at: now });
  }

  /** Candidates for the next block, at most `limit`. */
  candidates(limit: number): SignedTransaction[] {
    return [...this.byId.values()]
      .sort((a, b) => (a.nonce === b.nonce ? a.seq - b.seq : a.nonce < b.nonce ? -1 : 1))
      .slice(0, limit)
      .map((e) => e.stx);
  }

  remove(id: Uint8Array | string): void {
    const key = typeof id === 'string' ? id : hex(id);
    const e = this.byId.get(key);
    if (!e) return;
    this.byId.delete(key);
    const n = (this.perSender.get(e.sender) ?? 1) - 1;
    if (n <= 0) this.perSender.delete(e.sender);
    else this.perSender.set(e.sender, n);
  }

  /**
   * Assembly's verdicts for a proposal of `round`: `rejected` were left out of it next to `included`.
   * One whose nonce is merely ahead may apply later and stays; the others leave the mempool (they would
   * fail again in every block) and are remembered with the reason.
   */
  leftOut(round: number, included: readonly SignedTransaction[], rejected: readonly { stx: SignedTransaction; error: { message: string; future?: boolean } }[], now = Date.now()): void {
    const taken = new Set(included.map((t) => `${hex(t.tx!.sender)}/${t.tx!.nonce}`));
    for (const r of rejected) {
      if (r.error.future) continue;
      const contested = taken.has(`${hex(r.stx.tx!.sender)}/${r.stx.tx!.nonce}`);
      this.reject(r.stx, txId(r.stx), `left out of the proposal for round ${round}: ${r.error.message}`, now, contested ? 'contested' : 'refused');
    }
  }

  /**
   * Drops transactions whose nonce the sender's account has passed (another transaction of the sender
   * spent it: remembered as rejected; the host removes the ones a block included before this runs), and
   * the transactions of a sender whose next nonce has been missing for `gapWaitMs` (see the file comment).
   */
  async prune(nonceOf: (sender: Uint8Array) => Promise<bigint>, now = Date.now()): Promise<number> {
    const nonces = new Map<string, bigint>();
    let dropped = 0;
    for (const e of [...this.byId.values()]) {
      let n = nonces.get(e.sender);
      if (n === undefined) {
        n = await nonceOf(e.stx.tx!.sender);
        nonces.set(e.sender, n);
      }
      if (e.nonce < n && this.byId.has(e.id)) {
        this.reject(e.stx, Buffer.from(e.id, 'hex'), `nonce ${e.nonce} was spent by another transaction of this sender (its next nonce is ${n})`, now);
        dropped++;
      }
    }
    // Senders whose next nonce is missing: start (or go on) counting; past gapWaitMs drop what waits.
    const ready = new Set<string>();
    for (const e of this.byId.values()) if (e.nonce === nonces.get(e.sender)) ready.add(e.sender);
    for (const sender of [...this.stalled.keys()]) if (!nonces.has(sender) || ready.has(sender)) this.stalled.delete(sender);
    for (const [sender, nonce] of nonces) {
      if (ready.has(sender) || !this.perSender.has(sender)) continue;
      const s = this.stalled.get(sender);
      if (!s || s.nonce !== nonce) {
        this.stalled.set(sender, { since: now, nonce });
        continue;
      }
      if (now - s.since < this.options.gapWaitMs) continue;
      const waiting = [...this.byId.values()].filter((e) => e.sender === sender).sort((a, b) => (a.nonce < b.nonce ? -1 : a.nonce > b.nonce ? 1 : 0));
      const first = waiting[0]?.nonce;
      for (const e of waiting) {
        this.reject(
          e.stx,
          Buffer.from(e.id, 'hex'),
          `nonce ${e.nonce} waited ${Math.round((now - s.since) / 1000)} s for the sender's next nonce ${nonce}${first !== undefined && first > nonce + 1n ? ` (and up to ${first - 1n})` : ''}, which no transaction brought; dropped: sign it again once the nonces before it are used`,
          now,
          'gap',
        );
        dropped++;
      }
      this.stalled.delete(sender);
    }
    return dropped;
  }
}
