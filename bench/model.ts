// The `model` suite: Gemma3 on the cpu device with random weights. Measured in one run, so the ratios compare like
// with like on a shared machine:
//   - raw OpenBLAS sgemm GFLOP/s (build/Release/sgemm_bench, the engine's core type), the cores' peak f32 FMA rate
//     (build/Release/fma_peak, on the engine's thread count) and memory read bandwidth (memchr over 1 GiB in this
//     process, and the engine's f32 sum over 1 GiB on every core; the higher counts);
//   - prefill of a 512-token prompt (prompt -> KV cache -> first token) as GFLOP/s and a fraction of raw sgemm;
//   - decode tokens/s at batch 1 and 8, with GFLOP/s against the FMA peak (at batch 8 a bf16 step does 8 FLOP
//     per weight byte, near this kind of machine's ratio of peak to bandwidth, so both ceilings matter), and
//     weight bytes read per second against the bandwidth: against the
//     best-of-five reading above, and run by run against a sustained reading taken just before and just after
//     each timed run (windowBandwidth: the host's share of memory bandwidth moves within minutes);
//   - for bf16 and f32 weights; bf16 runs first in a fresh process, so the peak RSS it reports is its own.
// Options: --preset=gemma3-1b (default), --prompt=512, --tokens=6 (decode steps timed), --repeats=3 (timed runs of
// each case, the fastest reported), --batches=1,8 (decode batch
// sizes), --dtypes=bf16,f32 (weights measured; f32 is widened from the bf16 draw either way), --prefill=0 (skip it).
import { cpus } from "node:os";
import { type ArrayBase, closeDevices, getDevice, jit, np } from "../src/index.js";
import type { DeviceArray } from "../src/runtime/array.js";
import type { PjrtBackend } from "../src/runtime/pjrt.js";
import { type Gemma3Config, isPresetName, preset } from "../models/gemma3/config.js";
import { initParams } from "../models/gemma3/init.js";
import { countParams, type Gemma3Params } from "../models/gemma3/params.js";
import { Sampler } from "../models/gemma3/sampler.js";
import { headFlops, trunkFlops } from "./analytic.js";
import { fmaPeak, rawGflops } from "./ops.js";
import { median } from "./phases.js";

function option(args: string[], name: string, fallback: string): string {
  const found = args.find((arg) => arg.startsWith(`--${name}=`));
  return found === undefined ? fallback : found.slice(name.length + 3);
}

/** Read bandwidth of one thread: memchr over a buffer that never contains the byte searched for. */
export function memchrBandwidth(bytes: number): number {
  const buffer = Buffer.alloc(bytes, 7); // nonzero: every page is backed by its own memory
  buffer.indexOf(1); // warm up
  const times: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const start = performance.now();
    buffer.indexOf(1);
    times.push((performance.now() - start) / 1000);
  }
  return bytes / Math.min(...times);
}

/** Read bandwidth of the engine on every core: an f32 sum over `bytes`. */
export async function engineBandwidth(bytes: number): Promise<number> {
  const n = bytes / 4;
  const x = jit(() => np.ones([n]), { device: "cpu" })() as DeviceArray;
  const sum = jit((a: ArrayBase) => np.sum(a), { device: "cpu" });
  await sum(x).ready();
  const times: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const start = performance.now();
    const s = sum(x);
    await s.ready();
    times.push((performance.now() - start) / 1000);
    s.dispose();
  }
  x.dispose();
  return bytes / Math.min(...times);
}

/** Read bandwidth of the engine on every core over a sustained window: an f32 sum over a fresh 256 MiB buffer,
 * `passes` times back to back, timed as a whole. The decode comparison takes one of these next to every timed
 * decode run, reading as many bytes as that run reads: on a host whose memory is shared, the bandwidth left to
 * this machine moves by half from one minute to the next (46-80 GB/s within minutes), and a best-of-five over
 * 20 ms sums catches bursts that a 0.4 s decode run cannot. The buffer is freed at once, so it stays out of the
 * generation's peak RSS (it is smaller than the generation's transient arrays). */
