// The follower's wait before the next consensus node: exponential backoff with full jitter
// (lib/grpc/retry.ts), whose ceiling doubles per failure up to the maximum and drops back to the
// minimum once a block is applied. Jitter is drawn from the seeded test PRNG.
import test from 'ava';
import { PassThrough } from 'node:stream';
import type { ClientReadableStream } from '@grpc/grpc-js';
import type { StreamBlocksResponse } from '../../../gen/wolk/consensus/v1/consensus.js';
import type { CertifiedBlock } from '../../../gen/wolk/common/v1/chain.js';
import { backoffCeiling } from '../../../lib/grpc/retry.js';
import { createLogger } from '../../../lib/log/logger.js';
import { Follower } from '../../../lib/chain/follower.js';
import { pollUntil } from '../../helpers/poll.js';
import { logSeedOnFailure, testPrng } from '../../helpers/seed.js';

logSeedOnFailure(test);

/** A stream that yields `rounds` and then fails, as a node going down does. */
function failingAfter(rounds: number[]): ClientReadableStream<StreamBlocksResponse> {
  const s = new PassThrough({ objectMode: true });
  for (const r of rounds) s.write({ block: { block: { header: { round: BigInt(r) } } } as unknown as CertifiedBlock });
  setImmediate(() => s.destroy(Object.assign(new Error('14 UNAVAILABLE: gone'), { code: 14 })));
  return Object.assign(s, { cancel: () => s.destroy() }) as unknown as ClientReadableStream<StreamBlocksResponse>;
}

test('waits grow from the minimum to the maximum with full jitter and start over after a block is applied', async (t) => {
  const applied: number[] = [];
  const waits: number[] = [];
  let attempt = 0;
  const jitter = testPrng('follower-backoff');
  const follower = new Follower({
    endpoints: ['a', 'b'],
    // The fourth attempt delivers round 1 before it fails; every other fails at once.
    source: () => ({ streamBlocks: () => failingAfter(attempt++ === 3 ? [1] : []) }),
    nextRound: async () => (applied.at(-1) ?? 0) + 1,
    apply: async (b) => {
      applied.push(Number(b.block!.header!.round));
    },
    logger: createLogger({ level: 'error', write: () => undefined }),
    minBackoffMs: 10,
    maxBackoffMs: 40,
    random: () => jitter.float(),
    sleep: async (ms, signal) => {
      waits.push(ms);
      if (waits.length >= 7) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    },
  });
  follower.start();
  await pollUntil(() => waits.length, { what: 'seven waits', deadlineMs: 10_000, intervalMs: 10, until: (n) => n >= 7 });
  await follower.stop();
  t.deepEqual(applied, [1]);
  // Failures since the last applied block before each wait: 0, 1, 2, then round 1 applied: 0, 1, 2, 3.
  const ceilings = [0, 1, 2, 0, 1, 2, 3].map((n) => backoffCeiling(n, { baseMs: 10, maxMs: 40 }));
  t.deepEqual(ceilings, [10, 20, 40, 10, 20, 40, 40]);
  const replay = testPrng('follower-backoff');
  t.deepEqual(waits.slice(0, 7), ceilings.map((c) => Math.floor(replay.float() * c)), 'each wait is the seeded draw under its ceiling');
});
