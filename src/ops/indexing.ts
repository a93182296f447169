// gather and scatter-add, with StableHLO's dimension numbers. Gather clamps start indices into range; scatter
// drops updates whose window would fall outside the operand. Each is the other's transpose.
import { type ArrayBase, ScalarConst } from "../core/array_base.js";
import { Aval, shapeSize, showShape, stridesOf } from "../core/aval.js";
import { isInteger } from "../core/dtype.js";
import { ShapeError } from "../core/errors.js";
import { type GatherDimensionNumbers, Primitive, type ScatterDimensionNumbers } from "../core/primitive.js";
import { type HostTensor, hostTensor, readNumber, writeNumber } from "../runtime/host.js";
import { attr } from "../../hlo/index.js";
import { bind1 } from "./bind.js";
import { and, clamp, compare, select, zerosLike } from "./elementwise.js";
import { hloType, hloTypeOf } from "./lower_util.js";
import { reduce } from "./reduce.js";
import { broadcastInDim, concatenate } from "./shape.js";
import type { PrimitiveDef } from "./types.js";

export function gather(operand: ArrayBase, indices: ArrayBase, dimensions: GatherDimensionNumbers, sliceSizes: readonly number[]): ArrayBase {
  return bind1(Primitive.Gather, [operand, indices], { dimensions, sliceSizes: [...sliceSizes] });
}

export function scatterAdd(operand: ArrayBase, indices: ArrayBase, updates: ArrayBase, dimensions: ScatterDimensionNumbers): ArrayBase {
  return bind1(Primitive.ScatterAdd, [operand, indices, updates], { dimensions });
}

/** indices.shape without the index vector dimension (which may equal the rank: then each index is a scalar). */
function batchShape(indices: readonly number[], indexVectorDim: number): number[] {
  return indices.filter((_, d) => d !== indexVectorDim);
}

function indexVectorLength(indices: readonly number[], indexVectorDim: number): number {
  return indexVectorDim === indices.length ? 1 : indices[indexVectorDim]!;
}

function isSortedDistinct(values: readonly number[], bound: number): boolean {
  return values.every((v, i) => Number.isInteger(v) && v >= 0 && v < bound && (i === 0 || v > values[i - 1]!));
}

function isDistinctAxes(values: readonly number[], rank: number): boolean {
  return values.every((v, i) => Number.isInteger(v) && v >= 0 && v < rank && values.indexOf(v) === i);
}

function gatherShape(operand: Aval, indices: Aval, dims: GatherDimensionNumbers, sliceSizes: readonly number[]): number[] {
  const where = `gather(operand ${operand}, indices ${indices})`;
  if (!isInteger(indices.dtype)) throw new ShapeError(`${where}: indices must be integers`);
  if (dims.indexVectorDim < 0 || dims.indexVectorDim > indices.ndim) throw new ShapeError(`${where}: index_vector_dim ${dims.indexVectorDim} out of range`);
  if (sliceSizes.length !== operand.ndim || sliceSizes.some((s, d) => s < 0 || s > operand.shape[d]!)) {
    throw new ShapeError(`${where}: slice_sizes ${showShape(sliceSizes)} do not fit the operand`);
  }
  if (!isSortedDistinct(dims.collapsedSliceDims, operand.ndim) || dims.collapsedSliceDims.some((d) => sliceSizes[d] !== 1)) {
    throw new ShapeError(`${where}: collapsed_slice_dims ${showShape(dims.collapsedSliceDims)} must be sorted operand axes with slice size 1`);
  }
  if (!isDistinctAxes(dims.startIndexMap, operand.ndim)) {
    throw new ShapeError(`${where}: start_index_map ${showShape(dims.startIndexMap)} must be distinct operand axes`);
  }
  if (dims.startIndexMap.length !== indexVectorLength(indices.shape, dims.indexVectorDim)) {
    throw new ShapeError(`${where}: start_index_map ${showShape(dims.startIndexMap)} must have one entry per index vector element`);
  }
  const offsetSizes = sliceSizes.filter((_, d) => !dims.collapsedSliceDims.includes(d));
  const batch = batchShape(indices.shape, dims.indexVectorDim);
  const rank = batch.length + offsetSizes.length;
  if (dims.offsetDims.length !== offsetSizes.length || !isSortedDistinct(dims.offsetDims, rank)) {
    throw new ShapeError(`${where}: offset_dims ${showShape(dims.offsetDims)} must be ${offsetSizes.length} sorted result axes`);
  }
  const shape: number[] = [];
  let b = 0;
  let o = 0;
  for (let d = 0; d < rank; d++) shape.push(dims.offsetDims.includes(d) ? offsetSizes[o++]! : batch[b++]!);
  return shape;
}

