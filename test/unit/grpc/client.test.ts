// The gRPC client layer (lib/grpc/client.ts, retry.ts) against real grpc-js servers on ephemeral
// loopback ports: deadlines, cancellation by an AbortSignal (seen by the server too), retry of an
// outage until it succeeds, no retry of a verdict, failover to a second endpoint, server streams.
// Jitter draws from the seeded test PRNG (the seed is printed on failure).
import test from 'ava';
import { credentials, status } from '@grpc/grpc-js';
import { ConsensusServiceClient, ConsensusServiceService, GetStatusResponse, StreamBlocksResponse } from '../../../gen/wolk/consensus/v1/consensus.js';
import { isCancelledByCaller, isOutage, isVerdict, WolkError } from '../../../lib/grpc/errors.js';
import { failover, NoEndpointAnswered, RpcError, serverStream, unaryCall } from '../../../lib/grpc/client.js';
import { backoffCeiling, backoffDelay, retry } from '../../../lib/grpc/retry.js';
import { createGrpcServer, type WolkGrpcServer } from '../../../lib/grpc/server.js';
import type { CallContext } from '../../../lib/grpc/handlers.js';
import { createLogger } from '../../../lib/log/logger.js';
import { logSeedOnFailure, testPrng } from '../../helpers/seed.js';
import { pollUntil } from '../../helpers/poll.js';

logSeedOnFailure(test);

// The servers log the outages they are told to answer; those lines are the test's own doing.
const logger = createLogger({ level: 'error', write: () => undefined });
/** Deadline of calls that should answer: generous, the machine running the tests may be loaded. */
const ANSWER_MS = 10_000;

interface Behaviour {
  /** Answers GetStatus (throw a WolkError for a status). */
  getStatus(ctx: CallContext): Promise<GetStatusResponse>;
  /** Rounds StreamBlocks yields before it waits for the caller to go away. */
  streamRounds?: number;
}

interface Running {
  readonly endpoint: string;
  readonly client: ConsensusServiceClient;
  calls: number;
  /** Server-side signals of calls that ended by cancellation. */
  cancelled: number;
  close(): Promise<void>;
}

const status0 = (round: bigint): GetStatusResponse => GetStatusResponse.fromPartial({ chainId: 'test', finalizedRound: round, finalizedHash: Buffer.alloc(32) });

async function serve(b: Behaviour): Promise<Running> {
  const server: WolkGrpcServer = createGrpcServer({ logger, maxMessageBytes: 4 * 1024 * 1024 });
  const r = { calls: 0, cancelled: 0 } as { calls: number; cancelled: number };
  server.addService('wolk.consensus.v1.ConsensusService', ConsensusServiceService, {
    getStatus: async (_req, ctx) => {
      r.calls++;
      ctx.signal.addEventListener('abort', () => r.cancelled++, { once: true });
      return b.getStatus(ctx);
    },
    streamBlocks: async function* (req, ctx): AsyncIterable<StreamBlocksResponse> {
      r.calls++;
      ctx.signal.addEventListener('abort', () => r.cancelled++, { once: true });
      for (let i = 0; i < (b.streamRounds ?? 0); i++) {
        yield StreamBlocksResponse.fromPartial({ block: { block: { header: { round: req.fromRound + BigInt(i) } } } });
      }
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    },
  });
  const port = await server.listen('127.0.0.1', 0);
  const endpoint = `127.0.0.1:${port}`;
  const client = new ConsensusServiceClient(endpoint, credentials.createInsecure());
  return Object.assign(r, {
    endpoint,
    client,
    close: async () => {
      client.close();
      await server.shutdown(100);
    },
  });
}

/** Waits until `signal` fires (a handler that never answers on its own). */
const never = (ctx: CallContext) => new Promise<never>((_, reject) => ctx.signal.addEventListener('abort', () => reject(new WolkError('CANCELLED', 'gone')), { once: true }));

/** An endpoint nothing listens on: a port a server held and gave back. */
async function deadEndpoint(): Promise<string> {
  const s = await serve({ getStatus: async () => status0(0n) });
  await s.close();
  return s.endpoint;
}

