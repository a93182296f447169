// One device and one GRPO phase, measured in this process (the suite runs each in a fresh child, so the device's
// peak-memory high-water mark is the phase's own): rollout (the compiled sampler: prefill + decode loop), logprobs
// (the reference forward), update (one train step: forward, backward to the adapter, clip, AdamW) and step (the
// three in a row with rewards and advantages between, as the trainer runs them). The first call compiles; the next
// `runs` calls are timed. The Programs traced by the first call are kept and their dot_general FLOPs counted.
import { type Gemma3Config, isPresetName, preset } from "../models/gemma3/config.js";
import { Sampler } from "../models/gemma3/sampler.js";
import { initLora } from "../models/lora.js";
import { type Device, type DeviceArray, type DeviceKind, type Program, countFlops, devicesIdle, getDevice, jit, np, observeTraces, rl } from "../src/index.js";
import type { ArrayBase } from "../src/core/array_base.js";
import type { PjrtBackend } from "../src/runtime/pjrt.js";
import { type Workload, decodeStepBytes, decodeStepFlops, logprobsFlops, prefillFlops, rowsOf, updateFlops } from "./analytic.js";
import { FILL_NOTE, hostFilledParams } from "./fill.js";

export const PHASES = ["rollout", "logprobs", "update", "step"] as const;
export type Phase = (typeof PHASES)[number];

/** One timed part of a phase (the whole phase, or prefill / decode of a rollout, or a part of a step). */
export interface PartMeasurement {
  medianMs: number;
  /** Analytic matmul FLOPs per call. */
  flops: number;
  /** dot_general FLOPs of the Programs that ran, per call. */
  countedFlops: number;
  /** Bytes the part must read per call (decode only). */
  bytes?: number;
  /** What limits the part: matmul rate, or memory bandwidth. */
  bound: "compute" | "memory";
}

export interface PhaseMeasurement {
  device: DeviceKind;
  /** PJRT's device kind ("cpu", "TPU v4", ...), or "tfjs" for the reference interpreter. */
  deviceKind: string;
  phase: Phase;
  model: string;
  workload: Workload;
  runs: number;
  timesMs: number[];
  medianMs: number;
  /** Wall time while a PJRT compile of the first call was in flight (the union of their intervals); null on the
   * reference device, which interprets without compiling. */
  compileMs: number | null;
  /** The first call: trace, lower, compile and run. */
  firstCallMs: number;
  /** Tokens per call: generated (rollout, step) or scored (logprobs, update). */
  tokens: number;
  flops: number;
  countedFlops: number;
  /** The part measurements: prefill/decode of a rollout, rollout/rewards/logprobs/update of a step. */
  parts: Record<string, PartMeasurement>;
  /** The device's peak bytes in use (a process-wide high-water mark), or null where the device reports none. */
  peakMemoryBytes: number | null;
  peakRssBytes: number;
  fillSeconds: number;
  notes: string[];
}

/** The middle value; for an even count, the mean of the two middle values. */
export function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Prompt token ids, deterministic and spread over the vocabulary (away from the special ids below 8). */
function promptRows(config: Gemma3Config, w: Workload): number[][] {
  return Array.from({ length: w.prompts }, (_, p) => Array.from({ length: w.promptLength }, (_, i) => 8 + ((i * 7919 + p * 104_729) % (config.vocabSize - 8))));
}

/** Runs `fn`, timing every compile the device starts meanwhile: the union of [request, ready] intervals. */
async function timingCompiles<T>(device: Device, fn: () => Promise<T>): Promise<[T, number]> {
  const intervals: [number, number][] = [];
  const original = device.compile;
  device.compile = (text: string) => {
    const start = performance.now();
    const compiled = original.call(device, text);
    compiled.then(() => intervals.push([start, performance.now()]), () => {});
    return compiled;
  };
  try {
    const result = await fn();
    await devicesIdle();
    intervals.sort((a, b) => a[0] - b[0]);
    let total = 0;
    let end = -Infinity;
    for (const [from, to] of intervals) {
      if (to > end) total += to - Math.max(from, end);
      end = Math.max(end, to);
    }
    return [result, total];
  } finally {
    device.compile = original;
  }
}

/** The programs traced while `fn` runs, by name. */
async function tracing<T>(fn: () => Promise<T>): Promise<[T, Map<string, Program>]> {
  const programs = new Map<string, Program>();
  const stop = observeTraces((name, program) => programs.set(name, program));
  try {
    return [await fn(), programs];
  } finally {
    stop();
  }
}

