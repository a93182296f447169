// The device benchmark (issue 9): its analytic FLOP counts equal the dot_general FLOPs of the Programs the phases
// run; a measured phase on cpu; utilisation arithmetic; datasheet lookup; absent devices with their reason (tpu
// here: libtpu not found, and where it looked); argument errors; the table, comparison and chart; the --compare
// reader fuzzed with mutated real output.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { preset } from "../../models/gemma3/config.js";
import { DEFAULT_LORA_TARGETS } from "../../models/lora.js";
import { decodeStepFlops, logprobsFlops, prefillFlops, updateFlops, type Workload } from "../../bench/analytic.js";
import { absenceReason, datasheetFor } from "../../bench/limits.js";
import { measurePhase, median, type PhaseMeasurement } from "../../bench/phases.js";
import { absentRecord, chartSvg, compareRecords, formatTable, parseRecords, toRecord } from "../../bench/report.js";
import { parseSuiteArgs } from "../../bench/suite.js";
import { mutate } from "../data/mutate.js";

const small: Workload = {
  prompts: 1,
  G: 2,
  promptLength: 8,
  newTokens: 4,
  lora: { rank: 4, alpha: 8, targets: DEFAULT_LORA_TARGETS },
  chunk: 4,
  weightsDtype: "f32",
};

describe("analytic FLOPs against the Programs that ran", () => {
  it("a tiny GRPO step on cpu: prefill, decode, reference logprobs and the update are counted exactly", async () => {
    const m = await measurePhase("cpu", "step", "tiny", small, 1);
    const config = preset("tiny");
    expect(m.parts.rollout!.flops).toBe(prefillFlops(config, small) + 3 * decodeStepFlops(config, small));
    expect(m.parts.logprobs!.flops).toBe(logprobsFlops(config, small));
    expect(m.parts.update!.flops).toBe(updateFlops(config, small));
    for (const name of ["rollout", "logprobs", "update"]) expect(m.parts[name]!.countedFlops, name).toBe(m.parts[name]!.flops);
    expect(m.countedFlops).toBe(m.flops);
    expect(m.timesMs).toHaveLength(1);
    expect(m.medianMs).toBeGreaterThan(0);
    expect(m.compileMs).toBeGreaterThan(0);
    expect(m.peakMemoryBytes).toBeGreaterThan(0); // the cpu plugin reports its high-water mark
    expect(m.tokens).toBe(2 * 4);
  });

  it.each([[["q", "down"]], [["o", "down"]], [["kv", "gate"]], [["up"]]])("adapters on %j: the update's count matches (gradients skipped before the first adapter)", async (targets) => {
    const w = { ...small, lora: { rank: 2, alpha: 2, targets } };
    const m = await measurePhase("cpu", "update", "tiny", w, 1);
    expect(m.countedFlops).toBe(updateFlops(preset("tiny"), w));
  });
});

/** A measurement with round numbers: 1 s median, 2e9 FLOPs, a rollout whose decode reads 3e9 bytes in 0.5 s. */
function fakeMeasurement(phase: PhaseMeasurement["phase"]): PhaseMeasurement {
  return {
    device: "cpu", deviceKind: "cpu", phase, model: "tiny", workload: small, runs: 3, timesMs: [900, 1000, 1300], medianMs: 1000,
    compileMs: 250, firstCallMs: 1250, tokens: 500, flops: 2e9, countedFlops: 2e9,
    parts: phase === "rollout"
      ? { prefill: { medianMs: 500, flops: 1e9, countedFlops: 1e9, bound: "compute" }, decode: { medianMs: 500, flops: 1e9, countedFlops: 1e9, bytes: 3e9, bound: "memory" } }
      : {},
    peakMemoryBytes: 2 ** 20, peakRssBytes: 2 ** 30, fillSeconds: 0.1, notes: [],
  };
}

