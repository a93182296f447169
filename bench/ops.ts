// The `ops` suite: dot_general throughput through our cpu device (execute only, inputs kept on device)
// against raw OpenBLAS sgemm with the same OPENBLAS_CORETYPE (build/Release/sgemm_bench) and tfjs-wasm
// matMul, plus the per-call overhead of executing a tiny program. Options: --sizes=256,1024 --quick.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import type { PjrtBackend, PjrtBuffer } from "../src/runtime/pjrt.js";
import { openBackend } from "../src/runtime/pjrt.js";
import { nativeBuildDir, packageRoot } from "../src/runtime/native.js";

const DEFAULT_SIZES = [256, 1024, 2048, 4096];

/** Timed repetitions per size (after one warm-up): enough for a stable median, the suite stays under a minute. */
function repsFor(n: number): number {
  if (n <= 256) return 200;
  if (n <= 1024) return 30;
  if (n <= 2048) return 10;
  return 5;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function gflops(n: number, seconds: number): number {
  return (2 * n * n * n) / seconds / 1e9;
}

function matmulModule(n: number): string {
  const type = `tensor<${n}x${n}xf32>`;
  return [
    "module attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {",
    `  func.func @main(%a: ${type}, %b: ${type}) -> ${type} {`,
    `    %0 = "stablehlo.dot_general"(%a, %b) {dot_dimension_numbers = #stablehlo.dot<lhs_contracting_dimensions = [1], rhs_contracting_dimensions = [0]>} : (${type}, ${type}) -> ${type}`,
    `    "func.return"(%0) : (${type}) -> ()`,
    "  }",
    "}",
  ].join("\n");
}

function tinyAddModule(): string {
  const type = "tensor<4xf32>";
  return [
    "module attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {",
    `  func.func @main(%a: ${type}, %b: ${type}) -> ${type} {`,
    `    %0 = "stablehlo.add"(%a, %b) : (${type}, ${type}) -> ${type}`,
    `    "func.return"(%0) : (${type}) -> ()`,
    "  }",
    "}",
  ].join("\n");
}

function randomMatrix(n: number, seed: number): Float32Array {
  const data = new Float32Array(n * n);
  let state = seed >>> 0;
  for (let i = 0; i < data.length; ++i) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = state / 2 ** 32 - 0.5;
  }
  return data;
}

async function oursGflops(backend: PjrtBackend, n: number, reps: number): Promise<number> {
  const executable = await backend.compile(matmulModule(n));
  const a = await backend.fromHost(randomMatrix(n, 1), "f32", [n, n]);
  const b = await backend.fromHost(randomMatrix(n, 2), "f32", [n, n]);
  const times: number[] = [];
  for (let rep = 0; rep <= reps; ++rep) {
    const start = performance.now();
    const outputs: PjrtBuffer[] = await executable.execute([a, b]);
    await outputs[0]!.ready(); // execute returns at launch
    const seconds = (performance.now() - start) / 1000;
    for (const output of outputs) output.dispose();
    if (rep > 0) times.push(seconds); // rep 0 warms up
  }
  a.dispose();
  b.dispose();
  executable.dispose();
  return gflops(n, median(times));
}

