// What checks the modules the suite lowers (issue 6.6): mlir-opt-22 with --allow-unregistered-dialect checks
// structure only (SSA, syntax, builtin types and attributes, func.return against the signature) and sees
// stablehlo ops as opaque; the cpu plugin's parser and type checker (compile, never run) is the semantic check.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { verifyModules } from "../helpers/mlir.js";
import { compileModules } from "../helpers/plugin_check.js";
import { mainModule } from "../runtime/helpers.js";

// An add of f32[3] and i32[4] that claims an f64[7] result: every type is a valid builtin type.
const MISTYPED_ADD = mainModule("(%arg0: tensor<3xf32>, %arg1: tensor<4xi32>) -> tensor<7xf64>", [
  `%0 = "stablehlo.add"(%arg0, %arg1) : (tensor<3xf32>, tensor<4xi32>) -> tensor<7xf64>`,
  `"func.return"(%0) : (tensor<7xf64>) -> ()`,
]);
// The same mistake in element types the engine supports, so the op's own type check must catch it.
const MISMATCHED_ADD = mainModule("(%arg0: tensor<3xf32>, %arg1: tensor<4xi32>) -> tensor<7xf32>", [
  `%0 = "stablehlo.add"(%arg0, %arg1) : (tensor<3xf32>, tensor<4xi32>) -> tensor<7xf32>`,
  `"func.return"(%0) : (tensor<7xf32>) -> ()`,
]);
const GOOD_ADD = mainModule("(%arg0: tensor<3xf32>) -> tensor<3xf32>", [
  `%0 = "stablehlo.add"(%arg0, %arg0) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>`,
  `"func.return"(%0) : (tensor<3xf32>) -> ()`,
]);

describe("the two module checks", () => {
  it("mlir-opt's structural check accepts both mistyped adds: it cannot see stablehlo semantics", () => {
    expect(verifyModules([
      { name: "mistyped add", text: MISTYPED_ADD },
      { name: "mismatched add", text: MISMATCHED_ADD },
    ])).toEqual([]);
  });

  it("the cpu plugin rejects it, naming the module; good and repeated modules pass once", async () => {
    const failures = await compileModules([
      { name: "good", text: GOOD_ADD },
      { name: "mistyped add", text: MISTYPED_ADD },
      { name: "good again", text: GOOD_ADD },
      { name: "mistyped add again", text: MISTYPED_ADD },
      { name: "mismatched add", text: MISMATCHED_ADD },
    ]);
    expect(failures.map((f) => f.name)).toEqual(["mistyped add", "mismatched add"]);
    expect(failures[0]!.message).toMatch(/line 2, column \d+: unsupported element type 'f64'/);
    expect(failures[1]!.message).toMatch(/line 3, column 5: 'stablehlo\.add' operand types differ: tensor<3xf32> vs tensor<4xi32>/);
  });
});

describe("a test file whose lowered module the plugin rejects", () => {
  it("fails, even though its test ran only on the reference device", () => {
    const run = spawnSync(process.execPath, ["node_modules/vitest/vitest.mjs", "run", "--config", "tests/suite/fixtures/vitest.config.ts"], {
      cwd: process.cwd(),
      env: { ...process.env, BAD_MODULE: MISTYPED_ADD, GRPO_XLA_DUMP_DIR: "" },
      encoding: "utf8",
      timeout: 120_000,
    });
    const output = run.stdout + run.stderr;
    expect(run.status, output).toBe(1);
    expect(output).toMatch(/1 passed/);
    expect(output).toMatch(/1 of 2 distinct module\(s\) are rejected by the cpu plugin/);
    expect(output).toMatch(/0-99999-mistyped_add\.mlir/);
  });
});
