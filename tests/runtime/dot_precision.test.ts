// The CPU plugin's reading of dot_general's precision_config (issue 10.6): each level compiles and runs (in f32,
// which is HIGHEST, whatever is asked); a malformed value is a compile error at the attribute's line and column.
import { describe, expect, it } from "vitest";
import { mainModule, useCpuBackend } from "./helpers.js";

const LEVELS = ["DEFAULT", "HIGH", "HIGHEST"];

describe("malformed precision_config in a hand-written module (issue 10.6)", () => {
  const cpu = useCpuBackend();
  const type = "tensor<2x2xf32>";
  const moduleWith = (precision: string) =>
    mainModule(`(%a: ${type}, %b: ${type}) -> ${type}`, [
      `%0 = "stablehlo.dot_general"(%a, %b) {dot_dimension_numbers = #stablehlo.dot<lhs_contracting_dimensions = [1], ` +
        `rhs_contracting_dimensions = [0]>, precision_config = ${precision}} : (${type}, ${type}) -> ${type}`,
      `"func.return"(%0) : (${type}) -> ()`,
    ]);

  /** "line L, column C" of the first occurrence of `needle` in `text` (1-based, as the parser counts). */
  function position(text: string, needle: string): string {
    const offset = text.indexOf(needle);
    const before = text.slice(0, offset).split("\n");
    return `line ${before.length}, column ${before[before.length - 1]!.length + 1}`;
  }

  async function compileMessage(text: string): Promise<string> {
    try {
      (await cpu().compile(text)).dispose();
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error("compile unexpectedly succeeded");
  }

  it.each([
    ["an unknown level", "[#stablehlo<precision LOW>, #stablehlo<precision HIGH>]", "#stablehlo<precision LOW>", /unknown precision 'LOW'/],
    ["a second entry that is not a precision", "[#stablehlo<precision HIGH>, #stablehlo<comparison_direction LT>]", "#stablehlo<comparison_direction", /entries must be #stablehlo<precision DEFAULT\|HIGH\|HIGHEST>/],
    ["one entry for two operands", "[#stablehlo<precision HIGH>]", "[#stablehlo<precision HIGH>]", /one entry per operand \(2\), got 1/],
    ["a value that is not a list", "#stablehlo<precision HIGH>", "#stablehlo<precision HIGH>}", /must be a list/],
  ])("rejects %s at its position", async (_what, precision, at, message) => {
    const text = moduleWith(precision);
    const error = await compileMessage(text);
    expect(error).toMatch(message);
    expect(error).toContain(`${position(text, at)}: 'stablehlo.dot_general' attribute 'precision_config'`);
  });

  it.each(LEVELS)("accepts %s and runs it", async (hlo) => {
    const backend = cpu();
    const executable = await backend.compile(moduleWith(`[#stablehlo<precision ${hlo}>, #stablehlo<precision ${hlo}>]`));
    const a = await backend.fromHost(new Float32Array([1, 2, 3, 4]), "f32", [2, 2]);
    const b = await backend.fromHost(new Float32Array([0.5, -1, 2, 0.25]), "f32", [2, 2]);
    try {
      const [out] = await executable.execute([a, b]);
      const host = await out!.toHost();
      out!.dispose();
      // [[1*0.5 + 2*2, 1*-1 + 2*0.25], [3*0.5 + 4*2, 3*-1 + 4*0.25]]
      expect(Array.from(host)).toEqual([4.5, -0.5, 9.5, -2]);
    } finally {
      a.dispose();
      b.dispose();
      executable.dispose();
    }
  });
});
