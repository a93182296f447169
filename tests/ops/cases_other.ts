// Reductions (sum/max/min/and/or, argmax), dot_general, gather, scatter-add and while. Expected values are
// plain loops over index spaces written here from the StableHLO definitions.
import { Primitive, lax, np } from "../../src/index.js";
import type { DType } from "../../src/core/dtype.js";
import type { DotDimensionNumbers, ReduceOp } from "../../src/core/primitive.js";
import { type HostValue, at, castTo, fromIndex, hv, isFloatDtype, randomValue, sizeOf, unravelIndex } from "../helpers/arrays.js";
import { whileLoop } from "../helpers/while.js";
import { type OpCase, seedOf, shapeText } from "./case_types.js";

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const UINT32_MAX = 4294967295;

// --- reductions --------------------------------------------------------------------------------------------

/** The identity of each reduction: the value an empty reduction yields. Bitwise and/or on integers. */
function identity(op: ReduceOp, dtype: DType): number {
  switch (op) {
    case "sum":
    case "or":
      return 0;
    case "and":
      return dtype === "bool" ? 1 : dtype === "u32" ? UINT32_MAX : -1;
    case "max":
      return isFloatDtype(dtype) ? -Infinity : dtype === "i32" ? INT32_MIN : 0;
    case "min":
      return isFloatDtype(dtype) ? Infinity : dtype === "i32" ? INT32_MAX : dtype === "u32" ? UINT32_MAX : 1;
  }
}

function combine(op: ReduceOp, a: number, b: number, dtype: DType): number {
  switch (op) {
    case "sum":
      return a + b;
    case "max":
      return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
    case "min":
      return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b);
    case "and":
      return dtype === "bool" ? a & b : castTo(dtype, Number(BigInt(a) & BigInt(b)));
    case "or":
      return dtype === "bool" ? a | b : castTo(dtype, Number(BigInt(a) | BigInt(b)));
  }
}

function reduceOf(x: HostValue, op: ReduceOp, axes: readonly number[]): HostValue {
  const kept = x.shape.map((_, d) => d).filter((d) => !axes.includes(d));
  const outShape = kept.map((d) => x.shape[d]!);
  const acc = new Array<number>(sizeOf(outShape)).fill(identity(op, x.dtype));
  for (let flat = 0; flat < x.data.length; flat++) {
    const index = unravelIndex(flat, x.shape);
    let out = 0;
    for (const d of kept) out = out * x.shape[d]! + index[d]!;
    acc[out] = combine(op, acc[out]!, x.data[flat]!, x.dtype);
  }
  return hv(x.dtype, outShape, acc);
}

/** First index of the maximum along `axis`; NaN counts as larger than everything. */
function argmaxOf(x: HostValue, axis: number, indexDtype: DType): HostValue {
  const outShape = x.shape.filter((_, d) => d !== axis);
  return fromIndex(indexDtype, outShape, (index) => {
    let best = 0;
    for (let k = 0; k < x.shape[axis]!; k++) {
      const full = [...index];
      full.splice(axis, 0, k);
      const v = at(x, full);
      const bestFull = [...index];
      bestFull.splice(axis, 0, best);
      const b = at(x, bestFull);
      if (Number.isNaN(b)) break;
      if (Number.isNaN(v) || v > b) best = k;
    }
    return best;
  });
}

