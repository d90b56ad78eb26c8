// scripts/durability.ts: the analytic loss rate follows the model's closed form, and the seeded
// Monte-Carlo estimate agrees with it within its interval where losses are observable directly.
import test from 'ava';
import { analyticLossPerYear, replicaLossPerInterval, simulateLossPerYear, mulberry32, soakInputs } from '../../../scripts/durability.js';

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

test('--from-soak: the repair interval is the soak\'s p99 failure → restored time, availability its audit outcomes', (t) => {
  const figures = { soak: 'churn', date: '2026-12-06T23:59:00Z', seed: 1, machine: { cpus: 2, loadStart: 7 }, restoreMs: { n: 12, p50: 20_000, p99: 72_000, max: 80_000 }, audits: { valid: 950, invalid: 0, unreachable: 50, availability: 0.95 }, filesLost: 0, filesUploaded: 40 };
  const s = soakInputs(figures, 'churn.json');
  t.is(s.repairHours, 0.02);
  t.is(s.availability, 0.95);
  t.regex(s.provenance[0]!, /72\.0 s .*measured.*over 12 keys/);
  t.regex(s.provenance[1]!, /0\.9500: measured/);
  t.regex(s.provenance[2]!, /0 of 40/);
  // Permanent failures only (a = 1): the measured interval loses far less than the assumed daily one.
  const m = { afr: 0.05, availability: 1, n: 3 };
  t.true(analyticLossPerYear({ ...m, repairHours: s.repairHours }) < analyticLossPerYear({ ...m, repairHours: 24 }) * 1e-6);
  // With a < 1 the per-interval unavailability coin, thrown 8760 / T times a year, dominates (why durability
  // prints the a = 1 column beside the measured availability).
  t.true(analyticLossPerYear({ ...m, availability: 0.95, repairHours: s.repairHours }) > analyticLossPerYear({ ...m, availability: 0.95, repairHours: 24 }));
  t.is(soakInputs({ ...figures, audits: {} }).availability, null);
  t.throws(() => soakInputs({ ...figures, soak: 'chaos' }, 'x.json'), { message: /x\.json: expected the churn soak's JSON/ });
  t.throws(() => soakInputs({ ...figures, restoreMs: { n: 0, p50: null, p99: null } }), { message: /restoreMs\.p99: expected a positive number/ });
});
