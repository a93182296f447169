// Every primitive on the reference device, eagerly and through jit, against values computed in the test.
import { describe, expect, it } from "vitest";
import { ALL_PRIMITIVES } from "../../src/core/primitive.js";
import { opCases } from "./cases.js";
import { expectResults, expectedList, runCase } from "./run_case.js";

const cases = opCases();

describe("primitives on the reference device", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const inputs = c.build();
    const expected = expectedList(c, inputs);
    expectResults(c, "eager", await runCase(c, inputs, "reference", "eager"), expected);
    expectResults(c, "jit", await runCase(c, inputs, "reference", "jit"), expected);
  });
});

describe("the case table", () => {
  it("covers every primitive", () => {
    const covered = new Set(cases.flatMap((c) => c.primitives));
    expect(ALL_PRIMITIVES.filter((p) => !covered.has(p))).toEqual([]);
  });

  it("covers every comparison direction for every dtype", () => {
    for (const direction of ["EQ", "NE", "GE", "GT", "LE", "LT"]) {
      for (const dtype of ["f32", "bf16", "i32", "u32", "bool"]) {
        expect(cases.some((c) => c.name === `compare ${direction} ${dtype} [3,4]`)).toBe(true);
      }
    }
  });
});
