// npm run bench -- --devices cpu,tpu,gpu,reference --model tiny|gemma3-1b --phase rollout|logprobs|update|step
//   [--runs N] [--json FILE] [--chart FILE] [--compare OLD.json] [--weights-dtype f32|bf16]
//   [--prompts N] [--group G] [--prompt-length P] [--new-tokens N] [--rank R]
// Every device and phase runs in a fresh child process (its peak memory is its own); the device's limits are
// measured right before each phase in this process (cpu: raw sgemm and read bandwidth; reference: tfjs matMul and
// the same bandwidth) or read from datasheets (TPU, GPU). An absent device is reported with the reason.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { isPresetName, preset } from "../models/gemma3/config.js";
import { DEFAULT_LORA_TARGETS } from "../models/lora.js";
import { type DeviceKind, availableDevices, closeDevices, getDevice } from "../src/index.js";
import { DEVICE_KINDS } from "../src/runtime/device.js";
import type { PjrtBackend } from "../src/runtime/pjrt.js";
import type { Workload } from "./analytic.js";
import { type DeviceLimits, absenceReason, datasheetFor, measureHost, tfjsCpuMatmulGflops } from "./limits.js";
import { PHASES, type Phase, type PhaseMeasurement, measurePhase } from "./phases.js";
import { type BenchRecord, absentRecord, chartSvg, compareRecords, formatTable, readRecords, toRecord } from "./report.js";

const OPTIONS = {
  devices: { type: "string" },
  model: { type: "string", default: "tiny" },
  phase: { type: "string" },
  runs: { type: "string" },
  json: { type: "string" },
  chart: { type: "string" },
  compare: { type: "string" },
  "weights-dtype": { type: "string" },
  prompts: { type: "string" },
  group: { type: "string" },
  "prompt-length": { type: "string" },
  "new-tokens": { type: "string" },
  rank: { type: "string" },
} as const;

export interface SuiteOptions {
  devices: DeviceKind[];
  model: string;
  phases: Phase[];
  runs?: number;
  json?: string;
  chart?: string;
  compare?: string;
  workload: Workload;
}

function positiveInteger(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name}: expected a positive integer, got '${text}'`);
  return value;
}

function list<T extends string>(text: string | undefined, allowed: readonly T[], name: string, fallback: T[]): T[] {
  if (text === undefined) return fallback;
  const items = text.split(/[,|]/).map((item) => item.trim()).filter((item) => item !== "");
  for (const item of items) if (!(allowed as readonly string[]).includes(item)) throw new Error(`--${name}: unknown '${item}' (use ${allowed.join(", ")})`);
  if (items.length === 0) throw new Error(`--${name}: empty list`);
  return [...new Set(items)] as T[];
}

/** The default workload of a model: the tiny config's GRPO step, or one small step of a published size. */
export function defaultWorkload(model: string): Workload {
  const tiny = model === "tiny";
  return {
    prompts: tiny ? 4 : 1,
    G: tiny ? 4 : 2,
    promptLength: tiny ? 128 : 64,
    newTokens: tiny ? 64 : 16,
    lora: { rank: tiny ? 8 : 32, alpha: tiny ? 16 : 32, targets: DEFAULT_LORA_TARGETS },
    chunk: tiny ? 256 : 64,
    weightsDtype: tiny ? "f32" : "bf16",
  };
}

export function parseSuiteArgs(args: readonly string[]): SuiteOptions {
  const { values } = parseArgs({ args: [...args], options: OPTIONS, strict: true, allowPositionals: false });
  const model = values.model;
  if (!isPresetName(model)) throw new Error(`--model: unknown preset '${model}'`);
  const base = defaultWorkload(model);
  const dtype = values["weights-dtype"];
  if (dtype !== undefined && dtype !== "f32" && dtype !== "bf16") throw new Error(`--weights-dtype: expected f32 or bf16, got '${dtype}'`);
  const rank = positiveInteger(values.rank, "rank", base.lora.rank);
  const workload: Workload = {
    ...base,
    prompts: positiveInteger(values.prompts, "prompts", base.prompts),
    G: positiveInteger(values.group, "group", base.G),
    promptLength: positiveInteger(values["prompt-length"], "prompt-length", base.promptLength),
    newTokens: positiveInteger(values["new-tokens"], "new-tokens", base.newTokens),
    lora: { ...base.lora, rank, alpha: values.rank === undefined ? base.lora.alpha : rank },
    weightsDtype: dtype ?? base.weightsDtype,
  };
  if (workload.G < 2) throw new Error("--group: GRPO needs at least 2 completions per prompt");
  if (workload.promptLength + workload.newTokens > preset(model).maxPositions) throw new Error(`--prompt-length + --new-tokens exceed ${model}'s ${preset(model).maxPositions} positions`);
  if (values.chart !== undefined && !values.chart.endsWith(".svg")) throw new Error(`--chart: the chart is written as SVG; give a file name ending in .svg, got '${values.chart}'`);
  const present = availableDevices() as DeviceKind[];
  return {
    devices: list(values.devices, DEVICE_KINDS, "devices", DEVICE_KINDS.filter((kind) => present.includes(kind))),
    model,
    phases: list(values.phase, PHASES, "phase", [...PHASES]),
    runs: values.runs === undefined ? undefined : positiveInteger(values.runs, "runs", 1),
    json: values.json,
    chart: values.chart,
    compare: values.compare,
    workload,
  };
}

