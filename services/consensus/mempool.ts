// The bounded mempool: transactions checked at the edge wait here until a block includes them.
// Bounds (STYLE: every queue has one): a total count, and a count per sender so that one account
// cannot fill the pool with future nonces. Order for assembly: by nonce, then by arrival, so each
// sender's transactions come in nonce order and earlier arrivals go first.
import type { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';

export interface MempoolOptions {
  readonly maxSize: number;
  readonly maxPerSender: number;
}

export const DEFAULT_MEMPOOL: MempoolOptions = { maxSize: 20_000, maxPerSender: 64 };

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
  private seq = 0;

  constructor(private readonly options: MempoolOptions = DEFAULT_MEMPOOL) {}

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
    return 'added';
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

  /** Drops transactions whose nonce the sender's account has passed (included or replaced). */
  async prune(nonceOf: (sender: Uint8Array) => Promise<bigint>): Promise<number> {
    const nonces = new Map<string, bigint>();
    let dropped = 0;
    for (const e of [...this.byId.values()]) {
      let n = nonces.get(e.sender);
      if (n === undefined) {
        n = await nonceOf(e.stx.tx!.sender);
        nonces.set(e.sender, n);
      }
      if (e.nonce < n) {
        this.remove(e.id);
        dropped++;
      }
    }
    return dropped;
  }
}
