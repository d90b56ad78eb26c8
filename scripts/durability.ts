// Durability of a file kept by N storers (`npm run durability`; flags below). Prints, for N and storer
// availability, the probability of losing a file per file-year, computed analytically and by a seeded
// Monte-Carlo simulation, and marks where it is below 10^-12 (the table docs/rewards.md and the README quote).
//
// Model (conservative; docs/rewards.md "Durability"):
//   * Time runs in repair intervals of T hours. The rewards audit (DESIGN §6) finds, each interval, the
//     replicas that fail their challenge; those are re-replicated from a surviving replica before the
//     interval ends.
//   * Within an interval a replica is "gone" if its storer failed permanently (exponential with annual
//     failure rate AFR: P = 1 − (1 − AFR)^(T/8760)) or if the storer is unavailable when audited
//     (probability 1 − availability). Counting unavailability as loss is pessimistic: an unavailable
//     storer usually comes back with its data.
//   * Storers fail independently (distinct machines; sortition picks them at random).
//   q = 1 − (1 − P)·a is the per-replica, per-interval loss; a file is lost in an interval iff all N are
//   gone: q^N; per file-year: 1 − (1 − q^N)^(8760/T).
// Monte-Carlo: each replica-interval draws an exponential failure time and an availability coin from
// one seeded PRNG (mulberry32). Where q^N is large enough to observe (>= 1e-4) whole files are simulated
// and losses counted directly; below that, q is estimated from simulated replica-intervals and the
// estimate (with its 95% interval) is raised to the N-th power, since replicas are independent.
//
// Flags: --afr 0.05  --repair-hours 24  --availability 0.9,0.95,0.99,0.999  --n 2,3,4,6,8,10,12,16
//        --seed 1  --samples 1000000  (measured audit outcomes: pass the observed valid fraction as
//        --availability, e.g. valid / (valid + invalid + unreachable) from GetReputation totals).
//        --from-soak FILE: the churn soak's figures (`npm run soak -- churn`, bench/results/churn.json):
//        the repair interval becomes its measured failure → restored-N time (p99) and the availability
//        its audit outcomes' valid fraction, unless --repair-hours / --availability are given; AFR stays
//        assumed (the soak imposes its kills, it does not observe a failure rate). Which figure is
//        measured and which assumed is printed above the table.

import { readFileSync } from 'node:fs';

const HOURS_PER_YEAR = 8760;
const TARGET = 1e-12;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}
const given = (name: string) => process.argv.includes(`--${name}`);

/** The figures durability takes from a churn soak's JSON (scripts/soak/churn-figures.ts ChurnFigures). */
export interface SoakInputs {
  /** Failure → restored N, p99, in hours. */
  readonly repairHours: number;
  /** Valid fraction of the audit outcomes over the soak; null when nothing was audited. */
  readonly availability: number | null;
  /** One line per figure: what it is and where it came from. */
  readonly provenance: readonly string[];
}

/** Reads a churn soak's figures; errors say which field was missing or wrong. */
export function soakInputs(value: unknown, source = 'soak figures'): SoakInputs {
  const at = (v: unknown, ...path: string[]): unknown => path.reduce<unknown>((x, k) => (x !== null && typeof x === 'object' ? (x as Record<string, unknown>)[k] : undefined), v);
  if (at(value, 'soak') !== 'churn') throw new Error(`${source}: expected the churn soak's JSON ({"soak": "churn", ...}), got soak ${JSON.stringify(at(value, 'soak'))}`);
  const p99 = at(value, 'restoreMs', 'p99');
  if (typeof p99 !== 'number' || !(p99 > 0)) throw new Error(`${source}: restoreMs.p99: expected a positive number of ms (the soak restored no key?), got ${JSON.stringify(p99)}`);
  const a = at(value, 'audits', 'availability');
  const availability = typeof a === 'number' ? a : null;
  const p50 = Number(at(value, 'restoreMs', 'p50') ?? 0);
  return {
    repairHours: p99 / 3_600_000,
    availability,
    provenance: [
      `repair interval ${(p99 / 1000).toFixed(1)} s = ${(p99 / 3_600_000).toExponential(2)} h: measured, the soak's failure → restored-N time p99 over ${String(at(value, 'restoreMs', 'n'))} keys (p50 ${(p50 / 1000).toFixed(1)} s), ${String(at(value, 'date'))}, seed ${String(at(value, 'seed'))}, ${String(at(value, 'machine', 'cpus'))} cores at load ${Number(at(value, 'machine', 'loadStart')).toFixed(1)}`,
      availability === null
        ? 'availability: the soak has no audit outcomes'
        : `availability ${availability.toFixed(4)}: measured, audit outcomes of every storer over the soak (valid ${String(at(value, 'audits', 'valid'))}, invalid ${String(at(value, 'audits', 'invalid'))}, unreachable ${String(at(value, 'audits', 'unreachable'))}); the soak's own kills count as unavailable, so this is pessimistic`,
      `files lost in the soak: ${String(at(value, 'filesLost'))} of ${String(at(value, 'filesUploaded'))} (measured; far too few file-years to bound a 1e-12 rate directly)`,
    ],
  };
}

const list = (s: string) => s.split(',').map((x) => Number(x.trim()));

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Model {
  readonly afr: number;
  readonly repairHours: number;
  readonly availability: number;
  readonly n: number;
}

/** Per-replica loss in one interval. */
export function replicaLossPerInterval(m: Model): number {
  const fail = 1 - Math.pow(1 - m.afr, m.repairHours / HOURS_PER_YEAR);
  return 1 - (1 - fail) * m.availability;
}

