// Dynamic filter timeout (go-algorand calculateFilterTimeout): after enough rounds certified in
// period 0, a node soft-votes once the 95th-percentile arrival time of past winning blocks (plus a
// grace) has passed instead of waiting the full 2λ. In the deterministic simulator: without faults
// the same chain is reached in less simulated time; with every fault at once nothing forks (the
// timeout only moves when a node soft-votes, never what it may vote for).
import test from 'ava';
import { parseFaults, runSimulation } from '../../sim/simulator.js';
import { smallNetworkParams } from '../../../services/consensus/agreement/params.js';

const off = () => ({ dynamicFilterHistory: 0 });
const short = () => ({ dynamicFilterHistory: 10, dynamicFilterIndex: 9 });

test('the small-network preset turns it on, bounded by λ below and 2λ above', (t) => {
  const p = smallNetworkParams(400n, { lambda: 100 });
  t.is(p.dynamicFilterHistory, 40);
  t.is(p.dynamicFilterIndex, 37);
  t.is(p.dynamicFilterLowerBound, 100);
  t.is(p.filterTimeout0, 200);
});

test('without faults the chain reaches 40 rounds in less simulated time', (t) => {
  let slower = 0;
  let faster = 0;
  for (let seed = 1; seed <= 5; seed++) {
    const a = runSimulation({ seed, nodes: 7, rounds: 40, faults: parseFaults('none'), params: off });
    const b = runSimulation({ seed, nodes: 7, rounds: 40, faults: parseFaults('none'), params: short });
    t.true(a.ok && b.ok, `seed ${seed}: ${[...a.violations, ...b.violations].map((v) => v.message).join('; ')}`);
    slower += a.simTime;
    faster += b.simTime;
  }
  t.log(`5 seeds × 40 rounds: ${slower} ms simulated with the static filter, ${faster} ms with the dynamic one`);
  t.true(faster < 0.85 * slower, `dynamic ${faster} ms vs static ${slower} ms`);
});

test('every fault at once, 30 seeds: safe and live with the dynamic filter timeout active', (t) => {
  const failed: string[] = [];
  for (let seed = 1; seed <= 30; seed++) {
    const r = runSimulation({ seed, nodes: 7, rounds: 20, faults: parseFaults('all'), params: short });
    if (!r.ok) failed.push(`seed ${seed}: ${r.violations.map((v) => `${v.kind}: ${v.message}`).join('; ')}`);
  }
  t.deepEqual(failed, []);
});
