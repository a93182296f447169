// The MLIR builder and printer on their own (hlo/ knows nothing of src/): literal spellings, dense constants
// (lists and hex blobs), attribute syntax, SSA naming with regions and multiple results, and the structural
// errors it raises. Every module built here must pass mlir-opt-22's structural check.
import { describe, expect, it } from "vitest";
import { ModuleBuilder, attr, printAttribute, printScalar, tensorType } from "../../hlo/index.js";
import { bf16Round, f32Bits } from "../helpers/arrays.js";
import { expectModulesVerify } from "../helpers/mlir.js";

const f32 = (shape: number[]) => tensorType("f32", shape);

describe("scalar literals", () => {
  it("floats always carry a dot and an exponent and round-trip through f32", () => {
    expect(printScalar("f32", 1)).toBe("1.0e+0");
    expect(printScalar("f32", -2.5)).toBe("-2.5e+0");
    expect(printScalar("f32", 0)).toBe("0.0e+0");
    expect(printScalar("f32", -0)).toBe("-0.0e+00");
    expect(printScalar("f32", 1e-7)).toBe("1.0000000116860974e-7"); // the f32 nearest 1e-7, exactly
    for (const v of [0.1, 1 / 3, 3.4028234663852886e38, 1.1754943508222875e-38, 1e-45]) {
      expect(f32Bits(Number(printScalar("f32", v)))).toBe(f32Bits(v));
    }
  });

  it("non-finite floats are hex bit patterns of the element width", () => {
    expect(printScalar("f32", Infinity)).toBe("0x7F800000");
    expect(printScalar("f32", -Infinity)).toBe("0xFF800000");
    expect(printScalar("f32", NaN)).toBe("0x7FC00000");
    expect(printScalar("bf16", -Infinity)).toBe("0xFF80");
    expect(printScalar("bf16", NaN)).toBe("0x7FC0");
    expect(printScalar("f32", 1e39)).toBe("0x7F800000");
  });

  it("integers print in range for their type; bools as true/false", () => {
    expect(printScalar("i32", -5)).toBe("-5");
    expect(printScalar("ui32", -1)).toBe("4294967295");
    expect(printScalar("i32", 4294967295)).toBe("-1");
    expect(printScalar("i64", 2n ** 40n)).toBe("1099511627776");
    expect(printScalar("i1", 1)).toBe("true");
    expect(printScalar("i1", 0)).toBe("false");
    expect(printScalar("i1", true)).toBe("true");
  });
});

