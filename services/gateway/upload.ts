// The store request (DESIGN §4 steps 2-4): a signed Solicit to every storer at once, each answer's
// commitment checked, the first N valid kept. Sortition may select fewer than N storers on one seed:
// then the request is made again on the next finalized round's seed, to the storers that have not
// committed yet (those that have keep theirs: every commitment carries its own seed round, and the
// ledger checks each on its own), at most SEED_ATTEMPTS seeds within the commit deadline
// (docs/storer.md "Uploads that are not selected": the chance that all of them fall short). Fewer
// than N in the end: NotEnoughStorers, and nothing goes to the chain. The storers fetch the file from
// the gateway's own GetFile (source.ts).
import { SolicitRequest } from '../../gen/wolk/storer/v1/storer.js';
import type { FileInfo, StorageCommitment } from '../../gen/wolk/common/v1/storage.js';
import { signSolicit } from '../../lib/chain/write-request.js';
import type { Logger } from '../../lib/log/logger.js';
import type { Chain } from './chain.js';
import { commitmentProblem } from './commitments.js';
import type { PorepNetworkParams } from '../../lib/chain/sealed.js';
import { spotCheckSeal } from '../../lib/chain/seal-spot-check.js';
import type { Registry } from './registry.js';
import { unary, type Clients } from './rpc.js';

/**
 * Seeds a store request is made on: the first and up to two more (the next finalized rounds'), while
 * storers are missing because sortition did not select them. Three make an upload at the devnet's
 * parameters fail with probability ~1e-15 (one: ~1e-4; two: ~6e-10); docs/storer.md.
 */
export const SEED_ATTEMPTS = 3;
/** How long a retry waits for a later round to be finalized (its seed) before giving up. */
export const NEXT_SEED_WAIT_MS = 10_000;

/** Why fewer than N storers committed: the deadline passed with answers missing, or every storer asked answered. */
export type ShortfallCause = 'deadline' | 'all-answered';

export class NotEnoughStorers extends Error {
  constructor(
    readonly wanted: number,
    readonly got: number,
    readonly failures: Readonly<Record<string, string>>,
    readonly shortfall: ShortfallCause,
    /** Storers asked. */
    readonly asked: number,
    readonly deadlineMs: number,
    /** The seed rounds the request was made on, in order (one unless sortition selected too few). */
    readonly seedRounds: readonly bigint[] = [],
    /** Why no further seed was tried, when that is not obvious from the cause. */
    readonly retryNote = '',
  ) {
    super(shortfallMessage(wanted, got, failures, shortfall, asked, deadlineMs) + roundsNote(seedRounds, retryNote));
    this.name = 'NotEnoughStorers';
  }
}

function roundsNote(rounds: readonly bigint[], note: string): string {
  const on = rounds.length > 1 ? `; asked on the seeds of rounds ${rounds.join(', ')}` : '';
  return `${on}${note ? `; ${note}` : ''}`;
}

/** What happened, in the words a user can act on: how many were asked, how they answered, and whether time ran out. */
function shortfallMessage(wanted: number, got: number, failures: Readonly<Record<string, string>>, cause: ShortfallCause, asked: number, deadlineMs: number): string {
  if (asked === 0) return `no storer is known to this gateway; ${wanted} must commit`;
  const reasons = new Map<string, number>();
  for (const why of Object.values(failures)) {
    const kind = why === 'not selected' || why === 'duplicate storer id' || why.startsWith('invalid commitment') ? why.replace(/:.*/, '') : 'unreachable or failed';
    reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
  }
  const how = [...reasons].map(([why, n]) => `${n} ${why}`).join(', ');
  const usable = `${got} usable commitment${got === 1 ? '' : 's'} of the ${wanted} needed`;
  if (cause === 'all-answered') return `all ${asked} storers asked have answered: ${usable}${how ? ` (${how})` : ''}`;
  const silent = asked - got - Object.keys(failures).length;
  return `${usable} within the ${Math.round(deadlineMs / 1000)} s commit deadline; of the ${asked} storers asked${how ? ` ${how},` : ''} ${silent} had not answered`;
}

/** A finalized round's seed. */
export interface Seed {
  readonly seed: Uint8Array;
  readonly seedRound: bigint;
}