test('a unary call answers, and a deadline ends a call the server does not answer (an outage)', async (t) => {
  const ok = await serve({ getStatus: async () => status0(7n) });
  const slow = await serve({ getStatus: never });
  t.teardown(() => Promise.all([ok.close(), slow.close()]));
  const res = await unaryCall(ok.client.getStatus.bind(ok.client), {}, { timeoutMs: ANSWER_MS, endpoint: ok.endpoint });
  t.is(res.finalizedRound, 7n);

  const started = Date.now();
  const err = await t.throwsAsync(unaryCall(slow.client.getStatus.bind(slow.client), {}, { timeoutMs: 300, endpoint: slow.endpoint }), { instanceOf: RpcError });
  const took = Date.now() - started;
  t.is(err.code, status.DEADLINE_EXCEEDED);
  t.is(err.endpoint, slow.endpoint);
  t.true(err.message.startsWith(`${slow.endpoint}: `), err.message);
  t.true(isOutage(err));
  t.false(isVerdict(err));
  t.true(took >= 250 && took < 5000, `the deadline ended the call after ${took} ms`);
});

test('a call the server answered is not reported to its handler as cancelled (grpc-js signals the end of every call)', async (t) => {
  const ok = await serve({ getStatus: async () => status0(3n), streamRounds: 2 });
  t.teardown(() => ok.close());
  for (let i = 0; i < 5; i++) t.is((await unaryCall(ok.client.getStatus.bind(ok.client), {}, { timeoutMs: ANSWER_MS, endpoint: ok.endpoint })).finalizedRound, 3n);
  // grpc-js emits its end-of-call 'cancelled' on the next tick after the status goes out, in this
  // process, before the client can have read the answer; one more turn of the loop covers the last.
  await new Promise((r) => setImmediate(r));
  t.is(ok.calls, 5);
  t.is(ok.cancelled, 0, 'an answered call aborted its ctx.signal');
});

test('aborting the signal cancels the call: the promise rejects at once and the server sees the cancellation', async (t) => {
  const slow = await serve({ getStatus: never });
  t.teardown(() => slow.close());
  const ac = new AbortController();
  const call = unaryCall(slow.client.getStatus.bind(slow.client), {}, { timeoutMs: 30_000, signal: ac.signal, endpoint: slow.endpoint });
  await pollUntil(() => slow.calls, { what: 'the call to reach the server', deadlineMs: 5000, intervalMs: 20, until: (n) => n === 1 });
  const started = Date.now();
  ac.abort();
  const err = await t.throwsAsync(call, { instanceOf: RpcError });
  t.true(Date.now() - started < 1000, 'rejected promptly, not at the deadline');
  t.is(err.code, status.CANCELLED);
  t.true(err.cancelledByCaller);
  t.true(isCancelledByCaller(err));
  t.false(isOutage(err), 'our own cancel is not an outage');
  t.false(isVerdict(err), 'nor a verdict');
  await pollUntil(() => slow.cancelled, { what: 'the server to see the cancellation', deadlineMs: 5000, intervalMs: 20, until: (n) => n === 1 });

  // An already aborted signal does not start a call.
  const before = slow.calls;
  await t.throwsAsync(unaryCall(slow.client.getStatus.bind(slow.client), {}, { timeoutMs: 30_000, signal: ac.signal }), { instanceOf: RpcError });
  t.is(slow.calls, before);
});

test('retry: an outage is retried with jittered backoff until the call succeeds', async (t) => {
  let answered = 0;
  const flaky = await serve({
    getStatus: async () => {
      if (++answered <= 2) throw new WolkError('UNAVAILABLE', 'warming up');
      return status0(3n);
    },
  });
  t.teardown(() => flaky.close());
  const prng = testPrng('grpc-client:retry');
  const waits: number[] = [];
  const res = await retry((_attempt) => unaryCall(flaky.client.getStatus.bind(flaky.client), {}, { timeoutMs: ANSWER_MS, endpoint: flaky.endpoint }), {
    attempts: 5,
    baseMs: 20,
    maxMs: 200,
    random: () => prng.float(),
    onRetry: (_err, _attempt, delay) => waits.push(delay),
  });
  t.is(res.finalizedRound, 3n);
  t.is(flaky.calls, 3, 'two outages, then the answer');
  t.is(waits.length, 2);
  waits.forEach((w, n) => t.true(w >= 0 && w < backoffCeiling(n, { baseMs: 20, maxMs: 200 }), `wait ${n} = ${w} ms is within its full-jitter ceiling`));
});

