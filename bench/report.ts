// Records of the device benchmark and their outputs: the terminal table, the JSON file (one record per device and
// phase), ratios against an earlier JSON file, and an SVG bar chart comparing the devices.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { escapeXml, formatTick } from "../src/train/svg_chart.js";
import type { DeviceLimits } from "./limits.js";
import type { PartMeasurement, PhaseMeasurement } from "./phases.js";

export interface PartRecord {
  medianMs: number;
  /** Share of the phase's median time. */
  share: number;
  flopsPerSecond: number;
  bytesPerSecond?: number;
  bound: "compute" | "memory";
  utilization: number | null;
}

export interface BenchRecord {
  device: string;
  phase: string;
  model: string;
  /** Why the device could not run: set only for an absent device, whose figures are all null. */
  absent?: string;
  medianMs: number | null;
  tokensPerSecond: number | null;
  /** Achieved rate over the device's limit (bandwidth for memory-bound phases, FLOP/s otherwise), 0..1. */
  utilization: number | null;
  bound?: "compute" | "memory";
  deviceKind?: string;
  runs?: number;
  minMs?: number;
  maxMs?: number;
  compileMs?: number | null;
  firstCallMs?: number;
  flops?: number;
  countedFlops?: number;
  flopsPerSecond?: number;
  bytesPerSecond?: number;
  limits?: DeviceLimits;
  peakMemoryBytes?: number | null;
  parts?: Record<string, PartRecord>;
  workload?: PhaseMeasurement["workload"];
  notes?: string[];
}

function partRecord(part: PartMeasurement, phaseMs: number, limits: DeviceLimits | undefined): PartRecord {
  const seconds = part.medianMs / 1000;
  const flopsPerSecond = part.flops / seconds;
  const bytesPerSecond = part.bytes === undefined ? undefined : part.bytes / seconds;
  const utilization = limits === undefined ? NaN : part.bound === "memory" ? (bytesPerSecond ?? NaN) / limits.bandwidth : flopsPerSecond / limits.flops;
  return {
    medianMs: part.medianMs,
    share: part.medianMs / phaseMs,
    flopsPerSecond,
    ...(bytesPerSecond === undefined ? {} : { bytesPerSecond }),
    bound: part.bound,
    utilization: Number.isFinite(utilization) ? utilization : null,
  };
}

/** Judges a measurement against the device's limits: a rollout by its decode loop's bytes against bandwidth, the
 * other phases by their matmul FLOP/s against the FLOP/s peak. */
export function toRecord(m: PhaseMeasurement, limits: DeviceLimits | undefined): BenchRecord {
  const seconds = m.medianMs / 1000;
  const parts = Object.fromEntries(Object.entries(m.parts).map(([name, part]) => [name, partRecord(part, m.medianMs, limits)]));
  const decode = parts.decode;
  const flopsPerSecond = m.flops / seconds;
  const bound = m.phase === "rollout" ? "memory" : "compute";
  const utilization = m.phase === "rollout" ? (decode?.utilization ?? null) : limits === undefined ? null : flopsPerSecond / limits.flops;
  return {
    device: m.device,
    phase: m.phase,
    model: m.model,
    medianMs: m.medianMs,
    tokensPerSecond: m.tokens / seconds,
    utilization: utilization !== null && Number.isFinite(utilization) ? utilization : null,
    bound,
    deviceKind: m.deviceKind,
    runs: m.runs,
    minMs: Math.min(...m.timesMs),
    maxMs: Math.max(...m.timesMs),
    compileMs: m.compileMs,
    firstCallMs: m.firstCallMs,
    flops: m.flops,
    countedFlops: m.countedFlops,
    flopsPerSecond,
    ...(decode?.bytesPerSecond === undefined ? {} : { bytesPerSecond: decode.bytesPerSecond }),
    ...(limits === undefined ? {} : { limits }),
    peakMemoryBytes: m.peakMemoryBytes,
    parts,
    workload: m.workload,
    notes: m.notes,
  };
}

export function absentRecord(device: string, phase: string, model: string, reason: string): BenchRecord {
  return { device, phase, model, absent: reason, medianMs: null, tokensPerSecond: null, utilization: null };
}

const fixed = (value: number | null | undefined, digits: number) => (value === null || value === undefined || !Number.isFinite(value) ? "-" : value.toFixed(digits));
const percent = (value: number | null | undefined) => (value === null || value === undefined ? "-" : `${(100 * value).toFixed(value < 0.1 ? 1 : 0)}%`);
const giga = (value: number | undefined) => (value === undefined ? "-" : (value / 1e9).toFixed(1));

