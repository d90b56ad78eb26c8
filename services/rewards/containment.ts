// Audits under a response deadline, with containment (issue #15 item 4; docs/rewards.md "Deadlines and
// containment"). After Storj's satellite audit containment: a storer that does not answer an audit in
// time is not failed at once (a slow link or a busy disk is not a cheat) but "contained" for that object
// and re-audited up to maxRetries times; only then does the miss count as a failure. A wrong answer
// counts at once. Unlike Storj, which re-asks the same stripe, a re-audit asks a FRESH challenge: a
// storer that regenerates sealed nodes on demand (docs/porep.md) must not be given the time of its
// missed deadline to finish the old challenge and then pass on it.
//
// `decide` is the state machine (pure). `ContainmentRunner` drives it for the audit calls of one
// storer with an injected clock and a durable store, so a restart of the rewards service keeps who is
// contained and how many re-audits they already had.
import { DEFAULT_AUDIT_DEADLINE_MS } from '../../lib/porep/params.js';
import { u64be } from '../../lib/crypto/index.js';
import type { Logger } from '../../lib/log/logger.js';
import { Bucket, bucketKey, prefixEnd, type KvStore } from '../../lib/storage/kv.js';
import { stallTolerantSleep, type StallTolerance } from '../../lib/time/stall-tolerant.js';

export interface ContainmentPolicy {
  /** Response deadline of one audit call (a file, or a VerifyShares batch before its allowance), ms. */
  readonly deadlineMs: number;
  /** Extra deadline per chunk of a VerifyShares batch (signing and reading each one), ms. */
  readonly chunkAllowanceMs: number;
  /** Re-audits of a contained object before its missed deadlines count as one failure (Storj: 3). */
  readonly maxRetries: number;
  /** Pause between a missed deadline and the re-audit, ms. */
  readonly retryDelayMs: number;
}

/**
 * Defaults: the deadline is lib/porep's (docs/porep.md "Parameters": regenerating any challenged node
 * of a 256 MiB sector takes >= 10x it); 3 re-audits as Storj's MaxReverifyCount.
 */
export const DEFAULT_CONTAINMENT_POLICY: ContainmentPolicy = Object.freeze({
  deadlineMs: DEFAULT_AUDIT_DEADLINE_MS,
  chunkAllowanceMs: 2,
  maxRetries: 3,
  retryDelayMs: DEFAULT_AUDIT_DEADLINE_MS,
});

/**
 * The longest a contained object can keep its audit open: the first call and every re-audit run to
 * their deadline, with the pause before each re-audit (a VerifyShares batch's per-chunk allowance aside).
 */
export function containmentWorstCaseMs(p: ContainmentPolicy): number {
  return p.deadlineMs * (p.maxRetries + 1) + p.retryDelayMs * p.maxRetries;
}

export function assertPolicy(p: ContainmentPolicy): void {
  const check = (name: keyof ContainmentPolicy, min: number, max: number) => {
    const v = p[name];
    if (!Number.isSafeInteger(v) || v < min || v > max) throw new RangeError(`containment ${name}: expected an integer in [${min}, ${max}], got ${String(v)}`);
  };
  check('deadlineMs', 1, 600_000);
  check('chunkAllowanceMs', 0, 60_000);
  check('maxRetries', 0, 100);
  check('retryDelayMs', 0, 600_000);
}

/** One audited object of one storer in one audited round. */
export interface ObjectRef {
  readonly storerId: Uint8Array;
  readonly objectId: Uint8Array;
  readonly kind: 'file' | 'chunk';
  readonly auditedRound: number;
}

/** How one audit call ended, as the auditor saw it against the deadline. */
export type Answer =
  | { readonly kind: 'valid' }
  /** A wrong proof, or an error verdict (e.g. NOT_FOUND): the storer answered, wrongly. */
  | { readonly kind: 'invalid'; readonly reason: string }
  /** The storer was reached but no answer came within the deadline (the call was cut off). */
  | { readonly kind: 'late'; readonly reason: string }
  /** No answer: connection refused, outage status, the storer is down. */
  | { readonly kind: 'offline'; readonly reason: string };