describe("records", () => {
  it("the median of an even count is the mean of the middle two", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([40, 10, 30, 20])).toBe(25);
    expect(median([24.7, 42.7])).toBeCloseTo(33.7);
  });

  const limits = { flops: 10e9, bandwidth: 12e9, source: "test" };

  it("a compute-bound phase: FLOP/s over the FLOP/s limit; tokens/s from the median", () => {
    const r = toRecord(fakeMeasurement("update"), limits);
    expect(r).toMatchObject({ device: "cpu", phase: "update", medianMs: 1000, tokensPerSecond: 500, bound: "compute", minMs: 900, maxMs: 1300 });
    expect(r.flopsPerSecond).toBeCloseTo(2e9);
    expect(r.utilization).toBeCloseTo(0.2);
  });

  it("a rollout is judged by its decode loop's bytes against bandwidth; its prefill against FLOP/s", () => {
    const r = toRecord(fakeMeasurement("rollout"), limits);
    expect(r.bound).toBe("memory");
    expect(r.bytesPerSecond).toBeCloseTo(6e9);
    expect(r.utilization).toBeCloseTo(0.5); // 6 GB/s of 12
    expect(r.parts!.prefill!.utilization).toBeCloseTo(0.2); // 2 GFLOP/s of 10
    expect(r.parts!.decode!.share).toBeCloseTo(0.5);
  });

  it("no limits known (a device kind without a datasheet): utilisation is null, never guessed", () => {
    expect(toRecord(fakeMeasurement("logprobs"), undefined).utilization).toBeNull();
  });

  it("an absent device has its reason and null figures", () => {
    expect(absentRecord("tpu", "update", "tiny", "no chip")).toEqual({ device: "tpu", phase: "update", model: "tiny", absent: "no chip", medianMs: null, tokensPerSecond: null, utilization: null });
  });

  it("the table names absent devices with their reason; the comparison gives new/old ratios", () => {
    const now = [toRecord(fakeMeasurement("update"), limits), absentRecord("tpu", "update", "tiny", "libtpu was not found")];
    const table = formatTable(now);
    expect(table).toContain("tpu absent: libtpu was not found");
    expect(table).toMatch(/\| cpu +\| update +\| 1000\.0 +\| 900\.0-1300\.0/);
    const before = [{ ...now[0]!, medianMs: 2000, tokensPerSecond: 250 }];
    const comparison = compareRecords(now, before);
    expect(comparison).toContain("| cpu | update | 2000.0 -> 1000.0 | 0.50 | 2.00 |");
    expect(comparison).toContain("| tpu | update | not in the earlier run |");
  });

  it("the chart has a bar per measured device and phase, and names absent devices with their reason", () => {
    const records = [toRecord(fakeMeasurement("update"), limits), { ...toRecord(fakeMeasurement("update"), limits), device: "reference", tokensPerSecond: 5 }, absentRecord("tpu", "update", "tiny", "no <chip>")];
    const svg = chartSvg(records, "test");
    expect(svg.match(/<rect [^>]*fill="#[0-9a-f]{6}"\/>/g)).toHaveLength(2); // bars; legend swatches have a stroke
    expect(svg).toContain("tpu: absent (no &lt;chip&gt;)");
    expect(svg.startsWith("<svg")).toBe(true);
  });
});

describe("datasheets", () => {
  it.each([
    ["TPU v3", "TPU v3"], ["TPU v4", "TPU v4"], ["TPU v5 lite", "TPU v5e"], ["TPU v5e", "TPU v5e"], ["TPU v5", "TPU v5p"], ["TPU v5p", "TPU v5p"],
    ["TPU v6 lite", "TPU v6e"], ["NVIDIA H100 80GB HBM3", "NVIDIA H100 SXM"], ["NVIDIA H100 PCIe", "NVIDIA H100 PCIe"], ["NVIDIA H200", "NVIDIA H200"],
    ["NVIDIA A100-SXM4-80GB", "NVIDIA A100 80GB"], ["NVIDIA A100-SXM4-40GB", "NVIDIA A100 40GB"], ["NVIDIA L4", "NVIDIA L4"], ["Tesla T4", "NVIDIA T4"],
    ["Tesla V100-SXM2-16GB", "NVIDIA V100"],
  ])("%s is %s", (kind, name) => {
    expect(datasheetFor(kind)?.name).toBe(name);
  });

  it("unknown kinds have none", () => {
    expect(datasheetFor("cpu")).toBeUndefined();
    expect(datasheetFor("NVIDIA L40S")).toBeUndefined();
  });
});

