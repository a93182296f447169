// What checks the modules the suite lowers (issue 6.6): mlir-opt-22 with --allow-unregistered-dialect checks
// structure only (SSA, syntax, builtin types and attributes, func.return against the signature) and sees
// stablehlo ops as opaque; the cpu plugin's parser and type checker (compile, never run) is the semantic check.
// That a failing module fails its test file is shown in harness.test.ts.
import { describe, expect, it } from "vitest";
import { verifyModules } from "../helpers/mlir.js";
import { compileModules } from "../helpers/plugin_check.js";
import { GOOD_ADD, MISMATCHED_ADD, MISTYPED_ADD } from "./modules.js";

describe("the two module checks", () => {
  it("mlir-opt's structural check accepts both mistyped adds: it cannot see stablehlo semantics", () => {
    expect(verifyModules([
      { name: "mistyped add", text: MISTYPED_ADD },
      { name: "mismatched add", text: MISMATCHED_ADD },
    ])).toEqual([]);
  });

  it("the cpu plugin rejects both, naming each module once; good and repeated modules compile once", async () => {
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
