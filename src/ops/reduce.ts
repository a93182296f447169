// Reductions: reduce (sum, max, min, and, or over a set of axes) and argmax.
import type { ArrayBase } from "../core/array_base.js";
import { Aval, showShape, stridesOf } from "../core/aval.js";
import { type DType, isFloat } from "../core/dtype.js";
import { ShapeError } from "../core/errors.js";
import { Primitive, type ReduceOp } from "../core/primitive.js";
import { hostTensor, readNumber, writeNumber } from "../runtime/host.js";
import { attr, type Value } from "../../hlo/index.js";
import { bind1 } from "./bind.js";
import { compare, convert, div, mul } from "./elementwise.js";
import { compareTypeOfElement, constant, dtypeOfElement, hloType, hloTypeOf } from "./lower_util.js";
import { broadcastInDim } from "./shape.js";
import { tf, withTf } from "./tf.js";
import type { PrimitiveDef } from "./types.js";

export function reduce(x: ArrayBase, op: ReduceOp, axes: readonly number[]): ArrayBase {
  if (axes.length === 0) return x;
  return bind1(Primitive.Reduce, [x], { op, axes: [...axes].sort((a, b) => a - b) });
}

export const reduceSum = (x: ArrayBase, axes: readonly number[]): ArrayBase => reduce(x, "sum", axes);
export const reduceMax = (x: ArrayBase, axes: readonly number[]): ArrayBase => reduce(x, "max", axes);
export const reduceMin = (x: ArrayBase, axes: readonly number[]): ArrayBase => reduce(x, "min", axes);

export function argmax(x: ArrayBase, axis: number, indexDtype: DType = "i32"): ArrayBase {
  return bind1(Primitive.Argmax, [x], { axis, indexDtype });
}

/** The identity of each reduction for a dtype. */
export function reduceInit(op: ReduceOp, dtype: DType): number {
  switch (op) {
    case "sum":
      return 0;
    case "and":
      // All ones: and/or are bitwise on integers, as StableHLO's and/or are.
      return dtype === "bool" ? 1 : dtype === "u32" ? 4294967295 : -1;
    case "or":
      return 0;
    case "max":
      return isFloat(dtype) ? -Infinity : dtype === "i32" ? -2147483648 : 0;
    case "min":
      return isFloat(dtype) ? Infinity : dtype === "i32" ? 2147483647 : dtype === "u32" ? 4294967295 : 1;
  }
}

const regionOp: Record<ReduceOp, string> = {
  sum: "stablehlo.add",
  max: "stablehlo.maximum",
  min: "stablehlo.minimum",
  and: "stablehlo.and",
  or: "stablehlo.or",
};

function combine(op: ReduceOp, a: number, b: number, dtype: DType): number {
  switch (op) {
    case "sum":
      // bf16 sums accumulate in f32, in order, and round to bf16 once (docs/DECISIONS.md, as the cpu engine).
      return dtype === "bf16" ? Math.fround(a + b) : a + b;
    case "max":
      return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
    case "min":
      return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b);
    case "and":
      return dtype === "u32" ? (a & b) >>> 0 : a & b;
    case "or":
      return dtype === "u32" ? (a | b) >>> 0 : a | b;
  }
}

function keptDims(ndim: number, axes: readonly number[]): number[] {
  const kept: number[] = [];
  for (let d = 0; d < ndim; d++) if (!axes.includes(d)) kept.push(d);
  return kept;
}

/** Visits the input in row-major order, giving each element's flat output position (reduced axes dropped). */
function forEachReduced(shape: readonly number[], axes: readonly number[], fn: (inFlat: number, outFlat: number, index: number[]) => void): void {
  const kept = keptDims(shape.length, axes);
  const outStrides = stridesOf(kept.map((d) => shape[d]!));
  const size = shape.reduce((a, b) => a * b, 1);
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < size; flat++) {
    let out = 0;
    kept.forEach((d, k) => (out += index[d]! * outStrides[k]!));
    fn(flat, out, index);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
}

function checkAxes(op: string, x: Aval, axes: readonly number[]): void {
  if (axes.some((a, i) => !Number.isInteger(a) || a < 0 || a >= x.ndim || (i > 0 && a <= axes[i - 1]!))) {
    throw new ShapeError(`${op}: axes ${showShape(axes)} must be distinct, sorted and within the rank of ${x}`);
  }
}

