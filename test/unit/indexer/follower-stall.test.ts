// The follower leaves a consensus node whose block stream goes silent (stuck in a round while the chain
// moves on) and follows the next one from its cursor.
import test from 'ava';
import { PassThrough } from 'node:stream';
import type { ClientReadableStream } from '@grpc/grpc-js';
import type { StreamBlocksResponse } from '../../../gen/wolk/consensus/v1/consensus.js';
import type { CertifiedBlock } from '../../../gen/wolk/common/v1/chain.js';
import { Follower, type BlockSource } from '../../../lib/chain/follower.js';
import { createLogger } from '../../../lib/log/logger.js';
import { logSeedOnFailure } from '../../helpers/seed.js';
import { pollUntil } from '../../helpers/poll.js';

// Its fixtures draw keys and data from the seeded test PRNG: a failure prints the seed that replays it.
logSeedOnFailure(test);

function blockOf(round: number): CertifiedBlock {
  return { block: { header: { round: BigInt(round) } } } as unknown as CertifiedBlock;
}

/** A stream that yields rounds from..to, then stays open and silent when `stallAfter` is set. */
function streamOf(from: number, to: number, stall: boolean): ClientReadableStream<StreamBlocksResponse> {
  const s = new PassThrough({ objectMode: true });
  for (let r = from; r <= to; r++) s.write({ block: blockOf(r) });
  if (!stall) s.end();
  return Object.assign(s, { cancel: () => s.destroy(new Error('cancelled')) }) as unknown as ClientReadableStream<StreamBlocksResponse>;
}

test('a silent stream is left after stallMs and the next node is followed from the cursor', async (t) => {
  const applied: number[] = [];
  const asked: string[] = [];
  const sources: Record<string, (from: number) => ClientReadableStream<StreamBlocksResponse>> = {
    stuck: (from) => streamOf(from, 3, true), // serves up to round 3, then nothing
    live: (from) => streamOf(from, 8, true),
  };
  const follower = new Follower({
    endpoints: ['stuck', 'live'],
    source: (endpoint): BlockSource => ({
      streamBlocks: (req) => {
        asked.push(`${endpoint}@${req.fromRound}`);
        return sources[endpoint]!(Number(req.fromRound));
      },
    }),
    nextRound: async () => (applied.at(-1) ?? 0) + 1,
    apply: async (b) => {
      applied.push(Number(b.block!.header!.round));
    },
    logger: createLogger({ level: 'error' }),
    stallMs: 300,
    minBackoffMs: 10,
  });
  follower.start();
  await pollUntil(() => applied.at(-1), { what: 'the follower to apply round 8', deadlineMs: 20_000, intervalMs: 50, until: (r) => r === 8, describe: () => `applied ${applied.join(',')}` }).finally(() => follower.stop());
  t.deepEqual(applied, [1, 2, 3, 4, 5, 6, 7, 8], 'every round once, in order');
  t.deepEqual(asked.slice(0, 2), ['stuck@1', 'live@4'], 'left the stuck node and resumed from the cursor');
  t.regex(follower.lastError ?? '', /no block for 300 ms/);
});
