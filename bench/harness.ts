// Benchmark harness: every figure is printed beside a baseline measured in the same run, as a ratio,
// and the whole table is saved as JSON under bench/results/ so runs can be compared over time.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, totalmem } from 'node:os';

/** One measured figure; `baseline` is the reference measured in the same run, in the same unit. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  baselineName?: string;
  /** Human-readable goal, e.g. ">= 0.8x baseline"; `goalRatio` makes it checkable. */
  goal?: string;
  /** Minimum acceptable value/baseline ratio (or maximum when `lowerIsBetter`). */
  goalRatio?: number;
  /** For figures like latency or memory, where smaller is better. */
  lowerIsBetter?: boolean;
  /** An absolute goal for figures without a ratio (e.g. peak RSS <= 200 MB). */
  goalAbsolute?: number;
}

export interface BenchContext {
  /** Records one row of the table. */
  row(row: BenchRow): void;
  /** Scratch directory for this benchmark, removed by nobody: under .wolk/bench/<name>. */
  readonly workDir: string;
  /** Progress line on stderr, so the table on stdout stays clean. */
  log(message: string): void;
}

export interface BenchModule {
  run(ctx: BenchContext): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));

function ratioOf(row: BenchRow): number | undefined {
  if (row.baseline === undefined || row.baseline === 0) return undefined;
  return row.value / row.baseline;
}

function verdict(row: BenchRow): string {
  const ratio = ratioOf(row);
  if (row.goalRatio !== undefined && ratio !== undefined) {
    const ok = row.lowerIsBetter ? ratio <= row.goalRatio : ratio >= row.goalRatio;
    return ok ? 'met' : 'MISSED';
  }
  if (row.goalAbsolute !== undefined) {
    const ok = row.lowerIsBetter ? row.value <= row.goalAbsolute : row.value >= row.goalAbsolute;
    return ok ? 'met' : 'MISSED';
  }
  return '';
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1000) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  return n.toFixed(3);
}

export function renderTable(rows: BenchRow[]): string {
  const header = ['figure', 'value', 'unit', 'baseline', 'baseline is', 'ratio', 'goal', 'verdict'];
  const body = rows.map((r) => {
    const ratio = ratioOf(r);
    return [
      r.name,
      fmt(r.value),
      r.unit,
      r.baseline === undefined ? '' : fmt(r.baseline),
      r.baselineName ?? '',
      ratio === undefined ? '' : `${ratio.toFixed(2)}x`,
      r.goal ?? '',
      verdict(r),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [line(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line)].join('\n');
}

/** Runs one named benchmark module and saves its results. */
export async function runBench(name: string, mod: BenchModule): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const workDir = join(here, '..', '.wolk', 'bench', name);
  mkdirSync(workDir, { recursive: true });
  const ctx: BenchContext = {
    row: (r) => {
      rows.push(r);
      process.stderr.write(`  ${r.name}: ${fmt(r.value)} ${r.unit}\n`);
    },
    workDir,
    log: (m) => process.stderr.write(`[${name}] ${m}\n`),
  };
  await mod.run(ctx);
  const table = renderTable(rows);
  process.stdout.write(`\n## bench: ${name}\n\n${table}\n`);
  const resultsDir = join(here, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const record = {
    bench: name,
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memBytes: totalmem(), node: process.version },
    rows: rows.map((r) => ({ ...r, ratio: ratioOf(r), verdict: verdict(r) || undefined })),
  };
  writeFileSync(join(resultsDir, `${name}.json`), JSON.stringify(record, null, 2) + '\n');
  return rows;
}

/** Peak resident set size of a process, read from /proc (Linux): VmHWM in bytes. */
export function peakRssOfPid(pid: number): number | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
