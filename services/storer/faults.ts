// Test-only attacker behaviours of a storer (issue #15 "Attackers as real processes"), switched on per
// process with WOLK_FAULTS (read in options.ts; WOLK_DEVNET_FAULTS on the devnet). Never set in
// production: node.ts logs a loud warning when any fault is on. All attack code lives here; the storer
// calls in through one hook (withAttacks around its handlers).
//
// - slow-honest: answers every audit (VerifyFile, VerifyShare(s), ProveReplica) correctly after
//   SLOW_HONEST_LATENCY_MS, below the auditor's response deadline (1 s default): it must pass.
// - late-answers: answers every file audit (VerifyFile, ProveReplica) correctly but only after
//   LATE_ANSWER_LATENCY_MS, beyond the deadline: what an auditor sees from a storer that regenerates
//   sealed nodes on demand (docs/porep.md: ≥ 10x the deadline on a 256 MiB sector). It must be
//   contained, re-audited and then fail (docs/rewards.md "Deadlines and containment").
import type { StorerServiceService } from '../../gen/wolk/storer/v1/storer.js';
import type { CallContext, ServiceHandlers } from '../../lib/grpc/handlers.js';
import type { Logger } from '../../lib/log/logger.js';

export type Attack = 'slow-honest' | 'late-answers';
export const ATTACKS: readonly Attack[] = ['slow-honest', 'late-answers'];

/** Added to each audit answer by slow-honest: well inside the 1 s default deadline, even on a loaded machine. */
export const SLOW_HONEST_LATENCY_MS = 300;
/** Added to each file audit answer by late-answers: 2.5x the 1 s default deadline. */
export const LATE_ANSWER_LATENCY_MS = 2500;

type Handlers = ServiceHandlers<typeof StorerServiceService>;

/** Resolves after ms, or rejects when the call is cancelled (the auditor gave up). */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('cancelled'));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Error('cancelled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

type Unary<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;

function delayed<Req, Res>(h: Unary<Req, Res> | undefined, ms: number): Unary<Req, Res> | undefined {
  if (!h) return undefined;
  return async (req, ctx) => {
    await delay(ms, ctx.signal);
    return h(req, ctx);
  };
}

/** The storer's handlers with the attacks in `faults` applied (unchanged when none is on). */
export function withAttacks(h: Handlers, faults: ReadonlySet<string>, logger?: Logger): Handlers {
  let out: Handlers = h;
  if (faults.has('slow-honest')) {
    logger?.warn('fault slow-honest: every audit answer is delayed', { latencyMs: SLOW_HONEST_LATENCY_MS });
    out = {
      ...out,
      verifyFile: delayed(out.verifyFile, SLOW_HONEST_LATENCY_MS),
      verifyShare: delayed(out.verifyShare, SLOW_HONEST_LATENCY_MS),
      verifyShares: delayed(out.verifyShares, SLOW_HONEST_LATENCY_MS),
      ...('proveReplica' in out ? { proveReplica: delayed(out.proveReplica, SLOW_HONEST_LATENCY_MS) } : {}),
    };
  }
  if (faults.has('late-answers')) {
    logger?.warn('fault late-answers: every file audit answer comes after the deadline', { latencyMs: LATE_ANSWER_LATENCY_MS });
    out = {
      ...out,
      verifyFile: delayed(out.verifyFile, LATE_ANSWER_LATENCY_MS),
      ...('proveReplica' in out ? { proveReplica: delayed(out.proveReplica, LATE_ANSWER_LATENCY_MS) } : {}),
    };
  }
  return out;
}
