// The CPU engine's own C++ tests (native/cpu/tests/engine_*test.cc, built as build/Release/cpu_engine_test):
// parser and type errors with line:column, every op family on hand-computed values, donation, concurrency.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nativeBuildDir } from "../../src/runtime/native.js";

describe("the CPU engine's C++ tests", () => {
  const run = spawnSync(join(nativeBuildDir(), "cpu_engine_test"), [], { encoding: "utf8", timeout: 120_000 });
  const output = `${run.stdout}${run.stderr}`;

  it("ran and reported a summary", () => {
    expect(run.error).toBeUndefined();
    expect(output).toMatch(/\d+ tests, \d+ checks, 0 failures/);
  });

  it("has no failing check", () => {
    // Each failing check prints "[test name] ..." on stderr.
    expect(run.stderr.split("\n").filter((line) => line.startsWith("["))).toEqual([]);
    expect(run.status).toBe(0);
  });
});
