// Waiting for a submitted transaction's outcome: the one poll loop every flow uses (upload, name
// claim, collection settings). It runs on the injected clock and stops as soon as the request's
// signal aborts (a client that went away no longer needs an answer), at the deadline, or when `check`
// gives an outcome.
//
// The outcome of a transaction is learned from the finalized blocks (followTx): final in the round
// whose block includes its id, rejected as soon as a block spends its nonce with another transaction
// of the same key (two uploads signed with one nonce: only one can be final), or as soon as consensus
// says it dropped it (GetTransaction: left out of blocks for good, or dropped after waiting for
// earlier nonces that never came). What a key, name or collection holds now says nothing about a
// given transaction: a later write replaces the record.
//
// A rejection for a nonce reason says so (`nonce`: 'used' or 'gap', in the 409's problem), and it is
// only said when this transaction cannot be included any more: a block holding the same user-signed
// transaction under another co-signature (the same intent sent twice) counts as this one being final.
import type { CertifiedBlock } from '../../gen/wolk/common/v1/chain.js';
import type { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
import { txId } from '../../lib/chain/tx-bytes.js';
import { ChainError, type Chain, type ChainStatus } from './chain.js';
import { hex, type ApiContext } from './context.js';
import { TxRejected } from './problems.js';

/** Time between two looks at the chain: about one block interval of the devnet, at most a few per second. */
export const FINALITY_POLL_MS = 200;

export interface AwaitOptions {
  readonly timeoutMs: number;
  /** The request's signal: aborting it ends the wait with null. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Calls `check` until it returns an outcome (not null), the deadline passes or `signal` aborts (then
 * null). A ChainError from `check` is a node catching up or out of reach: polling goes on until the
 * deadline. Any other error (a refusal `check` decided) ends the wait.
 */
export async function awaitFinal<T>(ctx: Pick<ApiContext, 'clock'>, check: (signal: AbortSignal | undefined) => Promise<T | null>, o: AwaitOptions): Promise<T | null> {
  const end = ctx.clock.now() + o.timeoutMs;
  while (ctx.clock.now() < end && !o.signal?.aborted) {
    try {
      const outcome = await check(o.signal);
      if (outcome !== null) return outcome;
    } catch (err) {
      if (!(err instanceof ChainError)) throw err;
    }
    if (o.signal?.aborted) break;
    await ctx.clock.sleep(Math.min(FINALITY_POLL_MS, Math.max(0, end - ctx.clock.now())), o.signal);
  }
  return null;
}

/**
 * Submits a transaction; consensus refusing it at the door (a stale nonce, a bad signature) is TxRejected
 * (409), marked `nonce: 'used'` when the sender's account has passed its nonce.
 */
export async function submitTx(ctx: Pick<ApiContext, 'chain'>, stx: SignedTransaction, signal?: AbortSignal): Promise<void> {
  try {
    await ctx.chain.submit(stx, signal);
  } catch (err) {
    if (!(err instanceof ChainError && err.kind === 'rejected')) throw err;
    const tx = stx.tx;
    const acct = tx ? await ctx.chain.account(tx.sender, signal).catch(() => null) : null;
    const spent = tx !== undefined && acct !== null && (acct.account?.nonce ?? 0n) > tx.nonce;
    throw new TxRejected(err.message, spent ? { nonce: 'used', accountNonce: String(acct.account?.nonce ?? 0n) } : {});
  }
}

/** Why a transaction was rejected when it is its nonce: spent by another transaction, or dropped waiting for earlier ones. */
export type NonceTrouble = 'used' | 'gap';

export type TxOutcome = { readonly state: 'final'; readonly round: bigint } | { readonly state: 'rejected'; readonly reason: string; readonly nonce?: NonceTrouble };

/** The problem+json members of a rejection for a nonce reason (none otherwise). */
export function rejectionMembers(o: Extract<TxOutcome, { state: 'rejected' }>): Record<string, unknown> {
  return o.nonce ? { nonce: o.nonce } : {};
}

/** Finalized blocks read for followTx, shared by every wait on one chain (a block never changes). */
const blockCaches = new WeakMap<Chain, Map<bigint, Promise<CertifiedBlock>>>();
const BLOCKS_CACHED = 256;

function finalizedBlock(chain: Chain, round: bigint, signal?: AbortSignal): Promise<CertifiedBlock> {
  let cache = blockCaches.get(chain);
  if (!cache) blockCaches.set(chain, (cache = new Map()));
  let hit = cache.get(round);
  if (!hit) {
    if (cache.size >= BLOCKS_CACHED) cache.delete(cache.keys().next().value as bigint);
    hit = chain.block(round, signal);
    cache.set(round, hit);
    hit.catch(() => cache.delete(round));
  }
  return hit;
}

/** One GetStatus answer shared by the waits that ask within STATUS_REUSE_MS of each other. */
const statusCaches = new WeakMap<Chain, { at: number; answer: Promise<ChainStatus> }>();
const STATUS_REUSE_MS = 100;

function finalizedStatus(ctx: Pick<ApiContext, 'chain' | 'clock'>, signal?: AbortSignal): Promise<ChainStatus> {
  const now = ctx.clock.now();
  const hit = statusCaches.get(ctx.chain);
  if (hit && now - hit.at < STATUS_REUSE_MS) return hit.answer;
  const answer = ctx.chain.status(signal);
  statusCaches.set(ctx.chain, { at: now, answer });
  answer.catch(() => statusCaches.delete(ctx.chain));
  return answer;
}

/**
 * A `check` for awaitFinal that follows `stx` through the blocks finalized after `afterRound` (the
 * finalized round before it was submitted): final when a block includes its id (or the same user-signed
 * transaction co-signed otherwise); rejected when a block includes another transaction of its sender
 * with its nonce, when consensus says it dropped it (GetTransaction), or when the sender's nonce has
 * moved past it in blocks that did not include it.
 */
export function followTx(ctx: Pick<ApiContext, 'chain' | 'clock'>, stx: SignedTransaction, afterRound: bigint): (signal?: AbortSignal) => Promise<TxOutcome | null> {
  const tx = stx.tx;
  if (!tx) throw new Error('followTx: a SignedTransaction without its transaction');
  const id = Buffer.from(txId(stx));
  const sender = Buffer.from(tx.sender);
  const userSignature = Buffer.from(stx.signature);
  let next = afterRound + 1n;
  return async (signal) => {
    const { finalizedRound } = await finalizedStatus(ctx, signal);
    for (; next <= finalizedRound; next++) {
      const block = await finalizedBlock(ctx.chain, next, signal);
      for (const other of block.block?.txs ?? []) {
        const o = other.tx;
        if (!o) continue;
        const otherId = Buffer.from(txId(other));
        if (otherId.equals(id)) return { state: 'final', round: next };
        if (o.nonce === tx.nonce && sender.equals(Buffer.from(o.sender))) {
          // The user's signature covers the intent, not the commitments: the same upload sent twice is final.
          if (userSignature.equals(Buffer.from(other.signature))) return { state: 'final', round: next };
          return {
            state: 'rejected',
            reason: `another transaction of this key (${hex(otherId)}) used nonce ${tx.nonce} first and is final in round ${next}; sign again with the key's next nonce (GET /accounts/${hex(sender)})`,
            nonce: 'used',
          };
        }
      }
    }
    // Not in a block yet: has consensus dropped it?
    const known = await ctx.chain.transaction(id, signal);
    if (known.state === 'rejected') {
      const nonce = known.cause === 'nonce-used' ? 'used' : known.cause === 'nonce-gap' ? 'gap' : undefined;
      return { state: 'rejected', reason: `consensus dropped the transaction: ${known.reason}`, ...(nonce ? { nonce } : {}) };
    }
    // Every block up to the account's round was read without this transaction: if its nonce is spent,
    // it never will be final (the nonce went to a transaction finalized before this one was submitted).
    const acct = await ctx.chain.account(sender, signal);
    if (acct.round < next && (acct.account?.nonce ?? 0n) > tx.nonce) {
      return { state: 'rejected', reason: `nonce ${tx.nonce} of this key was already used (the account's next nonce is ${acct.account?.nonce}); sign again with it`, nonce: 'used' };
    }
    return null;
  };
}
