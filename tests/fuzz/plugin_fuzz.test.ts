// Issue 6.2: the CPU plugin never crashes or hangs on malformed modules. Seeded mutations of real modules (the
// golden and fixture modules, and every op case of the suite lowered) are compiled through the plugin's C API in
// a child process and run on zero-filled arguments when they compile; a crash or a hang is counted with its input,
// not fatal. A clear error is the expected answer to bad input (a timeout in a module with a while loop is counted
// apart: mutations make loops that never end). 20,000 cases go through the plugin as built
// (-O3), 5,000 through its AddressSanitizer + UBSan + _GLIBCXX_ASSERTIONS build, where out-of-bounds reads and
// integer overflows fail too. `npm run fuzz -- N` runs more, with any seed.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { nativeBuildDir } from "../../src/runtime/native.js";
import { fuzzCases, fuzzPlugin, seedModules, type FuzzSummary } from "./fuzz.js";

const seeds = seedModules();

function failureReport(summary: FuzzSummary): string[] {
  return summary.failures.map((f) => {
    const cause = f.detail.match(/runtime error: .*|SUMMARY: .*|Assertion .*/)?.[0] ?? "";
    return `${f.kind} (${f.detail.split("\n")[0]}${cause ? `: ${cause}` : ""}) on ${f.seed} after: ${f.description}`;
  });
}

describe("the fuzz harness", () => {
  it("attributes a crash and a hang to their cases, restarts the child and carries on", async () => {
    const texts = ["module a", "CRASH", "module b", "junk", "HANG", "module c", "HANG in stablehlo.while", "module d"];
    const cases = texts.map((text) => ({ seed: text, description: "", text }));
    const summary = await fuzzPlugin(cases, {
      driver: process.execPath,
      plugin: join(dirname(fileURLToPath(import.meta.url)), "fake_driver.mjs"),
      timeoutMs: 5_000,
    });
    expect(summary.cases).toBe(8);
    expect(summary.failures.map((f) => [f.kind, f.text])).toEqual([["crash", "CRASH"], ["hang", "HANG"]]);
    expect(summary.failures[0]!.detail).toContain("SIGSEGV");
    expect(summary.failures[0]!.detail).toContain("crashing as asked");
    // A loop that never ends is the program's doing, counted apart; the child is still replaced.
    expect(summary.outcomes).toEqual({ ran: 4, "compile-error": 1, "while-timeout": 1 });
    expect(summary.restarts).toBe(3);
  });
});

describe("fuzzing the CPU plugin with mutated modules", () => {
  it("the seed corpus is valid input: every seed compiles and runs on zero arguments", async () => {
    expect(seeds.length).toBeGreaterThan(100);
    const summary = await fuzzPlugin(seeds.map((s) => ({ seed: s.name, description: "unchanged", text: s.text })));
    expect(failureReport(summary)).toEqual([]);
    expect(summary.outcomes).toEqual({ ran: seeds.length });
  });

  it("20,000 cases on the plugin as built: no crash, no hang", async () => {
    const summary = await fuzzPlugin(fuzzCases(seeds, 20_000, 20261201), { timeoutMs: 10_000 });
    expect(failureReport(summary)).toEqual([]);
    expect(summary.cases).toBe(20_000);
    // The mutations reach both the error paths and execution.
    expect(summary.outcomes["compile-error"]).toBeGreaterThan(5_000);
    expect(summary.outcomes["ran"]).toBeGreaterThan(2_000);
  }, 120_000);

  it("5,000 cases on the AddressSanitizer + _GLIBCXX_ASSERTIONS build: no crash, no hang", async () => {
    const summary = await fuzzPlugin(fuzzCases(seeds, 5_000, 6_2), {
      driver: join(nativeBuildDir(), "cpu_plugin_fuzz_checked"),
      plugin: join(nativeBuildDir(), "grpo_xla_cpu_plugin_checked.so"),
      timeoutMs: 30_000,
    });
    expect(failureReport(summary)).toEqual([]);
    expect(summary.cases).toBe(5_000);
    expect(summary.outcomes["ran"]).toBeGreaterThan(500);
  }, 120_000);
});