function reduceCases(): OpCase[] {
  const cases: OpCase[] = [];
  const layouts: { shape: number[]; axes: number[] }[] = [
    { shape: [3, 4], axes: [0] },
    { shape: [3, 4], axes: [1] },
    { shape: [3, 4], axes: [0, 1] },
    { shape: [2, 3, 4], axes: [0, 2] },
    { shape: [2, 0, 3], axes: [1] }, // reduces an empty axis: the identity
    { shape: [2, 0], axes: [0] }, // empty result
    { shape: [5], axes: [0] },
  ];
  const opsFor: Record<ReduceOp, DType[]> = {
    sum: ["f32", "bf16", "i32", "u32"],
    max: ["f32", "bf16", "i32", "u32", "bool"],
    min: ["f32", "bf16", "i32", "u32", "bool"],
    and: ["bool", "i32", "u32"],
    or: ["bool", "i32", "u32"],
  };
  for (const op of Object.keys(opsFor) as ReduceOp[]) {
    for (const dtype of opsFor[op]) {
      for (const { shape, axes } of layouts) {
        // Full layout coverage for the first dtype of each op, two layouts for the others.
        if (dtype !== opsFor[op][0] && !(shape.length === 2 && shape[0] === 3 && axes.length === 1) && shape[1] !== 0) continue;
        const name = `reduce_${op} ${dtype} ${shapeText(shape)} axes ${shapeText(axes)}`;
        // bf16 sums of small integers stay exact; u32 sums include values near 2^32 to wrap.
        const domain = dtype === "bf16" ? { min: -8, max: 8 } : dtype === "u32" && op === "sum" ? { min: 0, max: UINT32_MAX } : {};
        cases.push({
          name,
          primitives: [Primitive.Reduce],
          build: () => {
            const x = randomValue(dtype, shape, seedOf(name), domain);
            if (dtype === "bf16") x.data = x.data.map(Math.round);
            return [x];
          },
          fn: (x) => lax.reduce(x!, op, axes),
          expected: ([x]) => reduceOf(x!, op, axes),
          tolerance: dtype === "f32" ? { rtol: 1e-5, atol: 1e-5 } : undefined,
        });
      }
    }
  }
  cases.push({
    name: "reduce_max/min f32 propagate NaN",
    primitives: [Primitive.Reduce],
    build: () => [hv("f32", [2, 3], [1, NaN, 3, -Infinity, -1, -2])],
    fn: (x) => [lax.reduce(x!, "max", [1]), lax.reduce(x!, "min", [1])],
    expected: () => [hv("f32", [2], [NaN, -1]), hv("f32", [2], [NaN, -Infinity])],
  });
  cases.push({
    name: "reduce_and/or i32 are bitwise",
    primitives: [Primitive.Reduce],
    build: () => [hv("i32", [2, 2], [3, 7, 12, 10])],
    fn: (x) => [lax.reduce(x!, "and", [1]), lax.reduce(x!, "or", [1])],
    expected: () => [hv("i32", [2], [3, 8]), hv("i32", [2], [7, 14])],
  });
  cases.push({
    name: "np.sum keepdims negative axis; np.max/min/all/any",
    primitives: [Primitive.Reduce, Primitive.Reshape],
    build: () => [hv("f32", [2, 3], [1, 2, 3, 4, 5, 6]), hv("bool", [2, 2], [1, 0, 1, 1])],
    fn: (x, b) => [np.sum(x!, { axis: -1, keepdims: true }), np.max(x!, { axis: 0 }), np.min(x!), np.all(b!, { axis: 1 }), np.any(b!, { axis: 0 })],
    expected: () => [hv("f32", [2, 1], [6, 15]), hv("f32", [3], [4, 5, 6]), hv("f32", [], [1]), hv("bool", [2], [0, 1]), hv("bool", [2], [1, 1])],
  });

  cases.push({
    name: "np.all/np.any on i32 and f32 test truth values (numpy semantics)",
    primitives: [Primitive.Reduce],
    build: () => [hv("i32", [2, 2], [1, 2, 0, 4]), hv("f32", [3], [0.5, -0, 2])],
    fn: (i, f) => [np.all(i!, { axis: 1 }), np.any(i!, { axis: 1 }), np.all(f!), np.any(f!)],
    expected: () => [hv("bool", [2], [1, 0]), hv("bool", [2], [1, 1]), hv("bool", [], [0]), hv("bool", [], [1])],
  });

  // argmax
  const argmaxes: { x: () => HostValue; axis: number; what: string; indexDtype?: DType }[] = [
    { x: () => hv("f32", [3, 4], [1, 5, 5, 2, 7, 7, 7, 7, -1, -3, -1, -2]), axis: 1, what: "ties take the first index" },
    { x: () => hv("f32", [3, 4], [1, 5, 5, 2, 7, 7, 7, 7, -1, 8, -1, 8]), axis: 0, what: "axis 0 with ties" },
    { x: () => hv("f32", [2, 4], [1, NaN, 3, NaN, -Infinity, -Infinity, -Infinity, -Infinity]), axis: 1, what: "NaN is the maximum; all -inf gives 0" },
    { x: () => hv("f32", [5], [0.5, 2, -1, 2, 1]), axis: 0, what: "rank 1 to scalar" },
    { x: () => hv("i32", [2, 3], [INT32_MIN, INT32_MIN, INT32_MIN, -5, 9, 9]), axis: 1, what: "i32" },
    { x: () => hv("u32", [4], [5, UINT32_MAX, 0x80000000, UINT32_MAX]), axis: 0, what: "u32 read unsigned" },
    { x: () => hv("bf16", [2, 3], [0.5, 0.75, 0.75, -2, -1, -1.5]), axis: 1, what: "bf16" },
    { x: () => hv("bool", [2, 3], [0, 1, 1, 0, 0, 0]), axis: 1, what: "bool" },
    { x: () => hv("f32", [2, 3], [3, 1, 2, 0, 9, 9]), axis: 1, what: "u32 indices", indexDtype: "u32" },
    { x: () => randomValue("f32", [4, 1, 6], 99), axis: 2, what: "random [4,1,6]" },
    { x: () => hv("f32", [0, 3], []), axis: 1, what: "empty batch" },
  ];
  for (const { x, axis, what, indexDtype } of argmaxes) {
    const sample = x();
    cases.push({
      name: `argmax ${sample.dtype} ${shapeText(sample.shape)} axis ${axis} (${what})`,
      primitives: [Primitive.Argmax],
      build: () => [x()],
      fn: (v) => lax.argmax(v!, axis, indexDtype ?? "i32"),
      expected: ([v]) => argmaxOf(v!, axis, indexDtype ?? "i32"),
    });
  }
  cases.push({
    name: "np.argmin on f32 (NaN first), i32 (INT32_MIN), u32 (top bit) and bool",
    primitives: [Primitive.Argmax],
    build: () => [
      hv("f32", [4], [2, -1, NaN, -1]),
      hv("i32", [3], [5, INT32_MIN, 0]),
      hv("u32", [3], [0x80000000, 7, 0]),
      hv("bool", [3], [1, 0, 0]),
    ],
    fn: (f, i, u, b) => [np.argmin(f!), np.argmin(i!), np.argmin(u!), np.argmin(b!)],
    expected: () => [hv("i32", [], [2]), hv("i32", [], [1]), hv("i32", [], [2]), hv("i32", [], [1])],
  });
  return cases;
}

