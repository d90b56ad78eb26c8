// `npm run soak -- NAME [--flag value ...]`: long-running soaks, one module per name. Each prints a
// table and exits 0 when everything it checks held, 1 otherwise (docs/testing.md).
//   churn        storers killed and wiped for good while new ones join and uploads go on, the repairer on:
//                time from failure to restored N, bytes per repair, files lost; saves JSON (churn.ts)
//                --minutes 8  --kills 4  --joins <kills>  --users 2  --seed N  --out bench/results/churn.json
//   chaos        kill/restart random processes and inject network faults under load (chaos.ts)
//                --cycles 100  --seed N  --users 2
//   fuzz-devnet  garbage to every gRPC method and HTTP route of a devnet (garbage.ts)
//                --rounds 20  --seed N
//   resume       a large `wolk put` cut (client killed; gateway killed and restarted) resumes, byte-identical;
//                an abandoned upload is reclaimed (resume.ts)   --mb 500  --expiry-s 90  --seed N
//   s3-large     a large object through the AWS SDK multipart against `wolk s3` (s3-large.ts)
//                --mb 200  --seed N
// The resume and s3-large fixtures come from the test PRNG: --seed, else WOLK_TEST_SEED (test/helpers/seed.ts).
import { chaosPassed, formatReport, RECLAIM_AFTER_MS, runChaos } from './chaos.js';
import { TEST_SEED } from '../../test/helpers/seed.js';

function flag(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(args[i + 1]);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${name}: expected a non-negative integer, got ${JSON.stringify(args[i + 1])}`);
  return v;
}

function stringFlag(args: readonly string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`--${name}: expected a value`);
  return v;
}

const SOAKS: Record<string, (args: readonly string[]) => Promise<boolean>> = {
  async churn(args) {
    const { runChurn, CHURN_DEFAULTS } = await import('./churn.js');
    const { churnPassed, formatChurn } = await import('./churn-figures.js');
    const seed = flag(args, 'seed', TEST_SEED);
    const kills = flag(args, 'kills', CHURN_DEFAULTS.kills);
    const minutes = flag(args, 'minutes', CHURN_DEFAULTS.minutes);
    const f = await runChurn({
      seed,
      minutes,
      kills,
      joins: flag(args, 'joins', kills),
      users: flag(args, 'users', CHURN_DEFAULTS.users),
      repairIntervalMs: flag(args, 'repair-interval-ms', CHURN_DEFAULTS.repairIntervalMs),
      restoreWaitMs: flag(args, 'restore-wait-s', CHURN_DEFAULTS.restoreWaitMs / 1000) * 1000,
      out: stringFlag(args, 'out', CHURN_DEFAULTS.out),
    });
    process.stdout.write(`\n${formatChurn(f)}\n`);
    const ok = churnPassed(f);
    process.stdout.write(ok ? 'churn soak: PASSED\n' : `churn soak: FAILED (replay with npm run soak -- churn --seed ${seed} --minutes ${minutes} --kills ${kills})\n`);
    return ok;
  },
  async chaos(args) {
    const seed = flag(args, 'seed', Math.floor(Math.random() * 2 ** 31));
    const report = await runChaos({ cycles: flag(args, 'cycles', 100), seed, users: flag(args, 'users', 2), reclaimAfterMs: flag(args, 'reclaim-after-ms', RECLAIM_AFTER_MS) });
    process.stdout.write(`\n${formatReport(report)}\n`);
    const ok = chaosPassed(report);
    process.stdout.write(ok ? 'chaos soak: PASSED\n' : `chaos soak: FAILED (replay with npm run soak -- chaos --seed ${seed} --cycles ${report.cycles})\n`);
    return ok;
  },
  async 'fuzz-devnet'(args) {
    const { runDevnetFuzz, formatFuzzReport, fuzzPassed } = await import('./fuzz-devnet.js');
    const seed = flag(args, 'seed', Math.floor(Math.random() * 2 ** 31));
    const report = await runDevnetFuzz({ seed, rounds: flag(args, 'rounds', 20) });
    process.stdout.write(`\n${formatFuzzReport(report)}\n`);
    return fuzzPassed(report);
  },
  async resume(args) {
    const { runResumeSoak } = await import('./resume.js');
    const { formatSoakReport, soakPassed } = await import('./report.js');
    const seed = flag(args, 'seed', TEST_SEED);
    const report = await runResumeSoak({ seed, mb: flag(args, 'mb', 500), expirySeconds: flag(args, 'expiry-s', 90) });
    process.stdout.write(`\n${formatSoakReport('resume', report)}\n`);
    const ok = soakPassed(report);
    process.stdout.write(ok ? 'resume soak: PASSED\n' : `resume soak: FAILED (replay with npm run soak -- resume --seed ${seed})\n`);
    return ok;
  },
  async 's3-large'(args) {
    const { runS3LargeSoak } = await import('./s3-large.js');
    const { formatSoakReport, soakPassed } = await import('./report.js');
    const seed = flag(args, 'seed', TEST_SEED);
    const report = await runS3LargeSoak({ seed, mb: flag(args, 'mb', 200) });
    process.stdout.write(`\n${formatSoakReport('s3-large', report)}\n`);
    const ok = soakPassed(report);
    process.stdout.write(ok ? 's3-large soak: PASSED\n' : `s3-large soak: FAILED (replay with npm run soak -- s3-large --seed ${seed})\n`);
    return ok;
  },
};

const [name, ...rest] = process.argv.slice(2);
const soak = name ? SOAKS[name] : undefined;
if (!soak) {
  process.stderr.write(`usage: npm run soak -- <${Object.keys(SOAKS).join('|')}> [flags]  (docs/testing.md)\n`);
  process.exit(2);
}
soak(rest).then(
  (ok) => process.exit(ok ? 0 : 1),
  (err: unknown) => {
    process.stderr.write(`soak ${name}: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
