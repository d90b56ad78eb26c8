// scripts/durability.ts: the analytic loss rate follows the model's closed form, and the seeded
// Monte-Carlo estimate agrees with it within its interval where losses are observable directly.
import test from 'ava';
import { analyticLossPerYear, replicaLossPerInterval, simulateLossPerYear, mulberry32 } from '../../../scripts/durability.js';

test('analytic: q^N per interval, compounded over a year; more replicas or availability lose less', (t) => {
  const m = { afr: 0.05, repairHours: 24, availability: 0.99, n: 3 };
  const q = 1 - Math.pow(0.95, 24 / 8760) * 0.99;
  t.true(Math.abs(replicaLossPerInterval(m) - q) < 1e-15);
  t.true(Math.abs(analyticLossPerYear(m) - (1 - Math.pow(1 - q ** 3, 365))) < 1e-12);
  t.true(analyticLossPerYear({ ...m, n: 4 }) < analyticLossPerYear(m));
  t.true(analyticLossPerYear({ ...m, availability: 0.999 }) < analyticLossPerYear(m));
  t.true(analyticLossPerYear({ ...m, n: 8 }) < 1e-12);
});

test('Monte-Carlo (seeded) agrees with the analytic value, directly and through replica estimates', (t) => {
  const rand = mulberry32(42);
  for (const m of [
    { afr: 0.05, repairHours: 24, availability: 0.9, n: 3 }, // direct file simulation
    { afr: 0.05, repairHours: 24, availability: 0.99, n: 6 }, // replica estimate ^ N
  ]) {
    const exact = analyticLossPerYear(m);
    const sim = simulateLossPerYear(m, rand, 1_000_000);
    t.true(sim.low <= exact * 1.05 && exact * 0.95 <= sim.high, `${JSON.stringify(m)}: exact ${exact}, mc [${sim.low}, ${sim.high}] (${sim.method})`);
  }
});
