// StableHLO versions of what the emitter writes (issue 10.2): the tables against versions written down by hand
// from openxla/stablehlo's history, the C++ gate's copy of them, and the newest feature each module records.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ATTRIBUTE_VERSIONS,
  ModuleBuilder,
  OP_VERSIONS,
  attr,
  compareVersions,
  featureOf,
  parseVersion,
  tensorType,
  versionMismatch,
} from "../../hlo/index.js";
import { type ArrayBase, jit, np } from "../../src/index.js";

// Written from stablehlo/dialect/VhloOps.td (first `_v1` version of each op) and the Version.h bumps that followed
// the DenseI64ArrayAttr commits b046f114 (0.16.1 -> 0.16.2), 00a30800 (0.16.2 -> 0.16.3), ff9fd7b8 and c472822d
// (0.17.1 -> 0.17.2).
const KNOWN_OPS: Record<string, string> = {
  abs: "0.9.0", add: "0.9.0", and: "0.9.0", bitcast_convert: "0.9.0", broadcast_in_dim: "0.9.0", clamp: "0.9.0",
  compare: "0.9.0", concatenate: "0.9.0", constant: "0.9.0", convert: "0.9.0", cosine: "0.9.0", divide: "0.9.0",
  dot_general: "0.9.0", dynamic_slice: "0.9.0", dynamic_update_slice: "0.9.0", exponential: "0.9.0", floor: "0.9.0",
  gather: "0.9.0", iota: "0.9.0", log: "0.9.0", log_plus_one: "0.9.0", logistic: "0.9.0", maximum: "0.9.0",
  minimum: "0.9.0", multiply: "0.9.0", negate: "0.9.0", not: "0.9.0", optimization_barrier: "0.9.0", or: "0.9.0",
  pad: "0.9.0", power: "0.9.0", reduce: "0.9.0", remainder: "0.9.0", reshape: "0.9.0", return: "0.9.0",
  reverse: "0.9.0", rsqrt: "0.9.0", scatter: "0.9.0", select: "0.9.0", shift_left: "0.9.0",
  shift_right_arithmetic: "0.9.0", shift_right_logical: "0.9.0", sign: "0.9.0", sine: "0.9.0", slice: "0.9.0",
  sqrt: "0.9.0", subtract: "0.9.0", tanh: "0.9.0", transpose: "0.9.0", while: "0.9.0", xor: "0.9.0",
};
const KNOWN_ARRAY_ATTRIBUTES: Record<string, string> = {
  "slice:start_indices": "0.16.2", "slice:limit_indices": "0.16.2", "slice:strides": "0.16.2",
  "dynamic_slice:slice_sizes": "0.16.2", "pad:edge_padding_low": "0.16.2", "pad:edge_padding_high": "0.16.2",
  "pad:interior_padding": "0.16.2", "transpose:permutation": "0.16.2", "reverse:dimensions": "0.16.2",
  "broadcast_in_dim:broadcast_dimensions": "0.16.3", "reduce:dimensions": "0.17.2", "gather:slice_sizes": "0.17.2",
};
const KNOWN_OTHER_ATTRIBUTES = [
  "compare:comparison_direction", "compare:compare_type", "dot_general:dot_dimension_numbers",
  "dot_general:precision_config", "gather:dimension_numbers", "gather:indices_are_sorted",
  "scatter:scatter_dimension_numbers", "scatter:indices_are_sorted", "scatter:unique_indices", "constant:value",
  "iota:iota_dimension", "concatenate:dimension",
];

const show = (v: readonly number[]) => v.join(".");
const f32 = (shape: number[]) => tensorType("f32", shape);

describe("the version tables", () => {
  it("match the versions written down by hand", () => {
    expect(Object.fromEntries(Object.entries(OP_VERSIONS).map(([op, v]) => [op, show(v)]))).toEqual(
      Object.fromEntries(Object.entries(KNOWN_OPS).map(([op, v]) => [`stablehlo.${op}`, v])),
    );
    const attributes = Object.fromEntries(Object.entries(ATTRIBUTE_VERSIONS).map(([key, v]) => [key, show(v)]));
    expect(attributes).toEqual({
      ...Object.fromEntries(Object.entries(KNOWN_ARRAY_ATTRIBUTES).map(([key, v]) => [`stablehlo.${key}`, v])),
      ...Object.fromEntries(KNOWN_OTHER_ATTRIBUTES.map((key) => [`stablehlo.${key}`, "0.9.0"])),
    });
  });

  it("the cpu plugin's gate (native/cpu/engine/stablehlo_version.cc) holds the same ops and array attributes", () => {
    const source = readFileSync(new URL("../../native/cpu/engine/stablehlo_version.cc", import.meta.url), "utf8");
    const opList = /for \(std::string_view op :\s*\{([^}]*)\}\)/.exec(source);
    expect(opList).not.toBeNull();
    const ops = [...opList![1]!.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]!).sort();
    expect(ops).toEqual(Object.keys(KNOWN_OPS).sort());
    const arrays = Object.fromEntries(
      [...source.matchAll(/\{"([a-z_]+:[a-z_]+)", \{(\d+), (\d+), (\d+)\}\}/g)].map((m) => [m[1]!, `${m[2]}.${m[3]}.${m[4]}`]),
    );
    expect(arrays).toEqual(KNOWN_ARRAY_ATTRIBUTES);
  });

  it("versions compare and parse", () => {
    expect(compareVersions([0, 17, 2], [0, 17, 1])).toBe(1);
    expect(compareVersions([0, 17, 2], [1, 0, 0])).toBe(-1);
    expect(compareVersions([1, 13, 0], [1, 13, 0])).toBe(0);
    expect(compareVersions([1, 2, 0], [1, 10, 0])).toBe(-1);
    expect(parseVersion("1.13.0")).toEqual([1, 13, 0]);
    for (const bad of ["", "1.2", "1.2.3.4", "a.b.c", "-1.0.0", "1.0.x"]) expect(parseVersion(bad)).toBeUndefined();
  });

  it("an op or attribute missing from the tables is refused by name", () => {
    expect(() => featureOf("stablehlo.tan")).toThrow(/no StableHLO version is known for op stablehlo.tan: add it to hlo\/versions.ts/);
    expect(() => featureOf("stablehlo.exponential", "result_accuracy")).toThrow(/attribute result_accuracy of stablehlo.exponential/);
    const module = new ModuleBuilder([{ type: f32([2]) }]);
    expect(() => module.body.op1("stablehlo.cbrt", [module.args[0]!], f32([2]))).toThrow(/stablehlo.cbrt/);
  });
});

