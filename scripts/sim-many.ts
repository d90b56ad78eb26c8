// Runs many simulation seeds (10,000+ by default) in chunks across CPU cores and prints one summary
// line to quote. Each chunk is a child process running the simulator CLI; a failing chunk prints the
// replay command of its first failing seed.
//
//   node --import tsx scripts/sim-many.ts [--from 1] [--count 10000] [--chunk 250] [--jobs N]
//     [--nodes 7] [--rounds 20] [--faults all]

import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

interface Options {
  from: number;
  count: number;
  chunk: number;
  jobs: number;
  nodes: number;
  rounds: number;
  faults: string;
}

function parse(argv: readonly string[]): Options {
  const o: Options = { from: 1, count: 10_000, chunk: 250, jobs: availableParallelism(), nodes: 7, rounds: 20, faults: 'all' };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]!;
    const v = argv[i + 1];
    if (v === undefined) throw new RangeError(`${k} needs a value`);
    const key = k.replace(/^--/, '') as keyof Options;
    if (!(key in o)) throw new RangeError(`unknown argument ${k}`);
    if (key === 'faults') o.faults = v;
    else {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${k}: expected a positive integer, got ${v}`);
      o[key] = n;
    }
  }
  return o;
}

interface ChunkResult {
  lo: number;
  hi: number;
  ok: number;
  failed: number;
  events: number;
  firstFailure: string | null;
  code: number | null;
}

const cli = fileURLToPath(new URL('../test/sim/cli.ts', import.meta.url));

function runChunk(o: Options, lo: number, hi: number): Promise<ChunkResult> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', cli, '--seeds', `${lo}..${hi}`, '--nodes', String(o.nodes), '--rounds', String(o.rounds), '--faults', o.faults],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => (out += d));
    child.on('close', (code) => {
      const m = /summary: (\d+) seeds, (\d+) ok, (\d+) failed .* events=(\d+)/.exec(out);
      const ff = /first failure: (.*)/.exec(out);
      const violations = out.split('\n').filter((l) => l.includes('VIOLATION'));
      if (violations.length > 0) console.log(violations.slice(0, 3).join('\n'));
      resolve({
        lo,
        hi,
        ok: m ? Number(m[2]) : 0,
        failed: m ? Number(m[3]) : hi - lo + 1,
        events: m ? Number(m[4]) : 0,
        firstFailure: ff ? ff[1]! : m ? null : `chunk ${lo}..${hi} crashed (exit ${code})`,
        code,
      });
    });
  });
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const t0 = performance.now();
  const chunks: [number, number][] = [];
  for (let lo = o.from; lo < o.from + o.count; lo += o.chunk) chunks.push([lo, Math.min(o.from + o.count - 1, lo + o.chunk - 1)]);
  const results: ChunkResult[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < chunks.length) {
      const [lo, hi] = chunks[next++]!;
      const r = await runChunk(o, lo, hi);
      results.push(r);
      const done = results.reduce((n, x) => n + x.ok + x.failed, 0);
      console.log(
        `chunk ${lo}..${hi}: ${r.ok} ok, ${r.failed} failed${r.firstFailure ? ` (${r.firstFailure})` : ''} ` +
          `[${done}/${o.count} seeds, ${((performance.now() - t0) / 1000).toFixed(0)}s]`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.jobs) }, worker));
  const ok = results.reduce((n, r) => n + r.ok, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const events = results.reduce((n, r) => n + r.events, 0);
  const wall = (performance.now() - t0) / 1000;
  console.log(
    `sim-many: ${ok + failed} seeds ${o.from}..${o.from + o.count - 1} (nodes=${o.nodes} rounds=${o.rounds} faults=${o.faults}): ` +
      `${ok} ok, ${failed} failed; ${events} events; ${wall.toFixed(0)}s wall on ${o.jobs} jobs`,
  );
  const failures = results.filter((r) => r.firstFailure !== null).sort((a, b) => a.lo - b.lo);
  if (failures.length > 0) {
    for (const r of failures) console.log(`  ${r.firstFailure}`);
    process.exit(1);
  }
}

void main();
