// GRPO_XLA_DUMP_DIR set before the suite runs keeps every module the suite lowers, one folder per test file
// (issue 6.17). The end-to-end case runs one small test file in a child vitest.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { keptDumpDir } from "../helpers/dump_dir.js";
import { verifyModules } from "../helpers/mlir.js";

describe("the folder a test file's modules are kept in", () => {
  it("mirrors the test file's path under the root, without the .test.ts suffix", () => {
    expect(keptDumpDir("/out", "/repo/tests/ops/cpu_vs_reference.test.ts", "/repo")).toBe("/out/tests/ops/cpu_vs_reference");
    expect(keptDumpDir("rel", "/repo/tests/a.test.ts", "/repo")).toBe(join(process.cwd(), "rel/tests/a"));
    expect(keptDumpDir("/out", "/elsewhere/x/b.test.ts", "/repo")).toBe("/out/elsewhere_x_b");
  });

  it("is undefined without a root, and an error when the test file is unknown", () => {
    expect(keptDumpDir(undefined, "/repo/tests/a.test.ts", "/repo")).toBeUndefined();
    expect(keptDumpDir("", "/repo/tests/a.test.ts", "/repo")).toBeUndefined();
    expect(() => keptDumpDir("/out", undefined)).toThrow(/did not say which test file runs/);
  });
});

describe("npm test with GRPO_XLA_DUMP_DIR set", () => {
  it("keeps the modules of each test file in its own folder, replacing an earlier run's", () => {
    const root = mkdtempSync(join(tmpdir(), "grpo-xla-suite-dump-"));
    try {
      const folder = join(root, "tests", "transforms", "stop_gradient");
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, "0-00000-stale.mlir"), "from an earlier run");
      const run = spawnSync(process.execPath, ["node_modules/vitest/vitest.mjs", "run", "tests/transforms/stop_gradient.test.ts"], {
        cwd: process.cwd(),
        env: { ...process.env, GRPO_XLA_DUMP_DIR: root },
        encoding: "utf8",
        timeout: 120_000,
      });
      expect(run.status, run.stdout + run.stderr).toBe(0);
      const kept = readdirSync(folder).sort();
      expect(kept).not.toContain("0-00000-stale.mlir");
      // The file lowers eager one-op programs on cpu and jitted ones on both devices' behalf.
      expect(kept.some((f) => /-eager_stop_gradient\.mlir$/.test(f))).toBe(true);
      expect(kept.filter((f) => /-jitted\.mlir$/.test(f)).length).toBeGreaterThan(5);
      expect(kept.every((f) => f.endsWith(".mlir"))).toBe(true);
      const modules = kept.map((f) => ({ name: f, text: readFileSync(join(folder, f), "utf8") }));
      expect(modules.every((m) => m.text.includes("func.func @main"))).toBe(true);
      expect(verifyModules(modules)).toEqual([]);
      // Only the file that ran has a folder.
      expect(readdirSync(root)).toEqual(["tests"]);
      expect(readdirSync(join(root, "tests"))).toEqual(["transforms"]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