export async function windowBandwidth(bytes: number): Promise<number> {
  const chunk = 2 ** 28;
  const passes = Math.max(4, Math.ceil(bytes / chunk));
  const x = jit(() => np.ones([chunk / 4]), { device: "cpu" })() as DeviceArray;
  const sum = jit((a: ArrayBase) => np.sum(a), { device: "cpu" });
  await sum(x).ready(); // compiles, and brings the buffer's pages in
  const start = performance.now();
  let last: DeviceArray | undefined;
  for (let pass = 0; pass < passes; pass++) {
    last?.dispose();
    last = sum(x) as DeviceArray;
  }
  await last!.ready();
  const seconds = (performance.now() - start) / 1000;
  last!.dispose();
  x.dispose();
  return (passes * chunk) / seconds;
}

function maxRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

interface DtypeResult {
  dtype: "f32" | "bf16";
  initSeconds: number;
  prefillSeconds: number;
  prefillGflops: number;
  /** Per batch: the fastest of the timed runs and the slowest; `shares`: each run's weight bytes per second over
   * the higher of the two bandwidth windows read just before and just after it; `windows`: those readings. */
  decode: { batch: number; secondsPerStep: number; slowestPerStep: number; shares: number[]; windows: number[] }[];
  weightBytes: number;
  peakRss: number;
}

/** FLOPs of a T-token prefill: every non-embedding weight twice per token, attention scores and values over the
 * full T x T square per layer (masked entries are computed too), and one row of logits. */
function prefillFlops(config: Gemma3Config, T: number): number {
  const nonEmbedding = countParams(config) - config.vocabSize * config.dModel;
  const attention = config.numLayers * 2 * 2 * T * T * config.numHeads * config.headDim;
  return 2 * nonEmbedding * T + attention + 2 * config.vocabSize * config.dModel;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, (performance.now() - start) / 1000];
}

function disposeParams(tree: Gemma3Params<DeviceArray>): void {
  tree.embed.dispose();
  tree.finalNorm.dispose();
  for (const layer of tree.layers) for (const w of Object.values(layer)) w.dispose();
}

const widen = jit((w: ArrayBase) => np.astype(w, "f32"), { device: "cpu", name: "widen" });

/** The same weights in f32, one tensor at a time (the bf16 tree is disposed as it goes). */
function widenParams(params: Gemma3Params<DeviceArray>): Gemma3Params<DeviceArray> {
  const one = (w: DeviceArray): DeviceArray => {
    const wide = widen(w);
    w.dispose();
    return wide;
  };
  return {
    embed: one(params.embed),
    finalNorm: one(params.finalNorm),
    layers: params.layers.map((layer) => Object.fromEntries(Object.entries(layer).map(([k, w]) => [k, one(w)])) as unknown as Gemma3Params<DeviceArray>["layers"][number]),
  };
}

async function ready(params: Gemma3Params<DeviceArray>): Promise<void> {
  await params.embed.ready();
  for (const layer of params.layers) for (const w of Object.values(layer)) await w.ready();
}

interface Plan {
  promptLength: number; // 0: no prefill measured
  steps: number;
  batches: number[];
  /** Timed runs of each prefill and decode case; the fastest counts, as the bandwidth and sgemm rates are the
   * fastest of their repetitions (the host's memory is shared: a single run can land in another machine's burst). */
  repeats: number;
}

/** Prompt tokens before the timed decode steps. */
const DECODE_PROMPT = 16;