function utilizationCell(utilization: number | null, bound: "compute" | "memory" | undefined): string {
  return utilization === null ? "-" : `${percent(utilization)} ${bound === "memory" ? "of bandwidth" : "of FLOP/s"}`;
}

/** The terminal table: one row per device and phase, then a row per part of a rollout or step. */
export function formatTable(records: readonly BenchRecord[]): string {
  const header = ["device", "phase", "median ms", "min-max ms", "first call s", "compile s", "tokens/s", "GFLOP/s", "GB/s", "analytic/program FLOPs", "utilisation", "peak memory"];
  const rows: string[][] = [];
  for (const r of records) {
    if (r.absent !== undefined) {
      rows.push([r.device, r.phase, "absent", "", "", "", "", "", "", "", "", ""]);
      continue;
    }
    const ratio = r.flops !== undefined && r.countedFlops ? fixed(r.flops / r.countedFlops, 3) : "-";
    rows.push([
      r.device,
      r.phase,
      fixed(r.medianMs, 1),
      `${fixed(r.minMs, 1)}-${fixed(r.maxMs, 1)}`,
      fixed((r.firstCallMs ?? NaN) / 1000, 2),
      r.compileMs === null || r.compileMs === undefined ? "-" : fixed(r.compileMs / 1000, 2),
      fixed(r.tokensPerSecond, 1),
      giga(r.flopsPerSecond),
      r.bytesPerSecond === undefined ? "-" : giga(r.bytesPerSecond),
      ratio,
      utilizationCell(r.utilization, r.bound),
      r.peakMemoryBytes === null || r.peakMemoryBytes === undefined ? "not reported" : `${(r.peakMemoryBytes / 2 ** 20).toFixed(0)} MiB`,
    ]);
    for (const [name, part] of Object.entries(r.parts ?? {})) {
      rows.push(["", `  ${name}`, fixed(part.medianMs, 1), `${percent(part.share)} of phase`, "", "", "", giga(part.flopsPerSecond), part.bytesPerSecond === undefined ? "-" : giga(part.bytesPerSecond), "", utilizationCell(part.utilization, part.bound), ""]);
    }
  }
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(" | ")} |`;
  const lines = [line(header), `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`, ...rows.map(line)];
  const absent = records.filter((r) => r.absent !== undefined);
  const reasons = [...new Map(absent.map((r) => [r.device, r.absent!])).entries()].map(([device, reason]) => `${device} absent: ${reason}`);
  return [...lines, ...reasons].join("\n");
}

const partSchema = z.object({ medianMs: z.number(), share: z.number() }).passthrough();
const recordSchema = z
  .object({
    device: z.string(),
    phase: z.string(),
    model: z.string().optional(),
    absent: z.string().optional(),
    medianMs: z.number().nullable(),
    tokensPerSecond: z.number().nullable(),
    utilization: z.number().nullable(),
    parts: z.record(z.string(), partSchema).optional(),
  })
  .passthrough();
const fileSchema = z.object({ records: z.array(recordSchema) }).passthrough();

/** Records from the text of a JSON file this benchmark wrote; text of another shape is an error naming `where` and
 * the field. */
export function parseRecords(text: string, where: string): BenchRecord[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`--compare ${where}: not valid JSON (${(error as Error).message})`);
  }
  const parsed = fileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`--compare ${where}: not a benchmark file: ${issue.path.length > 0 ? issue.path.join(".") : "(top level)"}: ${issue.message}`);
  }
  return parsed.data.records as BenchRecord[];
}

export function readRecords(path: string): BenchRecord[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`--compare ${path}: cannot read the file (${(error as Error).message})`);
  }
  return parseRecords(text, path);
}

/** new / old for every device and phase present in both runs (time: below 1 is faster; tokens/s: above 1 is). */
export function compareRecords(current: readonly BenchRecord[], previous: readonly BenchRecord[]): string {
  const key = (r: BenchRecord) => `${r.device}|${r.phase}|${r.model ?? ""}`;
  const old = new Map(previous.map((r) => [key(r), r]));
  const lines = ["| device | phase | median ms (old -> new) | time ratio new/old | tokens/s ratio new/old |", "|---|---|---|---|---|"];
  for (const r of current) {
    const before = old.get(key(r));
    if (before === undefined) {
      lines.push(`| ${r.device} | ${r.phase} | not in the earlier run | - | - |`);
      continue;
    }
    if (r.medianMs === null || before.medianMs === null) {
      lines.push(`| ${r.device} | ${r.phase} | ${r.absent !== undefined ? "absent now" : "absent before"} | - | - |`);
      continue;
    }
    const tokens = r.tokensPerSecond !== null && before.tokensPerSecond ? fixed(r.tokensPerSecond / before.tokensPerSecond, 2) : "-";
    lines.push(`| ${r.device} | ${r.phase} | ${fixed(before.medianMs, 1)} -> ${fixed(r.medianMs, 1)} | ${fixed(r.medianMs / before.medianMs, 2)} | ${tokens} |`);
  }
  return lines.join("\n");
}

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"];

/** Grouped bars: tokens/s of each phase (one group) per device (one colour), on a log scale; absent devices are
 * named under the chart with their reason. */
export function chartSvg(records: readonly BenchRecord[], title: string): string {
  const present = records.filter((r) => r.absent === undefined && r.tokensPerSecond !== null && r.tokensPerSecond > 0);
  const devices = [...new Set(records.map((r) => r.device))];
  const phases = [...new Set(records.map((r) => r.phase))];
  const absent = [...new Map(records.filter((r) => r.absent !== undefined).map((r) => [r.device, r.absent!])).entries()];
  const width = Math.max(640, 140 + phases.length * (devices.length * 40 + 40));
  const plot = { left: 80, top: 50, width: width - 110, height: 300 };
  const height = plot.top + plot.height + 70 + 20 * (devices.length + absent.length);
  const values = present.map((r) => r.tokensPerSecond!);
  const lo = Math.floor(Math.log10(values.length > 0 ? Math.min(...values) : 1));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(values.length > 0 ? Math.max(...values) : 10)));
  const y = (v: number) => plot.top + plot.height - ((Math.log10(v) - lo) / (hi - lo)) * plot.height;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="15">${escapeXml(title)}</text>`,
    `<text transform="translate(18 ${plot.top + plot.height / 2}) rotate(-90)" text-anchor="middle">tokens/s (log scale)</text>`,
  ];
  for (let exponent = lo; exponent <= hi; exponent++) {
    const yy = y(10 ** exponent);
    out.push(`<line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`);
    out.push(`<text x="${plot.left - 6}" y="${yy + 4}" text-anchor="end">${formatTick(10 ** exponent)}</text>`);
  }
  const groupWidth = plot.width / Math.max(1, phases.length);
  const barWidth = Math.min(40, (groupWidth - 20) / Math.max(1, devices.length));
  phases.forEach((phase, p) => {
    const x0 = plot.left + p * groupWidth + (groupWidth - barWidth * devices.length) / 2;
    out.push(`<text x="${plot.left + (p + 0.5) * groupWidth}" y="${plot.top + plot.height + 18}" text-anchor="middle">${escapeXml(phase)}</text>`);
    devices.forEach((device, d) => {
      const r = present.find((record) => record.phase === phase && record.device === device);
      if (r === undefined) return;
      const top = y(r.tokensPerSecond!);
      const x = x0 + d * barWidth;
      out.push(`<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" height="${(plot.top + plot.height - top).toFixed(1)}" fill="${PALETTE[d % PALETTE.length]}"/>`);
      out.push(`<text x="${(x + barWidth / 2).toFixed(1)}" y="${(top - 4).toFixed(1)}" text-anchor="middle" font-size="10">${formatTick(Number(r.tokensPerSecond!.toPrecision(3)))}</text>`);
    });
  });
  out.push(`<line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${plot.top + plot.height}" y2="${plot.top + plot.height}" stroke="black"/>`);
  let legendY = plot.top + plot.height + 44;
  devices.forEach((device, d) => {
    const reason = absent.find(([name]) => name === device)?.[1];
    out.push(`<rect x="${plot.left}" y="${legendY - 10}" width="12" height="12" fill="${reason === undefined ? PALETTE[d % PALETTE.length] : "#fff"}" stroke="#999"/>`);
    const label = reason === undefined ? device : `${device}: absent (${reason.length > 110 ? `${reason.slice(0, 107)}...` : reason})`;
    out.push(`<text x="${plot.left + 18}" y="${legendY}">${escapeXml(label)}</text>`);
    legendY += 20;
  });
  out.push("</svg>");
  return out.join("\n");
}
