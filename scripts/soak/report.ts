// What the issue-22 soaks (resume.ts, s3-large.ts) report: each checked property with what was
// measured, printed as a table; the soak passed when every check held.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** One checked property: what was measured, against what, and whether it held. */
export interface SoakCheck {
  readonly check: string;
  readonly measured: string;
  readonly ok: boolean;
}

export interface SoakReport {
  readonly seed: number;
  readonly checks: SoakCheck[];
  readonly durationMs: number;
  /** The machine's 1-minute load average when the soak started and when it ended (the 2 cores are shared). */
  readonly load: readonly [number, number];
}

export function formatSoakReport(title: string, r: SoakReport): string {
  const header = ['', 'check', 'measured'];
  const rows = r.checks.map((c) => [c.ok ? 'held' : 'FAILED', c.check, c.measured]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [`## soak: ${title} (seed ${r.seed}, ${(r.durationMs / 1000).toFixed(0)} s, load average ${r.load[0].toFixed(1)} at the start, ${r.load[1].toFixed(1)} at the end)`, '', line(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.map(line)].join('\n');
}

export const soakPassed = (r: SoakReport): boolean => r.checks.length > 0 && r.checks.every((c) => c.ok);

/** This process's peak resident set (VmHWM, Linux), to show that a soak streamed its files instead of holding them. */
export function peakRssCheck(fileBytes: number, limitBytes = 256e6): SoakCheck {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  const peak = m ? Number(m[1]) * 1024 : NaN;
  return { check: `the soak's own peak RSS <= ${(limitBytes / 1e6).toFixed(0)} MB (files streamed, never held)`, measured: `${(peak / 1e6).toFixed(0)} MB with ${(fileBytes / 1e6).toFixed(0)} MB files`, ok: peak <= limitBytes };
}

/** A soak in progress: its progress log, the checks it records (each logged as it is made), and its report. */
export interface SoakRun {
  readonly log: (line: string) => void;
  check(check: string, measured: string, ok: boolean): void;
  /** Every check so far held (and there was at least one). */
  passed(): boolean;
  report(): SoakReport;
}

/** Starts the clock and the load reading of soak `name`; `log` defaults to stderr, prefixed. */
export function startSoak(name: string, seed: number, log?: (line: string) => void): SoakRun {
  const say = log ?? ((line: string) => process.stderr.write(`[soak ${name}] ${line}\n`));
  const t0 = Date.now();
  const load0 = loadavg()[0]!;
  const checks: SoakCheck[] = [];
  return {
    log: say,
    check(check, measured, ok) {
      checks.push({ check, measured, ok });
      say(`${ok ? 'ok  ' : 'FAIL'} ${check}: ${measured}`);
    },
    passed: () => soakPassed({ seed, checks, durationMs: 0, load: [load0, load0] }),
    report: () => ({ seed, checks, durationMs: Date.now() - t0, load: [load0, loadavg()[0]!] }),
  };
}
