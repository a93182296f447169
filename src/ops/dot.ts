// dot_general: batched contraction over any dimension layout. Its transpose is again a dot_general followed by
// a transpose (never a broadcast-multiply-reduce, which would materialise the M x K x N product).
import type { ArrayBase } from "../core/array_base.js";
import { Aval, shapeSize, showShape } from "../core/aval.js";
import { isFloat } from "../core/dtype.js";
import { ShapeError } from "../core/errors.js";
import { type DotDimensionNumbers, Primitive } from "../core/primitive.js";
import { type HostTensor, hostTensor, readNumber, writeNumber } from "../runtime/host.js";
import { attr } from "../../hlo/index.js";
import { type Precision, checkPrecision, hloPrecision } from "../transforms/precision.js";
import { bind1 } from "./bind.js";
import { hloType } from "./lower_util.js";
import { transpose } from "./shape.js";
import { tf, withTf } from "./tf.js";
import type { PrimitiveDef } from "./types.js";

export interface DotOptions {
  /** Precision of this product (and of its gradients), overriding the module's (jit's `precision`). */
  precision?: Precision;
}

export function dotGeneral(lhs: ArrayBase, rhs: ArrayBase, dimensions: DotDimensionNumbers, options: DotOptions = {}): ArrayBase {
  const params: { dimensions: DotDimensionNumbers; precision?: Precision } = {
    dimensions: {
      lhsContracting: [...dimensions.lhsContracting],
      rhsContracting: [...dimensions.rhsContracting],
      lhsBatch: [...dimensions.lhsBatch],
      rhsBatch: [...dimensions.rhsBatch],
    },
  };
  // Left out when unset, so programs without a per-call precision print (and cache) as before.
  if (options.precision !== undefined) params.precision = checkPrecision(options.precision, "dot_general");
  return bind1(Primitive.DotGeneral, [lhs, rhs], params);
}

function freeDims(rank: number, batch: readonly number[], contracting: readonly number[]): number[] {
  const free: number[] = [];
  for (let d = 0; d < rank; d++) if (!batch.includes(d) && !contracting.includes(d)) free.push(d);
  return free;
}

function checkDims(where: string, rank: number, dims: readonly number[], operand: Aval): void {
  const seen = new Set<number>();
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d >= rank || seen.has(d)) {
      throw new ShapeError(`dot_general: ${where} ${showShape(dims)} are not distinct axes of ${operand}`);
    }
    seen.add(d);
  }
}

/** Permutation that moves the dims listed in `order` (given in result order) to their positions in the operand. */
function inversePlacement(order: readonly number[]): number[] {
  const permutation = new Array<number>(order.length);
  order.forEach((operandDim, resultDim) => (permutation[operandDim] = resultDim));
  return permutation;
}