function counted(programs: Map<string, Program>, names: readonly string[], decodeSteps = 1): number {
  let total = 0;
  for (const name of names) {
    const program = programs.get(name);
    if (program !== undefined) total += countFlops(program, { unknownTrips: decodeSteps }).dot;
  }
  return total;
}

export async function measurePhase(device: DeviceKind, phase: Phase, modelName: string, w: Workload, runs: number): Promise<PhaseMeasurement> {
  if (!isPresetName(modelName)) throw new Error(`--model: unknown preset ${modelName}`);
  const config = preset(modelName);
  const dev = getDevice(device);
  const deviceKind = dev.backend === undefined ? "tfjs" : (dev.backend as PjrtBackend).device.kind;
  const fillStart = performance.now();
  const base = hostFilledParams(config, device, w.weightsDtype);
  for (const array of [base.embed, ...base.layers.flatMap((layer) => Object.values(layer) as DeviceArray[])]) await array.ready();
  const fillSeconds = (performance.now() - fillStart) / 1000;
  const lora = initLora(config, w.lora, { seed: 1, device });
  const holder = { lora, config: w.lora };
  const sampler = new Sampler(config, base, { device, seed: 1, lora: holder, promptBucket: w.promptLength });
  const step = new rl.TrainStep({ model: config, lora: w.lora, grpo: { beta: 0.04 }, optimizer: { lr: 1e-5 }, maxGradNorm: 1, device, chunk: w.chunk });
  let state = step.initState(lora);
  holder.lora = state.lora;
  const prompts = promptRows(config, w);
  const B = rowsOf(w);
  const T = w.promptLength + w.newTokens;
  const advantagesJit = jit((rewards: ArrayBase) => rl.groupAdvantages(rewards, { groupSize: w.G }), { device, name: "group_advantages" });
  const generate = (call: number) =>
    sampler.generate(prompts, { maxNewTokens: w.newTokens, samplesPerPrompt: w.G, temperature: 1, greedy: false, stopTokens: [], seed: call });
  const pack = (completions: number[][], rewards?: number[]) => {
    const batch = rl.packBatch(prompts.flatMap((p) => Array.from({ length: w.G }, () => p)), completions, { promptBucket: w.promptLength, completionLength: w.newTokens, padId: 0 }, { eosIds: [1, 106], trainOnEos: false, maskTruncated: false }, dev);
    const values = rewards ?? Array.from({ length: B }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const rewardArray = np.array(Float32Array.from(values), { shape: [B], device }) as DeviceArray;
    batch.advantages = advantagesJit(rewardArray) as DeviceArray;
    rewardArray.dispose();
    return batch;
  };
  const fixedCompletions = Array.from({ length: B }, (_, b) => Array.from({ length: w.newTokens }, (_, i) => 8 + ((i * 31 + b * 977) % (config.vocabSize - 8))));
  const freeBatch = (batch: rl.TrainBatch<DeviceArray>) => rl.disposeBatch(batch);
  const update = async (batch: rl.TrainBatch<DeviceArray>) => {
    const result = step.step(state, base, batch);
    state = result.state;
    holder.lora = state.lora;
    await step.readMetrics(result.metrics);
  };
  // Each call returns its part times (ms) and, for a rollout, the decode loop's iterations.
  let oneCall: (call: number) => Promise<{ parts: Record<string, number>; decodeSteps?: number }>;
  let fixed: rl.TrainBatch<DeviceArray> | undefined;
  if (phase === "logprobs" || phase === "update") {
    fixed = pack(fixedCompletions);
    if (phase === "update") fixed.refLogp = step.referenceLogprobs(base, fixed);
  }
  switch (phase) {
    case "rollout":
      oneCall = async (call) => {
        const g = await generate(call);
        return { parts: { prefill: g.seconds.prefill * 1000, decode: g.seconds.decode * 1000 }, decodeSteps: g.steps };
      };
      break;
    case "logprobs":
      oneCall = async () => {
        const start = performance.now();
        const logp = step.referenceLogprobs(base, fixed!);
        await logp.data();
        logp.dispose();
        return { parts: { logprobs: performance.now() - start } };
      };
      break;
    case "update":
      oneCall = async () => {
        const start = performance.now();
        await update(fixed!);
        return { parts: { update: performance.now() - start } };
      };
      break;
    case "step":
      oneCall = async (call) => {
        const t0 = performance.now();
        const g = await generate(call);
        const t1 = performance.now();
        // A reward the host computes from the tokens, as text rewards would: the share of even ids.
        const rewards = g.tokens.map((row) => row.filter((t) => t % 2 === 0).length / Math.max(1, row.length));
        const batch = pack(g.tokens, rewards);
        await batch.advantages!.data();
        const t2 = performance.now();
        try {
          batch.refLogp = step.referenceLogprobs(base, batch);
          await batch.refLogp.data();
          const t3 = performance.now();
          await update(batch);
          const t4 = performance.now();
          return { parts: { rollout: t1 - t0, rewards: t2 - t1, logprobs: t3 - t2, update: t4 - t3 }, decodeSteps: g.steps };
        } finally {
          freeBatch(batch);
        }
      };
      break;
  }
  const startFirst = performance.now();
  const [[first, programs], compileMs] = await timingCompiles(dev, () => tracing(() => oneCall(0)));
  const firstMs = performance.now() - startFirst;
  const timesMs: number[] = [];
  const partTimes: Record<string, number[]> = {};
  let decodeSteps = first.decodeSteps ?? 0;
  for (let call = 1; call <= runs; call++) {
    const start = performance.now();
    const result = await oneCall(call);
    timesMs.push(performance.now() - start);
    decodeSteps = result.decodeSteps ?? decodeSteps;
    for (const [name, ms] of Object.entries(result.parts)) (partTimes[name] ??= []).push(ms);
  }
  if (fixed !== undefined) freeBatch(fixed);
  const peak = dev.backend?.memoryStats()?.peakBytesInUse;

  const rolloutFlops = prefillFlops(config, w) + decodeSteps * decodeStepFlops(config, w);
  const prefillPart: PartMeasurement = { medianMs: 0, flops: prefillFlops(config, w), countedFlops: counted(programs, ["sampler_prefill"]), bound: "compute" };
  const decodePart: PartMeasurement = {
    medianMs: 0,
    flops: decodeSteps * decodeStepFlops(config, w),
    countedFlops: counted(programs, ["sampler_decode"], decodeSteps),
    bytes: decodeSteps * decodeStepBytes(config, w),
    bound: "memory",
  };
  const rolloutPart: PartMeasurement = { medianMs: 0, flops: rolloutFlops, countedFlops: prefillPart.countedFlops + decodePart.countedFlops, bytes: decodePart.bytes, bound: "memory" };
  const logprobsPart: PartMeasurement = { medianMs: 0, flops: logprobsFlops(config, w), countedFlops: counted(programs, ["reference_logprobs"]), bound: "compute" };
  const updatePart: PartMeasurement = { medianMs: 0, flops: updateFlops(config, w), countedFlops: counted(programs, ["train_step"]), bound: "compute" };
  const rewardsPart: PartMeasurement = { medianMs: 0, flops: 0, countedFlops: 0, bound: "compute" };
  const partsOf: Record<Phase, Record<string, PartMeasurement>> = {
    rollout: { prefill: prefillPart, decode: decodePart },
    logprobs: { logprobs: logprobsPart },
    update: { update: updatePart },
    step: { rollout: rolloutPart, rewards: rewardsPart, logprobs: logprobsPart, update: updatePart },
  };
  const parts = partsOf[phase];
  for (const [name, part] of Object.entries(parts)) part.medianMs = median(partTimes[name] ?? [NaN]);
  const total = Object.values(parts).reduce((sum, part) => ({ flops: sum.flops + part.flops, counted: sum.counted + part.countedFlops }), { flops: 0, counted: 0 });
  const med = median(timesMs);
  const measurement: PhaseMeasurement = {
    device,
    deviceKind,
    phase,
    model: modelName,
    workload: w,
    runs,
    timesMs,
    medianMs: med,
    compileMs: dev.backend === undefined ? null : compileMs,
    firstCallMs: firstMs,
    tokens: phase === "logprobs" || phase === "update" ? B * T : B * w.newTokens,
    flops: total.flops,
    countedFlops: total.counted,
    parts: phase === "logprobs" || phase === "update" ? {} : parts,
    peakMemoryBytes: peak ?? null,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    fillSeconds,
    notes: [FILL_NOTE, "rollout: temperature 1, no stop tokens (every row draws all its tokens)"],
  };
  rl.disposeArrays([base, state]);
  return measurement;
}