export interface SolicitInput {
  readonly file: FileInfo;
  readonly seed: Uint8Array;
  readonly seedRound: bigint;
  readonly source: string;
  readonly replication: number;
  readonly deadlineMs: number;
  /**
   * When the commit deadline starts to run: `deadlineMs` from when this resolves (a PUT's body has
   * arrived: storers asked while it streams in wait for its bytes), from the call without it.
   */
  readonly clockStarts?: Promise<void>;
  readonly gateway: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  readonly signal?: AbortSignal;
  /** Called when a storer's answer is unusable (an error, an invalid or duplicate commitment): the source lets another storer fetch. */
  readonly onUnusable?: () => void;
  /**
   * The seed of the first finalized round after `after` (`seedAfter`): with it, storers that sortition
   * did not select are asked again on later seeds (SEED_ATTEMPTS in all); without it, one seed only.
   */
  readonly nextSeed?: (after: bigint, signal: AbortSignal) => Promise<Seed>;
  /**
   * The network's proof-of-replication parameters (genesis params.porep): each commitment is then kept
   * only after the storer's seal proof passes a spot check on a challenge drawn after it committed
   * (lib/chain/seal-spot-check.ts); consensus would leave a wrong sealer's SetKey out.
   */
  readonly porep?: PorepNetworkParams | undefined;
}

export interface Committed {
  readonly commitments: StorageCommitment[];
  /** Endpoint of each commitment's storer, same order. */
  readonly endpoints: string[];
}

