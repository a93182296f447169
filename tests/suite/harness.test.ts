// The suite's per-file harness (tests/helpers/setup.ts) seen from outside: one child vitest runs the fixture files
// in tests/suite/fixtures with the same setup and GRPO_XLA_DUMP_DIR set, and each file must end as the harness
// promises: a module the cpu plugin rejects fails its file even when its test ran only on reference (issue 6.6),
// an array left alive fails its file (issue 6.11), and a clean file passes with its modules kept in its own
// folder, replacing an earlier run's (issue 6.17).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MISTYPED_ADD } from "./modules.js";

interface FileResult {
  status: string;
  message: string;
  tests: { title: string; status: string }[];
}

const root = mkdtempSync(join(tmpdir(), "grpo-xla-harness-"));
const kept = (fixture: string) => join(root, "tests", "suite", "fixtures", fixture);
const results = new Map<string, FileResult>();

beforeAll(() => {
  mkdirSync(kept("clean"), { recursive: true });
  writeFileSync(join(kept("clean"), "0-00000-stale.mlir"), "from an earlier run");
  const report = join(root, "report.json");
  const run = spawnSync(
    process.execPath,
    ["node_modules/vitest/vitest.mjs", "run", "--config", "tests/suite/fixtures/vitest.config.ts", "--reporter=json", `--outputFile=${report}`],
    { cwd: process.cwd(), env: { ...process.env, BAD_MODULE: MISTYPED_ADD, GRPO_XLA_DUMP_DIR: root }, encoding: "utf8", timeout: 120_000 },
  );
  if (run.error !== undefined) throw run.error;
  const json = JSON.parse(readFileSync(report, "utf8")) as {
    testResults: { name: string; status: string; message: string; assertionResults: { title: string; status: string }[] }[];
  };
  for (const r of json.testResults) {
    const name = r.name.replace(/^.*\/fixtures\//, "").replace(/\.fixture\.ts$/, "");
    results.set(name, { status: r.status, message: r.message, tests: r.assertionResults.map((a) => ({ title: a.title, status: a.status })) });
  }
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("a fixture run through the suite's setup", () => {
  it("runs every fixture file", () => {
    expect([...results.keys()].sort()).toEqual(["bad_module", "clean", "leak"]);
  });

  it("fails a file whose lowered module the cpu plugin rejects, though its test passed on reference", () => {
    const r = results.get("bad_module")!;
    expect(r.tests).toEqual([{ title: "runs on reference only", status: "passed" }]);
    expect(r.status).toBe("failed");
    expect(r.message).toMatch(/1 of 2 distinct module\(s\) are rejected by the cpu plugin/);
    expect(r.message).toMatch(/0-99999-mistyped_add\.mlir\ncpu compile: .*unsupported element type 'f64'/);
  });

  it("fails a file that leaves a device buffer alive, seen before the devices close", () => {
    const r = results.get("leak")!;
    expect(r.tests).toEqual([{ title: "creates an array and forgets it", status: "passed" }]);
    expect(r.status).toBe("failed");
    expect(r.message).toMatch(/leak check: before closing the devices 1 device buffer\(s\) are alive/);
  });

  it("passes a clean file and keeps its modules, and only this run's, in the file's own folder", () => {
    const r = results.get("clean")!;
    expect(r.status, r.message).toBe("passed");
    const files = readdirSync(kept("clean")).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/-clean_reference\.mlir$/);
    expect(files[1]).toMatch(/-clean_cpu\.mlir$/);
    for (const f of files) expect(readFileSync(join(kept("clean"), f), "utf8")).toMatch(/"stablehlo\.multiply"/);
    expect(readdirSync(join(root, "tests", "suite", "fixtures")).sort()).toEqual(["bad_module", "clean", "leak"]);
  });
});
