// The storage re-check through the real host (services/consensus/host.ts `recheck`): four in-process
// nodes over gRPC and RocksDB. Every storage check takes 2.5λ, longer than the filter timeout, so
// all four soft-vote each block while checking it and a soft quorum forms. Nodes 2 and 3's FIRST check
// of every block fails (a storer that was unreachable from them for a moment); any later check of it
// passes. Without re-checks that is the devnet's 2-2 split: 0 and 1 next-vote the block, 2 and 3
// next-vote ⊥, every step, and round 1 never ends. With them, 2 and 3 ask again at their next vote, are
// vouched, and next-vote the block one step later: every round ends (in period 1).
// Run under `flock /tmp/wolk-heavy.lock`.
import test from 'ava';
import { sha256 } from '../../../lib/crypto/index.js';
import { blockFromHeader } from '../../../services/consensus/wire.js';
import { startLiveCluster, untilTip, type LiveCluster } from './liveness-cluster.js';
import { logSeedOnFailure } from '../../helpers/seed.js';

// Its fixtures draw keys and data from the seeded test PRNG: a failure prints the seed that replays it.
logSeedOnFailure(test);

const hashCrypto = { hash: (...p: Uint8Array[]) => sha256(...p) } as Parameters<typeof blockFromHeader>[0];

const LAMBDA_MS = 150;
const WAIT_MS = 120_000;

let cluster: LiveCluster | undefined;
test.after.always(async () => {
  await cluster?.stop();
});

test('checks that disagree at first (2 of 4 fail their first check of every block): re-checks end every round', async (t) => {
  t.timeout(2 * WAIT_MS);
  cluster = await startLiveCluster({ lambdaMs: LAMBDA_MS });
  const attempts = new Map<string, number>();
  cluster.storageCheck = async (node, block) => {
    await new Promise((r) => setTimeout(r, 2.5 * LAMBDA_MS));
    const key = `${node}:${Buffer.from(block.hash).toString('hex')}`;
    const n = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, n);
    return node >= 2 && n === 1 ? 'test: no storer answered in time (first attempt)' : null;
  };
  const target = 3;
  await untilTip(cluster.nodes, target, WAIT_MS);
  for (const n of cluster.nodes.slice(2)) {
    const c = n.host.counters();
    t.true((c['storage-rechecks-passed'] ?? 0) >= 1, `node ${n.index} upgraded a block on re-check: ${JSON.stringify(c)}`);
  }
  for (const n of cluster.nodes.slice(0, 2)) t.is(n.host.counters()['storage-rechecks'] ?? 0, 0, `node ${n.index} vouched at once, never re-checked`);
  // One chain.
  const tips = new Set<string>();
  for (const n of cluster.nodes) {
    const b = await n.ledger.certifiedBlock(target);
    tips.add(b === null ? 'none' : Buffer.from(blockFromHeader(hashCrypto, b.block.header).hash).toString('hex'));
  }
  t.is(tips.size, 1);
});
