// One gradient case per VJP rule (and per interesting layout of the structural ones). Each function ends in a
// weighted sum with fixed random weights, so the cotangent reaching the primitive is not all ones.
import { type ArrayBase, Primitive, lax, np } from "../../src/index.js";
import type { DotDimensionNumbers } from "../../src/core/primitive.js";
import { type HostValue, type RandomOptions, hv, randomValue } from "../helpers/arrays.js";
import type { CheckGradOptions } from "../helpers/grad_check.js";
import { seedOf } from "../ops/case_types.js";

export interface GradCase {
  name: string;
  /** The primitives whose VJP rule this case exercises. */
  primitives: readonly Primitive[];
  args: () => HostValue[];
  fn: (...args: ArrayBase[]) => ArrayBase;
  options?: CheckGradOptions;
}

/** A constant operand that joins whichever device the computation runs on (uncommitted). */
function constant(x: HostValue): ArrayBase {
  return np.array(x.data, { dtype: x.dtype, shape: x.shape });
}

/** sum(y * W) with W fixed random weights of y's shape (seeded by the shape). */
export function weightedSum(y: ArrayBase): ArrayBase {
    const w = randomValue("f32", y.shape, 97 + y.shape.reduce((a, b) => a * 31 + b, 7), { min: -1, max: 1 });
  const weights = constant(w);
  return np.sum(np.multiply(y, weights));
}

const f32 = (shape: number[], name: string, domain?: RandomOptions) => randomValue("f32", shape, seedOf(name), domain);

function unary(primitive: Primitive, op: (x: ArrayBase) => ArrayBase, domain?: RandomOptions): GradCase {
  const name = `${primitive} [2,3]`;
  return { name, primitives: [primitive], args: () => [f32([2, 3], name, domain)], fn: (x) => weightedSum(op(x!)) };
}

function binary(primitive: Primitive, op: (a: ArrayBase, b: ArrayBase) => ArrayBase, domainA?: RandomOptions, domainB?: RandomOptions): GradCase {
  const name = `${primitive} [2,3] both operands`;
  return {
    name,
    primitives: [primitive],
    args: () => [f32([2, 3], name, domainA), f32([2, 3], `${name}/b`, domainB)],
    fn: (a, b) => weightedSum(op(a!, b!)),
    options: { argnums: [0, 1] },
  };
}

function dotCase(what: string, lhs: number[], rhs: number[], dims: DotDimensionNumbers): GradCase {
  const name = `dot_general ${what}`;
  return {
    name,
    primitives: [Primitive.DotGeneral],
    args: () => [f32(lhs, name), f32(rhs, `${name}/b`)],
    fn: (a, b) => weightedSum(lax.dotGeneral(a!, b!, dims)),
    options: { argnums: [0, 1] },
  };
}