/** P(lose the file) per file-year, analytically. -expm1/log1p keep precision down to 1e-300. */
export function analyticLossPerYear(m: Model): number {
  const qN = Math.pow(replicaLossPerInterval(m), m.n);
  return -Math.expm1((HOURS_PER_YEAR / m.repairHours) * Math.log1p(-qN));
}

/** Monte-Carlo estimate with a 95% interval. */
export function simulateLossPerYear(m: Model, rand: () => number, samples: number): { estimate: number; low: number; high: number; method: string } {
  const lambdaPerHour = -Math.log(1 - m.afr) / HOURS_PER_YEAR;
  const replicaGone = () => {
    const failureAt = -Math.log(1 - rand()) / lambdaPerHour; // exponential failure time (hours)
    return failureAt < m.repairHours || rand() >= m.availability;
  };
  const perYear = (qN: number) => -Math.expm1((HOURS_PER_YEAR / m.repairHours) * Math.log1p(-Math.min(qN, 1 - 1e-16)));
  const q = replicaLossPerInterval(m);
  if (Math.pow(q, m.n) >= 1e-4) {
    const files = Math.max(1, Math.floor(samples / m.n));
    let lost = 0;
    for (let f = 0; f < files; f++) {
      let all = true;
      for (let r = 0; r < m.n; r++) if (!replicaGone()) all = false;
      if (all) lost++;
    }
    const p = lost / files;
    const se = Math.sqrt((p * (1 - p)) / files);
    return { estimate: perYear(p), low: perYear(Math.max(0, p - 1.96 * se)), high: perYear(p + 1.96 * se), method: 'files' };
  }
  let gone = 0;
  for (let i = 0; i < samples; i++) if (replicaGone()) gone++;
  const qh = gone / samples;
  const se = Math.sqrt((qh * (1 - qh)) / samples);
  return {
    estimate: perYear(Math.pow(qh, m.n)),
    low: perYear(Math.pow(Math.max(0, qh - 1.96 * se), m.n)),
    high: perYear(Math.pow(qh + 1.96 * se, m.n)),
    method: 'replicas^N',
  };
}

function fmt(x: number): string {
  if (x === 0) return '0';
  return x.toExponential(2);
}

function main(): void {
  const afr = Number(arg('afr', '0.05'));
  const soakFile = given('from-soak') ? arg('from-soak', '') : null;
  const soak = soakFile ? soakInputs(JSON.parse(readFileSync(soakFile, 'utf8')), soakFile) : null;
  const repairHours = soak && !given('repair-hours') ? soak.repairHours : Number(arg('repair-hours', '24'));
  // From a soak: its measured availability, and 1 beside it (see the note printed below).
  const avails = soak && soak.availability !== null && !given('availability') ? [soak.availability, 1] : list(arg('availability', '0.9,0.95,0.99,0.999'));
  if (soak) {
    console.log(`Figures from ${soakFile}:`);
    console.log(`  ${given('repair-hours') ? `repair interval ${repairHours} h: given (--repair-hours), not the soak's` : `${soak.provenance[0]}`}`);
    console.log(`  ${given('availability') ? `availability ${avails.join(', ')}: given (--availability), not the soak's` : soak.provenance[1]}`);
    console.log(`  AFR ${afr}: assumed (${given('afr') ? '--afr' : 'default'}); the soak imposes its kills, it does not observe a failure rate`);
    console.log(`  ${soak.provenance[2]}`);
    console.log('  Note: the model counts a storer unavailable at an interval\'s audit as a lost replica, independently each');
    console.log('  interval. With an interval of seconds that coin is thrown 8760/T times a year, so the measured-availability');
    console.log('  column is dominated by that assumption, not by the soak; a=1 (unavailability never loses data: an unreachable');
    console.log('  storer keeps its bytes and is repaired after two failed audits, docs/repair.md §1) is the permanent-failure figure.\n');
  }
  const ns = list(arg('n', '2,3,4,6,8,10,12,16'));
  const seed = Number(arg('seed', '1'));
  const samples = Number(arg('samples', '1000000'));
  const rand = mulberry32(seed);
  const started = Date.now();
  console.log(`Wolk durability: P(lose a file) per file-year; AFR ${afr}, repair interval ${repairHours} h, seed ${seed}, ${samples} samples per cell`);
  console.log(`(unavailable at audit time counted as lost: pessimistic; ✓ = below ${TARGET.toExponential(0)})\n`);
  const header = ['N', ...avails.map((a) => `a=${a}`)];
  const rows: string[][] = [];
  const smallest = new Map<number, number>();
  for (const n of ns) {
    const row = [String(n)];
    for (const a of avails) {
      const m = { afr, repairHours, availability: a, n };
      const exact = analyticLossPerYear(m);
      const sim = simulateLossPerYear(m, rand, samples);
      const ok = exact < TARGET;
      if (ok && !smallest.has(a)) smallest.set(a, n);
      row.push(`${fmt(exact)}; mc ${fmt(sim.estimate)} [${fmt(sim.low)}, ${fmt(sim.high)}]${ok ? ' ✓' : ''}`);
    }
    rows.push(row);
  }
  const widths = header.map((_, i) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  console.log(line(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
  console.log('\nSmallest N below 1e-12 per file-year:');
  for (const a of avails) console.log(`  availability ${a}: ${smallest.has(a) ? `N >= ${smallest.get(a)}` : `none of N in {${ns.join(', ')}}`}`);
  console.log(`\n(${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