test('retry: a verdict is not retried, and the attempts bound gives up with the last outage', async (t) => {
  const refusing = await serve({ getStatus: async () => Promise.reject(new WolkError('FAILED_PRECONDITION', 'no')) });
  const down = await serve({ getStatus: async () => Promise.reject(new WolkError('UNAVAILABLE', 'down for good')) });
  t.teardown(() => Promise.all([refusing.close(), down.close()]));
  const prng = testPrng('grpc-client:verdict');
  const policy = { attempts: 4, baseMs: 5, maxMs: 20, random: () => prng.float() };
  const verdict = await t.throwsAsync(retry(() => unaryCall(refusing.client.getStatus.bind(refusing.client), {}, { timeoutMs: ANSWER_MS }), policy), { instanceOf: RpcError });
  t.is(verdict.code, status.FAILED_PRECONDITION);
  t.true(isVerdict(verdict));
  t.is(refusing.calls, 1, 'asked once');

  const outage = await t.throwsAsync(retry(() => unaryCall(down.client.getStatus.bind(down.client), {}, { timeoutMs: ANSWER_MS }), policy), { instanceOf: RpcError });
  t.is(outage.code, status.UNAVAILABLE);
  t.is(outage.details, 'down for good');
  t.is(down.calls, 4, 'exactly the attempts allowed');
});

test('retry: the total time bounds the waits and the signal ends a retry loop between tries', async (t) => {
  let clock = 0;
  const slept: number[] = [];
  const outage = Object.assign(new Error('x'), { code: status.UNAVAILABLE });
  let tries = 0;
  const err = await t.throwsAsync(
    retry(
      async () => {
        tries++;
        throw outage;
      },
      {
        totalMs: 1000,
        baseMs: 100,
        maxMs: 400,
        jitter: 'none',
        now: () => clock,
        sleep: async (ms) => {
          slept.push(ms);
          clock += ms;
        },
      },
    ),
  );
  t.is(err, outage);
  t.deepEqual(slept, [100, 200, 400], 'the next wait (400) would end after 1000 ms: given up');
  t.is(tries, 4);

  const ac = new AbortController();
  let calls = 0;
  const aborted = retry(
    async () => {
      calls++;
      if (calls === 2) ac.abort(new Error('stopping'));
      throw outage;
    },
    { attempts: 100, baseMs: 1, maxMs: 5, signal: ac.signal, random: () => 0.5 },
  );
  const e = await t.throwsAsync(aborted);
  t.is(e.message, 'stopping');
  t.is(calls, 2, 'no try after the abort');
});

test('failover: an outage moves on to the next endpoint; a verdict does not', async (t) => {
  const dead = await deadEndpoint();
  const live = await serve({ getStatus: async () => status0(11n) });
  const refusing = await serve({ getStatus: async () => Promise.reject(new WolkError('INVALID_ARGUMENT', 'bad request')) });
  const clients = new Map<string, ConsensusServiceClient>([
    [dead, new ConsensusServiceClient(dead, credentials.createInsecure())],
    [live.endpoint, live.client],
    [refusing.endpoint, refusing.client],
  ]);
  t.teardown(async () => {
    clients.get(dead)!.close();
    await Promise.all([live.close(), refusing.close()]);
  });
  const ask = (endpoint: string) => {
    const c = clients.get(endpoint)!;
    return unaryCall(c.getStatus.bind(c), {}, { timeoutMs: ANSWER_MS, endpoint });
  };

  const got = await failover([dead, live.endpoint], ask);
  t.is(got.value.finalizedRound, 11n);
  t.is(got.index, 1, 'the second endpoint answered');

  const err = await t.throwsAsync(failover([refusing.endpoint, live.endpoint], ask), { instanceOf: RpcError });
  t.is(err.code, status.INVALID_ARGUMENT);
  t.is(live.calls, 1, 'the verdict was not taken to the next endpoint');

  const none = await t.throwsAsync(failover([dead], ask), { instanceOf: NoEndpointAnswered });
  t.is(none.failures.length, 1);
  t.true(isOutage(none.last));
  t.regex(none.message, new RegExp(dead.replace(/\./g, '\\.')));

  // Starting from the endpoint that answered last.
  const again = await failover([dead, live.endpoint], ask, { start: got.index });
  t.is(again.index, 1);
  t.is(live.calls, 2);
});

