// The structural checker itself: mlir-opt-22 must be present, accept the project's reference example, and reject
// broken text with a message that names the module. What it cannot see is shown in tests/suite/module_checks.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { requireMlirOpt, verifyModules } from "../helpers/mlir.js";

const example = readFileSync(new URL("./fixtures/stablehlo-example.mlir", import.meta.url), "utf8");

describe("mlir-opt-22", () => {
  it("is installed (install mlir-22-tools if this fails)", () => {
    expect(() => requireMlirOpt()).not.toThrow();
  });

  it("accepts the checked reference example (generic syntax, every op family)", () => {
    expect(verifyModules([{ name: "example", text: example }])).toEqual([]);
  });

  it("names each failing module and passes the good ones", () => {
    const good = `module {\n  func.func @main(%arg0: tensor<f32>) -> tensor<f32> {\n    "func.return"(%arg0) : (tensor<f32>) -> ()\n  }\n}\n`;
    const undefinedValue = good.replace(`"func.return"(%arg0)`, `"func.return"(%arg9)`);
    const negativeUnsigned = good
      .replaceAll("tensor<f32>", "tensor<ui32>")
      .replace(`    "func.return"(%arg0)`, `    %0 = "stablehlo.constant"() {value = dense<-1> : tensor<ui32>} : () -> tensor<ui32>\n    "func.return"(%0)`);
    const failures = verifyModules([
      { name: "good-1", text: good },
      { name: "undefined-value", text: undefinedValue },
      { name: "good-2", text: good },
      { name: "negative-unsigned", text: negativeUnsigned },
    ]);
    expect(failures.map((f) => f.name)).toEqual(["undefined-value", "negative-unsigned"]);
    expect(failures[0]!.message).toMatch(/line 3:.*undeclared SSA value/);
    expect(failures[1]!.message).toMatch(/unsigned/);
  });
});
