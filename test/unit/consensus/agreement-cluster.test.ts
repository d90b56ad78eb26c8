// Whole-protocol checks on a few nodes: the happy path finalizes round after round, with the
// simulator's crypto and with the production one (RFC 9381 VRF + Ed25519).
import test from 'ava';
import { algorandParams, nextVoteRange, smallNetworkParams } from '../../../services/consensus/agreement/params.js';
import { Step } from '../../../services/consensus/agreement/types.js';
import { realCrypto } from '../../sim/real-crypto.js';
import { runSimulation } from '../../sim/simulator.js';

test('4 nodes, no faults: every node finalizes the same 10 blocks, one period per round', (t) => {
  const r = runSimulation({ seed: 42, nodes: 4, rounds: 10, faults: new Set() });
  t.true(r.ok, JSON.stringify(r.violations));
  t.deepEqual(r.heights, [10, 10, 10, 10]);
  t.is(new Set(r.atTarget).size, 1, 'one chain');
  t.not(r.atTarget[0], '');
  t.is(r.counters['periods'] ?? 0, 0, 'no recovery period needed on a healthy network');
  // Round time on a healthy devnet is about the filter timeout plus a few network delays.
  t.true(r.simTime < 10 * 4 * 50, `10 rounds took ${r.simTime} ms of simulated time`);
});

test('4 nodes with the production crypto finalize 3 blocks', (t) => {
  const r = runSimulation({ seed: 7, nodes: 4, rounds: 3, faults: new Set(), crypto: realCrypto });
  t.true(r.ok, JSON.stringify(r.violations));
  t.deepEqual(r.heights, [3, 3, 3, 3]);
  t.is(new Set(r.atTarget).size, 1);
});

test('params: Algorand committee figures and timings; small preset is a 2/3 stake quorum', (t) => {
  const a = algorandParams();
  t.deepEqual([a.proposerSize, a.soft, a.cert, a.next], [20, { size: 2990, threshold: 2267 }, { size: 1500, threshold: 1112 }, { size: 5000, threshold: 3838 }]);
  t.deepEqual([a.lambda, a.filterTimeout0], [2000, 4000]);
  const s = smallNetworkParams(700n);
  t.deepEqual(s.cert, { size: 700, threshold: 467 });
  t.is(smallNetworkParams(699n).cert.threshold, 467, '2/3 of 699 is 466: a quorum needs strictly more');
  t.throws(() => smallNetworkParams(0n));
});

test('params: next-vote windows start at the deadline and double up to the cap', (t) => {
  const p = smallNetworkParams(300n, { lambda: 10, deadlineTimeout: 40, maxRecoveryExtra: 40 });
  t.deepEqual(nextVoteRange(p, Step.next), { lower: 40, upper: 50 });
  t.deepEqual(nextVoteRange(p, Step.next + 1), { lower: 50, upper: 70 });
  t.deepEqual(nextVoteRange(p, Step.next + 2), { lower: 70, upper: 110 });
  t.deepEqual(nextVoteRange(p, Step.next + 3), { lower: 110, upper: 150 }, 'capped at maxRecoveryExtra');
});