async function measureDtype(config: Gemma3Config, params: Gemma3Params<DeviceArray>, dtype: "f32" | "bf16", initSeconds: number, plan: Plan): Promise<DtypeResult> {
  const { promptLength, steps } = plan;
  const weightBytes = countParams(config) * (dtype === "bf16" ? 2 : 4);
  const prompt = (length: number, row: number) => Array.from({ length }, (_, i) => 2 + ((i * 131 + row * 17) % (config.vocabSize - 2)));
  // Prefill: a promptLength-token prompt, one token drawn (no decode step). The first call compiles.
  let prefillSeconds = Number.NaN;
  if (promptLength > 0) {
    const sampler = new Sampler(config, params, { device: "cpu", promptBucket: promptLength });
    await sampler.generate([prompt(promptLength, 0)], { maxNewTokens: 1, stopTokens: [] });
    const times: number[] = [];
    for (let rep = 0; rep < plan.repeats; rep++) times.push((await sampler.generate([prompt(promptLength, 0)], { maxNewTokens: 1, stopTokens: [] })).seconds.prefill);
    prefillSeconds = Math.min(...times);
  }
  // Decode: a DECODE_PROMPT-token prompt, then `steps` iterations of the decode loop, timed on their own.
  const decode: DtypeResult["decode"] = [];
  for (const batch of plan.batches) {
    const prompts = Array.from({ length: batch }, (_, row) => prompt(DECODE_PROMPT, row));
    const short = new Sampler(config, params, { device: "cpu", promptBucket: DECODE_PROMPT });
    const options = { maxNewTokens: steps + 1, stopTokens: [] };
    await short.generate(prompts, options); // compile
    const perStep: number[] = [];
    const windows: number[] = [];
    for (let rep = 0; rep < plan.repeats; rep++) {
      windows.push(await windowBandwidth(steps * weightBytes));
      const run = await short.generate(prompts, options);
      if (run.steps !== steps) throw new Error(`decode ran ${run.steps} steps, expected ${steps}`);
      perStep.push(run.seconds.decode / steps);
    }
    windows.push(await windowBandwidth(steps * weightBytes));
    const shares = perStep.map((t, i) => weightBytes / t / Math.max(windows[i]!, windows[i + 1]!));
    decode.push({ batch, secondsPerStep: Math.min(...perStep), slowestPerStep: Math.max(...perStep), shares, windows });
  }
  return {
    dtype,
    initSeconds,
    prefillSeconds,
    prefillGflops: prefillFlops(config, promptLength) / prefillSeconds / 1e9,
    decode,
    weightBytes,
    peakRss: maxRssBytes(),
  };
}

const GB = 1e9;

