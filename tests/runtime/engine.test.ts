// The CPU engine's own C++ tests (native/cpu/tests/engine_*test.cc): parser and type errors with line:column,
// every op family on hand-computed values, donation, concurrency. They run twice: cpu_engine_test is built like
// the plugin (-O3), cpu_engine_test_checked with AddressSanitizer, UBSan and -D_GLIBCXX_ASSERTIONS (issue 6.2), so
// that an out-of-bounds read or an overflow fails loudly instead of passing by luck.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nativeBuildDir } from "../../src/runtime/native.js";

describe.each(["cpu_engine_test", "cpu_engine_test_checked"])("the CPU engine's C++ tests (%s)", (binary) => {
  const run = spawnSync(join(nativeBuildDir(), binary), [], {
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, ASAN_OPTIONS: "detect_leaks=1" },
  });
  const output = `${run.stdout}${run.stderr}`;

  it("ran and reported a summary", () => {
    expect(run.error).toBeUndefined();
    expect(output).toMatch(/\d+ tests, \d+ checks, 0 failures/);
  });

  it("has no failing check and no sanitizer report", () => {
    // Each failing check prints "[test name] ..." on stderr.
    expect(run.stderr.split("\n").filter((line) => line.startsWith("["))).toEqual([]);
    expect(output).not.toMatch(/runtime error|AddressSanitizer|LeakSanitizer|Assertion/);
    expect(run.status).toBe(0);
  });
});
