// A node that nobody gossips to (outside the committee, in no peer's WOLK_PEERS: a fresh follower, or
// a node started from a checkpoint) still follows the chain: when its tip has not moved between two
// checks it asks its peers for the next certified block, checks the certificate itself and commits.
// Without that it stays at its first round forever (the core only asks to catch up when it sees
// messages of later rounds, and nobody sends it any).
import test from 'ava';
import { blockFromHeader } from '../../../services/consensus/wire.js';
import { sha256 } from '../../../lib/crypto/index.js';
import { startLiveCluster, untilTip, type LiveCluster, type LiveNode } from './liveness-cluster.js';
import { logSeedOnFailure } from '../../helpers/seed.js';

// Its fixtures draw keys and data from the seeded test PRNG: a failure prints the seed that replays it.
logSeedOnFailure(test);

const LAMBDA_MS = 100;
const WAIT_MS = 180_000;
const hashCrypto = { hash: (...p: Uint8Array[]) => sha256(...p) } as Parameters<typeof blockFromHeader>[0];

let cluster: LiveCluster | undefined;
test.after.always(async () => {
  await cluster?.stop();
});

async function hashAt(n: LiveNode, round: number): Promise<string> {
  const b = await n.ledger.certifiedBlock(round);
  if (b === null) throw new Error(`node ${n.index} has no block at round ${round}`);
  return Buffer.from(blockFromHeader(hashCrypto, b.block.header).hash).toString('hex');
}

test('a follower no peer gossips to keeps up with the committee through certified blocks', async (t) => {
  t.timeout(2 * WAIT_MS);
  cluster = await startLiveCluster({ lambdaMs: LAMBDA_MS, followers: 1 });
  const follower = cluster.followers[0]!;
  const committee = cluster.nodes;
  await untilTip(committee, 4, WAIT_MS);
  const target = Math.min(...committee.map((n) => n.ledger.tip().round));
  await untilTip([follower], target, WAIT_MS);
  for (let r = 1; r <= target; r++) t.is(await hashAt(follower, r), await hashAt(committee[0]!, r), `block ${r} is the committee's`);
  t.true((follower.host.counters()['host.followed-blocks'] ?? 0) >= 1, 'it got them by following');
  t.is(follower.host.counters()['votes-cast.1'] ?? 0, 0, 'it never votes');
});