describe("attributes", () => {
  it("integer lists use array<i64>, empty included", () => {
    expect(printAttribute(attr.i64Array([0, 2]))).toBe("array<i64: 0, 2>");
    expect(printAttribute(attr.i64Array([]))).toBe("array<i64>");
    expect(printAttribute(attr.i64(3))).toBe("3 : i64");
  });

  it("dot dimension numbers omit empty batching lists", () => {
    expect(printAttribute(attr.dot({ lhsBatching: [], rhsBatching: [], lhsContracting: [1], rhsContracting: [0] }))).toBe(
      "#stablehlo.dot<lhs_contracting_dimensions = [1], rhs_contracting_dimensions = [0]>",
    );
    expect(printAttribute(attr.dot({ lhsBatching: [0], rhsBatching: [0], lhsContracting: [2], rhsContracting: [1] }))).toBe(
      "#stablehlo.dot<lhs_batching_dimensions = [0], rhs_batching_dimensions = [0], lhs_contracting_dimensions = [2], rhs_contracting_dimensions = [1]>",
    );
  });

  it("small dense constants are nested lists; large ones little-endian hex blobs", () => {
    expect(printAttribute(attr.dense(f32([2, 2]), { values: [1, 2, 3, 4] }))).toBe("dense<[[1.0e+0, 2.0e+0], [3.0e+0, 4.0e+0]]> : tensor<2x2xf32>");
    expect(printAttribute(attr.dense(tensorType("i1", [3]), { values: [1, 0, 1] }))).toBe("dense<[true, false, true]> : tensor<3xi1>");
    const ones = new Array<number>(17).fill(1);
    ones[1] = 2;
    const blob = printAttribute(attr.dense(f32([17]), { values: ones }));
    expect(blob.startsWith('dense<"0x0000803F00000040')).toBe(true);
    expect(blob.endsWith('"> : tensor<17xf32>')).toBe(true);
    const negatives = printAttribute(attr.dense(tensorType("i32", [17]), { values: new Array<number>(17).fill(-2) }));
    expect(negatives).toContain('"0xFEFFFFFF');
    expect(() => printAttribute(attr.dense(f32([3]), { values: [1, 2] }))).toThrow(/needs 3 values, got 2/);
  });

  it("bf16 hex blobs round each value to nearest even", () => {
    const values = new Array<number>(17).fill(0);
    values[0] = 1 + 2 ** -8; // tie: stays 1.0 (0x3F80)
    values[1] = 1 + 3 * 2 ** -8; // tie: up to 0x3F82
    const blob = printAttribute(attr.dense(tensorType("bf16", [17]), { values }));
    const hex = /"0x([0-9A-F]+)"/.exec(blob)![1]!;
    const word = (i: number) => parseInt(hex.slice(i * 4 + 2, i * 4 + 4) + hex.slice(i * 4, i * 4 + 2), 16);
    expect(word(0)).toBe(0x3f80);
    expect(word(1)).toBe(0x3f82);
    expect(f32Bits(bf16Round(values[1]!)) >>> 16).toBe(0x3f82);
  });
});

describe("the module builder", () => {
  it("names SSA values uniquely across regions, groups multiple results and passes the structural check", () => {
    const scalar = f32([]);
    const module = new ModuleBuilder([{ type: f32([4]) }, { type: f32([4]), aliasOutput: 0 }], "builder test");
    const [x, y] = module.args as [ReturnType<typeof module.body.op1>, ReturnType<typeof module.body.op1>];
    const b = module.body;
    const sum = b.op1("stablehlo.add", [x, y], f32([4]));
    const init = b.op1("stablehlo.constant", [], scalar, { value: attr.dense(scalar, { splat: 0 }) });
    const [total, biggest] = b.op("stablehlo.reduce", [sum, sum, init, init], [scalar, scalar], { dimensions: attr.i64Array([0]) }, [
      {
        argTypes: [scalar, scalar, scalar, scalar],
        body: (r, a0, a1, b0, b1) => r.ret([r.op1("stablehlo.add", [a0!, b0!], scalar), r.op1("stablehlo.maximum", [a1!, b1!], scalar)]),
      },
    ]);
    module.finish([sum, total!, biggest!]);
    const text = module.print();
    expect(text).toContain("// builder test\n");
    expect(text).toContain("%arg1: tensor<4xf32> {tf.aliasing_output = 0 : i32}");
    expect(text).toMatch(/%2:2 = "stablehlo.reduce"/);
    expect(text).toContain('"func.return"(%0, %2#0, %2#1)');
    expectModulesVerify([{ name: "builder test", text }]);
  });

  it("refuses ops after a terminator, regions without one, and printing before finish", () => {
    const module = new ModuleBuilder([{ type: f32([]) }]);
    expect(() => module.print()).toThrow(/module has no return; call finish\(\)/);
    expect(() =>
      module.body.op("stablehlo.while", [module.args[0]!], [f32([])], {}, [{ argTypes: [f32([])], body: () => {} }]),
    ).toThrow(/region of stablehlo.while has no terminator/);
    module.finish([module.args[0]!]);
    expect(() => module.body.op1("stablehlo.negate", [module.args[0]!], f32([]))).toThrow(/cannot add stablehlo.negate after the block's terminator/);
  });

  it("rejects invalid tensor dimensions", () => {
    expect(() => tensorType("f32", [2, -1])).toThrow(/invalid tensor dimension -1/);
    expect(() => tensorType("f32", [1.5])).toThrow(/invalid tensor dimension 1.5/);
  });
});
