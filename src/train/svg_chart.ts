// Training curves as SVG line charts: several series, axes with "nice" ticks (1, 2, 5 x 10^k), a title and a
// legend. Hand-written because the chart packages on npm either need a DOM or a canvas build, or bring a large
// grammar-of-graphics runtime for what is a few hundred lines of text output.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Series {
  name: string;
  points: readonly (readonly [x: number, y: number])[];
}

export interface ChartOptions {
  title: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
}

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const MARGIN = { left: 70, right: 20, top: 40, bottom: 50 };

/** Tick step and covering domain for [min, max]: about `target` ticks at multiples of 1, 2 or 5 x 10^k. */
export function niceTicks(min: number, max: number, target = 5): { domain: [number, number]; ticks: number[] } {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return niceTicks(0, 1, target);
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    return niceTicks(min - pad, max + pad, target);
  }
  const raw = (max - min) / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let i = 0; lo + i * step <= hi + step * 1e-9; i++) ticks.push(Number((lo + i * step).toPrecision(12)));
  return { domain: [Number(lo.toPrecision(12)), Number(hi.toPrecision(12))], ticks };
}

export function formatTick(value: number): string {
  if (value === 0) return "0";
  const abs = Math.abs(value);
  if (abs >= 1e5 || abs < 1e-3) return value.toExponential(1);
  return String(Number(value.toPrecision(6)));
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!);
}

/** An SVG document with one polyline per series; non-finite points break the line. */
export function lineChartSvg(series: readonly Series[], options: ChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const finite = series.flatMap((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
  const xs = finite.map(([x]) => x);
  const ys = finite.map(([, y]) => y);
  const xAxis = niceTicks(xs.length ? Math.min(...xs) : 0, xs.length ? Math.max(...xs) : 1);
  const yAxis = niceTicks(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1);
  const px = (x: number) => MARGIN.left + ((x - xAxis.domain[0]) / (xAxis.domain[1] - xAxis.domain[0])) * plotW;
  const py = (y: number) => MARGIN.top + plotH - ((y - yAxis.domain[0]) / (yAxis.domain[1] - yAxis.domain[0])) * plotH;
  const r = (v: number) => Number(v.toFixed(2));

  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(options.title)}</text>`);
  for (const t of xAxis.ticks) {
    const x = r(px(t));
    out.push(`<line class="grid" x1="${x}" y1="${MARGIN.top}" x2="${x}" y2="${MARGIN.top + plotH}" stroke="#e5e5e5"/>`);
    out.push(`<text class="xtick" x="${x}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${formatTick(t)}</text>`);
  }
  for (const t of yAxis.ticks) {
    const y = r(py(t));
    out.push(`<line class="grid" x1="${MARGIN.left}" y1="${y}" x2="${MARGIN.left + plotW}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text class="ytick" x="${MARGIN.left - 6}" y="${y + 4}" text-anchor="end">${formatTick(t)}</text>`);
  }
  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  if (options.xLabel) out.push(`<text x="${MARGIN.left + plotW / 2}" y="${height - 10}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`);
  if (options.yLabel) out.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`);
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    let d = "";
    let pen = false;
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !Number.isFinite(y)) {
        pen = false;
        continue;
      }
      d += `${pen ? "L" : "M"}${r(px(x))} ${r(py(y))} `;
      pen = true;
    }
    out.push(`<path class="series" data-name="${escapeXml(s.name)}" d="${d.trim()}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    const ly = MARGIN.top + 14 + i * 16;
    out.push(`<line x1="${MARGIN.left + plotW - 150}" y1="${ly - 4}" x2="${MARGIN.left + plotW - 130}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${MARGIN.left + plotW - 125}" y="${ly}">${escapeXml(s.name)}</text>`);
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

export interface CurveGroup {
  /** File name without extension. */
  file: string;
  title: string;
  metrics: readonly string[];
}

/** Writes one SVG per group (default: one per metric) into `dir`; returns the files written. */
export function writeCurves(dir: string, history: ReadonlyMap<string, readonly (readonly [number, number])[]>, groups?: readonly CurveGroup[]): string[] {
  mkdirSync(dir, { recursive: true });
  const chosen = groups ?? [...history.keys()].map((name) => ({ file: name.replace(/[^A-Za-z0-9_.-]+/g, "_"), title: name, metrics: [name] }));
  const written: string[] = [];
  for (const group of chosen) {
    const series = group.metrics.filter((m) => history.has(m)).map((m) => ({ name: m, points: history.get(m)! }));
    if (series.length === 0) continue;
    const path = join(dir, `${group.file}.svg`);
    writeFileSync(path, lineChartSvg(series, { title: group.title, xLabel: "step" }));
    written.push(path);
  }
  return written;
}
