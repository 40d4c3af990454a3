/** A one-line progress bar with rate and ETA on a terminal; periodic plain lines when stderr is not a TTY. */
export class ProgressBar {
  private readonly start = Date.now();
  private lastPlain = 0;
  private printedDone = false;
  private readonly tty = process.stderr.isTTY === true;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit = 'img',
    private readonly quiet = false,
  ) {}

  update(done: number, extra = ''): void {
    if (this.quiet) return;
    const elapsed = (Date.now() - this.start) / 1000;
    // A bar made at the first event has no time behind it yet: no rate rather than a billion per second.
    const rate = elapsed >= 0.5 ? done / elapsed : NaN;
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    const frac = this.total ? done / this.total : 1;
    const width = 28;
    const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
    const text = `${this.label} ${bar} ${done}/${this.total} ${(frac * 100).toFixed(0)}% ${Number.isFinite(rate) ? rate.toFixed(1) : '--'} ${this.unit}/s ETA ${formatSeconds(eta)}${extra ? ' ' + extra : ''}`;
    if (this.tty) {
      process.stderr.write(`\r${text.slice(0, (process.stderr.columns || 120) - 1)}\x1b[K`);
    } else if (Date.now() - this.lastPlain > 10_000 || (done === this.total && !this.printedDone)) {
      this.lastPlain = Date.now();
      this.printedDone = done === this.total;
      process.stderr.write(text + '\n');
    }
  }

  done(extra = ''): void {
    if (this.quiet) return;
    this.update(this.total, extra);
    if (this.tty) process.stderr.write('\n');
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--';
  if (s < 59.5) return `${s.toFixed(0)}s`;
  // Whole seconds first, so 2 min 59.6 s reads 3m00s, never 2m60s.
  const total = Math.round(s);
  const m = Math.floor(total / 60);
  if (m < 60) return `${m}m${String(total % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