export function gradCases(): GradCase[] {
  const away = { min: -2, max: 2, awayFromZero: 0.3 };
  return [
    unary(Primitive.Neg, lax.neg),
    unary(Primitive.Exp, lax.exp),
    unary(Primitive.Log, lax.log, { min: 0.5, max: 3 }),
    unary(Primitive.Log1p, lax.log1p, { min: -0.5, max: 2 }),
    unary(Primitive.Tanh, lax.tanh),
    unary(Primitive.Logistic, lax.logistic, { min: -3, max: 3 }),
    unary(Primitive.Sqrt, lax.sqrt, { min: 0.5, max: 3 }),
    unary(Primitive.Rsqrt, lax.rsqrt, { min: 0.5, max: 3 }),
    unary(Primitive.Abs, lax.abs, away),
    unary(Primitive.Sin, lax.sin, { min: -3, max: 3 }),
    unary(Primitive.Cos, lax.cos, { min: -3, max: 3 }),
    {
      name: "sign and floor have zero derivative (away from their jumps)",
      primitives: [Primitive.Sign, Primitive.Floor],
      args: () => [hv("f32", [4], [-1.5, -0.4, 0.6, 2.3])],
      fn: (x) => weightedSum(lax.add(lax.mul(lax.sign(x!), x!), lax.floor(x!))),
    },
    binary(Primitive.Add, lax.add),
    binary(Primitive.Sub, lax.sub),
    binary(Primitive.Mul, lax.mul),
    binary(Primitive.Div, lax.div, undefined, away),
    binary(Primitive.Pow, lax.pow, { min: 0.5, max: 2 }, { min: -1.5, max: 1.5 }),
    binary(Primitive.Max, lax.max),
    binary(Primitive.Min, lax.min),
    binary(Primitive.Rem, lax.rem, { min: 0.2, max: 4.7 }, { min: 1.1, max: 1.9 }),
    {
      name: "pow with a zero base: d/db is taken as 0",
      primitives: [Primitive.Pow],
      args: () => [hv("f32", [3], [0, 1.5, 2]), hv("f32", [3], [2, 1.5, 0.5])],
      fn: (a, b) => weightedSum(lax.pow(a!, b!)),
      options: { argnums: [1] },
    },
    {
      name: "compare + select: a leaky relu",
      primitives: [Primitive.Compare, Primitive.Select],
      args: () => [f32([3, 4], "leaky", away)],
      fn: (x) => weightedSum(lax.select(lax.compare(x!, 0, "GT"), x!, lax.mul(x!, 0.1))),
    },
    {
      name: "select into both branches",
      primitives: [Primitive.Select],
      args: () => [f32([2, 3], "select a"), f32([2, 3], "select b")],
      fn: (a, b) => weightedSum(lax.select(constant(hv("bool", [2, 3], [1, 0, 0, 1, 1, 0])), lax.mul(a!, b!), lax.exp(b!))),
      options: { argnums: [0, 1] },
    },
    {
      name: "clamp: operand and both bounds",
      primitives: [Primitive.Clamp],
      args: () => [hv("f32", [5], [0, 0, 0, -1, -1]), hv("f32", [5], [-0.5, 0.5, 1.5, 2.5, -2]), hv("f32", [5], [1, 1, 1, 2, 2])],
      fn: (lo, x, hi) => weightedSum(lax.clamp(lo!, x!, hi!)),
      options: { argnums: [0, 1, 2] },
    },
    {
      name: "broadcast_in_dim through np broadcasting [2,1] + [3]",
      primitives: [Primitive.BroadcastInDim],
      args: () => [f32([2, 1], "bcast a"), f32([3], "bcast b")],
      fn: (a, b) => weightedSum(np.multiply(np.add(a!, b!), np.add(a!, 1))),
      options: { argnums: [0, 1] },
    },
    {
      name: "broadcast_in_dim [3] -> [3,2] dims [0] and a scalar",
      primitives: [Primitive.BroadcastInDim],
      args: () => [f32([3], "bcast c"), f32([], "bcast s")],
      fn: (a, s) => weightedSum(lax.mul(lax.broadcastInDim(a!, [3, 2], [0]), lax.broadcastInDim(s!, [3, 2], []))),
      options: { argnums: [0, 1] },
    },
    {
      name: "reshape and transpose",
      primitives: [Primitive.Reshape, Primitive.Transpose],
      args: () => [f32([2, 3, 4], "reshape")],
      fn: (x) => weightedSum(lax.mul(lax.transpose(lax.reshape(x!, [4, 6]), [1, 0]), lax.reshape(lax.transpose(x!, [2, 0, 1]), [6, 4]))),
    },
    {
      name: "slice with strides",
      primitives: [Primitive.Slice],
      args: () => [f32([5, 6], "slice")],
      fn: (x) => weightedSum(lax.exp(lax.slice(x!, [1, 0], [5, 6], [2, 3]))),
    },
    {
      name: "dynamic_slice, in range and clamped",
      primitives: [Primitive.DynamicSlice],
      args: () => [f32([5, 4], "dynamic_slice")],
      fn: (x) => np.add(weightedSum(lax.dynamicSlice(x!, [1, 2], [2, 2])), weightedSum(lax.mul(lax.dynamicSlice(x!, [9, -3], [3, 2]), 2))),
    },
    {
      name: "dynamic_update_slice: operand and update",
      primitives: [Primitive.DynamicUpdateSlice],
      args: () => [f32([4, 5], "dus x"), f32([2, 3], "dus u")],
      fn: (x, u) => weightedSum(lax.tanh(lax.dynamicUpdateSlice(x!, lax.mul(u!, u!), [3, 1]))),
      options: { argnums: [0, 1] },
    },
    {
      name: "concatenate three operands",
      primitives: [Primitive.Concatenate],
      args: () => [f32([2, 1], "concat a"), f32([2, 3], "concat b"), f32([2, 2], "concat c")],
      fn: (a, b, c) => weightedSum(lax.sin(lax.concatenate([a!, b!, c!], 1))),
      options: { argnums: [0, 1, 2] },
    },
    {
      name: "pad with interior padding: operand and padding value",
      primitives: [Primitive.Pad],
      args: () => [f32([2, 3], "pad x"), f32([], "pad v")],
      fn: (x, v) => weightedSum(lax.exp(lax.pad(x!, v!, [1, 0], [0, 2], [1, 1]))),
      options: { argnums: [0, 1] },
    },
    {
      name: "pad with negative (cropping) and interior padding",
      primitives: [Primitive.Pad],
      args: () => [f32([5, 4], "pad neg x"), f32([], "pad neg v")],
      fn: (x, v) => weightedSum(lax.tanh(lax.pad(x!, v!, [-2, 1], [-1, -3], [0, 1]))),
      options: { argnums: [0, 1] },
    },
    {
      name: "iota and convert feed a float computation",
      primitives: [Primitive.Iota, Primitive.Convert],
      args: () => [f32([3, 4], "iota")],
      fn: (x) => weightedSum(lax.mul(x!, lax.convert(lax.iota("i32", [3, 4], 1), "f32"))),
    },
    {
      name: "reduce sum over some axes",
      primitives: [Primitive.Reduce],
      args: () => [f32([2, 3, 4], "reduce sum")],
      fn: (x) => weightedSum(lax.tanh(lax.reduce(x!, "sum", [0, 2]))),
    },
    {
      name: "reduce max and min (distinct values)",
      primitives: [Primitive.Reduce],
      args: () => [hv("f32", [2, 4], [0.3, -1.2, 2.5, 0.9, -0.7, 1.8, 0.1, -2.2])],
      fn: (x) => np.add(weightedSum(lax.reduce(x!, "max", [1])), weightedSum(lax.reduce(lax.mul(x!, x!), "min", [0]))),
    },
    {
      name: "argmax picks an element through take (no derivative of its own)",
      primitives: [Primitive.Argmax, Primitive.Gather],
      args: () => [hv("f32", [5], [0.3, -1.2, 2.5, 0.9, -0.7])],
      fn: (x) => np.sum(np.multiply(np.take(x!, np.argmax(x!, 0)), x!)),
    },
    dotCase("matmul", [2, 3], [3, 4], { lhsContracting: [1], rhsContracting: [0], lhsBatch: [], rhsBatch: [] }),
    dotCase("batched", [2, 3, 4], [2, 4, 5], { lhsContracting: [2], rhsContracting: [1], lhsBatch: [0], rhsBatch: [0] }),
    dotCase("transposed layouts", [3, 2], [4, 3], { lhsContracting: [0], rhsContracting: [1], lhsBatch: [], rhsBatch: [] }),
    dotCase("two contracting dims, unsorted", [2, 3, 4], [4, 3, 5], { lhsContracting: [2, 1], rhsContracting: [0, 1], lhsBatch: [], rhsBatch: [] }),
    dotCase("batch dims not leading", [3, 2, 4], [4, 5, 2], { lhsContracting: [2], rhsContracting: [0], lhsBatch: [1], rhsBatch: [2] }),
    dotCase("two batch dims, permuted", [2, 3, 2, 4], [3, 4, 2, 5], { lhsContracting: [3], rhsContracting: [1], lhsBatch: [1, 2], rhsBatch: [0, 2] }),
    dotCase("outer product", [2], [3], { lhsContracting: [], rhsContracting: [], lhsBatch: [], rhsBatch: [] }),
    {
      name: "gather: embedding lookup with repeated ids",
      primitives: [Primitive.Gather],
      args: () => [f32([5, 3], "embed")],
      fn: (table) => weightedSum(lax.tanh(np.take(table!, constant(hv("i32", [4], [2, 0, 4, 2])), 0))),
    },
    {
      name: "gather: general layout",
      primitives: [Primitive.Gather],
      args: () => [f32([3, 4, 5], "gather general")],
      fn: (x) =>
        weightedSum(
          lax.gather(x!, constant(hv("i32", [2, 3], [0, 2, 1, 1, 2, 0])), { offsetDims: [0, 2], collapsedSliceDims: [0], startIndexMap: [2, 0], indexVectorDim: 0 }, [1, 2, 3]),
        ),
    },
    {
      name: "gather: out-of-range ids are clamped, and so is their gradient",
      primitives: [Primitive.Gather],
      args: () => [f32([4, 2], "gather clamp")],
      fn: (x) => weightedSum(np.take(x!, constant(hv("i32", [3], [-1, 7, 3])), 0)),
    },
    {
      name: "scatter_add: operand and updates, duplicate rows",
      primitives: [Primitive.ScatterAdd],
      args: () => [f32([5, 3], "scatter x"), f32([4, 3], "scatter u")],
      fn: (x, u) =>
        weightedSum(lax.tanh(lax.scatterAdd(x!, constant(hv("i32", [4, 1], [1, 3, 1, 0])), u!, { updateWindowDims: [1], insertedWindowDims: [0], scatterDimsToOperandDims: [0], indexVectorDim: 1 }))),
      options: { argnums: [0, 1] },
    },
    {
      name: "scatter_add: dropped (out-of-range) updates get no gradient",
      primitives: [Primitive.ScatterAdd],
      args: () => [f32([3, 2], "scatter oob x"), f32([3, 2], "scatter oob u")],
      fn: (x, u) =>
        weightedSum(lax.scatterAdd(x!, constant(hv("i32", [3, 1], [2, 5, -1])), u!, { updateWindowDims: [1], insertedWindowDims: [0], scatterDimsToOperandDims: [0], indexVectorDim: 1 })),
      options: { argnums: [0, 1] },
    },
  ];
}