/** The seed of the first round finalized after `after`, polling the chain's status (rounds take about λ). */
export async function seedAfter(chain: Pick<Chain, 'status' | 'block'>, after: bigint, signal: AbortSignal, pollMs = 250): Promise<Seed> {
  for (;;) {
    signal.throwIfAborted();
    const s = await chain.status(signal);
    if (s.finalizedRound > after) {
      const seed = (await chain.block(s.finalizedRound, signal)).block?.header?.seed;
      if (!seed || seed.length !== 32) throw new Error(`the finalized block ${s.finalizedRound} has no seed`);
      return { seed, seedRound: s.finalizedRound };
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, pollMs);
      function done() {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** What one seed's request left: the kept commitments grow in place. */
interface Attempt {
  readonly cause: ShortfallCause | 'enough';
  readonly failures: Record<string, string>;
  readonly asked: number;
  readonly notSelected: number;
}

interface Progress {
  readonly kept: StorageCommitment[];
  readonly keptAt: string[];
  /** Storer ids that committed. */
  readonly seen: Set<string>;
}

/** Time left before the commit deadline: Infinity until its clock starts (SolicitInput.clockStarts). */
interface CommitClock {
  left(): number;
  /** Resolves when the clock starts (at once without clockStarts). */
  readonly started: Promise<void>;
}

function commitClock(input: SolicitInput): CommitClock {
  let startedAt = input.clockStarts ? Number.NaN : Date.now();
  const started = input.clockStarts
    ? input.clockStarts.then(() => {
        startedAt = Date.now();
      })
    : Promise.resolve();
  started.catch(() => undefined); // the caller aborts the request when the body fails
  return { left: () => (Number.isNaN(startedAt) ? Number.POSITIVE_INFINITY : input.deadlineMs - (Date.now() - startedAt)), started };
}

export async function collectCommitments(clients: Clients, registry: Registry, logger: Logger, input: SolicitInput): Promise<Committed> {
  const clock = commitClock(input);
  const progress: Progress = { kept: [], keptAt: [], seen: new Set() };
  const rounds: bigint[] = [];
  const askedAll = new Set<string>();
  let seed: Seed = { seed: input.seed, seedRound: input.seedRound };
  for (let attempt = 1; ; attempt++) {
    rounds.push(seed.seedRound);
    const r = await solicitOn(clients, registry, logger, input, seed, clock, progress, askedAll);
    const done = () => ({ commitments: progress.kept.slice(0, input.replication), endpoints: progress.keptAt.slice(0, input.replication) });
    if (r.cause === 'enough') return done();
    const fail = (note = '') => new NotEnoughStorers(input.replication, progress.kept.length, r.failures, r.cause as ShortfallCause, askedAll.size, input.deadlineMs, rounds, note);
    // Another seed helps only when sortition is what fell short (every storer answered, some not selected).
    if (r.cause !== 'all-answered' || r.notSelected === 0 || !input.nextSeed || attempt >= SEED_ATTEMPTS || input.signal?.aborted) throw fail();
    const wait = Math.min(NEXT_SEED_WAIT_MS, clock.left());
    if (wait <= 0) throw fail('no time was left to try a later seed');
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    input.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => controller.abort(), wait);
    try {
      seed = await input.nextSeed(seed.seedRound, controller.signal);
    } catch (err) {
      if (input.signal?.aborted) throw fail();
      throw fail(controller.signal.aborted ? `no later round was finalized within ${Math.round(wait / 1000)} s to try again on` : `the next seed could not be read (${(err as Error).message})`);
    } finally {
      clearTimeout(timer);
      input.signal?.removeEventListener('abort', onAbort);
    }
    logger.info('too few storers selected on one seed: asking the others on the next', { seedRound: String(rounds[rounds.length - 1]), next: String(seed.seedRound), have: progress.kept.length, want: input.replication });
  }
}

/** One store request on one seed to every storer that has not committed yet, until N are kept, all answered, or time is up. */
async function solicitOn(clients: Clients, registry: Registry, logger: Logger, input: SolicitInput, on: Seed, clock: CommitClock, progress: Progress, askedAll: Set<string>): Promise<Attempt> {
  // Weights of the seed round: stake × reputation (the storers and the ledger weigh them the same way).
  const weights = await registry.weightsAt(on.seedRound, on.seed);
  const request = signSolicit(input.gateway, {
    file: input.file,
    seed: Buffer.from(on.seed),
    seedRound: on.seedRound,
    sourceEndpoint: input.source,
    expectedStorers: registry.expectedStorers,
    totalStake: weights.totalStake,
  });
  const expected = {
    filehash: input.file.filehash,
    size: input.file.size,
    chunkSize: input.file.chunkSize,
    seed: on.seed,
    seedRound: on.seedRound,
  };
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  input.signal?.addEventListener('abort', onAbort, { once: true });
  if (input.signal?.aborted) controller.abort(); // no request goes out for an upload already over
  const { kept, keptAt, seen } = progress;
  const failures: Record<string, string> = {};
  let notSelected = 0;
  // Storers that committed on an earlier seed keep that commitment and are not asked again.
  const ask = weights.endpoints.filter((e) => !keptAt.includes(e));
  for (const e of ask) askedAll.add(e);

  return new Promise<Attempt>((resolve) => {
    let pending = ask.length;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      input.signal?.removeEventListener('abort', onAbort);
      controller.abort(); // the rest are not needed (or too late)
      resolve({ cause: ok ? 'enough' : pending === 0 ? 'all-answered' : 'deadline', failures: { ...failures }, asked: ask.length, notSelected });
    };
    clock.started.then(
      () => {
        if (!settled) timer = setTimeout(() => finish(false), Math.max(0, clock.left()));
      },
      () => undefined, // the body failed: the caller's signal ends the request
    );
    if (pending === 0) return finish(kept.length >= input.replication);
    for (const endpoint of ask) {
      const c = clients.storer(endpoint);
      // Until the clock starts, no gRPC deadline: the timer above and `controller` end the call.
      unary(endpoint, c.solicit.bind(c), request, Math.max(0, clock.left()), controller.signal)
        .then(async (res) => {
          if (res.result?.$case !== 'selected') {
            failures[endpoint] = 'not selected';
            notSelected++;
            return;
          }
          const commitment = res.result.value;
          let problem = commitmentProblem(commitment, expected, registry, weights);
          const id = Buffer.from(commitment.storerId).toString('hex');
          if (!problem && seen.has(id)) {
            failures[endpoint] = 'duplicate storer id';
            input.onUnusable?.();
            return;
          }
          if (!problem) {
            seen.add(id);
            if (input.porep) {
              const spot = await spotCheckSeal(commitment, input.porep, (req) => unary(endpoint, c.proveSeal.bind(c), req, Math.max(0, clock.left()), controller.signal));
              if (settled) return; // N were kept (or time ran out) while this one was checked: not needed
              if (!spot.ok) problem = spot.reason;
            }
          }
          if (problem) {
            failures[endpoint] = `invalid commitment: ${problem}`;
            logger.warn('invalid storage commitment', { endpoint, storer: id, problem });
            input.onUnusable?.();
          } else if (!settled) {
            kept.push(commitment);
            keptAt.push(endpoint);
            if (kept.length >= input.replication) finish(true);
          }
        })
        .catch((err: unknown) => {
          failures[endpoint] = (err as Error).message;
          if (!settled) input.onUnusable?.();
        })
        .finally(() => {
          pending--;
          if (pending === 0) finish(kept.length >= input.replication);
        });
    }
  });
}
