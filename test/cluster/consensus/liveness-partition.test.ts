// Period catch-up in the multi-process node (issue #5): four in-process nodes over real gRPC. Node D
// is cut off while A, B and C run several periods without certifying (every block refused); then D
// comes back and C drops out. A, B and D are a quorum only if D reaches A and B's period, and the
// only evidence of that period is the quorum that started it (a next-vote bundle that includes C's
// votes). With bundles sent as loose votes D dropped them (more than one period ahead) and the three
// stalled for good; with the Bundle message D jumps forward and they finalize together. C then
// returns and catches up by rounds.
import test from 'ava';
import { blockFromHeader } from '../../../services/consensus/wire.js';
import { sha256 } from '../../../lib/crypto/index.js';
import { startLiveCluster, untilTip, type LiveCluster, type LiveNode } from './liveness-cluster.js';
import { pollUntil } from '../../helpers/poll.js';
import { logSeedOnFailure } from '../../helpers/seed.js';

// Its fixtures draw keys and data from the seeded test PRNG: a failure prints the seed that replays it.
logSeedOnFailure(test);

const LAMBDA_MS = 150;
// The machine may be shared with other test runs at load 10–20: wait for conditions, generously.
const WAIT_MS = 240_000;

let cluster: LiveCluster | undefined;
test.after.always(async () => {
  await cluster?.stop();
});

const hashCrypto = { hash: (...p: Uint8Array[]) => sha256(...p) } as Parameters<typeof blockFromHeader>[0];

const where = (n: LiveNode): string => {
  const s = n.host.status();
  return `r${s.round}/p${s.period}`;
};

async function hashAt(n: LiveNode, round: number): Promise<string> {
  const b = await n.ledger.certifiedBlock(round);
  if (b === null) throw new Error(`node ${n.index} has no block at round ${round}`);
  return Buffer.from(blockFromHeader(hashCrypto, b.block.header).hash).toString('hex');
}

test('a node left periods behind by a partition is pulled forward by a bundle and the chain goes on', async (t) => {
  t.timeout(8 * WAIT_MS);
  cluster = await startLiveCluster({ lambdaMs: LAMBDA_MS });
  const [a, b, c, d] = cluster.nodes as [LiveNode, LiveNode, LiveNode, LiveNode];
  await untilTip(cluster.nodes, 1, WAIT_MS);

  // No more blocks certify: every period ends with a ⊥ next quorum. Cut D off, then let A, B and C
  // run periods without it.
  cluster.rejectBlocks = true;
  // A round in flight may still be certified: wait until it settled, i.e. all four agree on the tip and
  // a period of the next round ended without a certificate.
  await pollUntil(() => cluster!.nodes.map((n) => ({ ...n.host.status(), tip: n.ledger.tip().round })), {
    what: 'all four to agree on the tip and end a period of the next round without certifying',
    deadlineMs: WAIT_MS,
    intervalMs: 100,
    until: (ss) => ss.every((s) => s.tip === ss[0]!.tip && s.round === s.tip + 1 && s.period >= 2),
    describe: (ss) => ss.map((s) => `tip ${s.tip} r${s.round}/p${s.period}`).join('; '),
  });
  cluster.connect(d.index, false);
  const stuck = Math.max(...cluster.nodes.map((n) => n.ledger.tip().round));
  const dPeriodAtCut = d.host.status().period;
  await pollUntil(() => [a, b, c].map((n) => n.host.status().period), {
    what: `A, B, C to reach period ${dPeriodAtCut + 4}`,
    deadlineMs: WAIT_MS,
    intervalMs: 100,
    until: (periods) => periods.every((p) => p >= dPeriodAtCut + 4),
    describe: () => [a, b, c].map(where).join(' '),
  });
  const ahead = Math.min(...[a, b, c].map((n) => n.host.status().period));
  const dStatus = d.host.status();
  t.log(`A, B, C at period ≥ ${ahead}; D at ${where(d)}; tips ${cluster.nodes.map((n) => n.ledger.tip().round).join(',')}`);
  t.true(ahead >= dStatus.period + 3 || dStatus.round < a.host.status().round, 'D is more than one period behind');

  // C leaves, D returns, blocks are accepted again: A, B, D (3 of 4) can finalize only together.
  cluster.connect(c.index, false);
  cluster.connect(d.index, true);
  cluster.rejectBlocks = false;
  const target = stuck + 3;
  await pollUntil(() => [a, b, d].map((n) => n.ledger.tip().round), {
    what: `A, B, D to finalize up to round ${target}`,
    deadlineMs: WAIT_MS,
    intervalMs: 100,
    until: (tips) => tips.every((r) => r >= target),
    describe: (tips) => `tips ${tips.join(',')}; D at ${where(d)}; D counters ${JSON.stringify(d.host.counters())}`,
  });

  // C returns and catches up; every node holds the same blocks.
  cluster.connect(c.index, true);
  await untilTip([c], target, WAIT_MS);
  for (let r = 1; r <= target; r++) {
    const hashes = await Promise.all(cluster.nodes.map((n) => hashAt(n, r)));
    t.is(new Set(hashes).size, 1, `round ${r}: nodes disagree`);
  }
});