/** Timed runs after the compiling one: few on the slow interpreter and at published sizes. */
function runsFor(device: DeviceKind, model: string, requested: number | undefined): number {
  return requested ?? (device === "reference" || model !== "tiny" ? 3 : 5);
}

/** The child's entry: measures one device and phase and prints the measurement as the last line of stdout. */
export async function runPhaseChild(args: readonly string[]): Promise<void> {
  const [device, phase, model, workload, runs] = args as [DeviceKind, Phase, string, string, string];
  const measurement = await measurePhase(device, phase, model, JSON.parse(workload) as Workload, Number(runs));
  await closeDevices();
  console.log(JSON.stringify(measurement));
}

function childMeasurement(device: DeviceKind, phase: Phase, options: SuiteOptions): PhaseMeasurement {
  const runs = runsFor(device, options.model, options.runs);
  const output = execFileSync(process.execPath, [...process.execArgv, process.argv[1]!, "__phase", device, phase, options.model, JSON.stringify(options.workload), String(runs)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 26,
  });
  return JSON.parse(output.trim().split("\n").pop()!) as PhaseMeasurement;
}

/** The device's limits at this moment (measured for cpu and reference; datasheet for TPU and GPU). */
async function limitsFor(device: DeviceKind, deviceKind: string | undefined, log: (line: string) => void): Promise<DeviceLimits | undefined> {
  if (device === "cpu" || device === "reference") {
    const backend = getDevice("cpu").backend as PjrtBackend;
    const coreType = backend.attributes().openblas_coretype;
    const host = await measureHost(typeof coreType === "string" && coreType !== "auto" ? coreType : undefined);
    if (device === "cpu") {
      log(`  limits now: ${host.detail}`);
      return { flops: host.sgemmGflops * 1e9, bandwidth: host.bandwidth, source: `measured in this run: ${host.detail}` };
    }
    const tfjs = await tfjsCpuMatmulGflops();
    log(`  limits now: tfjs cpu matMul ${tfjs.toFixed(2)} GFLOP/s at 256^2; ${host.detail}`);
    return { flops: tfjs * 1e9, bandwidth: host.bandwidth, source: `measured in this run: tfjs cpu backend matMul 256^2 ${tfjs.toFixed(2)} GFLOP/s; ${host.detail}` };
  }
  const sheet = deviceKind === undefined ? undefined : datasheetFor(deviceKind);
  if (sheet === undefined) {
    log(`  no datasheet entry for device kind '${deviceKind}': utilisation not computed`);
    return undefined;
  }
  return { flops: sheet.flops, bandwidth: sheet.bandwidth, source: `datasheet ${sheet.name}: ${sheet.flops / 1e12} TFLOP/s dense, ${sheet.bandwidth / 1e9} GB/s` };
}

export async function runDeviceSuite(args: readonly string[]): Promise<BenchRecord[]> {
  const options = parseSuiteArgs(args);
  const w = options.workload;
  const log = (line: string) => console.error(line);
  log(
    `model ${options.model}, ${w.prompts} prompts x G ${w.G}, prompts ${w.promptLength} tokens, ${w.newTokens} new tokens, LoRA r${w.lora.rank}, ` +
      `${w.weightsDtype} weights; devices ${options.devices.join(", ")}; phases ${options.phases.join(", ")}; ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}`,
  );
  const previous = options.compare === undefined ? undefined : readRecords(options.compare); // a bad file fails now, not after the runs
  const records: BenchRecord[] = [];
  for (const device of options.devices) {
    const reason = absenceReason(device);
    if (reason !== undefined) {
      log(`${device}: absent: ${reason}`);
      for (const phase of options.phases) records.push(absentRecord(device, phase, options.model, reason));
      continue;
    }
    for (const phase of options.phases) {
      log(`${device} ${phase}: running (${runsFor(device, options.model, options.runs)} timed runs after one compiling run)`);
      const measured = device === "cpu" || device === "reference" ? await limitsFor(device, undefined, log) : undefined;
      let measurement: PhaseMeasurement;
      try {
        measurement = childMeasurement(device, phase, options);
      } catch (error) {
        // The device was found but could not be opened or run: absent, with what went wrong.
        const message = (error as Error).message.split("\n").find((line) => /error/i.test(line)) ?? (error as Error).message.split("\n")[0]!;
        records.push(absentRecord(device, phase, options.model, `failed to run: ${message}`));
        continue;
      }
      const limits = measured ?? (await limitsFor(device, measurement.deviceKind, log));
      records.push(toRecord(measurement, limits));
    }
  }
  await closeDevices();
  console.log(formatTable(records));
  if (records.some((r) => r.absent === undefined)) console.log(`\n${records.find((r) => r.notes !== undefined)?.notes?.join("\n") ?? ""}`);
  if (previous !== undefined) console.log(`\ncompared with ${options.compare}:\n${compareRecords(records, previous)}`);
  const document = { date: new Date().toISOString(), model: options.model, workload: w, cores: cpus().length, loadAverage: loadavg(), records };
  if (options.json !== undefined) {
    mkdirSync(dirname(options.json), { recursive: true });
    writeFileSync(options.json, `${JSON.stringify(document, null, 2)}\n`);
    console.log(`\nJSON: ${options.json}`);
  }
  if (options.chart !== undefined) {
    mkdirSync(dirname(options.chart), { recursive: true });
    writeFileSync(options.chart, chartSvg(records, `GRPO phases, ${options.model}: tokens/s per device`));
    console.log(`chart: ${options.chart}`);
  }
  return records;
}
