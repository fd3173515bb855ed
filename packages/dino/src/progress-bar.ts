// A terminal progress bar for training loops: one line, rewritten in place on a TTY
// (carriage return), printed every `everyLines`-th update otherwise (logs, CI).
//   epoch 2/10 [########------------]  40/100  loss 5.1234  lr 2.00e-4  wd 0.0412  mom 0.99612  H 3.21  12.5 it/s  eta 0:05

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface ProgressBarOptions {
  /** Label before the bar, e.g. "epoch 2/10". */
  label?: string;
  width?: number;
  stream?: ProgressStream;
  /** Without a TTY, print one line every this many updates (and the last one). */
  everyLines?: number;
  /** Clock in milliseconds (for tests). */
  now?: () => number;
}

/** Numbers as a reader wants them: small or large magnitudes in exponent form, others with 4 decimals. */
export function formatMetric(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const a = Math.abs(value);
  if (a !== 0 && (a < 1e-2 || a >= 1e5)) return value.toExponential(2);
  return value.toFixed(4);
}

/** m:ss or h:mm:ss. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

export class ProgressBar {
  readonly total: number;
  private readonly label: string;
  private readonly width: number;
  private readonly stream: ProgressStream;
  private readonly everyLines: number;
  private readonly now: () => number;
  private readonly start: number;
  private updates = 0;

  constructor(total: number, options: ProgressBarOptions = {}) {
    if (!Number.isInteger(total) || total < 1) throw new Error(`ProgressBar: total must be a positive integer, got ${total}`);
    this.total = total;
    this.label = options.label ?? '';
    this.width = options.width ?? 20;
    this.stream = options.stream ?? process.stderr;
    this.everyLines = options.everyLines ?? Math.max(1, Math.ceil(total / 20));
    this.now = options.now ?? (() => performance.now());
    this.start = this.now();
  }

  /** The line for `done` of `total` steps with these metrics. */
  render(done: number, metrics: Record<string, number> = {}): string {
    const fraction = Math.min(Math.max(done / this.total, 0), 1);
    const filled = Math.round(fraction * this.width);
    const elapsed = (this.now() - this.start) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? (this.total - done) / rate : Infinity;
    const parts = [
      ...(this.label ? [this.label] : []),
      `[${'#'.repeat(filled)}${'-'.repeat(this.width - filled)}]`,
      `${String(done).padStart(String(this.total).length)}/${this.total}`,
      ...Object.entries(metrics).map(([k, v]) => `${k} ${formatMetric(v)}`),
      `${rate.toFixed(1)} it/s`,
      `eta ${formatDuration(eta)}`,
    ];
    return parts.join('  ');
  }

  /** Shows progress after `done` steps. */
  update(done: number, metrics: Record<string, number> = {}): void {
    this.updates++;
    const last = done >= this.total;
    if (this.stream.isTTY) this.stream.write(`\r${this.render(done, metrics)}\x1b[K${last ? '\n' : ''}`);
    else if (last || this.updates % this.everyLines === 0) this.stream.write(`${this.render(done, metrics)}\n`);
  }

  /** Prints a message on its own line without breaking the bar (warnings, collapse reports). */
  log(message: string): void {
    this.stream.write(this.stream.isTTY ? `\r\x1b[K${message}\n` : `${message}\n`);
  }
}
