// The FMA-peak tool behind `npm run bench -- model`: it runs the widest instruction set the CPU reports (checked
// against /proc/cpuinfo's flags), GRPO_XLA_CPU_SIMD caps it as it caps the engine's kernels, its JSON line is
// consistent (rate = FLOPs of the run / seconds, with the lane count of the set it names), and bad arguments are a
// usage error. No rate is asserted: performance belongs to the benchmark.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nativeBuildDir } from "../../src/runtime/native.js";

const binary = join(nativeBuildDir(), "fma_peak");

interface Reading {
  isa: string;
  threads: number;
  seconds: number | null;
  gflops: number | null;
}

function run(args: string[], simd?: string): Reading {
  const env = { ...process.env };
  delete env.GRPO_XLA_CPU_SIMD;
  if (simd !== undefined) env.GRPO_XLA_CPU_SIMD = simd;
  return JSON.parse(execFileSync(binary, args, { env, encoding: "utf8" }).trim()) as Reading;
}

const flags = new Set(
  (readFileSync("/proc/cpuinfo", "utf8").match(/^flags\s*:(.*)$/m)?.[1] ?? "").trim().split(/\s+/),
);
const hasAvx512 = flags.has("avx512f");
const hasAvx2 = flags.has("avx2") && flags.has("fma");

// FLOPs of one thread's run, as the tool counts them: 35,000,000 rounds of 12 FMAs, 2 FLOP per lane.
const flopsPerThread = (lanes: number) => 35_000_000 * 12 * lanes * 2;

describe("fma_peak", () => {
  it("is built with the native tools", () => {
    expect(existsSync(binary)).toBe(true);
  });

  it("runs the widest instruction set /proc/cpuinfo reports, and its rate is its FLOPs over its time", () => {
    const reading = run(["2", "1"]);
    const expected = hasAvx512 ? "avx512" : hasAvx2 ? "avx2" : "none";
    expect(reading.isa).toBe(expected);
    expect(reading.threads).toBe(2);
    if (expected === "none") {
      expect(reading.gflops).toBeNull();
      return;
    }
    const lanes = expected === "avx512" ? 16 : 8;
    expect(reading.seconds).toBeGreaterThan(0);
    expect(reading.gflops! * 1e9 * reading.seconds!).toBeCloseTo(2 * flopsPerThread(lanes), -9);
  });

  it("GRPO_XLA_CPU_SIMD caps the set: avx2 runs 8 lanes where the CPU has them, scalar measures nothing", () => {
    const capped = run(["1", "1"], "avx2");
    expect(capped.isa).toBe(hasAvx2 ? "avx2" : "none");
    if (capped.isa === "avx2") expect(capped.gflops! * 1e9 * capped.seconds!).toBeCloseTo(flopsPerThread(8), -9);
    const none = run(["1", "1"], "scalar");
    expect(none).toEqual({ isa: "none", threads: 1, seconds: null, gflops: null });
  });

  it("rejects a missing, zero or non-numeric thread count with a usage line and exit code 2", () => {
    for (const args of [[], ["0"], ["two"], ["1", "0"], ["1", "2", "3"]]) {
      const result = spawnSync(binary, args, { encoding: "utf8" });
      expect(result.status).toBe(2);
      expect(result.stderr).toContain("usage: fma_peak THREADS [REPS]");
    }
  });
});