/** A contained object: what is persisted between re-audits (and across restarts). */
export interface Contained extends ObjectRef {
  /** Audit calls of this object without a timely answer so far (the first audit included). */
  readonly misses: number;
  /** Of those, how many reached the storer and ran out the deadline (the rest were offline). */
  readonly late: number;
  /** When it was first contained (clock ms). */
  readonly since: number;
  readonly lastReason: string;
}

export type Decision =
  | { readonly kind: 'pass'; readonly retries: number }
  | { readonly kind: 'fail'; readonly outcome: 'invalid' | 'unreachable'; readonly reason: string }
  | { readonly kind: 'contain'; readonly entry: Contained; readonly retryAt: number };

/**
 * The containment rule. A valid answer passes (and releases a contained object); a wrong one fails at
 * once. A miss (late or offline) contains the object; the (maxRetries + 1)-th miss in a row fails it:
 * as `invalid` when any miss reached the storer and ran out the deadline (indistinguishable from a
 * storer computing its answer on demand), as `unreachable` when the storer was never reachable (an
 * outage, counted ½ by the reputation rule as before).
 */
export function decide(policy: ContainmentPolicy, ref: ObjectRef, prev: Contained | null, answer: Answer, now: number): Decision {
  const retries = prev?.misses ?? 0;
  if (answer.kind === 'valid') return { kind: 'pass', retries };
  if (answer.kind === 'invalid') return { kind: 'fail', outcome: 'invalid', reason: retries > 0 ? `wrong answer on re-audit ${retries}: ${answer.reason}` : answer.reason };
  const misses = retries + 1;
  const late = (prev?.late ?? 0) + (answer.kind === 'late' ? 1 : 0);
  if (misses > policy.maxRetries) {
    const outcome = late > 0 ? 'invalid' : 'unreachable';
    return { kind: 'fail', outcome, reason: `no answer within the ${policy.deadlineMs} ms deadline in ${misses} audits (${late} late, ${misses - late} offline); last: ${answer.reason}` };
  }
  const entry: Contained = { storerId: ref.storerId, objectId: ref.objectId, kind: ref.kind, auditedRound: ref.auditedRound, misses, late, since: prev?.since ?? now, lastReason: answer.reason };
  return { kind: 'contain', entry, retryAt: now + policy.retryDelayMs };
}

// ---------------------------------------------------------------------------------------------
// Durable state

/** Where contained objects are kept: durable before a re-audit is scheduled. */
export interface ContainmentStore {
  get(ref: ObjectRef): Promise<Contained | null>;
  /** Writes and deletes in one durable batch. */
  update(put: readonly Contained[], release: readonly ObjectRef[]): Promise<void>;
  list(): Promise<Contained[]>;
}

/** Sub-prefix of Bucket.tally for contained objects (tallies use u64 rounds, the totals 0xff). */
const CONTAINED = 0xfe;
const VERSION = 1;
const KIND = { file: 1, chunk: 2 } as const;

const containedKey = (r: ObjectRef) => bucketKey(Bucket.tally, Uint8Array.of(CONTAINED), u64be(BigInt(r.auditedRound)), r.storerId, r.objectId);

