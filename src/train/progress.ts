// A terminal progress bar with rate and ETA on stderr. On a TTY it redraws one line (at most ~10 times a
// second); elsewhere (CI logs, files) it prints a plain line every `periodSeconds` and at the end.
import { formatDuration } from "./duration.js";

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  total: number;
  label?: string;
  stream?: ProgressStream;
  /** Seconds between plain lines when the stream is not a TTY. Default 60. */
  periodSeconds?: number;
  now?: () => number;
}

export class ProgressBar {
  private readonly stream: ProgressStream;
  private readonly now: () => number;
  private readonly periodMs: number;
  private startTime: number | undefined;
  private startDone = 0;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private done = 0;
  private info = "";

  constructor(private readonly options: ProgressOptions) {
    if (!Number.isInteger(options.total) || options.total < 0) throw new RangeError(`progress total must be a non-negative integer, got ${options.total}`);
    this.stream = options.stream ?? process.stderr;
    this.now = options.now ?? Date.now;
    this.periodMs = (options.periodSeconds ?? 60) * 1000;
  }

  /** Seconds per unit and the remaining time, from the units done since the first update (resume-aware). */
  estimate(): { secondsPerUnit: number; etaSeconds: number } {
    const units = this.done - this.startDone;
    if (this.startTime === undefined || units <= 0) return { secondsPerUnit: Number.NaN, etaSeconds: Number.NaN };
    const secondsPerUnit = (this.now() - this.startTime) / 1000 / units;
    return { secondsPerUnit, etaSeconds: secondsPerUnit * (this.options.total - this.done) };
  }

  /** The status text, e.g. `grpo [#####.....] 50/100 50% 1.20s/it elapsed 1m00s eta 1m00s loss 0.31`. */
  render(barWidth = 20): string {
    const { total, label } = this.options;
    const fraction = total === 0 ? 1 : Math.min(1, this.done / total);
    const filled = Math.round(fraction * barWidth);
    const { secondsPerUnit, etaSeconds } = this.estimate();
    const elapsed = this.startTime === undefined ? 0 : (this.now() - this.startTime) / 1000;
    const rate = Number.isFinite(secondsPerUnit) ? `${secondsPerUnit.toFixed(2)}s/it` : "-s/it";
    const parts = [
      ...(label ? [label] : []),
      `[${"#".repeat(filled)}${".".repeat(barWidth - filled)}]`,
      `${this.done}/${total}`,
      `${Math.floor(fraction * 100)}%`,
      rate,
      `elapsed ${formatDuration(elapsed)}`,
      `eta ${formatDuration(etaSeconds)}`,
    ];
    if (this.info) parts.push(this.info);
    return parts.join(" ");
  }

  update(done: number, info = ""): void {
    const now = this.now();
    if (this.startTime === undefined) {
      this.startTime = now;
      this.startDone = done;
    }
    this.done = done;
    this.info = info;
    if (this.stream.isTTY) {
      if (now - this.lastDraw < 100) return;
      const width = this.stream.columns ?? 100;
      this.stream.write(`\r\x1b[2K${this.render().slice(0, Math.max(20, width - 1))}`);
    } else {
      if (now - this.lastDraw < this.periodMs) return;
      this.stream.write(`${this.render()}\n`);
    }
    this.lastDraw = now;
  }

  /** Draws the final state and ends the line. */
  finish(info = this.info): void {
    this.lastDraw = Number.NEGATIVE_INFINITY;
    this.info = info;
    if (this.startTime === undefined) this.startTime = this.now();
    this.stream.write(this.stream.isTTY ? `\r\x1b[2K${this.render()}\n` : `${this.render()}\n`);
  }
}