export const reduceDefs = {
  [Primitive.Reduce]: {
    abstractEval([x], { op, axes }) {
      checkAxes(`reduce_${op}`, x!, axes);
      if ((op === "and" || op === "or") && x!.dtype !== "bool" && isFloat(x!.dtype)) {
        throw new ShapeError(`reduce_${op}: needs a bool or integer operand, got ${x}`);
      }
      if (op === "sum" && x!.dtype === "bool") throw new ShapeError(`reduce_sum: convert bool ${x} to a number type first`);
      return [new Aval(keptDims(x!.ndim, axes).map((d) => x!.shape[d]!), x!.dtype)];
    },
    vjp: ({ inputs: [x], outputs: [y], cotangents: [ct], params: { op, axes } }) => {
      const kept = keptDims(x!.ndim, axes);
      const back = (t: ArrayBase): ArrayBase => broadcastInDim(t, x!.shape, kept);
      if (op === "sum") return [back(ct!)];
      if (op === "max" || op === "min") {
        // Ties share the cotangent equally.
        const mask = convert(compare(x!, back(y!), "EQ"), x!.dtype);
        const counts = reduce(mask, "sum", axes);
        return [mul(back(div(ct!, counts)), mask)];
      }
      return [null];
    },
    lower(ctx, [x], { op, axes }, [out]) {
      const init = constant(ctx.block, reduceInit(op, out!.dtype), out!.dtype);
      const scalar = hloTypeOf(out!.dtype, []);
      return ctx.block.op("stablehlo.reduce", [x!, init], [hloType(out!)], { dimensions: attr.i64Array(axes) }, [
        {
          argTypes: [scalar, scalar],
          body: (block, a, b) => block.ret([block.op1(regionOp[op], [a!, b!], scalar)]),
        },
      ]);
    },
    reference([x], { op, axes }, [out]) {
      if (op === "sum" && (x!.dtype === "f32" || x!.dtype === "i32") && x!.shape.length > 0) {
        return [withTf([x!], out!.dtype, (t) => tf.sum(t, [...axes]))];
      }
      const result = hostTensor(out!.dtype, out!.shape);
      const acc = new Float64Array(result.data.length).fill(reduceInit(op, x!.dtype));
      forEachReduced(x!.shape, axes, (inFlat, outFlat) => (acc[outFlat] = combine(op, acc[outFlat]!, readNumber(x!, inFlat), x!.dtype)));
      for (let i = 0; i < acc.length; i++) writeNumber(result, i, acc[i]!);
      return [result];
    },
  },

  [Primitive.Argmax]: {
    abstractEval([x], { axis, indexDtype }) {
      if (axis < 0 || axis >= x!.ndim) throw new ShapeError(`argmax: axis ${axis} out of range for ${x}`);
      if (x!.shape[axis] === 0) throw new ShapeError(`argmax: axis ${axis} of ${x} is empty`);
      if (indexDtype !== "i32" && indexDtype !== "u32") throw new ShapeError(`argmax: index dtype must be i32 or u32, got ${indexDtype}`);
      return [new Aval(x!.shape.filter((_, d) => d !== axis), indexDtype)];
    },
    vjp: () => [null],
    lower(ctx, [x], { axis, indexDtype }, [out]) {
      const b = ctx.block;
      const dtype = dtypeOfElement(x!.type.element);
      const valueType = hloTypeOf(dtype, []);
      const indexType = hloTypeOf(indexDtype, []);
      const iota = b.op1("stablehlo.iota", [], hloTypeOf(indexDtype, x!.type.shape), { iota_dimension: attr.i64(axis) });
      const isFloatValue = isFloat(dtype);
      const initValue = constant(b, reduceInit("max", dtype), dtype);
      const initIndex = constant(b, 0, indexDtype);
      const results = b.op(
        "stablehlo.reduce",
        [x!, iota, initValue, initIndex],
        [hloTypeOf(dtype, out!.shape), hloType(out!)],
        { dimensions: attr.i64Array([axis]) },
        [
          {
            argTypes: [valueType, indexType, valueType, indexType],
            body: (r, av, ai, bv, bi) => {
              const cmp = (l: Value, rr: Value, dir: "GT" | "EQ" | "LT" | "NE", type = valueType) =>
                r.op1("stablehlo.compare", [l, rr], hloTypeOf("bool", []), {
                  comparison_direction: attr.comparisonDirection(dir),
                  compare_type: attr.comparisonType(compareTypeOfElement(type.element)),
                });
              const bool = hloTypeOf("bool", []);
              const gt = cmp(av!, bv!, "GT");
              const eq = cmp(av!, bv!, "EQ");
              const lowerIndex = cmp(ai!, bi!, "LT", indexType);
              let wins = r.op1("stablehlo.or", [gt, r.op1("stablehlo.and", [eq, lowerIndex], bool)], bool);
              if (isFloatValue) {
                // NaN is the maximum: a NaN beats a number, and two NaNs tie (lower index wins).
                const aNaN = cmp(av!, av!, "NE");
                const bNaN = cmp(bv!, bv!, "NE");
                const bothNaN = r.op1("stablehlo.and", [aNaN, bNaN], bool);
                const aOnlyNaN = r.op1("stablehlo.and", [aNaN, r.op1("stablehlo.not", [bNaN], bool)], bool);
                const nanTie = r.op1("stablehlo.and", [bothNaN, lowerIndex], bool);
                const notBNaN = r.op1("stablehlo.not", [bNaN], bool);
                wins = r.op1("stablehlo.or", [aOnlyNaN, r.op1("stablehlo.or", [nanTie, r.op1("stablehlo.and", [wins, notBNaN], bool)], bool)], bool);
              }
              const v = r.op1("stablehlo.select", [wins, av!, bv!], valueType);
              const i = r.op1("stablehlo.select", [wins, ai!, bi!], indexType);
              r.ret([v, i]);
            },
          },
        ],
      );
      return [results[1]!];
    },
    reference([x], { axis, indexDtype }, [out]) {
      const result = hostTensor(indexDtype, out!.shape);
      const best = new Float64Array(result.data.length).fill(NaN);
      const seen = new Uint8Array(result.data.length);
      forEachReduced(x!.shape, [axis], (inFlat, outFlat, index) => {
        const v = readNumber(x!, inFlat);
        const current = best[outFlat]!;
        const better = !seen[outFlat] || (!Number.isNaN(current) && (Number.isNaN(v) || v > current));
        if (better) {
          best[outFlat] = v;
          seen[outFlat] = 1;
          result.data[outFlat] = index[axis]!;
        }
      });
      return [result];
    },
  },
} satisfies { [P in Primitive.Reduce | Primitive.Argmax]: PrimitiveDef<P> };