describe("absent devices", () => {
  it("tpu here: libtpu not found, every place looked at, and no TPU chip", () => {
    const saved = { path: process.env.TPU_LIBRARY_PATH, sysfs: process.env.GRPO_XLA_SYSFS_ROOT };
    const sysfs = mkdtempSync(join(tmpdir(), "bench-sysfs-"));
    process.env.TPU_LIBRARY_PATH = "/nonexistent/libtpu.so";
    process.env.GRPO_XLA_SYSFS_ROOT = sysfs;
    try {
      const reason = absenceReason("tpu")!;
      expect(reason).toContain("libtpu was not found");
      expect(reason).toContain("Looked at: /nonexistent/libtpu.so");
      expect(reason).toContain("TPU_LIBRARY_PATH=/nonexistent/libtpu.so names a file that does not exist");
      expect(reason).toContain("no TPU chip");
    } finally {
      for (const [name, value] of [["TPU_LIBRARY_PATH", saved.path], ["GRPO_XLA_SYSFS_ROOT", saved.sysfs]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      rmSync(sysfs, { recursive: true, force: true });
    }
  });

  it("cpu (built) and reference are present", () => {
    expect(absenceReason("cpu")).toBeUndefined();
    expect(absenceReason("reference")).toBeUndefined();
  });

  it("npm run bench -- --devices tpu writes absent records with the reason to JSON and the chart", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-cli-"));
    try {
      const out = execFileSync(process.execPath, ["--import", "tsx", "bench/index.ts", "--devices", "tpu", "--phase", "update,step", "--json", join(dir, "b.json"), "--chart", join(dir, "b.svg")], {
        encoding: "utf8",
        env: { ...process.env, TPU_LIBRARY_PATH: "/nonexistent/libtpu.so" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      expect(out).toContain("tpu absent: no TPU plugin found: libtpu was not found.");
      const records = JSON.parse(readFileSync(join(dir, "b.json"), "utf8")).records as { device: string; phase: string; absent: string; medianMs: null }[];
      expect(records.map((r) => [r.device, r.phase, r.medianMs])).toEqual([["tpu", "update", null], ["tpu", "step", null]]);
      expect(records[0]!.absent).toContain("Looked at: /nonexistent/libtpu.so");
      expect(readFileSync(join(dir, "b.svg"), "utf8")).toContain("tpu: absent (no TPU plugin found: libtpu was not found.");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("arguments", () => {
  it("defaults: every device present, tiny, every phase", () => {
    const options = parseSuiteArgs([]);
    expect(options.devices).toEqual(expect.arrayContaining(["reference", "cpu"]));
    expect(options.devices).not.toContain("tpu");
    expect(options.phases).toEqual(["rollout", "logprobs", "update", "step"]);
    expect(options.model).toBe("tiny");
  });

  it("a published size gets bf16 weights and a small step; options override the shapes", () => {
    const options = parseSuiteArgs(["--model", "gemma3-1b", "--phase", "rollout|update", "--new-tokens", "8", "--rank", "16"]);
    expect(options.workload).toMatchObject({ prompts: 1, G: 2, promptLength: 64, newTokens: 8, weightsDtype: "bf16", lora: { rank: 16, alpha: 16 } });
    expect(options.phases).toEqual(["rollout", "update"]);
  });

  it.each([
    [["--devices", "cpu,npu"], "--devices: unknown 'npu'"],
    [["--phase", "decode"], "--phase: unknown 'decode'"],
    [["--model", "gemma9"], "--model: unknown preset 'gemma9'"],
    [["--runs", "0"], "--runs: expected a positive integer, got '0'"],
    [["--group", "1"], "--group: GRPO needs at least 2"],
    [["--chart", "out.png"], "--chart: the chart is written as SVG"],
    [["--weights-dtype", "f16"], "--weights-dtype: expected f32 or bf16, got 'f16'"],
    [["--model", "tiny", "--prompt-length", "2000", "--new-tokens", "100"], "exceed tiny's 2048 positions"],
    [["--bogus"], "Unknown option '--bogus'"],
  ])("%j: %s", (args, message) => {
    expect(() => parseSuiteArgs(args)).toThrow(message);
  });
});

describe("the --compare reader", () => {
  const original = readFileSync(new URL("fixtures/bench-tiny-cpu.json", import.meta.url));

  it("reads a file the benchmark wrote", () => {
    const records = parseRecords(original.toString("utf8"), "old.json");
    expect(records.map((r) => r.phase)).toEqual(expect.arrayContaining(["rollout", "logprobs", "update", "step"]));
    expect(records.find((r) => r.device === "tpu")?.absent).toContain("libtpu was not found");
  });

  it.each([
    ["{", "--compare f.json: not valid JSON"],
    ["[]", "--compare f.json: not a benchmark file: (top level)"],
    ['{"records": [{"device": "cpu", "phase": "update", "medianMs": "fast", "tokensPerSecond": 1, "utilization": null}]}', "records.0.medianMs"],
  ])("%s: %s", (text, message) => {
    expect(() => parseRecords(text, "f.json")).toThrow(message);
  });

  it("2000 mutated files give records (which compare without error) or an error naming the file", () => {
    let errors = 0;
    for (let i = 0; i < 2000; i++) {
      const text = Buffer.from(mutate(original, 9, i)).toString("utf8");
      try {
        const records = parseRecords(text, "fuzz.json");
        expect(typeof compareRecords(records, records)).toBe("string");
        expect(typeof formatTable(records)).toBe("string");
      } catch (error) {
        expect((error as Error).message, `case ${i}`).toMatch(/^--compare fuzz\.json: /);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(500);
  });
});