// --- dot_general -------------------------------------------------------------------------------------------

function freeDims(rank: number, batch: readonly number[], contracting: readonly number[]): number[] {
  return Array.from({ length: rank }, (_, d) => d).filter((d) => !batch.includes(d) && !contracting.includes(d));
}

/** Sum over the contracting indices of lhs * rhs, for every (batch, lhs free, rhs free) index. */
function dotGeneralOf(lhs: HostValue, rhs: HostValue, dims: DotDimensionNumbers): HostValue {
  const lhsFree = freeDims(lhs.shape.length, dims.lhsBatch, dims.lhsContracting);
  const rhsFree = freeDims(rhs.shape.length, dims.rhsBatch, dims.rhsContracting);
  const nb = dims.lhsBatch.length;
  const outShape = [...dims.lhsBatch.map((d) => lhs.shape[d]!), ...lhsFree.map((d) => lhs.shape[d]!), ...rhsFree.map((d) => rhs.shape[d]!)];
  const contractShape = dims.lhsContracting.map((d) => lhs.shape[d]!);
  const integer = !isFloatDtype(lhs.dtype);
  return fromIndex(lhs.dtype, outShape, (index) => {
    let acc = 0;
    let exact = 0n;
    for (let c = 0; c < sizeOf(contractShape); c++) {
      const ci = unravelIndex(c, contractShape);
      const li = new Array<number>(lhs.shape.length);
      const ri = new Array<number>(rhs.shape.length);
      dims.lhsBatch.forEach((d, k) => (li[d] = index[k]!));
      dims.rhsBatch.forEach((d, k) => (ri[d] = index[k]!));
      lhsFree.forEach((d, k) => (li[d] = index[nb + k]!));
      rhsFree.forEach((d, k) => (ri[d] = index[nb + lhsFree.length + k]!));
      dims.lhsContracting.forEach((d, k) => (li[d] = ci[k]!));
      dims.rhsContracting.forEach((d, k) => (ri[d] = ci[k]!));
      if (integer) exact += BigInt(at(lhs, li)) * BigInt(at(rhs, ri));
      else acc += at(lhs, li) * at(rhs, ri);
    }
    return integer ? Number(lhs.dtype === "u32" ? BigInt.asUintN(32, exact) : BigInt.asIntN(32, exact)) : acc;
  });
}