export const dotDefs = {
  [Primitive.DotGeneral]: {
    abstractEval([lhs, rhs], { dimensions: d }) {
      if (lhs!.dtype !== rhs!.dtype) throw new ShapeError(`dot_general: operand dtypes differ: ${lhs} and ${rhs}`);
      if (lhs!.dtype === "bool") throw new ShapeError(`dot_general: bool operands are not supported (${lhs})`);
      checkDims("lhs batch and contracting dims", lhs!.ndim, [...d.lhsBatch, ...d.lhsContracting], lhs!);
      checkDims("rhs batch and contracting dims", rhs!.ndim, [...d.rhsBatch, ...d.rhsContracting], rhs!);
      if (d.lhsBatch.length !== d.rhsBatch.length || d.lhsContracting.length !== d.rhsContracting.length) {
        throw new ShapeError(`dot_general: batch/contracting dim lists of ${lhs} and ${rhs} differ in length`);
      }
      d.lhsBatch.forEach((l, i) => {
        if (lhs!.shape[l] !== rhs!.shape[d.rhsBatch[i]!]) {
          throw new ShapeError(`dot_general: batch dims differ: ${lhs} axis ${l} vs ${rhs} axis ${d.rhsBatch[i]}`);
        }
      });
      d.lhsContracting.forEach((l, i) => {
        if (lhs!.shape[l] !== rhs!.shape[d.rhsContracting[i]!]) {
          throw new ShapeError(`dot_general: contracting dims differ: ${lhs} axis ${l} vs ${rhs} axis ${d.rhsContracting[i]}`);
        }
      });
      const shape = [
        ...d.lhsBatch.map((a) => lhs!.shape[a]!),
        ...freeDims(lhs!.ndim, d.lhsBatch, d.lhsContracting).map((a) => lhs!.shape[a]!),
        ...freeDims(rhs!.ndim, d.rhsBatch, d.rhsContracting).map((a) => rhs!.shape[a]!),
      ];
      return [new Aval(shape, lhs!.dtype)];
    },
    vjp: ({ inputs: [lhs, rhs], cotangents: [ct], params: { dimensions: d, precision }, needs }) => {
      const nb = d.lhsBatch.length;
      const lhsFree = freeDims(lhs!.ndim, d.lhsBatch, d.lhsContracting);
      const rhsFree = freeDims(rhs!.ndim, d.rhsBatch, d.rhsContracting);
      const batch = Array.from({ length: nb }, (_, i) => i);
      const ctLhsFree = lhsFree.map((_, i) => nb + i);
      const ctRhsFree = rhsFree.map((_, i) => nb + lhsFree.length + i);
      let gradLhs: ArrayBase | null = null;
      let gradRhs: ArrayBase | null = null;
      if (needs[0]) {
        // [batch, lhs free, rhs contracting (ascending)] -> lhs layout
        const y = dotGeneral(ct!, rhs!, { lhsContracting: ctRhsFree, rhsContracting: rhsFree, lhsBatch: batch, rhsBatch: d.rhsBatch }, { precision });
        const rhsContractingSorted = [...d.rhsContracting].sort((a, b) => a - b);
        const order = [...d.lhsBatch, ...lhsFree, ...rhsContractingSorted.map((r) => d.lhsContracting[d.rhsContracting.indexOf(r)]!)];
        gradLhs = transpose(y, inversePlacement(order));
      }
      if (needs[1]) {
        // [batch, rhs free, lhs contracting (ascending)] -> rhs layout
        const y = dotGeneral(ct!, lhs!, { lhsContracting: ctLhsFree, rhsContracting: lhsFree, lhsBatch: batch, rhsBatch: d.lhsBatch }, { precision });
        const lhsContractingSorted = [...d.lhsContracting].sort((a, b) => a - b);
        const order = [...d.rhsBatch, ...rhsFree, ...lhsContractingSorted.map((l) => d.rhsContracting[d.lhsContracting.indexOf(l)]!)];
        gradRhs = transpose(y, inversePlacement(order));
      }
      return [gradLhs, gradRhs];
    },
    lower(ctx, [lhs, rhs], { dimensions: d, precision }, [out]) {
      return [
        ctx.block.op1("stablehlo.dot_general", [lhs!, rhs!], hloType(out!), {
          dot_dimension_numbers: attr.dot({
            lhsBatching: d.lhsBatch,
            rhsBatching: d.rhsBatch,
            lhsContracting: d.lhsContracting,
            rhsContracting: d.rhsContracting,
          }),
          precision_config: attr.precisionConfig(precision === undefined ? ctx.precision : hloPrecision(precision)),
        }),
      ];
    },
    reference([lhs, rhs], { dimensions: d }, [out]) {
      // Bring both operands to [B, M, K] x [B, K, N] and multiply.
      const lhsFree = freeDims(lhs!.shape.length, d.lhsBatch, d.lhsContracting);
      const rhsFree = freeDims(rhs!.shape.length, d.rhsBatch, d.rhsContracting);
      const size = (t: HostTensor, dims: readonly number[]) => shapeSize(dims.map((a) => t.shape[a]!));
      const B = size(lhs!, d.lhsBatch);
      const M = size(lhs!, lhsFree);
      const K = size(lhs!, d.lhsContracting);
      const N = size(rhs!, rhsFree);
      const lhsPerm = [...d.lhsBatch, ...lhsFree, ...d.lhsContracting];
      const rhsPerm = [...d.rhsBatch, ...d.rhsContracting, ...rhsFree];
      if (isFloat(lhs!.dtype)) {
        const result = withTf([lhs!, rhs!], out!.dtype, (a, b) => {
          const a3 = tf.reshape(lhsPerm.length > 0 ? tf.transpose(a, lhsPerm) : a, [B, M, K]);
          const b3 = tf.reshape(rhsPerm.length > 0 ? tf.transpose(b, rhsPerm) : b, [B, K, N]);
          return tf.reshape(tf.matMul(a3, b3), [...out!.shape]);
        });
        return [result];
      }
      // Integer dots: exact wrap-around arithmetic in a plain loop.
      const a = permuted(lhs!, lhsPerm);
      const b = permuted(rhs!, rhsPerm);
      const result = hostTensor(out!.dtype, out!.shape);
      for (let bi = 0; bi < B; bi++) {
        for (let m = 0; m < M; m++) {
          for (let n = 0; n < N; n++) {
            let acc = 0;
            for (let k = 0; k < K; k++) {
              acc = (acc + Math.imul(readNumber(a, (bi * M + m) * K + k), readNumber(b, (bi * K + k) * N + n))) | 0;
            }
            writeNumber(result, (bi * M + m) * N + n, out!.dtype === "u32" ? acc >>> 0 : acc);
          }
        }
      }
      return [result];
    },
  },
} satisfies { [P in Primitive.DotGeneral]: PrimitiveDef<P> };

/** A row-major copy of `t` with its axes permuted. */
function permuted(t: HostTensor, permutation: readonly number[]): HostTensor {
  const shape = permutation.map((p) => t.shape[p]!);
  const result = hostTensor(t.dtype, shape);
  const inStrides: number[] = [];
  let s = 1;
  for (let d = t.shape.length - 1; d >= 0; d--) {
    inStrides[d] = s;
    s *= t.shape[d]!;
  }
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < result.data.length; flat++) {
    let offset = 0;
    for (let d = 0; d < shape.length; d++) offset += index[d]! * inStrides[permutation[d]!]!;
    result.data[flat] = t.data[offset]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return result;
}
