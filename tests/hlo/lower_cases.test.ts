// Every op case (one per primitive, dtype and layout) lowers to a StableHLO module that parses and verifies with
// mlir-opt-22, and the module's signature matches the traced program.
import { describe, expect, it } from "vitest";
import { jit } from "../../src/index.js";
import { toDevice } from "../helpers/arrays.js";
import { expectModulesVerify, type ModuleText } from "../helpers/mlir.js";
import { opCases } from "../ops/cases.js";

const lowered: ModuleText[] = [];

describe("lowering every op case", () => {
  it.each(opCases().map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const args = c.build().map((x) => toDevice(x));
    const text = jit(c.fn, { name: c.name }).lower(...args).stablehlo();
    expect(text).toContain("func.func @main(");
    lowered.push({ name: c.name, text });
  });

  it("all lowered modules verify with mlir-opt-22 (one batch)", () => {
    expect(lowered.length).toBe(opCases().length);
    expectModulesVerify(lowered);
  });
});