/** The path of a native bench tool in the build directory, or an error saying how to build it. */
function nativeTool(name: string): string {
  const binary = join(nativeBuildDir(), name);
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run npm run build:native`);
  return binary;
}

export function rawGflops(n: number, coreType: string | undefined): number {
  const binary = nativeTool("sgemm_bench");
  const env = { ...process.env };
  if (coreType !== undefined) env.OPENBLAS_CORETYPE = coreType;
  const output = execFileSync(binary, [String(n), String(repsFor(n))], { env, encoding: "utf8" });
  return (JSON.parse(output.trim()) as { gflops: number }).gflops;
}

/** The cores' peak f32 multiply-add rate (build/Release/fma_peak): `threads` threads of independent FMA chains on
 * the widest vectors the CPU has (capped by GRPO_XLA_CPU_SIMD as the engine's kernels are). Null on a CPU with
 * neither AVX-512 nor AVX2. */
export function fmaPeak(threads: number): { gflops: number; isa: string } | null {
  const output = execFileSync(nativeTool("fma_peak"), [String(threads)], { encoding: "utf8" });
  const parsed = JSON.parse(output.trim()) as { gflops: number | null; isa: string };
  return parsed.gflops === null ? null : { gflops: parsed.gflops, isa: parsed.isa };
}

/** Sets up tfjs with its wasm backend (wasm files from node_modules) and returns a matMul timer. */
async function wasmTimer(): Promise<(n: number) => number> {
  const tf = await import("@tensorflow/tfjs-core");
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  wasm.setWasmPaths(join(packageRoot(), "node_modules", "@tensorflow", "tfjs-backend-wasm", "dist") + "/");
  await tf.setBackend("wasm");
  await tf.ready();
  tf.tidy(() => tf.matMul(tf.ones([64, 64]), tf.ones([64, 64])).dataSync()); // kernel set-up
  return (n: number) => {
    // wasm is slow at the largest sizes: fewer reps there keep the suite short.
    const reps = n >= 4096 ? 1 : n >= 2048 ? 2 : repsFor(n);
    const a = tf.tensor2d(randomMatrix(n, 1), [n, n]);
    const b = tf.tensor2d(randomMatrix(n, 2), [n, n]);
    const times: number[] = [];
    for (let rep = 0; rep < reps; ++rep) {
      const start = performance.now();
      const c = tf.matMul(a, b);
      c.dataSync();
      times.push((performance.now() - start) / 1000);
      c.dispose();
    }
    a.dispose();
    b.dispose();
    return gflops(n, median(times));
  };
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** Compiles a 1024^2 matmul and returns a function that runs it once (to wake BLAS up just before a measurement). */
async function matmulWarmUp(backend: PjrtBackend): Promise<() => Promise<void>> {
  const n = 1024;
  const executable = await backend.compile(matmulModule(n));
  const a = await backend.fromHost(randomMatrix(n, 1), "f32", [n, n]);
  return async () => {
    const outputs = await executable.execute([a, a]);
    await outputs[0]!.ready();
    for (const output of outputs) output.dispose();
    a.dispose();
    executable.dispose();
  };
}

async function tinyCallMicroseconds(backend: PjrtBackend, calls: number, before?: () => Promise<void>): Promise<number> {
  const executable = await backend.compile(tinyAddModule());
  const a = await backend.fromHost(Float32Array.from([1, 2, 3, 4]), "f32", [4]);
  const b = await backend.fromHost(Float32Array.from([4, 3, 2, 1]), "f32", [4]);
  const times: number[] = [];
  const warmUp = 1000; // JIT, allocator and thread wake-up settle over the first few hundred calls
  for (let call = 0; call < warmUp; ++call) {
    const outputs = await executable.execute([a, b]);
    await outputs[0]!.ready();
    for (const output of outputs) output.dispose();
  }
  if (before !== undefined) await before();
  for (let call = warmUp; call < warmUp + calls; ++call) {
    const start = performance.now();
    const outputs = await executable.execute([a, b]);
    await outputs[0]!.ready(); // execute returns at launch: the call ends when the device finished
    const micros = (performance.now() - start) * 1000;
    for (const output of outputs) output.dispose();
    if (call >= warmUp) times.push(micros);
  }
  a.dispose();
  b.dispose();
  executable.dispose();
  return median(times);
}

function format(value: number | undefined, digits = 1): string {
  return value === undefined || !Number.isFinite(value) ? "-" : value.toFixed(digits);
}

export async function runOpsBench(args: string[]): Promise<void> {
  const sizesArg = args.find((arg) => arg.startsWith("--sizes="));
  const sizes = sizesArg ? sizesArg.slice("--sizes=".length).split(",").map(Number) : DEFAULT_SIZES;
  const skipWasm = args.includes("--no-wasm");

  const backend = openBackend("cpu");
  try {
    const attributes = backend.attributes();
    const coreType = typeof attributes.openblas_coretype === "string" && attributes.openblas_coretype !== "auto"
      ? attributes.openblas_coretype
      : undefined;
    console.log(`device:  ${backend.description}`);
    console.log(`blas:    ${String(attributes.blas)} (OPENBLAS_CORETYPE=${coreType ?? "auto"}); ${cpus().length} cores`);
    console.log(`sizes:   ${sizes.join(", ")} (square f32 matmul, median of timed reps; ours = execute only)\n`);

    // Tiny calls twice: with BLAS idle, and right after a matmul. After an sgemm OpenBLAS's worker threads
    // spin (sched_yield) for a while before sleeping; on 2 cores that slows the JS round trips.
    const calls = 2000;
    await sleep(500);
    const tinyIdle = await tinyCallMicroseconds(backend, calls);
    const tinyAfterMatmul = await tinyCallMicroseconds(backend, calls, await matmulWarmUp(backend));
    const tinyLine =
      `tiny call (add f32[4], inputs on device, execute until ready + dispose output), median of ${calls}: ` +
      `${format(tinyIdle, 1)} us with BLAS idle, ${format(tinyAfterMatmul, 1)} us right after a 1024^2 matmul`;

    // Interleaved per size, so that load drifting on a shared machine hits all three alike.
    const wasmGflops = skipWasm ? undefined : await wasmTimer();
    const ours = new Map<number, number>();
    const raw = new Map<number, number>();
    const wasm = new Map<number, number>();
    for (const n of sizes) {
      ours.set(n, await oursGflops(backend, n, repsFor(n)));
      raw.set(n, rawGflops(n, coreType));
      if (wasmGflops !== undefined) wasm.set(n, wasmGflops(n));
    }

    const header = ["n", "ours GFLOP/s", "raw sgemm", "tfjs-wasm", "ours/raw", "ours/wasm"];
    const rows = sizes.map((n) => {
      const o = ours.get(n);
      const r = raw.get(n);
      const w = wasm.get(n);
      return [
        String(n),
        format(o),
        format(r),
        format(w),
        o !== undefined && r !== undefined ? `${format((100 * o) / r, 0)}%` : "-",
        o !== undefined && w !== undefined ? `${format(o / w, 1)}x` : "-",
      ];
    });
    const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
    const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padStart(widths[column]!)).join(" | ")} |`;
    console.log(line(header));
    console.log(`|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`);
    for (const row of rows) console.log(line(row));
    console.log(`\n${tinyLine}`);

  } finally {
    backend.dispose();
  }
}