export async function runModelBench(args: string[]): Promise<void> {
  const name = option(args, "preset", "gemma3-1b");
  if (!isPresetName(name)) throw new Error(`--preset: unknown preset ${name}`);
  const promptLength = option(args, "prefill", "1") === "0" ? 0 : Number(option(args, "prompt", "512"));
  const steps = Number(option(args, "tokens", "6"));
  const batches = option(args, "batches", "1,8").split(",").map(Number);
  const dtypes = option(args, "dtypes", "bf16,f32").split(",");
  if (batches.some((b) => !Number.isInteger(b) || b < 1)) throw new Error(`--batches: positive integers, got ${option(args, "batches", "")}`);
  if (dtypes.some((d) => d !== "bf16" && d !== "f32")) throw new Error(`--dtypes: bf16 and/or f32, got ${option(args, "dtypes", "")}`);
  const repeats = Number(option(args, "repeats", "3"));
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats: a positive integer, got ${option(args, "repeats", "")}`);
  const plan: Plan = { promptLength, steps, batches, repeats };
  const backend = getDevice("cpu").backend as PjrtBackend;
  const attributes = backend.attributes();
  const coreType = typeof attributes.openblas_coretype === "string" && attributes.openblas_coretype !== "auto" ? attributes.openblas_coretype : undefined;
  console.log(`model:   ${name} (${countParams(preset(name)).toLocaleString("en")} parameters), random weights, cpu device, ${cpus().length} cores`);
  const sgemm1024 = rawGflops(1024, coreType);
  const sgemm2048 = rawGflops(2048, coreType);
  const rawSgemm = Math.max(sgemm1024, sgemm2048);
  console.log(`sgemm:   ${sgemm1024.toFixed(1)} GFLOP/s at 1024^2, ${sgemm2048.toFixed(1)} at 2048^2 (raw OpenBLAS, ${coreType ?? "auto"})`);
  const threads = Number(attributes.num_threads ?? cpus().length);
  const fma = fmaPeak(threads);
  console.log(
    fma === null
      ? "fma:     not measured (the CPU has neither AVX-512 nor AVX2)"
      : `fma:     ${fma.gflops.toFixed(1)} GFLOP/s peak f32 multiply-add (${fma.isa}, ${threads} threads)`,
  );
  const ofPeak = (gflops: number) => (fma === null ? "" : `, ${((100 * gflops) / fma.gflops).toFixed(0)}% of the FMA peak`);
  const config = preset(name);
  // bf16 first, in this fresh process, so the peak RSS after it is bf16 generation's own; then the same weights
  // widened to f32 (faster than drawing them again).
  const start = performance.now();
  const bf16 = initParams(config, { seed: 0, device: "cpu", weightsDtype: "bf16" });
  await ready(bf16);
  const results: DtypeResult[] = [];
  if (dtypes.includes("bf16")) results.push(await measureDtype(config, bf16, "bf16", (performance.now() - start) / 1000, plan));
  if (dtypes.includes("f32")) {
    const widenStart = performance.now();
    const f32 = widenParams(bf16);
    await ready(f32);
    results.push(await measureDtype(config, f32, "f32", (performance.now() - widenStart) / 1000, plan));
    disposeParams(f32);
  } else {
    disposeParams(bf16);
  }
  // Bandwidth last: its 1 GiB buffers must not count in the generation's peak RSS.
  const oneThread = memchrBandwidth(1 << 30);
  const allCores = await engineBandwidth(1 << 30);
  const bandwidth = Math.max(oneThread, allCores);
  console.log(`memory:  ${(oneThread / GB).toFixed(2)} GB/s read (memchr, one thread), ${(allCores / GB).toFixed(2)} GB/s (engine f32 sum, all cores)\n`);
  for (const r of results) {
    console.log(`${r.dtype} weights (${(r.weightBytes / GB).toFixed(2)} GB): ${r.dtype === "bf16" ? "random init" : "widened from bf16 in"} ${r.initSeconds.toFixed(1)} s, peak RSS so far ${(r.peakRss / GB).toFixed(2)} GB`);
    if (promptLength > 0) {
      console.log(
        `  prefill ${promptLength} tokens: ${r.prefillSeconds.toFixed(2)} s = ${(promptLength / r.prefillSeconds).toFixed(1)} tokens/s, ` +
          `${r.prefillGflops.toFixed(1)} GFLOP/s = ${((100 * r.prefillGflops) / rawSgemm).toFixed(0)}% of raw sgemm${ofPeak(r.prefillGflops)}`,
      );
    }
    for (const d of r.decode) {
      const bytesPerSecond = r.weightBytes / d.secondsPerStep;
      // The suite's analytic count (checked there against the Programs' dot_general FLOPs): every matrix and the
      // logits head once per row, attention over the whole cache (the prompt's slots and steps + 1 new ones).
      const flops = trunkFlops(config, undefined, d.batch, 1, DECODE_PROMPT + steps + 1) + headFlops(config, d.batch);
      const gflops = flops / d.secondsPerStep / 1e9;
      const percent = (x: number) => `${(100 * x).toFixed(0)}%`;
      console.log(
        `  decode batch ${d.batch}: ${(1 / d.secondsPerStep).toFixed(2)} steps/s (slowest of ${plan.repeats} runs ${(1 / d.slowestPerStep).toFixed(2)}) = ${(d.batch / d.secondsPerStep).toFixed(2)} tokens/s, ` +
          `${gflops.toFixed(1)} GFLOP/s${ofPeak(gflops)}, ` +
          `weights read ${(bytesPerSecond / GB).toFixed(2)} GB/s = ${percent(bytesPerSecond / bandwidth)} of the bandwidth above\n` +
          `    each run against the bandwidth read beside it: ${d.shares.map(percent).join(", ")} (best ${percent(Math.max(...d.shares))}, median ${percent(median(d.shares))}; ` +
          `windows ${d.windows.map((w) => (w / GB).toFixed(1)).join(", ")} GB/s)`,
      );
    }
  }
  await closeDevices();
}
