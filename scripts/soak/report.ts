// What the issue-22 soaks (resume.ts, s3-large.ts) report: each checked property with what was
// measured, printed as a table; the soak passed when every check held.

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
}

export function formatSoakReport(title: string, r: SoakReport): string {
  const header = ['', 'check', 'measured'];
  const rows = r.checks.map((c) => [c.ok ? 'held' : 'FAILED', c.check, c.measured]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [`## soak: ${title} (seed ${r.seed}, ${(r.durationMs / 1000).toFixed(0)} s)`, '', line(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.map(line)].join('\n');
}

export const soakPassed = (r: SoakReport): boolean => r.checks.length > 0 && r.checks.every((c) => c.ok);
