// Audits under a deadline with containment (services/rewards/containment.ts), driven by a manual clock:
// no real timers, every time a test reads is the clock's. A storer slow once then fast passes; one that
// never answers fails after maxRetries re-audits; a wrong answer fails at once; an outage is
// unreachable; a restart of the rewards service (its RocksDB closed and reopened) keeps who is
// contained and how many re-audits they had.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_AUDIT_DEADLINE_MS } from '../../../lib/porep/params.js';
import { readOptions } from '../../../services/rewards/options.js';
import {
  DEFAULT_CONTAINMENT_POLICY,
  decide,
  kvContainmentStore,
  runContained,
  systemClock,
  type AuditCall,
  type AuditClock,
  type Contained,
  type ContainmentPolicy,
  type ContainmentStore,
  type ObjectRef,
  type Verdicts,
} from '../../../services/rewards/containment.js';
import { createMemoryKv } from '../../../lib/storage/memory.js';
import { openRocksKv } from '../../../lib/storage/rocksdb.js';
import { logSeedOnFailure, testRandom } from '../../helpers/seed.js';
import { answeringPeer, blockThread } from '../../helpers/stall.js';

logSeedOnFailure(test);
const seeded = testRandom('unit/rewards/containment.test.ts');

const POLICY: ContainmentPolicy = { deadlineMs: 1000, chunkAllowanceMs: 2, maxRetries: 3, retryDelayMs: 1000 };

/** A clock that moves only when told: timers fire in order as `run` advances to each. */
class ManualClock implements AuditClock {
  t = 0;
  private timers: { at: number; fire: () => void; seq: number }[] = [];
  private seq = 0;
  /** Real I/O in flight (RocksDB): time does not move while the driver waits for it. */
  inflight = 0;
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const timer = { at: this.t + ms, seq: this.seq++, fire: () => resolve() };
      this.timers.push(timer);
      signal?.addEventListener(
        'abort',
        () => {
          this.timers = this.timers.filter((x) => x !== timer);
          reject(signal.reason as Error);
        },
        { once: true },
      );
    });
  }
  /** Settles `p`, advancing the clock from timer to timer whenever nothing else can run. */
  async run<T>(p: Promise<T>): Promise<T> {
    let done = false;
    const out = p.finally(() => (done = true));
    for (let steps = 0; steps < 10_000; steps++) {
      await new Promise((r) => setImmediate(r));
      if (done) return out;
      if (this.inflight > 0) continue;
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers.shift();
      if (!next) continue;
      this.t = Math.max(this.t, next.at);
      next.fire();
    }
    throw new Error('the audit did not settle in 10000 steps');
  }
}

/** The store with its I/O counted by the clock (see ManualClock.inflight). */
function tracked(clock: ManualClock, store: ContainmentStore): ContainmentStore {
  const io = async <T>(p: Promise<T>): Promise<T> => {
    clock.inflight++;
    try {
      return await p;
    } finally {
      clock.inflight--;
    }
  };
  return { get: (r) => io(store.get(r)), update: (p, r) => io(store.update(p, r)), list: () => io(store.list()) };
}

const ref = (objectId = seeded.bytes(32), storerId = seeded.bytes(32), auditedRound = 7): ObjectRef => ({ storerId, objectId, kind: 'file', auditedRound });

/** A storer whose answer to attempt i takes delays[i] ms of clock time (Infinity: never), then says `verdict`. */
function storer(clock: ManualClock, delays: readonly number[], verdict: (attempt: number) => 'valid' | 'wrong' | 'outage' = () => 'valid') {
  const attempts: { attempt: number; at: number }[] = [];
  const ask = async (attempt: number, signal: AbortSignal): Promise<Verdicts<string>> => {
    attempts.push({ attempt, at: clock.now() });
    const d = delays[Math.min(attempts.length - 1, delays.length - 1)]!;
    if (d === Infinity) await new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('cancelled')), { once: true }));
    else await clock.sleep(d, signal);
    const v = verdict(attempt);
    if (v === 'outage') throw Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: 14 });
    return [v === 'valid' ? { valid: true, proof: `proof of attempt ${attempt}` } : { valid: false, reason: 'leaf 0: replica branch fails' }];
  };
  return { attempts, ask };
}

function deps(clock: ManualClock, store: ContainmentStore, log: string[] = []) {
  return {
    policy: POLICY,
    clock,
    store,
    classify: (err: unknown) => ((err as { code?: number }).code === 5 ? ('answered' as const) : ('offline' as const)),
    events: {
      contained: (c: Contained, ms: number) => log.push(`contained misses=${c.misses} after ${ms} ms`),
      released: (_: ObjectRef, retries: number) => log.push(`released after ${retries}`),
      failed: (_: ObjectRef, outcome: string, __: string, retries: number) => log.push(`failed ${outcome} after ${retries}`),
    },
  };
}

