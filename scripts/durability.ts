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

const HOURS_PER_YEAR = 8760;
const TARGET = 1e-12;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
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
  const repairHours = Number(arg('repair-hours', '24'));
  const avails = list(arg('availability', '0.9,0.95,0.99,0.999'));
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
