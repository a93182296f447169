// Shape primitives: broadcast_in_dim, reshape, transpose, slice, dynamic_slice, dynamic_update_slice,
// concatenate, pad, iota. They move data and never do arithmetic, so one reference path covers every dtype.
import { ArrayBase, ScalarConst } from "../core/array_base.js";
import { Aval, sameShape, shapeSize, showShape, stridesOf } from "../core/aval.js";
import { isInteger } from "../core/dtype.js";
import { ShapeError } from "../core/errors.js";
import { Primitive } from "../core/primitive.js";
import { hostTensor, readNumber, writeNumber } from "../runtime/host.js";
import { attr } from "../../hlo/index.js";
import { bind1 } from "./bind.js";
import { sub, zerosLike } from "./elementwise.js";
import { hloType } from "./lower_util.js";
import { reduceSum } from "./reduce.js";
import { moveWithTf, tf } from "./tf.js";
import type { PrimitiveDef } from "./types.js";

function isPermutation(perm: readonly number[], n: number): boolean {
  return perm.length === n && [...perm].sort((a, b) => a - b).every((v, i) => v === i);
}

function checkInts(op: string, name: string, values: readonly number[]): void {
  if (!values.every(Number.isInteger)) throw new ShapeError(`${op}: ${name} must be integers, got ${showShape(values)}`);
}

function checkStartIndices(op: string, operand: Aval, starts: readonly Aval[]): void {
  if (starts.length !== operand.ndim) {
    throw new ShapeError(`${op}: needs ${operand.ndim} start indices for operand ${operand}, got ${starts.length}`);
  }
  for (const s of starts) {
    if (s.ndim !== 0 || !isInteger(s.dtype)) throw new ShapeError(`${op}: start indices must be integer scalars, got ${s}`);
  }
  // StableHLO requires one element type for all start indices.
  if (starts.some((s) => s.dtype !== starts[0]!.dtype)) {
    throw new ShapeError(`${op}: start indices must share one integer dtype, got ${starts.map(String).join(", ")}`);
  }
}

/** Start indices as arrays: JS numbers take the dtype of the array starts (i32 when there are none). */
function startArrays(starts: readonly (ArrayBase | number)[]): ArrayBase[] {
  const dtype = starts.find((s): s is ArrayBase => s instanceof ArrayBase)?.dtype ?? "i32";
  return starts.map((s) => (s instanceof ArrayBase ? s : new ScalarConst(s, dtype)));
}

// --- wrappers ------------------------------------------------------------------------------------------------

export function broadcastInDim(x: ArrayBase, shape: readonly number[], broadcastDimensions: readonly number[]): ArrayBase {
  if (x instanceof ScalarConst === false && sameShape(x.shape, shape) && broadcastDimensions.every((d, i) => d === i)) {
    return x;
  }
  return bind1(Primitive.BroadcastInDim, [x], { shape: [...shape], broadcastDimensions: [...broadcastDimensions] });
}

export function reshape(x: ArrayBase, shape: readonly number[]): ArrayBase {
  if (sameShape(x.shape, shape) && !(x instanceof ScalarConst)) return x;
  return bind1(Primitive.Reshape, [x], { shape: [...shape] });
}

export function transpose(x: ArrayBase, permutation: readonly number[]): ArrayBase {
  if (permutation.every((p, i) => p === i) && permutation.length === x.ndim) return x;
  return bind1(Primitive.Transpose, [x], { permutation: [...permutation] });
}

export function slice(
  x: ArrayBase,
  start: readonly number[],
  limit: readonly number[],
  strides: readonly number[] = start.map(() => 1),
): ArrayBase {
  return bind1(Primitive.Slice, [x], { start: [...start], limit: [...limit], strides: [...strides] });
}

export function dynamicSlice(x: ArrayBase, starts: readonly (ArrayBase | number)[], sizes: readonly number[]): ArrayBase {
  return bind1(Primitive.DynamicSlice, [x, ...startArrays(starts)], { sizes: [...sizes] });
}

export function dynamicUpdateSlice(x: ArrayBase, update: ArrayBase, starts: readonly (ArrayBase | number)[]): ArrayBase {
  return bind1(Primitive.DynamicUpdateSlice, [x, update, ...startArrays(starts)], {});
}