const call = (r: ObjectRef, ask: AuditCall<string>['ask']): AuditCall<string> => ({ refs: [r], deadlineMs: POLICY.deadlineMs, ask });

test('decide: valid passes, wrong fails at once, misses contain until the (maxRetries+1)-th', (t) => {
  const r = ref();
  t.deepEqual(decide(POLICY, r, null, { kind: 'valid' }, 0), { kind: 'pass', retries: 0 });
  t.like(decide(POLICY, r, null, { kind: 'invalid', reason: 'bad' }, 0), { kind: 'fail', outcome: 'invalid', reason: 'bad' });
  let prev: Contained | null = null;
  for (let miss = 1; miss <= POLICY.maxRetries; miss++) {
    const d = decide(POLICY, r, prev, { kind: miss % 2 ? 'late' : 'offline', reason: 'x' }, miss * 5000);
    if (d.kind !== 'contain') return t.fail(`miss ${miss} should contain, got ${d.kind}`);
    t.is(d.entry.misses, miss);
    t.is(d.entry.since, 5000, 'contained since the first miss');
    t.is(d.retryAt, miss * 5000 + POLICY.retryDelayMs);
    prev = d.entry;
  }
  t.like(decide(POLICY, r, prev, { kind: 'late', reason: 'x' }, 0), { kind: 'fail', outcome: 'invalid' });
  t.like(decide(POLICY, r, prev, { kind: 'valid' }, 0), { kind: 'pass', retries: POLICY.maxRetries }, 'a contained storer that answers in time passes');
  t.like(decide(POLICY, r, prev, { kind: 'invalid', reason: 'bad' }, 0), { kind: 'fail', outcome: 'invalid', reason: `wrong answer on re-audit ${POLICY.maxRetries}: bad` });
  // Never reached at all: an outage, not a late answer.
  const offline: Contained = { ...r, misses: POLICY.maxRetries, late: 0, since: 0, lastReason: 'refused' };
  t.like(decide(POLICY, r, offline, { kind: 'offline', reason: 'refused' }, 0), { kind: 'fail', outcome: 'unreachable' });
});

test('a storer slow once (past the deadline) and then in time passes after one re-audit on a fresh challenge', async (t) => {
  const clock = new ManualClock();
  const store = kvContainmentStore(createMemoryKv());
  const log: string[] = [];
  const s = storer(clock, [1500, 200]);
  const r = ref();
  const [f] = await clock.run(runContained(deps(clock, store, log), [call(r, s.ask)]));
  t.like(f, { outcome: 'valid', retries: 1, proof: 'proof of attempt 1', elapsedMs: 200 });
  t.deepEqual(s.attempts, [
    { attempt: 0, at: 0 },
    { attempt: 1, at: POLICY.deadlineMs + POLICY.retryDelayMs },
  ]);
  t.deepEqual(log, ['contained misses=1 after 1000 ms', 'released after 1']);
  t.deepEqual(await store.list(), [], 'released from containment');
});

test('an answer just inside the deadline passes without containment', async (t) => {
  const clock = new ManualClock();
  const store = kvContainmentStore(createMemoryKv());
  const s = storer(clock, [POLICY.deadlineMs - 1]);
  const [f] = await clock.run(runContained(deps(clock, store), [call(ref(), s.ask)]));
  t.like(f, { outcome: 'valid', retries: 0 });
  t.is(s.attempts.length, 1);
});

test('a storer that never answers fails after maxRetries re-audits, each on a fresh attempt', async (t) => {
  const clock = new ManualClock();
  const store = kvContainmentStore(createMemoryKv());
  const log: string[] = [];
  const s = storer(clock, [Infinity]);
  const [f] = await clock.run(runContained(deps(clock, store, log), [call(ref(), s.ask)]));
  t.like(f, { outcome: 'invalid', retries: POLICY.maxRetries });
  t.regex((f as { reason: string }).reason, /no answer within the 1000 ms deadline in 4 audits \(4 late, 0 offline\)/);
  t.deepEqual(
    s.attempts.map((a) => a.attempt),
    [0, 1, 2, 3],
  );
  t.is(clock.now(), (POLICY.maxRetries + 1) * POLICY.deadlineMs + POLICY.maxRetries * POLICY.retryDelayMs, 'four deadlines and three pauses');
  t.deepEqual(log, ['contained misses=1 after 1000 ms', 'contained misses=2 after 1000 ms', 'contained misses=3 after 1000 ms', 'failed invalid after 3']);
  t.deepEqual(await store.list(), []);
});

