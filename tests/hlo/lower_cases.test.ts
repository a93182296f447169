// Every op case (one per primitive, dtype and layout) and the gradient of every VJP case lowers to a StableHLO
// module that passes mlir-opt-22's structural check; the suite's setup also compiles each on the cpu plugin.
import { describe, expect, it } from "vitest";
import { grad, jit } from "../../src/index.js";
import { toDevice } from "../helpers/arrays.js";
import { expectModulesVerify, type ModuleText } from "../helpers/mlir.js";
import { opCases } from "../ops/cases.js";
import { gradCases } from "../transforms/grad_cases.js";

const lowered: ModuleText[] = [];

describe("lowering every op case", () => {
  it.each(opCases().map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const args = c.build().map((x) => toDevice(x));
    const text = jit(c.fn, { name: c.name }).lower(...args).stablehlo();
    expect(text).toContain("func.func @main(");
    lowered.push({ name: c.name, text });
  });

  it("all lowered modules pass mlir-opt-22's structural check (one batch)", () => {
    expect(lowered.length).toBe(opCases().length);
    expectModulesVerify(lowered);
  });
});

describe("lowering the gradient of every VJP case", () => {
  const gradModules: ModuleText[] = [];
  it.each(gradCases().map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const args = c.args().map((x) => toDevice(x));
    const text = jit(grad(c.fn, { argnums: c.options?.argnums ?? 0 }), { name: `grad ${c.name}` }).lower(...args).stablehlo();
    gradModules.push({ name: c.name, text });
  });

  it("all gradient modules pass mlir-opt-22's structural check (one batch)", () => {
    expect(gradModules.length).toBe(gradCases().length);
    expectModulesVerify(gradModules);
  });
});