function dotCases(): OpCase[] {
  const cases: OpCase[] = [];
  const layouts: { lhs: number[]; rhs: number[]; dims: DotDimensionNumbers; what: string }[] = [
    { lhs: [2, 3], rhs: [3, 4], dims: { lhsContracting: [1], rhsContracting: [0], lhsBatch: [], rhsBatch: [] }, what: "matmul" },
    { lhs: [2, 3, 4], rhs: [2, 4, 5], dims: { lhsContracting: [2], rhsContracting: [1], lhsBatch: [0], rhsBatch: [0] }, what: "batched" },
    { lhs: [3, 2], rhs: [4, 3], dims: { lhsContracting: [0], rhsContracting: [1], lhsBatch: [], rhsBatch: [] }, what: "transposed layouts" },
    { lhs: [2, 3, 4], rhs: [4, 3, 5], dims: { lhsContracting: [2, 1], rhsContracting: [0, 1], lhsBatch: [], rhsBatch: [] }, what: "two contracting dims, unsorted" },
    { lhs: [3, 2, 4], rhs: [4, 5, 2], dims: { lhsContracting: [2], rhsContracting: [0], lhsBatch: [1], rhsBatch: [2] }, what: "batch dims not leading" },
    { lhs: [2, 3, 2, 4], rhs: [3, 4, 2, 5], dims: { lhsContracting: [3], rhsContracting: [1], lhsBatch: [1, 2], rhsBatch: [0, 2] }, what: "two batch dims" },
    { lhs: [3], rhs: [3], dims: { lhsContracting: [0], rhsContracting: [0], lhsBatch: [], rhsBatch: [] }, what: "vector dot to scalar" },
    { lhs: [2], rhs: [3], dims: { lhsContracting: [], rhsContracting: [], lhsBatch: [], rhsBatch: [] }, what: "outer product" },
    { lhs: [2, 0], rhs: [0, 3], dims: { lhsContracting: [1], rhsContracting: [0], lhsBatch: [], rhsBatch: [] }, what: "empty contraction gives zeros" },
    { lhs: [0, 3], rhs: [3, 2], dims: { lhsContracting: [1], rhsContracting: [0], lhsBatch: [], rhsBatch: [] }, what: "empty result" },
  ];
  for (const { lhs, rhs, dims, what } of layouts) {
    const dtypes: DType[] = what === "matmul" || what === "two contracting dims, unsorted" ? ["f32", "bf16", "i32", "u32"] : ["f32"];
    for (const dtype of dtypes) {
      const name = `dot_general ${dtype} ${shapeText(lhs)} x ${shapeText(rhs)} (${what})`;
      // bf16 operands are small integers so products and sums are exact.
      const domain = dtype === "bf16" ? { min: -4, max: 4 } : dtype === "u32" ? { min: 0, max: UINT32_MAX } : {};
      cases.push({
        name,
        primitives: [Primitive.DotGeneral],
        build: () => {
          const a = randomValue(dtype, lhs, seedOf(name), domain);
          const b = randomValue(dtype, rhs, seedOf(`${name}/b`), domain);
          if (dtype === "bf16") [a, b].forEach((v) => (v.data = v.data.map(Math.round)));
          return [a, b];
        },
        fn: (a, b) => lax.dotGeneral(a!, b!, dims),
        expected: ([a, b]) => dotGeneralOf(a!, b!, dims),
        tolerance: dtype === "f32" ? { rtol: 1e-5, atol: 1e-5 } : undefined,
      });
    }
  }
  cases.push({
    name: "np.matmul broadcasts batch dims [2,1,3,4] @ [3,4,2]",
    primitives: [Primitive.DotGeneral, Primitive.BroadcastInDim],
    build: () => [randomValue("f32", [2, 1, 3, 4], 5), randomValue("f32", [3, 4, 2], 6)],
    fn: (a, b) => np.matmul(a!, b!),
    expected: ([a, b]) =>
      fromIndex("f32", [2, 3, 3, 2], ([i, j, m, n]) => {
        let acc = 0;
        for (let k = 0; k < 4; k++) acc += at(a!, [i!, 0, m!, k]) * at(b!, [j!, k, n!]);
        return acc;
      }),
    tolerance: { rtol: 1e-5, atol: 1e-5 },
  });
  cases.push({
    name: "np.matmul of a batch by a matrix [2,3,4] @ [4,5] is one product, no broadcast copy",
    primitives: [Primitive.DotGeneral],
    build: () => [randomValue("f32", [2, 3, 4], 9), randomValue("f32", [4, 5], 10)],
    fn: (a, b) => np.matmul(a!, b!),
    expected: ([a, b]) =>
      fromIndex("f32", [2, 3, 5], ([i, m, n]) => {
        let acc = 0;
        for (let k = 0; k < 4; k++) acc += at(a!, [i!, m!, k]) * at(b!, [k, n!]);
        return acc;
      }),
    tolerance: { rtol: 1e-5, atol: 1e-5 },
  });
  cases.push({
    name: "np.matmul of a vector by a matrix [4] @ [4,5]",
    primitives: [Primitive.DotGeneral],
    build: () => [randomValue("f32", [4], 11), randomValue("f32", [4, 5], 12)],
    fn: (a, b) => np.matmul(a!, b!),
    expected: ([a, b]) =>
      fromIndex("f32", [5], ([n]) => {
        let acc = 0;
        for (let k = 0; k < 4; k++) acc += at(a!, [k]) * at(b!, [k, n!]);
        return acc;
      }),
    tolerance: { rtol: 1e-5, atol: 1e-5 },
  });
  cases.push({
    name: "np.einsum btnh,bsnh->bnts",
    primitives: [Primitive.DotGeneral, Primitive.Transpose],
    build: () => [randomValue("f32", [2, 3, 2, 4], 7), randomValue("f32", [2, 5, 2, 4], 8)],
    fn: (q, k) => np.einsum("btnh,bsnh->bnts", q!, k!),
    expected: ([q, k]) =>
      fromIndex("f32", [2, 2, 3, 5], ([b, n, t, s]) => {
        let acc = 0;
        for (let h = 0; h < 4; h++) acc += at(q!, [b!, t!, n!, h]) * at(k!, [b!, s!, n!, h]);
        return acc;
      }),
    tolerance: { rtol: 1e-5, atol: 1e-5 },
  });
  return cases;
}