test('a wrong answer fails at once: no containment, no re-audit', async (t) => {
  const clock = new ManualClock();
  const store = kvContainmentStore(createMemoryKv());
  const s = storer(clock, [10], () => 'wrong');
  const [f] = await clock.run(runContained(deps(clock, store), [call(ref(), s.ask)]));
  t.like(f, { outcome: 'invalid', reason: 'leaf 0: replica branch fails', retries: 0 });
  t.is(s.attempts.length, 1);
  // An error verdict (NOT_FOUND: the data is gone) is an answer too.
  const gone = await clock.run(
    runContained(deps(clock, store), [
      call(ref(), async () => {
        throw Object.assign(new Error('5 NOT_FOUND: no such file'), { code: 5 });
      }),
    ]),
  );
  t.like(gone[0], { outcome: 'invalid', reason: '5 NOT_FOUND: no such file' });
});

test('a wrong answer on a re-audit fails at once', async (t) => {
  const clock = new ManualClock();
  const store = kvContainmentStore(createMemoryKv());
  const s = storer(clock, [Infinity, 10], () => 'wrong');
  const [f] = await clock.run(runContained(deps(clock, store), [call(ref(), s.ask)]));
  t.like(f, { outcome: 'invalid', retries: 1, reason: 'wrong answer on re-audit 1: leaf 0: replica branch fails' });
  t.is(s.attempts.length, 2);
});

test('a storer that is down throughout is unreachable after its re-audits (an outage, not a cheat)', async (t) => {
  const clock = new ManualClock();
  const store = kvContainmentStore(createMemoryKv());
  const s = storer(clock, [5], () => 'outage');
  const [f] = await clock.run(runContained(deps(clock, store), [call(ref(), s.ask)]));
  t.like(f, { outcome: 'unreachable', retries: POLICY.maxRetries });
  t.is(s.attempts.length, POLICY.maxRetries + 1);
});

test('a batch call: in-time verdicts per object; a late batch contains every object, re-asked together; decided ones keep their outcome', async (t) => {
  const clock = new ManualClock();
  const store = kvContainmentStore(createMemoryKv());
  const a = ref();
  const b = ref();
  let n = 0;
  const batch: AuditCall<string> = {
    refs: [a, b],
    deadlineMs: POLICY.deadlineMs + 2 * POLICY.chunkAllowanceMs,
    async ask(attempt, signal) {
      n++;
      // Late the first time; then a valid proof for a and a wrong one for b.
      await clock.sleep(n === 1 ? 5000 : 100, signal);
      return [
        { valid: true, proof: `a@${attempt}` },
        { valid: false, reason: 'digest differs' },
      ];
    },
  };
  const out = await clock.run(runContained(deps(clock, store), [batch]));
  t.like(out[0], { ref: a, outcome: 'valid', proof: 'a@1', retries: 1 });
  t.like(out[1], { ref: b, outcome: 'invalid', reason: 'wrong answer on re-audit 1: digest differs' });
  t.is(n, 2);
});

test('the time box ends containment: undecided objects are unreachable and stay contained in the store', async (t) => {
  const clock = new ManualClock();
  const store = kvContainmentStore(createMemoryKv());
  const box = new AbortController();
  const s = storer(clock, [Infinity]);
  const r = ref();
  const running = runContained(deps(clock, store, []), [call(r, s.ask)], box.signal);
  // Stop while it waits for its first re-audit.
  const stopAt = POLICY.deadlineMs + POLICY.retryDelayMs / 2;
  void clock.sleep(stopAt).then(() => box.abort(new Error('time box')));
  const [f] = await clock.run(running);
  t.like(f, { outcome: 'unreachable', reason: 'time box exhausted', retries: 1 });
  const kept = await store.list();
  t.is(kept.length, 1);
  t.like(kept[0], { misses: 1, late: 1, auditedRound: r.auditedRound });
  t.true(Buffer.from(kept[0]!.objectId).equals(Buffer.from(r.objectId)) && Buffer.from(kept[0]!.storerId).equals(Buffer.from(r.storerId)), 'the contained object is the audited one');
});

