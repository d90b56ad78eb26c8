// `npm run sim -- --seed S | --seeds A..B  --nodes N --rounds R --faults LIST [--lambda MS] [--no-relay] [--no-recheck]
//   [--crypto sim|real] [--verbose]`  (faults: delay,drop,duplicate,reorder,partition,crash,byzantine,
//   storage-flaky,storage-missing | all | none)
// Prints one line per seed and a summary; exits 1 on any violation with the command that replays it.

import { realCrypto } from './real-crypto.js';
import { parseFaults, runSimulation, type Fault, type SimResult } from './simulator.js';

export interface CliOptions {
  seeds: number[];
  nodes: number;
  rounds: number;
  faults: Set<Fault>;
  faultsText: string;
  lambda: number;
  relay: boolean;
  rechecks: boolean;
  verbose: boolean;
  crypto: 'sim' | 'real';
}

export function parseArgs(argv: readonly string[]): CliOptions {
  const o: CliOptions = { seeds: [1], nodes: 7, rounds: 20, faults: new Set(), faultsText: 'none', lambda: 50, relay: true, rechecks: true, verbose: false, crypto: 'sim' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new RangeError(`${a} needs a value`);
      return v;
    };
    const int = (s: string): number => {
      const n = Number(s);
      if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${a}: expected a non-negative integer, got "${s}"`);
      return n;
    };
    switch (a) {
      case '--seed':
        o.seeds = [int(val())];
        break;
      case '--seeds': {
        const m = /^(\d+)\.\.(\d+)$/.exec(val());
        if (m === null) throw new RangeError('--seeds expects A..B');
        const lo = int(m[1]!);
        const hi = int(m[2]!);
        o.seeds = Array.from({ length: Math.max(0, hi - lo + 1) }, (_, k) => lo + k);
        break;
      }
      case '--nodes':
        o.nodes = int(val());
        break;
      case '--rounds':
        o.rounds = int(val());
        break;
      case '--faults':
        o.faultsText = val();
        o.faults = parseFaults(o.faultsText);
        break;
      case '--lambda':
        o.lambda = int(val());
        break;
      case '--no-relay':
        o.relay = false;
        break;
      case '--no-recheck':
        o.rechecks = false;
        break;
      case '--crypto': {
        const c = val();
        if (c !== 'sim' && c !== 'real') throw new RangeError(`--crypto expects sim or real, got "${c}"`);
        o.crypto = c;
        break;
      }
      case '--verbose':
        o.verbose = true;
        break;
      default:
        throw new RangeError(`unknown argument "${a}"`);
    }
  }
  return o;
}

export function replayCommand(o: CliOptions, seed: number): string {
  return `npm run sim -- --seed ${seed} --nodes ${o.nodes} --rounds ${o.rounds} --faults ${o.faultsText}${o.lambda !== 50 ? ` --lambda ${o.lambda}` : ''}${o.relay ? '' : ' --no-relay'}${o.rechecks ? '' : ' --no-recheck'}${o.crypto === 'real' ? ' --crypto real' : ''}`;
}

export function formatResult(r: SimResult, wallMs: number): string {
  const status = r.ok ? 'ok  ' : 'FAIL';
  const periods = r.counters['periods'] ?? 0;
  return (
    `seed ${r.seed} ${status} heights ${Math.min(...r.heights)}..${Math.max(...r.heights)}/${r.target} ` +
    `heal@${r.healAt}ms end@${r.simTime}ms byz=${r.byzantine} crashes=${r.crashes} partitions=${r.partitions} ` +
    `periods=${periods}${r.storageChecks > 0 ? ` storage-fails=${r.storageFailures}/${r.storageChecks} rechecks=${r.rechecks}` : ''}${r.missingProposed > 0 ? ` missing=${r.missingProposed}` : ''} ` +
    `events=${r.events} msgs=${r.messages} wall=${wallMs.toFixed(0)}ms`
  );
}

function main(): void {
  let o: CliOptions;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  const t0 = performance.now();
  const failed: SimResult[] = [];
  let events = 0;
  let worstRecovery = 0;
  for (const seed of o.seeds) {
    const s0 = performance.now();
    const r = runSimulation({
      seed,
      nodes: o.nodes,
      rounds: o.rounds,
      faults: o.faults,
      lambda: o.lambda,
      relay: o.relay,
      rechecks: o.rechecks,
      ...(o.crypto === 'real' ? { crypto: realCrypto } : {}),
    });
    events += r.events;
    if (r.ok) worstRecovery = Math.max(worstRecovery, r.simTime - r.healAt);
    console.log(formatResult(r, performance.now() - s0));
    if (!r.ok) {
      failed.push(r);
      for (const v of r.violations) console.log(`  VIOLATION ${v.kind} at ${v.time}ms: ${v.message}`);
      console.log(`  replay: ${replayCommand(o, seed)}`);
    }
    if (o.verbose) console.log(`  counters ${JSON.stringify(r.counters)}`);
  }
  const wall = (performance.now() - t0) / 1000;
  console.log(
    `summary: ${o.seeds.length} seeds, ${o.seeds.length - failed.length} ok, ${failed.length} failed ` +
      `(nodes=${o.nodes} rounds=${o.rounds} faults=${o.faultsText}) events=${events} ` +
      `worst heal-to-target=${worstRecovery}ms wall=${wall.toFixed(1)}s`,
  );
  if (failed.length > 0) {
    console.log(`first failure: ${replayCommand(o, failed[0]!.seed)}`);
    process.exit(1);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