export function concatenate(xs: readonly ArrayBase[], axis: number): ArrayBase {
  if (xs.length === 1) return xs[0]!;
  return bind1(Primitive.Concatenate, xs, { axis });
}

export function pad(
  x: ArrayBase,
  value: ArrayBase | number,
  low: readonly number[],
  high: readonly number[],
  interior: readonly number[] = low.map(() => 0),
): ArrayBase {
  const v = value instanceof ArrayBase ? value : new ScalarConst(value, x.dtype);
  return bind1(Primitive.Pad, [x, v], { low: [...low], high: [...high], interior: [...interior] });
}

export function iota(dtype: Aval["dtype"], shape: readonly number[], dimension: number): ArrayBase {
  return bind1(Primitive.Iota, [], { shape: [...shape], dtype, dimension });
}

/** Sums `ct` (shaped like a broadcast result) back to `shape`: the transpose of broadcast_in_dim. */
export function unbroadcast(ct: ArrayBase, shape: readonly number[], broadcastDimensions: readonly number[]): ArrayBase {
  const summed: number[] = [];
  for (let d = 0; d < ct.ndim; d++) {
    const src = broadcastDimensions.indexOf(d);
    if (src < 0 || (shape[src] === 1 && ct.shape[d] !== 1)) summed.push(d);
  }
  const reduced = summed.length > 0 ? reduceSum(ct, summed) : ct;
  return reshape(reduced, shape);
}

// --- reference helpers ---------------------------------------------------------------------------------------

/** Calls fn(outIndex, multiIndex) for each element of a row-major shape. */
function forEachIndex(shape: readonly number[], fn: (flat: number, index: number[]) => void): void {
  const size = shapeSize(shape);
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < size; flat++) {
    fn(flat, index);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
}

function clampStart(start: number, dim: number, size: number): number {
  return Math.min(Math.max(start, 0), dim - size);
}

// --- definitions ---------------------------------------------------------------------------------------------

