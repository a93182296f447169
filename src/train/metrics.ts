// Run logs under runs/<name>/: metrics.jsonl (one record per logged step), samples.jsonl (sample completions and
// other text), TensorBoard event files, and an in-memory history for the curves drawn at the end of a run.
// A checkpoint stores a MetricsPointer; resuming truncates metrics.jsonl and samples.jsonl to it so no step is
// logged twice.
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import { parseJsonl, readSourceFile } from "../data/jsonl.js";
import { FieldError } from "../data/errors.js";
import { EventFileWriter } from "./tensorboard.js";

export interface MetricsSink {
  scalars(step: number, values: Record<string, number>): void;
  text(step: number, tag: string, text: string): void;
  flush(): void;
  close(): void;
}

/** Where the metrics log stood when a checkpoint was written. */
export interface MetricsPointer {
  file: string;
  bytes: number;
  /** Length of samples.jsonl at the same moment (absent: leave it as it is). */
  samplesBytes?: number;
}

export interface MetricsRecord {
  step: number;
  time: number;
  values: Record<string, number>;
}

/** JSON has no NaN or infinities; they are logged as the strings "NaN", "Infinity", "-Infinity". */
function encodeNumber(value: number): number | string {
  return Number.isFinite(value) ? value : String(value);
}

function decodeNumber(value: unknown, field: string): number {
  if (typeof value === "number") return value;
  if (value === "NaN" || value === "Infinity" || value === "-Infinity") return Number(value);
  throw new FieldError(field, `expected a number, got ${JSON.stringify(value)}`);
}

/** Reads metrics.jsonl back (a DataError with the line for a malformed record). */
export function readMetricsJsonl(file: string): MetricsRecord[] {
  return parseJsonl(readSourceFile(file), file, (row) => {
    const { step, time, ...rest } = row;
    const values: Record<string, number> = {};
    for (const [name, value] of Object.entries(rest)) values[name] = decodeNumber(value, name);
    return { step: decodeNumber(step, "step"), time: decodeNumber(time, "time"), values };
  }).items;
}

/** Appends JSON lines to a file, optionally truncating it first to a saved byte offset. */
class JsonlAppender {
  private fd: number | undefined;
  bytes: number;

  constructor(
    readonly path: string,
    truncateTo?: number,
  ) {
    this.fd = openSync(path, existsSync(path) ? "r+" : "w+");
    const size = fstatSync(this.fd).size;
    if (truncateTo !== undefined) {
      if (truncateTo > size) throw new Error(`${path}: cannot resume at byte ${truncateTo}, the file has only ${size} bytes`);
      ftruncateSync(this.fd, truncateTo);
    }
    this.bytes = truncateTo ?? size;
  }

  append(record: Record<string, unknown>): void {
    if (this.fd === undefined) throw new Error(`${this.path}: closed`);
    const line = Buffer.from(`${JSON.stringify(record)}\n`);
    writeSync(this.fd, line, 0, line.length, this.bytes);
    this.bytes += line.length;
  }

  flush(): void {
    if (this.fd !== undefined) fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === undefined) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
  }
}

export interface RunLogOptions {
  tensorboard?: boolean;
  /** Resume: truncate metrics.jsonl to this pointer and reload the history before it. */
  resumeAt?: MetricsPointer;
  now?: () => number;
}

/** All of a run's logs behind one MetricsSink. */
export class RunLog implements MetricsSink {
  readonly metricsPath: string;
  readonly samplesPath: string;
  /** Every scalar logged in this run (including before a resume), for the end-of-run curves. */
  readonly history = new Map<string, [step: number, value: number][]>();
  private readonly metrics: JsonlAppender;
  private readonly samples: JsonlAppender;
  private readonly events: EventFileWriter | undefined;
  private readonly now: () => number;

  constructor(
    readonly runDir: string,
    options: RunLogOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.metricsPath = join(runDir, "metrics.jsonl");
    this.samplesPath = join(runDir, "samples.jsonl");
    this.metrics = new JsonlAppender(this.metricsPath, options.resumeAt?.bytes);
    if (this.metrics.bytes > 0) {
      for (const record of readMetricsJsonl(this.metricsPath)) this.remember(record.step, record.values);
    }
    this.samples = new JsonlAppender(this.samplesPath, options.resumeAt?.samplesBytes);
    this.events = options.tensorboard === false ? undefined : new EventFileWriter(runDir, this.now);
  }

  private remember(step: number, values: Record<string, number>): void {
    for (const [name, value] of Object.entries(values)) {
      let series = this.history.get(name);
      if (!series) this.history.set(name, (series = []));
      series.push([step, value]);
    }
  }

  scalars(step: number, values: Record<string, number>): void {
    const time = this.now() / 1000;
    const record: Record<string, unknown> = { step, time };
    for (const [name, value] of Object.entries(values)) {
      if (name === "step" || name === "time") throw new Error(`metric name "${name}" is reserved`);
      record[name] = encodeNumber(value);
    }
    this.metrics.append(record);
    this.events?.scalars(step, values, time);
    this.remember(step, values);
  }

  text(step: number, tag: string, text: string): void {
    const time = this.now() / 1000;
    this.samples.append({ step, time, tag, text });
    this.events?.text(step, tag, text, time);
  }

  /** The position to store in a checkpoint. */
  pointer(): MetricsPointer {
    return { file: "metrics.jsonl", bytes: this.metrics.bytes, samplesBytes: this.samples.bytes };
  }

  flush(): void {
    this.metrics.flush();
    this.samples.flush();
    this.events?.flush();
  }

  close(): void {
    this.metrics.close();
    this.samples.close();
    this.events?.close();
  }
}
