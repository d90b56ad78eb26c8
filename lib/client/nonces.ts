// Nonces for one key's transactions within one process (docs/http-api.md "Nonces"). Every transaction
// of an account carries the account's next nonce, and consensus includes them in nonce order, one per
// nonce; uploads that ran side by side and each read the account's nonce all signed the same one, and
// all but one were refused. Here concurrent calls get consecutive nonces instead: a lease is the
// smallest nonce at or above the account's next one that no other call of this process holds.
//
// A lease ends in one of two ways. `spent()`: its transaction is final, or may be (submitted, or the
// answer was lost): the nonce is not handed out again until the account passes it or `holdMs` ends (a
// transaction that never made it must not leave a gap forever). `release()`: the transaction was
// never submitted or was refused for good, and the nonce may go to the next call at once.
//
// At most `maxInFlight` leases of a key are out at once (the others wait in order): a gateway gives one
// owner a share of its upload slots and holds a slot until the upload is final, so a client that sent
// more than that share at once would have later nonces holding slots while waiting for earlier ones that
// cannot get a slot.
//
// Across processes (two `wolk put` at once) nothing is shared: both sign the same nonce, one is refused
// with `nonce: used`, and the caller signs again with a fresh lease (`renew`).

export interface NonceOptions {
  /** Leases of one key out at once. */
  readonly maxInFlight: number;
  /** How long a spent nonce the account has not passed yet is kept from reuse. */
  readonly holdMs: number;
  readonly now: () => number;
}

export const DEFAULT_NONCE_OPTIONS: NonceOptions = { maxInFlight: 4, holdMs: 60_000, now: () => Date.now() };

/** The account's next nonce as the chain says now (GET /accounts/{key}). */
export type AccountNonce = () => Promise<bigint>;

export interface NonceLease {
  readonly nonce: bigint;
  /** Gives this lease's nonce up (refused: spent by another transaction, or dropped) and takes a fresh one. */
  renew(accountNonce: AccountNonce): Promise<bigint>;
  /** Resolves once no other lease of this process holds a smaller nonce in flight (before signing again after a gap). */
  earlierSettled(): Promise<void>;
  /** The transaction is (or may be) final: keep the nonce from reuse until the account passes it. */
  spent(): void;
  /** The transaction was never submitted, or was refused for good: the nonce is free. */
  release(): void;
}

type Hold = { readonly kind: 'flight' } | { readonly kind: 'spent'; readonly until: number };

export class NonceAllocator {
  private readonly held = new Map<bigint, Hold>();
  private readonly queue: (() => void)[] = [];
  private readonly listeners = new Set<() => void>();
  private out = 0;
  private readonly o: NonceOptions;

  constructor(options: Partial<NonceOptions> = {}) {
    this.o = { ...DEFAULT_NONCE_OPTIONS, ...options };
    if (!(this.o.maxInFlight >= 1)) throw new RangeError(`maxInFlight must be at least 1, got ${this.o.maxInFlight}`);
  }

  /** Nonces held now (in flight or spent and kept), smallest first: for tests and messages. */
  holding(): bigint[] {
    return [...this.held.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** A lease on the next free nonce; waits while `maxInFlight` leases are out. */
  async take(accountNonce: AccountNonce): Promise<NonceLease> {
    if (this.out >= this.o.maxInFlight) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.out++;
    let nonce: bigint;
    try {
      nonce = await this.pick(accountNonce);
    } catch (err) {
      this.handOn();
      throw err;
    }
    let ended = false;
    const end = (hold: Hold | null) => {
      if (ended) return;
      ended = true;
      if (hold) this.held.set(nonce, hold);
      else this.held.delete(nonce);
      this.handOn();
      this.changed();
    };
    const lease: NonceLease = {
      get nonce() {
        return nonce;
      },
      renew: async (fresh) => {
        if (ended) throw new Error('renew: the lease has ended');
        this.held.delete(nonce);
        this.changed();
        nonce = await this.pick(fresh);
        return nonce;
      },
      earlierSettled: () =>
        new Promise<void>((resolve) => {
          const check = () => {
            const busy = [...this.held].some(([n, h]) => h.kind === 'flight' && n < nonce);
            if (busy) return;
            this.listeners.delete(check);
            resolve();
          };
          this.listeners.add(check);
          check();
        }),
      spent: () => end({ kind: 'spent', until: this.o.now() + this.o.holdMs }),
      release: () => end(null),
    };
    return lease;
  }

  /** The smallest nonce ≥ the account's that nobody holds, marked in flight (synchronously after the read). */
  private async pick(accountNonce: AccountNonce): Promise<bigint> {
    const next = await accountNonce();
    const now = this.o.now();
    for (const [n, h] of this.held) if (n < next ? h.kind === 'spent' : h.kind === 'spent' && h.until <= now) this.held.delete(n);
    let n = next;
    while (this.held.has(n)) n++;
    this.held.set(n, { kind: 'flight' });
    return n;
  }

  private handOn(): void {
    const waiter = this.queue.shift();
    if (waiter) waiter();
    else this.out--;
  }

  private changed(): void {
    for (const f of [...this.listeners]) f();
  }
}

const allocators = new Map<string, NonceAllocator>();

/** The one allocator of a key on a network in this process (every WolkClient with that key shares it). */
export function nonceAllocator(chainId: string, publicKeyHex: string): NonceAllocator {
  const k = `${chainId}/${publicKeyHex}`;
  let a = allocators.get(k);
  if (!a) allocators.set(k, (a = new NonceAllocator()));
  return a;
}