// --- gather and scatter-add ----------------------------------------------------------------------------------

const clampIndex = (i: number, size: number) => Math.min(Math.max(i, 0), size);

function indexingCases(): OpCase[] {
  const cases: OpCase[] = [];
  for (const dtype of ["f32", "bf16", "i32", "u32", "bool"] as const) {
    const name = `gather ${dtype} embedding lookup (np.take) [5,3] by [4]`;
    cases.push({
      name,
      primitives: [Primitive.Gather],
      build: () => [randomValue(dtype, [5, 3], seedOf(name)), hv("i32", [4], [2, 0, 4, 2])],
      fn: (table, ids) => np.take(table!, ids!, 0),
      expected: ([table, ids]) => fromIndex(dtype, [4, 3], ([i, j]) => at(table!, [ids!.data[i!]!, j!])),
    });
  }
  cases.push({
    name: "gather f32 np.take [5,3] by [2,2] u32 ids, axis 0",
    primitives: [Primitive.Gather],
    build: () => [randomValue("f32", [5, 3], 11), hv("u32", [2, 2], [4, 1, 1, 3])],
    fn: (table, ids) => np.take(table!, ids!, 0),
    expected: ([table, ids]) => fromIndex("f32", [2, 2, 3], ([a, b, j]) => at(table!, [at(ids!, [a!, b!]), j!])),
  });
  cases.push({
    name: "gather f32 np.take along axis 1 of [2,4,3] by [3]",
    primitives: [Primitive.Gather],
    build: () => [randomValue("f32", [2, 4, 3], 12), hv("i32", [3], [3, 0, 3])],
    fn: (x, ids) => np.take(x!, ids!, 1),
    expected: ([x, ids]) => fromIndex("f32", [2, 3, 3], ([a, i, c]) => at(x!, [a!, ids!.data[i!]!, c!])),
  });
  cases.push({
    name: "gather f32 out-of-range ids clamp (np.take [4,2] by [-1, 7, 3])",
    primitives: [Primitive.Gather],
    build: () => [randomValue("f32", [4, 2], 13), hv("i32", [3], [-1, 7, 3])],
    fn: (x, ids) => np.take(x!, ids!, 0),
    expected: ([x, ids]) => fromIndex("f32", [3, 2], ([i, j]) => at(x!, [clampIndex(ids!.data[i!]!, 3), j!])),
  });
  // A general layout: index vectors run down axis 0 of the indices, start_index_map is reversed, and the
  // offset dims sit around the batch dim in the result.
  cases.push({
    name: "gather f32 general layout (index_vector_dim 0, start_index_map [2,0], offset dims [0,2])",
    primitives: [Primitive.Gather],
    build: () => [randomValue("f32", [3, 4, 5], 14), hv("i32", [2, 3], [0, 4, 2, 1, 2, -1])],
    fn: (x, idx) =>
      lax.gather(x!, idx!, { offsetDims: [0, 2], collapsedSliceDims: [0], startIndexMap: [2, 0], indexVectorDim: 0 }, [1, 2, 3]),
    expected: ([x, idx]) =>
      fromIndex("f32", [2, 3, 3], ([o1, b, o2]) => {
        const start2 = clampIndex(at(idx!, [0, b!]), 5 - 3);
        const start0 = clampIndex(at(idx!, [1, b!]), 3 - 1);
        return at(x!, [start0, o1!, start2 + o2!]);
      }),
  });
  cases.push({
    name: "gather f32 takeAlongAxis [2,4] by [2,3]",
    primitives: [Primitive.Gather, Primitive.Concatenate, Primitive.Iota],
    build: () => [randomValue("f32", [2, 4], 15), hv("i32", [2, 3], [3, 0, 0, 1, 1, 2])],
    fn: (x, idx) => np.takeAlongAxis(x!, idx!, 1),
    expected: ([x, idx]) => fromIndex("f32", [2, 3], ([r, c]) => at(x!, [r!, at(idx!, [r!, c!])])),
  });

  const rowScatter = { updateWindowDims: [1], insertedWindowDims: [0], scatterDimsToOperandDims: [0], indexVectorDim: 1 };
  for (const dtype of ["f32", "i32", "bf16", "u32"] as const) {
    const name = `scatter_add ${dtype} rows: duplicates accumulate, out-of-range rows dropped`;
    const rows = [1, 3, 1, 5, -1];
    cases.push({
      name,
      primitives: [Primitive.ScatterAdd],
      build: () => [
        randomValue(dtype, [5, 3], seedOf(name), dtype === "bf16" ? { min: -4, max: 4 } : { min: 0, max: 9 }),
        hv("i32", [5, 1], rows),
        randomValue(dtype, [5, 3], seedOf(`${name}/u`), dtype === "bf16" ? { min: -4, max: 4 } : { min: 0, max: 9 }),
      ].map((v) => (dtype === "bf16" ? { ...v, data: v.data.map(Math.round) } : v)),
      fn: (x, idx, upd) => lax.scatterAdd(x!, idx!, upd!, rowScatter),
      expected: ([x, , upd]) =>
        fromIndex(dtype, [5, 3], ([r, c]) => {
          let v = at(x!, [r!, c!]);
          rows.forEach((row, k) => {
            if (row === r) v += at(upd!, [k, c!]);
          });
          return v;
        }),
    });
  }
  cases.push({
    name: "scatter_add f32 scalar indices (index_vector_dim = rank)",
    primitives: [Primitive.ScatterAdd],
    build: () => [hv("f32", [3, 2], [0, 0, 0, 0, 0, 0]), hv("i32", [3], [0, 2, 0]), hv("f32", [3, 2], [1, 2, 3, 4, 5, 6])],
    fn: (x, idx, upd) => lax.scatterAdd(x!, idx!, upd!, { updateWindowDims: [1], insertedWindowDims: [0], scatterDimsToOperandDims: [0], indexVectorDim: 1 }),
    expected: () => hv("f32", [3, 2], [6, 8, 0, 0, 3, 4]),
  });
  cases.push({
    name: "scatter_add f32 point updates with full coordinates",
    primitives: [Primitive.ScatterAdd],
    build: () => [hv("f32", [2, 3], [0, 0, 0, 0, 0, 0]), hv("i32", [4, 2], [0, 1, 1, 2, 0, 1, 2, 0]), hv("f32", [4], [1, 2, 4, 8])],
    fn: (x, idx, upd) => lax.scatterAdd(x!, idx!, upd!, { updateWindowDims: [], insertedWindowDims: [0, 1], scatterDimsToOperandDims: [0, 1], indexVectorDim: 1 }),
    expected: () => hv("f32", [2, 3], [0, 5, 0, 0, 0, 2]),
  });
  // A window that only partly fits is dropped whole (XLA's semantics, and what the primitive documents).
  cases.push({
    name: "scatter_add f32 a window partly out of bounds is dropped whole",
    primitives: [Primitive.ScatterAdd],
    build: () => [hv("f32", [4, 2], [0, 0, 0, 0, 0, 0, 0, 0]), hv("i32", [2, 1], [1, 3]), hv("f32", [2, 2, 2], [1, 1, 1, 1, 5, 5, 5, 5])],
    fn: (x, idx, upd) => lax.scatterAdd(x!, idx!, upd!, { updateWindowDims: [1, 2], insertedWindowDims: [], scatterDimsToOperandDims: [0], indexVectorDim: 1 }),
    expected: () => hv("f32", [4, 2], [0, 0, 1, 1, 1, 1, 0, 0]),
  });
  return cases;
}

