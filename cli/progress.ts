// A tiny progress bar on stderr: redrawn in place on a TTY, a line per 10% otherwise (logs stay readable).
export interface ProgressBar {
  update(done: number, total: number, phase: string): void;
  finish(): void;
}

export function progressBar(stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  const tty = stream.isTTY === true;
  let lastDraw = 0;
  let lastDecile = -1;
  let lastPhase = '';
  const started = Date.now();
  const mb = (n: number) => (n / 1e6).toFixed(1);
  return {
    update(done, total, phase) {
      const pct = total > 0 ? Math.min(100, Math.floor((done * 100) / total)) : 100;
      const rate = done / Math.max(0.001, (Date.now() - started) / 1000);
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100 && done < total && phase === lastPhase) return;
        lastDraw = now;
        const width = 30;
        const filled = Math.round((pct / 100) * width);
        stream.write(`\r${phase.padEnd(11)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${mb(done)}/${mb(total)} MB ${mb(rate)} MB/s `);
      } else {
        const decile = Math.floor(pct / 10);
        if (decile === lastDecile && phase === lastPhase) return;
        lastDecile = decile;
        stream.write(`${phase} ${pct}% (${mb(done)}/${mb(total)} MB)\n`);
      }
      lastPhase = phase;
    },
    finish() {
      if (tty) stream.write('\n');
    },
  };
}
