// Waiting for a submitted transaction's outcome: the one poll loop every flow uses (upload, name
// claim, collection settings). It runs on the injected clock and stops as soon as the request's
// signal aborts (a client that went away no longer needs an answer), at the deadline, or when `check`
// gives an outcome.
import type { SignedTransaction } from '../../gen/wolk/common/v1/tx.js';
import { ChainError } from './chain.js';
import type { ApiContext } from './context.js';
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

/** Submits a transaction; consensus refusing it at the door (a stale nonce, a bad signature) is TxRejected (409). */
export async function submitTx(ctx: Pick<ApiContext, 'chain'>, stx: SignedTransaction, signal?: AbortSignal): Promise<void> {
  try {
    await ctx.chain.submit(stx, signal);
  } catch (err) {
    if (err instanceof ChainError && err.kind === 'rejected') throw new TxRejected(err.message);
    throw err;
  }
}