// --- while ------------------------------------------------------------------------------------------------

function whileCases(): OpCase[] {
  return [
    {
      name: "while with three carried values and a captured bound",
      primitives: [Primitive.While],
      build: () => [hv("f32", [3], [1, -2, 0.5]), hv("i32", [], [5]), hv("i32", [], [0])],
      fn: (x, n, start) =>
        whileLoop(
          (i) => lax.compare(i!, n!, "LT"),
          (i, acc, v) => [lax.add(i!, 1), lax.add(acc!, lax.mul(v!, lax.convert(i!, "f32"))), lax.mul(v!, 0.5)],
          [start!, np.zerosLike(x!), x!],
        ),
      expected: ([x, n]) => {
        let acc = [0, 0, 0];
        let v = [...x!.data];
        let i = 0;
        for (; i < n!.data[0]!; i++) {
          acc = acc.map((a, k) => Math.fround(a + Math.fround(v[k]! * i)));
          v = v.map((e) => e * 0.5);
        }
        return [hv("i32", [], [i]), hv("f32", [3], acc), hv("f32", [3], v)];
      },
    },
    {
      name: "while that never runs returns its initial carry",
      primitives: [Primitive.While],
      build: () => [hv("f32", [2], [3, 4])],
      fn: (x) => whileLoop((v) => lax.compare(lax.reduce(v!, "sum", [0]), 0, "LT"), (v) => [lax.mul(v!, 2)], [x!]),
      expected: ([x]) => [x!],
    },
    {
      name: "while over u32 state (rotate-xor rounds) and a bool flag",
      primitives: [Primitive.While],
      build: () => [hv("u32", [2], [0, 42]), hv("i32", [], [0])],
      fn: (key, start) =>
        whileLoop(
          (k, i) => lax.compare(i!, 4, "LT"),
          (k, i) => {
            const rotated = lax.or(lax.shiftLeft(k!, 13), lax.shiftRightLogical(k!, 19));
            return [lax.xor(rotated, lax.add(k!, lax.convert(i!, "u32"))), lax.add(i!, 1)];
          },
          [key!, start!],
        ),
      expected: ([key]) => {
        let k = [...key!.data];
        for (let i = 0; i < 4; i++) k = k.map((v) => ((((v << 13) | (v >>> 19)) >>> 0) ^ ((v + i) >>> 0)) >>> 0);
        return [hv("u32", [2], k), hv("i32", [], [4])];
      },
    },
  ];
}

export function otherCases(): OpCase[] {
  return [...reduceCases(), ...dotCases(), ...indexingCases(), ...whileCases()];
}