function encode(c: Contained): Uint8Array {
  const reason = new TextEncoder().encode(c.lastReason.slice(0, 512));
  const out = new Uint8Array(1 + 1 + 8 + 4 + 4 + 8 + 1 + c.storerId.length + 1 + c.objectId.length + reason.length);
  const v = new DataView(out.buffer);
  let o = 0;
  out[o++] = VERSION;
  out[o++] = KIND[c.kind];
  v.setBigUint64(o, BigInt(c.auditedRound));
  o += 8;
  v.setUint32(o, c.misses);
  o += 4;
  v.setUint32(o, c.late);
  o += 4;
  v.setBigUint64(o, BigInt(Math.max(0, Math.floor(c.since))));
  o += 8;
  out[o++] = c.storerId.length;
  out.set(c.storerId, o);
  o += c.storerId.length;
  out[o++] = c.objectId.length;
  out.set(c.objectId, o);
  o += c.objectId.length;
  out.set(reason, o);
  return out;
}

function decode(b: Uint8Array): Contained {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b[0] !== VERSION) throw new Error(`containment record: unknown version ${b[0]}`);
  const kind = b[1] === KIND.file ? 'file' : b[1] === KIND.chunk ? 'chunk' : null;
  if (kind === null) throw new Error(`containment record: unknown kind ${b[1]}`);
  let o = 2;
  const auditedRound = Number(v.getBigUint64(o));
  o += 8;
  const misses = v.getUint32(o);
  o += 4;
  const late = v.getUint32(o);
  o += 4;
  const since = Number(v.getBigUint64(o));
  o += 8;
  const sl = b[o++]!;
  const storerId = b.slice(o, o + sl);
  o += sl;
  const ol = b[o++]!;
  const objectId = b.slice(o, o + ol);
  o += ol;
  return { storerId, objectId, kind, auditedRound, misses, late, since, lastReason: new TextDecoder().decode(b.subarray(o)) };
}