describe("the newest feature of a module", () => {
  it("is the op or attribute form with the highest version, the first one on a tie", () => {
    const module = new ModuleBuilder([{ type: f32([3]) }, { type: f32([2, 3]) }]);
    const [x, m] = module.args as [ReturnType<typeof module.body.op1>, ReturnType<typeof module.body.op1>];
    expect(module.requires).toEqual({ version: [0, 9, 0], what: "no StableHLO op" });
    const neg = module.body.op1("stablehlo.negate", [x], f32([3]));
    expect(module.requires).toEqual({ version: [0, 9, 0], what: "stablehlo.negate" });
    const t = module.body.op1("stablehlo.transpose", [m], f32([3, 2]), { permutation: attr.i64Array([1, 0]) });
    expect(module.requires.version).toEqual([0, 16, 2]);
    module.body.op1("stablehlo.slice", [t], f32([1, 2]), {
      start_indices: attr.i64Array([0, 0]),
      limit_indices: attr.i64Array([1, 2]),
      strides: attr.i64Array([1, 1]),
    });
    expect(module.requires.what).toBe("stablehlo.transpose attribute permutation written as array<i64: ...>");
    const b = module.body.op1("stablehlo.broadcast_in_dim", [neg], f32([2, 3]), { broadcast_dimensions: attr.i64Array([1]) });
    expect(module.requires).toEqual({
      version: [0, 16, 3],
      what: "stablehlo.broadcast_in_dim attribute broadcast_dimensions written as array<i64: ...>",
    });
    module.finish([b]);
    expect(module.requires.version).toEqual([0, 16, 3]);
  });

  it("counts ops inside regions", () => {
    const module = new ModuleBuilder([{ type: f32([2, 3]) }]);
    const zero = module.body.op1("stablehlo.constant", [], f32([]), { value: attr.dense(f32([]), { splat: 0 }) });
    const [sum] = module.body.op("stablehlo.reduce", [module.args[0]!, zero], [f32([2])], { dimensions: attr.i64Array([1]) }, [
      { argTypes: [f32([]), f32([])], body: (r, a, c) => r.ret([r.op1("stablehlo.add", [a!, c!], f32([]))]) },
    ]);
    module.finish([sum!]);
    expect(module.requires).toEqual({ version: [0, 17, 2], what: "stablehlo.reduce attribute dimensions written as array<i64: ...>" });
  });

  it("is recorded for every lowered program", () => {
    using x = np.array([[1, 2, 3], [4, 5, 6]], { device: "reference" });
    const lowered = jit((a: ArrayBase) => np.sum(np.exp(a), { axis: 1 })).lower(x);
    const text = lowered.stablehlo();
    expect(text).toContain('"stablehlo.reduce"');
    expect(lowered.stablehloRequires()).toEqual({
      version: [0, 17, 2],
      what: "stablehlo.reduce attribute dimensions written as array<i64: ...>",
    });
    const plain = jit((a: ArrayBase) => np.multiply(np.exp(a), a)).lower(x);
    expect(plain.stablehloRequires().version).toEqual([0, 9, 0]);
  });

  it("the mismatch message names the feature, the version it needs and the plugin's", () => {
    const needs = featureOf("stablehlo.reduce", "dimensions", true);
    expect(versionMismatch(needs, [0, 17, 2], "the cpu plugin")).toBeUndefined();
    expect(versionMismatch(needs, [1, 0, 0], "the cpu plugin")).toBeUndefined();
    expect(versionMismatch(needs, [0, 17, 1], "the cpu plugin")).toBe(
      "the module needs StableHLO 0.17.2 for stablehlo.reduce attribute dimensions written as array<i64: ...>, " +
        "but the cpu plugin reports StableHLO 0.17.1 (its stablehlo_current_version): update the plugin",
    );
  });
});
