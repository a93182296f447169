// GRPO_XLA_DUMP_DIR set before the suite runs keeps every module the suite lowers, one folder per test file
// (issue 6.17): where each file's folder is. harness.test.ts runs fixture files with it set.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { keptDumpDir } from "../helpers/dump_dir.js";

describe("the folder a test file's modules are kept in", () => {
  it("mirrors the test file's path under the root, without the .test.ts suffix", () => {
    expect(keptDumpDir("/out", "/repo/tests/ops/cpu_vs_reference.test.ts", "/repo")).toBe("/out/tests/ops/cpu_vs_reference");
    expect(keptDumpDir("rel", "/repo/tests/a.test.ts", "/repo")).toBe(join(process.cwd(), "rel/tests/a"));
    expect(keptDumpDir("/out", "/elsewhere/x/b.test.ts", "/repo")).toBe("/out/elsewhere_x_b");
    expect(keptDumpDir("/out", "/repo/tests/suite/fixtures/clean.fixture.ts", "/repo")).toBe("/out/tests/suite/fixtures/clean");
  });

  it("is undefined without a root, and an error when the test file is unknown", () => {
    expect(keptDumpDir(undefined, "/repo/tests/a.test.ts", "/repo")).toBeUndefined();
    expect(keptDumpDir("", "/repo/tests/a.test.ts", "/repo")).toBeUndefined();
    expect(() => keptDumpDir("/out", undefined)).toThrow(/did not say which test file runs/);
  });
});