function scatterCheck(operand: Aval, indices: Aval, updates: Aval, dims: ScatterDimensionNumbers): void {
  const where = `scatter_add(operand ${operand}, indices ${indices}, updates ${updates})`;
  if (!isInteger(indices.dtype)) throw new ShapeError(`${where}: indices must be integers`);
  if (updates.dtype !== operand.dtype) throw new ShapeError(`${where}: updates and operand dtypes differ`);
  if (dims.indexVectorDim < 0 || dims.indexVectorDim > indices.ndim) throw new ShapeError(`${where}: index_vector_dim out of range`);
  if (!isSortedDistinct(dims.updateWindowDims, updates.ndim) || !isSortedDistinct(dims.insertedWindowDims, operand.ndim)) {
    throw new ShapeError(`${where}: update_window_dims / inserted_window_dims must be sorted distinct axes`);
  }
  if (dims.updateWindowDims.length + dims.insertedWindowDims.length !== operand.ndim) {
    throw new ShapeError(`${where}: update_window_dims and inserted_window_dims must cover the operand's ${operand.ndim} axes`);
  }
  if (!isDistinctAxes(dims.scatterDimsToOperandDims, operand.ndim)) {
    throw new ShapeError(`${where}: scatter_dims_to_operand_dims ${showShape(dims.scatterDimsToOperandDims)} must be distinct operand axes`);
  }
  if (dims.scatterDimsToOperandDims.length !== indexVectorLength(indices.shape, dims.indexVectorDim)) {
    throw new ShapeError(`${where}: scatter_dims_to_operand_dims needs one entry per index vector element`);
  }
  const batch = batchShape(indices.shape, dims.indexVectorDim);
  const scatterDims = updates.shape.filter((_, d) => !dims.updateWindowDims.includes(d));
  if (showShape(batch) !== showShape(scatterDims)) {
    throw new ShapeError(`${where}: the updates' scatter dims ${showShape(scatterDims)} must equal the index batch shape ${showShape(batch)}`);
  }
  const windowOperandDims = operand.shape.map((_, d) => d).filter((d) => !dims.insertedWindowDims.includes(d));
  dims.updateWindowDims.forEach((u, i) => {
    if (updates.shape[u]! > operand.shape[windowOperandDims[i]!]!) {
      throw new ShapeError(`${where}: update window axis ${u} is larger than operand axis ${windowOperandDims[i]}`);
    }
  });
}

/** Reads the index vector at a batch position. */
function indexVector(indices: HostTensor, batchIndex: readonly number[], indexVectorDim: number, length: number): number[] {
  const strides = stridesOf(indices.shape);
  const out: number[] = [];
  for (let k = 0; k < length; k++) {
    let offset = 0;
    let b = 0;
    for (let d = 0; d < indices.shape.length; d++) offset += (d === indexVectorDim ? k : batchIndex[b++]!) * strides[d]!;
    out.push(readNumber(indices, offset));
  }
  return out;
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    index[d] = flat % shape[d]!;
    flat = Math.floor(flat / shape[d]!);
  }
  return index;
}

