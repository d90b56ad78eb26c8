// A small progress display on stderr: redrawn in place on a TTY, a line per 10% otherwise (logs stay
// readable). Sizes are shown in the unit that fits (B, kB, MB, GB), so a 300-byte file is "300 B", not
// "0.0/0.0 MB". After the last byte of an upload it says what the gateway is doing until it answers
// (storers fetching and committing replicas, then the SetKey becoming final), with the seconds waited.
import type { ProgressPhase } from '../lib/client/client.js';

export interface ProgressBar {
  update(done: number, total: number, phase: ProgressPhase): void;
  finish(): void;
}

export interface ProgressStream {
  readonly isTTY?: boolean;
  write(s: string): unknown;
}

/** Bytes in decimal units, as `ls -h --si` would: 999 B, 1.5 kB, 12.3 MB, 1.07 GB. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  do {
    v /= 1000;
    i++;
  } while (v >= 1000 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

export const WAITING_TEXT = 'sent; waiting for the gateway: storers fetch and commit replicas, then the SetKey must become final';

export function progressBar(stream: ProgressStream = process.stderr, now: () => number = Date.now): ProgressBar {
  const tty = stream.isTTY === true;
  let lastDraw = 0;
  let lastDecile = -1;
  let lastPhase: ProgressPhase | '' = '';
  let started = now();
  let waitingSince = 0;
  let ticker: NodeJS.Timeout | undefined;
  const stopTicker = () => {
    if (ticker) clearInterval(ticker);
    ticker = undefined;
  };
  const drawWaiting = () => stream.write(`\r${WAITING_TEXT} (${Math.round((now() - waitingSince) / 1000)} s) `);
  return {
    update(done, total, phase) {
      if (phase !== lastPhase) {
        if (tty && lastPhase !== '') stream.write('\n');
        started = now();
        lastDecile = -1;
      }
      if (phase === 'waiting') {
        if (lastPhase === 'waiting') return;
        lastPhase = phase;
        waitingSince = now();
        if (tty) {
          drawWaiting();
          ticker = setInterval(drawWaiting, 1000);
          ticker.unref();
        } else {
          stream.write(`${WAITING_TEXT}\n`);
        }
        return;
      }
      const pct = total > 0 ? Math.min(100, Math.floor((done * 100) / total)) : 100;
      const rate = formatBytes(Math.round(done / Math.max(0.001, (now() - started) / 1000)));
      if (tty) {
        const t = now();
        if (t - lastDraw < 100 && done < total && phase === lastPhase) return;
        lastDraw = t;
        const width = 30;
        const filled = Math.round((pct / 100) * width);
        stream.write(`\r${phase.padEnd(11)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${formatBytes(done)} of ${formatBytes(total)}, ${rate}/s `);
      } else {
        const decile = Math.floor(pct / 10);
        if (decile === lastDecile && phase === lastPhase) return;
        lastDecile = decile;
        stream.write(`${phase} ${pct}% (${formatBytes(done)} of ${formatBytes(total)})\n`);
      }
      lastPhase = phase;
    },
    finish() {
      stopTicker();
      if (tty && lastPhase !== '') stream.write('\n');
      lastPhase = '';
    },
  };
}