export const shapeDefs = {
  [Primitive.BroadcastInDim]: {
    abstractEval([x], { shape, broadcastDimensions }) {
      checkInts("broadcast_in_dim", "shape", shape);
      if (broadcastDimensions.length !== x!.ndim) {
        throw new ShapeError(
          `broadcast_in_dim: operand ${x} has rank ${x!.ndim} but broadcast_dimensions ${showShape(broadcastDimensions)} has ${broadcastDimensions.length} entries`,
        );
      }
      broadcastDimensions.forEach((d, i) => {
        if (d < 0 || d >= shape.length || (x!.shape[i] !== 1 && x!.shape[i] !== shape[d])) {
          throw new ShapeError(
            `broadcast_in_dim: cannot broadcast ${x} to ${showShape(shape)} with dimensions ${showShape(broadcastDimensions)}`,
          );
        }
        if (i > 0 && d <= broadcastDimensions[i - 1]!) {
          throw new ShapeError(`broadcast_in_dim: broadcast_dimensions ${showShape(broadcastDimensions)} must increase`);
        }
      });
      return [new Aval(shape, x!.dtype)];
    },
    vjp: ({ inputs: [x], cotangents: [ct], params }) => [unbroadcast(ct!, x!.shape, params.broadcastDimensions)],
    lower(ctx, [x], { broadcastDimensions }, [out]) {
      return [
        ctx.block.op1("stablehlo.broadcast_in_dim", [x!], hloType(out!), {
          broadcast_dimensions: attr.i64Array(broadcastDimensions),
        }),
      ];
    },
    reference([x], { shape, broadcastDimensions }, [out]) {
      // tfjs's broadcastTo returns its input unchanged for a size-0 target.
      if (out!.size === 0) return [hostTensor(out!.dtype, out!.shape)];
      // Insert size-1 axes where the output has new dims, then broadcast.
      const expanded = shape.map((_, d) => {
        const src = broadcastDimensions.indexOf(d);
        return src < 0 ? 1 : x!.shape[src]!;
      });
      return [moveWithTf([x!], out!.dtype, (t) => tf.broadcastTo(tf.reshape(t, expanded), [...shape]))];
    },
  },

  [Primitive.Reshape]: {
    abstractEval([x], { shape }) {
      checkInts("reshape", "shape", shape);
      if (shapeSize(shape) !== x!.size || shape.some((d) => d < 0)) {
        throw new ShapeError(`reshape: cannot reshape ${x} (${x!.size} elements) to ${showShape(shape)} (${shapeSize(shape)} elements)`);
      }
      return [new Aval(shape, x!.dtype)];
    },
    vjp: ({ inputs: [x], cotangents: [ct] }) => [reshape(ct!, x!.shape)],
    lower(ctx, [x], _params, [out]) {
      return [ctx.block.op1("stablehlo.reshape", [x!], hloType(out!))];
    },
    reference([x], { shape }) {
      return [hostTensor(x!.dtype, shape, x!.data.slice())];
    },
  },

  [Primitive.Transpose]: {
    abstractEval([x], { permutation }) {
      if (!isPermutation(permutation, x!.ndim)) {
        throw new ShapeError(`transpose: ${showShape(permutation)} is not a permutation of the ${x!.ndim} axes of ${x}`);
      }
      return [new Aval(permutation.map((p) => x!.shape[p]!), x!.dtype)];
    },
    vjp: ({ cotangents: [ct], params: { permutation } }) => {
      const inverse = new Array<number>(permutation.length);
      permutation.forEach((p, i) => (inverse[p] = i));
      return [transpose(ct!, inverse)];
    },
    lower(ctx, [x], { permutation }, [out]) {
      return [ctx.block.op1("stablehlo.transpose", [x!], hloType(out!), { permutation: attr.i64Array(permutation) })];
    },
    reference([x], { permutation }, [out]) {
      if (x!.shape.length === 0) return [x!];
      return [moveWithTf([x!], out!.dtype, (t) => tf.transpose(t, [...permutation]))];
    },
  },

  [Primitive.Slice]: {
    abstractEval([x], { start, limit, strides }) {
      const n = x!.ndim;
      if (start.length !== n || limit.length !== n || strides.length !== n) {
        throw new ShapeError(`slice: operand ${x} needs ${n} start/limit/stride values, got ${showShape(start)} ${showShape(limit)} ${showShape(strides)}`);
      }
      const shape = start.map((s, d) => {
        const l = limit[d]!;
        const st = strides[d]!;
        if (!(0 <= s && s <= l && l <= x!.shape[d]!) || st < 1) {
          throw new ShapeError(`slice: bounds [${s}, ${l}) stride ${st} do not fit axis ${d} of ${x}`);
        }
        return Math.ceil((l - s) / st);
      });
      return [new Aval(shape, x!.dtype)];
    },
    vjp: ({ inputs: [x], cotangents: [ct], params: { start, strides } }) => {
      // The slice's transpose pads the cotangent back: zeros before `start`, between strided picks and after.
      const outShape = ct!.shape;
      const high = x!.shape.map((dim, d) => dim - (outShape[d] === 0 ? start[d]! : start[d]! + (outShape[d]! - 1) * strides[d]! + 1));
      return [pad(ct!, 0, start, high, strides.map((s) => s - 1))];
    },
    lower(ctx, [x], { start, limit, strides }, [out]) {
      return [
        ctx.block.op1("stablehlo.slice", [x!], hloType(out!), {
          start_indices: attr.i64Array(start),
          limit_indices: attr.i64Array(limit),
          strides: attr.i64Array(strides),
        }),
      ];
    },
    reference([x], { start, limit, strides }, [out]) {
      if (out!.size === 0 || x!.shape.length === 0) return [hostTensor(out!.dtype, out!.shape, x!.data.slice(0, out!.size))];
      return [moveWithTf([x!], out!.dtype, (t) => tf.stridedSlice(t, [...start], [...limit], [...strides]))];
    },
  },

  [Primitive.DynamicSlice]: {
    abstractEval([x, ...starts], { sizes }) {
      checkStartIndices("dynamic_slice", x!, starts);
      if (sizes.length !== x!.ndim || sizes.some((s, d) => s < 0 || s > x!.shape[d]!)) {
        throw new ShapeError(`dynamic_slice: slice sizes ${showShape(sizes)} do not fit operand ${x}`);
      }
      return [new Aval(sizes, x!.dtype)];
    },
    vjp: ({ inputs: [x, ...starts], cotangents: [ct] }) => [dynamicUpdateSlice(zerosLike(x!), ct!, starts), ...starts.map(() => null)],
    lower(ctx, [x, ...starts], { sizes }, [out]) {
      return [ctx.block.op1("stablehlo.dynamic_slice", [x!, ...starts], hloType(out!), { slice_sizes: attr.i64Array(sizes) })];
    },
    reference([x, ...starts], { sizes }, [out]) {
      const begin = starts.map((s, d) => clampStart(readNumber(s, 0), x!.shape[d]!, sizes[d]!));
      if (out!.size === 0 || x!.shape.length === 0) return [hostTensor(out!.dtype, out!.shape, x!.data.slice(0, out!.size))];
      return [moveWithTf([x!], out!.dtype, (t) => tf.slice(t, begin, [...sizes]))];
    },
  },

  [Primitive.DynamicUpdateSlice]: {
    abstractEval([x, update, ...starts]) {
      checkStartIndices("dynamic_update_slice", x!, starts);
      if (update!.dtype !== x!.dtype || update!.ndim !== x!.ndim || update!.shape.some((s, d) => s > x!.shape[d]!)) {
        throw new ShapeError(`dynamic_update_slice: update ${update} does not fit operand ${x}`);
      }
      return [x!];
    },
    vjp: ({ inputs: [, update, ...starts], cotangents: [ct], needs }) => [
      needs[0] ? dynamicUpdateSlice(ct!, zerosLike(update!), starts) : null,
      needs[1] ? dynamicSlice(ct!, starts, update!.shape) : null,
      ...starts.map(() => null),
    ],
    lower(ctx, [x, update, ...starts], _params, [out]) {
      return [ctx.block.op1("stablehlo.dynamic_update_slice", [x!, update!, ...starts], hloType(out!))];
    },
    reference([x, update, ...starts], _params, [out]) {
      const begin = starts.map((s, d) => clampStart(readNumber(s, 0), x!.shape[d]!, update!.shape[d]!));
      const result = hostTensor(out!.dtype, out!.shape, x!.data.slice());
      const outStrides = stridesOf(x!.shape);
      forEachIndex(update!.shape, (flat, index) => {
        let offset = 0;
        for (let d = 0; d < index.length; d++) offset += (index[d]! + begin[d]!) * outStrides[d]!;
        result.data[offset] = update!.data[flat]!;
      });
      return [result];
    },
  },

  [Primitive.Concatenate]: {
    abstractEval(xs, { axis }) {
      const first = xs[0];
      if (first === undefined) throw new ShapeError("concatenate: needs at least one operand");
      if (axis < 0 || axis >= first.ndim) throw new ShapeError(`concatenate: axis ${axis} out of range for ${first}`);
      let total = 0;
      for (const x of xs) {
        if (x.dtype !== first.dtype || x.ndim !== first.ndim || x.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
          throw new ShapeError(`concatenate: operands ${xs.map(String).join(", ")} do not agree outside axis ${axis}`);
        }
        total += x.shape[axis]!;
      }
      const shape = [...first.shape];
      shape[axis] = total;
      return [new Aval(shape, first.dtype)];
    },
    vjp: ({ inputs, cotangents: [ct], params: { axis }, needs }) => {
      let offset = 0;
      return inputs.map((x, i) => {
        const start = x.shape.map((_, d) => (d === axis ? offset : 0));
        const limit = x.shape.map((n, d) => (d === axis ? offset + n : n));
        offset += x.shape[axis]!;
        return needs[i] ? slice(ct!, start, limit) : null;
      });
    },
    lower(ctx, xs, { axis }, [out]) {
      return [ctx.block.op1("stablehlo.concatenate", xs, hloType(out!), { dimension: attr.i64(axis) })];
    },
    reference(xs, { axis }, [out]) {
      return [moveWithTf(xs, out!.dtype, (...ts) => tf.concat(ts, axis))];
    },
  },

  [Primitive.Pad]: {
    abstractEval([x, value], { low, high, interior }) {
      if (value!.ndim !== 0 || value!.dtype !== x!.dtype) {
        throw new ShapeError(`pad: the padding value must be a ${x!.dtype} scalar, got ${value}`);
      }
      const n = x!.ndim;
      if (low.length !== n || high.length !== n || interior.length !== n || interior.some((v) => v < 0)) {
        throw new ShapeError(`pad: operand ${x} needs ${n} low/high/interior values (interior >= 0), got ${showShape(low)} ${showShape(high)} ${showShape(interior)}`);
      }
      const shape = x!.shape.map((d, i) => {
        const size = low[i]! + high[i]! + d + Math.max(d - 1, 0) * interior[i]!;
        if (size < 0) throw new ShapeError(`pad: negative padding crops axis ${i} of ${x} below zero`);
        return size;
      });
      return [new Aval(shape, x!.dtype)];
    },
    vjp: ({ inputs: [x], cotangents: [ct], params: { low, high, interior }, needs }) => {
      // Undo crops (negative padding) by padding the cotangent with zeros, then take every (interior+1)-th element.
      const uncropped = low.some((v) => v < 0) || high.some((v) => v < 0)
        ? pad(ct!, 0, low.map((v) => Math.max(-v, 0)), high.map((v) => Math.max(-v, 0)))
        : ct!;
      const start = low.map((v) => Math.max(v, 0));
      const limit = x!.shape.map((d, i) => start[i]! + (d === 0 ? 0 : (d - 1) * (interior[i]! + 1) + 1));
      const ctX = slice(uncropped, start, limit, interior.map((v) => v + 1));
      const ctValue = needs[1] ? sub(reduceSum(ct!, ct!.shape.map((_, i) => i)), reduceSum(ctX, ctX.shape.map((_, i) => i))) : null;
      return [needs[0] ? ctX : null, ctValue];
    },
    lower(ctx, [x, value], { low, high, interior }, [out]) {
      return [
        ctx.block.op1("stablehlo.pad", [x!, value!], hloType(out!), {
          edge_padding_low: attr.i64Array(low),
          edge_padding_high: attr.i64Array(high),
          interior_padding: attr.i64Array(interior),
        }),
      ];
    },
    reference([x, value], { low, interior }, [out]) {
      const result = hostTensor(out!.dtype, out!.shape);
      result.data.fill(value!.data[0]! as never);
      const outStrides = stridesOf(out!.shape);
      forEachIndex(x!.shape, (flat, index) => {
        let offset = 0;
        for (let d = 0; d < index.length; d++) {
          const pos = low[d]! + index[d]! * (interior[d]! + 1);
          if (pos < 0 || pos >= out!.shape[d]!) return;
          offset += pos * outStrides[d]!;
        }
        result.data[offset] = x!.data[flat]!;
      });
      return [result];
    },
  },

  [Primitive.Iota]: {
    abstractEval(_inputs, { shape, dtype, dimension }) {
      if (dimension < 0 || dimension >= shape.length) {
        throw new ShapeError(`iota: dimension ${dimension} out of range for shape ${showShape(shape)}`);
      }
      if (dtype === "bool") throw new ShapeError("iota: dtype bool is not allowed");
      return [new Aval(shape, dtype)];
    },
    vjp: () => [],
    lower(ctx, _inputs, { dimension }, [out]) {
      return [ctx.block.op1("stablehlo.iota", [], hloType(out!), { iota_dimension: attr.i64(dimension) })];
    },
    reference(_inputs, { shape, dtype, dimension }) {
      const result = hostTensor(dtype, shape);
      forEachIndex(shape, (flat, index) => writeNumber(result, flat, index[dimension]!));
      return [result];
    },
  },
} satisfies {
  [P in
    | Primitive.BroadcastInDim
    | Primitive.Reshape
    | Primitive.Transpose
    | Primitive.Slice
    | Primitive.DynamicSlice
    | Primitive.DynamicUpdateSlice
    | Primitive.Concatenate
    | Primitive.Pad
    | Primitive.Iota]: PrimitiveDef<P>;
};