/** An array shaped like `indices` holding, for each index vector component k, the largest start that keeps a
 * window of `windowSizes` inside `operandShape` along operand axis `indexMap[k]`. */
function startLimits(indices: ArrayBase, operandShape: readonly number[], windowSizes: readonly number[], indexMap: readonly number[], indexVectorDim: number): ArrayBase {
  const limits = indexMap.map((d) => new ScalarConst(operandShape[d]! - windowSizes[d]!, indices.dtype));
  if (indexVectorDim === indices.ndim) return broadcastInDim(limits[0]!, indices.shape, []);
  const pieceShape = indices.shape.map((n, d) => (d === indexVectorDim ? 1 : n));
  return concatenate(limits.map((limit) => broadcastInDim(limit, pieceShape, [])), indexVectorDim);
}

export const indexingDefs = {
  [Primitive.Gather]: {
    abstractEval([operand, indices], { dimensions, sliceSizes }) {
      return [new Aval(gatherShape(operand!, indices!, dimensions, sliceSizes), operand!.dtype)];
    },
    vjp: ({ inputs: [operand, indices], cotangents: [ct], params: { dimensions: d, sliceSizes } }) => [
      // Gather clamps starts into range but scatter drops out-of-range windows: clamp first, so every gathered
      // element sends its cotangent back to the element it read.
      scatterAdd(zerosLike(operand!), clamp(0, indices!, startLimits(indices!, operand!.shape, sliceSizes, d.startIndexMap, d.indexVectorDim)), ct!, {
        updateWindowDims: d.offsetDims,
        insertedWindowDims: d.collapsedSliceDims,
        scatterDimsToOperandDims: d.startIndexMap,
        indexVectorDim: d.indexVectorDim,
      }),
      null,
    ],
    lower(ctx, [operand, indices], { dimensions: d, sliceSizes }, [out]) {
      return [
        ctx.block.op1("stablehlo.gather", [operand!, indices!], hloType(out!), {
          dimension_numbers: attr.gather(d),
          slice_sizes: attr.i64Array(sliceSizes),
          indices_are_sorted: attr.bool(false),
        }),
      ];
    },
    reference([operand, indices], { dimensions: d, sliceSizes }, [out]) {
      const result = hostTensor(out!.dtype, out!.shape);
      const operandStrides = stridesOf(operand!.shape);
      const offsetOperandDims = operand!.shape.map((_, i) => i).filter((i) => !d.collapsedSliceDims.includes(i));
      const length = indexVectorLength(indices!.shape, d.indexVectorDim);
      for (let flat = 0; flat < result.data.length; flat++) {
        const index = unravel(flat, out!.shape);
        const batchIndex = index.filter((_, i) => !d.offsetDims.includes(i));
        const offsetIndex = d.offsetDims.map((i) => index[i]!);
        const start = new Array<number>(operand!.shape.length).fill(0);
        indexVector(indices!, batchIndex, d.indexVectorDim, length).forEach((v, k) => (start[d.startIndexMap[k]!] = v));
        let offset = 0;
        for (let dim = 0; dim < operand!.shape.length; dim++) {
          const clamped = Math.min(Math.max(start[dim]!, 0), operand!.shape[dim]! - sliceSizes[dim]!);
          const within = offsetOperandDims.indexOf(dim);
          offset += (clamped + (within >= 0 ? offsetIndex[within]! : 0)) * operandStrides[dim]!;
        }
        result.data[flat] = operand!.data[offset]!;
      }
      return [result];
    },
  },

  [Primitive.ScatterAdd]: {
    abstractEval([operand, indices, updates], { dimensions }) {
      scatterCheck(operand!, indices!, updates!, dimensions);
      return [operand!];
    },
    vjp: ({ inputs: [operand, indices, updates], cotangents: [ct], params: { dimensions: d }, needs }) => {
      let ctUpdates: ArrayBase | null = null;
      if (needs[2]) {
        let w = 0;
        const sliceSizes = operand!.shape.map((_, i) => (d.insertedWindowDims.includes(i) ? 1 : updates!.shape[d.updateWindowDims[w++]!]!));
        ctUpdates = gather(
          ct!,
          indices!,
          {
            offsetDims: d.updateWindowDims,
            collapsedSliceDims: d.insertedWindowDims,
            startIndexMap: d.scatterDimsToOperandDims,
            indexVectorDim: d.indexVectorDim,
          },
          sliceSizes,
        );
        // Updates whose window fell outside the operand were dropped: they get no cotangent (gather would clamp).
        const limits = startLimits(indices!, operand!.shape, sliceSizes, d.scatterDimsToOperandDims, d.indexVectorDim);
        const inRange = and(compare(indices!, 0, "GE"), compare(indices!, limits, "LE"));
        const windowInRange = d.indexVectorDim === indices!.ndim ? inRange : reduce(inRange, "and", [d.indexVectorDim]);
        const scatterDims = updates!.shape.map((_, i) => i).filter((i) => !d.updateWindowDims.includes(i));
        ctUpdates = select(broadcastInDim(windowInRange, updates!.shape, scatterDims), ctUpdates, 0);
      }
      return [needs[0] ? ct! : null, null, ctUpdates];
    },
    lower(ctx, [operand, indices, updates], { dimensions }, [out]) {
      const scalar = hloTypeOf(out!.dtype, []);
      return [
        ctx.block.op1(
          "stablehlo.scatter",
          [operand!, indices!, updates!],
          hloType(out!),
          {
            scatter_dimension_numbers: attr.scatter(dimensions),
            indices_are_sorted: attr.bool(false),
            unique_indices: attr.bool(false),
          },
          [{ argTypes: [scalar, scalar], body: (b, x, y) => b.ret([b.op1("stablehlo.add", [x!, y!], scalar)]) }],
        ),
      ];
    },
    reference([operand, indices, updates], { dimensions: d }, [out]) {
      // Updates apply one at a time in order, each sum rounded to the element type (XLA's scatter semantics;
      // duplicates of a bf16 scatter-add round after every update, not once).
      const result = hostTensor(out!.dtype, out!.shape, operand!.data.slice());
      const operandStrides = stridesOf(operand!.shape);
      const windowOperandDims = operand!.shape.map((_, i) => i).filter((i) => !d.insertedWindowDims.includes(i));
      const length = indexVectorLength(indices!.shape, d.indexVectorDim);
      const total = shapeSize(updates!.shape);
      for (let flat = 0; flat < total; flat++) {
        const index = unravel(flat, updates!.shape);
        const scatterIndex = index.filter((_, i) => !d.updateWindowDims.includes(i));
        const windowIndex = d.updateWindowDims.map((i) => index[i]!);
        const start = new Array<number>(operand!.shape.length).fill(0);
        indexVector(indices!, scatterIndex, d.indexVectorDim, length).forEach((v, k) => (start[d.scatterDimsToOperandDims[k]!] = v));
        let offset = 0;
        let inBounds = true;
        for (let dim = 0; dim < operand!.shape.length; dim++) {
          const w = windowOperandDims.indexOf(dim);
          // The whole window must fit: one that only partly fits is dropped entirely (as XLA does).
          const windowSize = w >= 0 ? updates!.shape[d.updateWindowDims[w]!]! : 1;
          if (start[dim]! < 0 || start[dim]! + windowSize > operand!.shape[dim]!) inBounds = false;
          offset += (start[dim]! + (w >= 0 ? windowIndex[w]! : 0)) * operandStrides[dim]!;
        }
        if (inBounds) writeNumber(result, offset, readNumber(result, offset) + readNumber(updates!, flat));
      }
      return [result];
    },
  },
} satisfies { [P in Primitive.Gather | Primitive.ScatterAdd]: PrimitiveDef<P> };