test('a restart of the rewards service keeps containment: misses count across it and re-audits resume on fresh challenges', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wolk-containment-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = ref();
  // First life: two misses, then the service stops (the time box aborts) while contained.
  {
    const kv = await openRocksKv(join(dir, 'db'));
    const clock = new ManualClock();
    const box = new AbortController();
    const s = storer(clock, [Infinity]);
    const running = runContained(deps(clock, tracked(clock, kvContainmentStore(kv))), [call(r, s.ask)], box.signal);
    void clock.sleep(2 * POLICY.deadlineMs + POLICY.retryDelayMs + POLICY.retryDelayMs / 2).then(() => box.abort(new Error('stopping')));
    const [f] = await clock.run(running);
    t.like(f, { outcome: 'unreachable', retries: 2 });
    t.is(s.attempts.length, 2);
    await kv.close();
  }
  // Second life, same database: the object is still contained with 2 misses; the storer still never
  // answers, so it fails after the remaining maxRetries + 1 - 2 audits, all re-audits (attempt >= 2).
  {
    const kv = await openRocksKv(join(dir, 'db'));
    const clock = new ManualClock();
    const store = tracked(clock, kvContainmentStore(kv));
    const before = await store.list();
    t.is(before.length, 1);
    t.like(before[0], { misses: 2, late: 2 });
    const s = storer(clock, [Infinity]);
    const [f] = await clock.run(runContained(deps(clock, store), [call(r, s.ask)]));
    t.like(f, { outcome: 'invalid', retries: POLICY.maxRetries });
    t.deepEqual(
      s.attempts.map((a) => a.attempt),
      [2, 3],
    );
    t.deepEqual(await store.list(), []);
    await kv.close();
  }
  // And a storer slow before the restart that answers after it passes.
  {
    const kv = await openRocksKv(join(dir, 'db'));
    const clock = new ManualClock();
    const store = tracked(clock, kvContainmentStore(kv));
    const r2 = ref();
    await store.update([{ ...r2, misses: 1, late: 1, since: 0, lastReason: 'no answer within the 1000 ms deadline' }], []);
    const s = storer(clock, [50]);
    const [f] = await clock.run(runContained(deps(clock, store), [call(r2, s.ask)]));
    t.like(f, { outcome: 'valid', retries: 1, proof: 'proof of attempt 1' });
    t.deepEqual(await store.list(), []);
    await kv.close();
  }
});

test('the rewards options default to the containment defaults: lib/porep\'s deadline and 3 re-audits; the environment overrides them', (t) => {
  const o = readOptions({});
  t.is(o.auditDeadlineMs, DEFAULT_AUDIT_DEADLINE_MS);
  t.is(o.auditDeadlineMs, DEFAULT_CONTAINMENT_POLICY.deadlineMs);
  t.is(o.auditRetries, DEFAULT_CONTAINMENT_POLICY.maxRetries);
  const set = readOptions({ WOLK_AUDIT_DEADLINE_MS: '250', WOLK_AUDIT_RETRIES: '5' });
  t.like(set, { auditDeadlineMs: 250, auditRetries: 5 });
  t.throws(() => readOptions({ WOLK_AUDIT_DEADLINE_MS: '0' }), { message: /WOLK_AUDIT_DEADLINE_MS/ });
});

test('systemClock: an answer that reached the auditor in time while its event loop was blocked past the deadline is not counted late', async (t) => {
  // The storer (a server on its own thread, so it answers while this thread is busy) replies at once over
  // loopback; the auditor is busy for twice the deadline right after asking. Node runs timers before
  // I/O: the deadline's timer used to win against the answer already waiting in the socket (a
  // slow-honest storer failed its audits on a loaded CI machine).
  const sock = await answeringPeer(t);
  const deadlineMs = 200;
  const ask = () =>
    new Promise<Verdicts<string>>((resolve, reject) => {
      let got = '';
      sock.on('data', (d) => (got += d.toString()));
      sock.on('end', () => resolve([{ valid: true, proof: got }]));
      sock.on('error', reject);
      sock.write('challenge');
      blockThread(2 * deadlineMs); // the auditor busy past the deadline; the answer arrives meanwhile
    });
  const store = kvContainmentStore(createMemoryKv());
  const [f] = await runContained({ policy: { ...POLICY, deadlineMs, maxRetries: 0 }, clock: systemClock, store, classify: () => 'offline' }, [{ refs: [ref()], deadlineMs, ask }]);
  t.like(f, { outcome: 'valid', retries: 0 });
});

test('systemClock: a sleep never ends early, and an abort ends it at once', async (t) => {
  const t0 = performance.now();
  await systemClock.sleep(50);
  t.true(performance.now() - t0 >= 49, 'not before its time');
  const ac = new AbortController();
  const sleeping = systemClock.sleep(60_000, ac.signal);
  ac.abort(new Error('stop'));
  await t.throwsAsync(sleeping, { message: 'stop' });
});
