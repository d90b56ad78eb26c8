// One account, two senders: the rewarder (Rewards) and the repairer (Repairs) sign with the node's one key,
// so their transactions share one nonce sequence. Each picks its nonce after reading the chain's and
// then submits; without coordination both read the same chain nonce and one transaction is refused.
//
// Here every pick is max(chain nonce, highest submitted + 1 while pending, highest reserved + 1) and is
// reserved synchronously right after the chain read resolves (JavaScript runs that step without
// interleaving), so whichever sender computes second sees the first one's reservation. A reservation
// ends when its transaction is submitted (it then counts as submitted) or refused (released at once),
// and at the latest after `holdMs`; submitted nonces the chain has not passed stop counting once the
// chain's nonce has not moved for `holdMs` (one was dropped: numbering goes back to the chain's, as the
// rewarder's own nonceFor does after maxDelay).
//
// The rewarder keeps its own nonce logic (rewarder.ts nonceFor) and sees this through the ChainAccess it
// is given: `nonceOf(self)` answers the coordinated pick (and reserves it for the rewarder's next submit),
// `submit` records what it sent. The repairer calls `submitWith`, which picks, signs and submits.
import type { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
import type { ChainAccess } from './rewarder.js';

export interface SharedNoncesOptions {
  readonly self: Uint8Array;
  readonly chain: Pick<ChainAccess, 'nonceOf' | 'submit'>;
  /** How long a reservation or an unconfirmed submitted nonce is honoured (ms). */
  readonly holdMs: number;
  readonly now: () => number;
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

export function sharedNonces(o: SharedNoncesOptions) {
  let submitted = -1n;
  /** The chain's nonce as last read, and when it last moved: pending nonces count only while it moves. */
  let chainSeen = -1n;
  let chainMovedAt = 0;
  /** Reserved nonces → when they lapse. */
  const reserved = new Map<bigint, number>();
  /** The rewarder's outstanding pick (cleared by its next submit). */
  let rewarderPick: bigint | null = null;

  const pick = (chainNonce: bigint): bigint => {
    const now = o.now();
    if (chainNonce !== chainSeen) {
      chainSeen = chainNonce;
      chainMovedAt = now;
    }
    for (const [n, until] of reserved) if (until <= now) reserved.delete(n);
    // Submitted nonces the chain has not passed count while the chain keeps taking ours; when it has not
    // moved for holdMs, one of them was dropped (a gap no later transaction can cross): start again at
    // the chain's. Measured from the chain's movement, not from our last submit, so that submitting
    // often cannot keep a gap open for ever.
    if (submitted >= chainNonce && now - chainMovedAt >= o.holdMs) {
      submitted = -1n;
      chainMovedAt = now;
    }
    let next = chainNonce;
    if (submitted >= chainNonce && submitted + 1n > next) next = submitted + 1n;
    for (const n of reserved.keys()) if (n + 1n > next) next = n + 1n;
    reserved.set(next, now + o.holdMs);
    return next;
  };
  const sent = (nonce: bigint) => {
    reserved.delete(nonce);
    if (nonce > submitted) submitted = nonce;
  };

  /** The ChainAccess the rewarder gets: nonces coordinated with the repairer's. */
  const forRewarder = <C extends Pick<ChainAccess, 'nonceOf' | 'submit'>>(chain: C): C => ({
    ...chain,
    nonceOf: async (id: Uint8Array) => {
      const chainNonce = await o.chain.nonceOf(id);
      if (!same(id, o.self)) return chainNonce;
      if (rewarderPick !== null) reserved.delete(rewarderPick);
      rewarderPick = pick(chainNonce);
      return rewarderPick;
    },
    submit: async (stx: SignedTransaction) => {
      const nonce = stx.tx?.nonce ?? 0n;
      if (rewarderPick !== null && rewarderPick !== nonce) reserved.delete(rewarderPick);
      rewarderPick = null;
      reserved.set(nonce, o.now() + o.holdMs);
      try {
        const id = await o.chain.submit(stx);
        sent(nonce);
        return id;
      } catch (err) {
        reserved.delete(nonce);
        throw err;
      }
    },
  });

  /** Picks a nonce, signs with `sign` and submits (the repairer's path). A refused transaction releases its nonce. */
  async function submitWith(sign: (nonce: bigint) => SignedTransaction): Promise<Uint8Array> {
    const nonce = pick(await o.chain.nonceOf(o.self));
    try {
      const id = await o.chain.submit(sign(nonce));
      sent(nonce);
      return id;
    } catch (err) {
      reserved.delete(nonce);
      throw err;
    }
  }

  return { forRewarder, submitWith };
}