/** The rewards service's RocksDB (Bucket.tally, sub-prefix 0xfe), written with sync. */
export function kvContainmentStore(kv: KvStore): ContainmentStore {
  const prefix = bucketKey(Bucket.tally, Uint8Array.of(CONTAINED));
  return {
    async get(ref) {
      const b = await kv.get(containedKey(ref));
      return b === null ? null : decode(b);
    },
    async update(put, release) {
      if (put.length === 0 && release.length === 0) return;
      await kv.batch([...release.map((r) => ({ type: 'del' as const, key: containedKey(r) })), ...put.map((c) => ({ type: 'put' as const, key: containedKey(c), value: encode(c) }))], { sync: true });
    },
    async list() {
      const out: Contained[] = [];
      for await (const e of kv.range({ gte: prefix, lt: prefixEnd(prefix) })) out.push(decode(e.value));
      return out;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Clock

/** Time for the audit driver: injected so the state machine is tested without real timers. */
export interface AuditClock {
  now(): number;
  /** Resolves after ms (rejects when the signal aborts first). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * How the real clock's sleep tolerates this process's stalls (lib/time/stall-tolerant.ts): the deadline
 * of an audit is a sleep raced against the storer's answer, and when the process was blocked or starved
 * past it, an answer that reached it in time lost to the timer (a slow-honest storer failed its audits
 * on a loaded CI machine). A sleep that wakes more than a quarter of `ms` late waits that quarter again,
 * once; every sleep ends after the I/O already queued behind it.
 */
const SLEEP_TOLERANCE: StallTolerance = { lateFraction: 1 / 4, rewaitFraction: 1 / 4, maxRewaits: 1 };

/** The real clock. `sleep` counts only time this process could have received in, and never ends early. */
export const systemClock: AuditClock = {
  now: () => performance.timeOrigin + performance.now(),
  sleep: (ms, signal) => stallTolerantSleep(ms, signal, SLEEP_TOLERANCE),
};

// ---------------------------------------------------------------------------------------------
// The driver

/** What one audit call found for each object it covered, in order. */
export type Verdicts<P> = readonly ({ readonly valid: true; readonly proof: P } | { readonly valid: false; readonly reason: string })[];

/**
 * One audit call covering one or more objects of a storer (a file; a batch of chunks). `ask` sends
 * it: attempt 0 with the round's challenge, later attempts with fresh ones. It resolves with a verdict
 * per object, or throws: `classify` says whether the error is the storer's answer (invalid) or no
 * answer (offline). The driver cuts it off at the deadline (late).
 */
export interface AuditCall<P> {
  readonly refs: readonly ObjectRef[];
  readonly deadlineMs: number;
  ask(attempt: number, signal: AbortSignal): Promise<Verdicts<P>>;
}

export type Final<P> =
  | { readonly ref: ObjectRef; readonly outcome: 'valid'; readonly proof: P; readonly retries: number; readonly elapsedMs: number }
  | { readonly ref: ObjectRef; readonly outcome: 'invalid' | 'unreachable'; readonly reason: string; readonly retries: number };

export interface ContainmentEvents {
  contained?(c: Contained, elapsedMs: number): void;
  released?(ref: ObjectRef, retries: number, elapsedMs: number): void;
  failed?(ref: ObjectRef, outcome: 'invalid' | 'unreachable', reason: string, retries: number): void;
}

const short = (b: Uint8Array) => Buffer.from(b).toString('hex').slice(0, 16);

/** Log lines an operator follows containment by (one per event). */
export function containmentLog(log: Logger): ContainmentEvents {
  return {
    contained: (c, elapsedMs) =>
      log.info('audit contained', { storer: short(c.storerId), object: short(c.objectId), kind: c.kind, audited: c.auditedRound, misses: c.misses, late: c.late, elapsedMs: Math.round(elapsedMs), reason: c.lastReason }),
    released: (r, retries, elapsedMs) => log.info('audit passed after containment', { storer: short(r.storerId), object: short(r.objectId), kind: r.kind, audited: r.auditedRound, retries, elapsedMs: Math.round(elapsedMs) }),
    // A wrong answer without containment is logged by the rewarder with every other failure.
    failed: (r, outcome, reason, retries) => void (retries > 0 && log.warn('audit failed after containment', { storer: short(r.storerId), object: short(r.objectId), kind: r.kind, audited: r.auditedRound, outcome, retries, reason })),
  };
}

export interface ContainmentDeps {
  readonly policy: ContainmentPolicy;
  readonly clock: AuditClock;
  readonly store: ContainmentStore;
  /** Is this error the storer's answer (a verdict such as NOT_FOUND) rather than no answer? */
  readonly classify: (err: unknown) => 'answered' | 'offline';
  readonly events?: ContainmentEvents;
}

const LATE: unique symbol = Symbol('late');

interface CallAnswers<P> {
  readonly answers: readonly { readonly answer: Answer; readonly proof?: P }[];
  readonly elapsedMs: number;
}

/** One call under its deadline: the call is cancelled when the deadline passes first. */
async function askOnce<P>(deps: ContainmentDeps, call: AuditCall<P>, attempt: number, signal?: AbortSignal): Promise<CallAnswers<P>> {
  const { clock } = deps;
  const start = clock.now();
  const cut = new AbortController();
  const callSignal = signal ? AbortSignal.any([cut.signal, signal]) : cut.signal;
  const deadline = clock.sleep(call.deadlineMs, cut.signal).then(
    (): typeof LATE => LATE,
    (): typeof LATE => LATE,
  );
  const all = (answer: Answer) => ({ answers: call.refs.map(() => ({ answer })), elapsedMs: clock.now() - start });
  let res: Verdicts<P> | typeof LATE;
  try {
    res = await Promise.race([call.ask(attempt, callSignal), deadline]);
  } catch (err) {
    cut.abort();
    if (signal?.aborted) return all({ kind: 'offline', reason: 'time box exhausted' });
    const reason = (err as Error).message;
    return all(deps.classify(err) === 'answered' ? { kind: 'invalid', reason } : { kind: 'offline', reason });
  }
  const elapsedMs = clock.now() - start;
  cut.abort();
  if (res === LATE) return all({ kind: 'late', reason: `no answer within the ${call.deadlineMs} ms deadline` });
  const verdicts = res;
  return {
    elapsedMs,
    answers: call.refs.map((_, i) => {
      const v = verdicts[i];
      if (!v) return { answer: { kind: 'invalid', reason: 'no answer for this object in the call' } };
      return v.valid ? { answer: { kind: 'valid' }, proof: v.proof } : { answer: { kind: 'invalid', reason: v.reason } };
    }),
  };
}

/**
 * Runs audit calls of one storer, each under its deadline, one at a time (as a storer is asked one
 * thing at a time); a call with contained objects is asked again after retryDelayMs with a fresh
 * challenge until each of its objects passes, fails, or runs out of re-audits (answers for objects of
 * the call already decided are ignored). An object the store already holds as contained (a restart
 * during its containment) starts as a re-audit with its misses so far. `signal` (the per-storer time
 * box, the service's stop) ends it: undecided objects are unreachable. Results in the calls' order.
 */
export async function runContained<P>(deps: ContainmentDeps, calls: readonly AuditCall<P>[], signal?: AbortSignal): Promise<Final<P>[]> {
  const { policy, clock, store } = deps;
  interface Open {
    readonly call: AuditCall<P>;
    /** Per ref index: undefined once decided, else its containment entry (null: not contained yet). */
    readonly state: (Contained | null | undefined)[];
    retryAt: number;
  }
  const finals = new Map<AuditCall<P>, Final<P>[]>(calls.map((c) => [c, []]));
  let open: Open[] = [];
  for (const call of calls) open.push({ call, state: await Promise.all(call.refs.map((r) => store.get(r))), retryAt: 0 });

  while (open.length > 0) {
    const next: Open[] = [];
    for (const o of open) {
      const out = finals.get(o.call)!;
      const undecided = () => o.state.flatMap((c, i) => (c === undefined ? [] : [{ ref: o.call.refs[i]!, retries: c?.misses ?? 0 }]));
      const wait = o.retryAt - clock.now();
      if (!signal?.aborted && wait > 0) await clock.sleep(wait, signal).catch(() => undefined);
      if (signal?.aborted) {
        for (const u of undecided()) out.push({ ...u, outcome: 'unreachable', reason: 'time box exhausted' });
        continue;
      }
      const attempt = Math.max(...o.state.map((c) => c?.misses ?? 0));
      const got = await askOnce(deps, o.call, attempt, signal);
      const now = clock.now();
      const put: Contained[] = [];
      const release: ObjectRef[] = [];
      let contained = false;
      o.state.forEach((prev, i) => {
        if (prev === undefined) return;
        const ref = o.call.refs[i]!;
        const a = got.answers[i]!;
        const d = decide(policy, ref, prev, a.answer, now);
        if (d.kind === 'contain') {
          put.push(d.entry);
          o.state[i] = d.entry;
          o.retryAt = d.retryAt;
          contained = true;
          deps.events?.contained?.(d.entry, got.elapsedMs);
          return;
        }
        o.state[i] = undefined;
        if (prev) release.push(ref);
        if (d.kind === 'pass') {
          out.push({ ref, outcome: 'valid', proof: a.proof as P, retries: d.retries, elapsedMs: got.elapsedMs });
          if (d.retries > 0) deps.events?.released?.(ref, d.retries, got.elapsedMs);
        } else {
          out.push({ ref, outcome: d.outcome, reason: d.reason, retries: prev?.misses ?? 0 });
          deps.events?.failed?.(ref, d.outcome, d.reason, prev?.misses ?? 0);
        }
      });
      // Durable before the re-audit is scheduled and before any outcome is reported.
      await store.update(put, release);
      if (contained) next.push(o);
    }
    open = next;
  }
  // In each call's order of refs.
  return calls.flatMap((c) => {
    const byRef = new Map(finals.get(c)!.map((f) => [f.ref, f]));
    return c.refs.map((r) => byRef.get(r)!);
  });
}
