// Every primitive on the reference device, eagerly and through jit, against values computed in the test.
import { describe, expect, it } from "vitest";
import { f32ToBf16Bits } from "../../src/core/dtype.js";
import { ALL_PRIMITIVES } from "../../src/core/primitive.js";
import { bf16Arithmetic, bf16Round, f32Bits, f32FromBits, makeRng } from "../helpers/arrays.js";
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

describe("the bf16 rounding oracles (issue 6.15)", () => {
  it("agree with each other and with the library's f32ToBf16Bits over every exponent", () => {
    // Two independent host oracles (bit pattern with an explicit tie rule; arithmetic on the magnitude) and the
    // library's converter, on random f32 patterns of every exponent, and on ties, which random patterns rarely hit.
    const rng = makeRng(615);
    const patterns: number[] = [];
    for (let i = 0; i < 50_000; i++) patterns.push(Math.floor(rng() * 2 ** 32));
    for (let e = 0; e < 256; e++) for (const low of [0x8000, 0x18000, 0x7fff, 0x8001]) patterns.push(((e << 23) | low) >>> 0, ((e << 23) | low | 0x80000000) >>> 0);
    for (const bits of patterns) {
      const v = f32FromBits(bits);
      if (Number.isNaN(v)) continue;
      const arithmetic = bf16Arithmetic(v);
      const bitwise = bf16Round(v);
      const library = f32ToBf16Bits(v);
      if (!Object.is(arithmetic, bitwise) || f32Bits(arithmetic) >>> 16 !== library) {
        throw new Error(`bf16 of 0x${bits.toString(16)} (${v}): arithmetic ${arithmetic}, bit pattern ${bitwise}, library 0x${library.toString(16)}`);
      }
    }
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