test('server stream: messages arrive in order; stopping early and aborting both cancel the call', async (t) => {
  const s = await serve({ getStatus: async () => status0(0n), streamRounds: 3 });
  t.teardown(() => s.close());
  const stream = (signal?: AbortSignal) => serverStream(s.client.streamBlocks.bind(s.client), { fromRound: 5n, follow: true }, { timeoutMs: 30_000, signal, endpoint: s.endpoint });

  const rounds: bigint[] = [];
  for await (const m of stream()) {
    rounds.push(m.block!.block!.header!.round);
    if (rounds.length === 2) break;
  }
  t.deepEqual(rounds, [5n, 6n]);
  await pollUntil(() => s.cancelled, { what: 'the server to see the early stop', deadlineMs: 5000, intervalMs: 20, until: (n) => n === 1 });

  const ac = new AbortController();
  const seen: bigint[] = [];
  const err = await t.throwsAsync(
    (async () => {
      for await (const m of stream(ac.signal)) {
        seen.push(m.block!.block!.header!.round);
        if (seen.length === 3) ac.abort();
      }
    })(),
    { instanceOf: RpcError },
  );
  t.deepEqual(seen, [5n, 6n, 7n]);
  t.true(err.cancelledByCaller);
  await pollUntil(() => s.cancelled, { what: 'the server to see the abort', deadlineMs: 5000, intervalMs: 20, until: (n) => n === 2 });
});

test('isOutage sorts status codes: transport and server failures are outages, judgements of the request are verdicts', (t) => {
  const e = (code: status, details = 'x') => Object.assign(new Error(details), { code, details });
  for (const c of [status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED, status.ABORTED, status.INTERNAL, status.UNKNOWN, status.DATA_LOSS]) {
    t.true(isOutage(e(c)), `${status[c]} is an outage`);
  }
  t.true(isOutage(e(status.CANCELLED, 'server shutting down')), 'CANCELLED by the peer is an outage');
  t.false(isOutage(e(status.CANCELLED, 'Cancelled on client')), 'CANCELLED by us is not');
  for (const c of [
    status.INVALID_ARGUMENT,
    status.NOT_FOUND,
    status.ALREADY_EXISTS,
    status.PERMISSION_DENIED,
    status.UNAUTHENTICATED,
    status.FAILED_PRECONDITION,
    status.OUT_OF_RANGE,
    status.UNIMPLEMENTED,
  ]) {
    t.false(isOutage(e(c)), `${status[c]} is not an outage`);
    t.true(isVerdict(e(c)), `${status[c]} is a verdict`);
  }
  t.false(isOutage(new Error('local')), 'a local error is neither');
  t.false(isVerdict(new Error('local')));
  t.false(isOutage(new WolkError('UNAVAILABLE', 'a domain error before it became a status')));
});

test('backoffDelay: full jitter stays under a ceiling that doubles up to maxMs', (t) => {
  const prng = testPrng('grpc-client:backoff');
  const b = { baseMs: 100, maxMs: 1000 };
  t.deepEqual([0, 1, 2, 3, 4, 10].map((n) => backoffCeiling(n, b)), [100, 200, 400, 800, 1000, 1000]);
  for (let n = 0; n < 50; n++) {
    const d = backoffDelay(n, b, () => prng.float());
    t.true(d >= 0 && d < backoffCeiling(n, b), `delay ${n}: ${d}`);
  }
  t.is(backoffDelay(2, { ...b, jitter: 'none' }), 400);
});

test('a handler that first reads ctx.signal after the client cancelled, or after its deadline, finds it aborted with the cause', async (t) => {
  // The signal is made on first use (lib/grpc/handlers.ts): what happened before must still show.
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const seen: string[] = [];
  const late = await serve({
    getStatus: async (ctx) => {
      await gate;
      seen.push(ctx.signal.aborted ? (ctx.signal.reason as WolkError).code : 'live');
      return status0(1n);
    },
  });
  t.teardown(() => late.close());
  const ac = new AbortController();
  const cancelled = unaryCall(late.client.getStatus.bind(late.client), {}, { timeoutMs: 30_000, signal: ac.signal, endpoint: late.endpoint });
  const timedOut = unaryCall(late.client.getStatus.bind(late.client), {}, { timeoutMs: 300, endpoint: late.endpoint });
  await pollUntil(() => late.calls, { what: 'both calls to reach the server', deadlineMs: 5000, intervalMs: 20, until: (n) => n === 2 });
  ac.abort();
  await t.throwsAsync(cancelled, { instanceOf: RpcError });
  await t.throwsAsync(timedOut, { instanceOf: RpcError });
  await new Promise((r) => setTimeout(r, 400)); // past the 300 ms deadline on the server's clock too
  release();
  await pollUntil(() => seen.length, { what: 'both handlers to read their signal', deadlineMs: 5000, intervalMs: 20, until: (n) => n === 2 });
  t.deepEqual(seen.sort(), ['CANCELLED', 'DEADLINE_EXCEEDED']);
});
