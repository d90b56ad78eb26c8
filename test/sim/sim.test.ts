// Simulation tier in CI: a few hundred seeds with mixed faults must show zero safety violations and
// liveness after healing; a deliberately broken core must be caught, so the checker can fail; a seed
// must replay exactly.
import test from 'ava';
import { parseFaults, runSimulation, type SimResult } from './simulator.js';

const MIXES = ['all', 'partition,crash', 'byzantine,drop,duplicate', 'delay,reorder,duplicate,crash', 'crash,byzantine', 'partition,byzantine,drop,reorder'];

function sweep(from: number, count: number, nodes: number, rounds: number, faults: (seed: number) => string): { failed: string[]; results: SimResult[] } {
  const failed: string[] = [];
  const results: SimResult[] = [];
  for (let seed = from; seed < from + count; seed++) {
    const f = faults(seed);
    const r = runSimulation({ seed, nodes, rounds, faults: parseFaults(f) });
    results.push(r);
    if (!r.ok) failed.push(`npm run sim -- --seed ${seed} --nodes ${nodes} --rounds ${rounds} --faults ${f}: ${r.violations.map((v) => `${v.kind}: ${v.message}`).join('; ')}`);
  }
  return { failed, results };
}

// Chunks of at most 50 seeds per test keep every test well inside ava's timeout on a loaded machine.
for (const from of [1, 51, 101]) {
  test(`7 nodes, seeds ${from}..${from + 49}, every fault at once: safe, and live after healing`, (t) => {
    const { failed, results } = sweep(from, 50, 7, 15, () => 'all');
    t.deepEqual(failed, []);
    // The faults really happened (the sweep is not vacuous).
    t.true(results.reduce((n, r) => n + r.crashes, 0) > 50);
    t.true(results.reduce((n, r) => n + r.partitions, 0) > 50);
    t.true(results.reduce((n, r) => n + (r.counters['equivocations-seen'] ?? 0), 0) > 300);
    t.true(results.reduce((n, r) => n + (r.counters['periods'] ?? 0), 0) > 300, 'recovery periods were exercised');
  });
}

for (const from of [10_001, 10_041, 10_081]) {
  test(`7 nodes, seeds ${from}..${from + 39}, rotating fault mixes`, (t) => {
    const { failed } = sweep(from, 40, 7, 15, (s) => MIXES[s % MIXES.length]!);
    t.deepEqual(failed, []);
  });
}

test('4 nodes (one Byzantine at most), 100 seeds, every fault', (t) => {
  const { failed } = sweep(20_001, 100, 4, 15, () => 'all');
  t.deepEqual(failed, []);
});

test('10 nodes, 30 seeds, every fault', (t) => {
  const { failed } = sweep(30_001, 30, 10, 10, () => 'all');
  t.deepEqual(failed, []);
});

test('16 nodes, 15 seeds, every fault', (t) => {
  const { failed } = sweep(40_001, 15, 16, 10, () => 'all');
  t.deepEqual(failed, []);
});

test('the checker catches a broken core: quorum at one third of stake forks under partitions', (t) => {
  const broken = (ref: Parameters<NonNullable<Parameters<typeof runSimulation>[0]['params']>>[0]) => {
    const threshold = Math.floor(ref.cert.size / 3);
    const c = { size: ref.cert.size, threshold };
    return { soft: c, cert: c, next: c };
  };
  let forks = 0;
  let badCerts = 0;
  for (let seed = 1; seed <= 10; seed++) {
    const r = runSimulation({ seed, nodes: 7, rounds: 20, faults: parseFaults('partition'), params: broken, checkCertificates: false });
    if (r.violations.some((v) => v.kind === 'fork')) forks++;
    const r2 = runSimulation({ seed, nodes: 7, rounds: 20, faults: parseFaults('partition'), params: broken });
    if (r2.violations.some((v) => v.kind === 'certificate')) badCerts++;
  }
  t.true(forks >= 5, `forks detected in ${forks}/10 seeds`);
  t.is(badCerts, 10, 'every run commits a certificate below the real threshold, and the checker sees it');
});

test('a seed replays exactly', (t) => {
  const run = (): SimResult => runSimulation({ seed: 99, nodes: 7, rounds: 10, faults: parseFaults('all') });
  const a = run();
  const b = run();
  t.deepEqual(
    [a.events, a.messages, a.simTime, a.atTarget, a.counters],
    [b.events, b.messages, b.simTime, b.atTarget, b.counters],
  );
});
