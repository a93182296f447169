// Small helpers shared by the lowerings: MLIR types of avals, scalar constants, compare types.
import { type Block, type ElementType, type TensorType, type Value, attr, tensorType } from "../../hlo/index.js";
import type { Aval } from "../core/aval.js";
import { type DType, isFloat, mlirElementType } from "../core/dtype.js";

export function hloType(aval: Aval): TensorType {
  return tensorType(mlirElementType(aval.dtype) as ElementType, aval.shape);
}

export function hloTypeOf(dtype: DType, shape: readonly number[]): TensorType {
  return tensorType(mlirElementType(dtype) as ElementType, shape);
}

/** A splat constant of `dtype` and `shape`. */
export function constant(block: Block, value: number | boolean, dtype: DType, shape: readonly number[] = []): Value {
  const type = hloTypeOf(dtype, shape);
  return block.op1("stablehlo.constant", [], type, { value: attr.dense(type, { splat: value }) });
}

export function compareType(dtype: DType): "FLOAT" | "SIGNED" | "UNSIGNED" {
  if (isFloat(dtype)) return "FLOAT";
  return dtype === "i32" || dtype === "i64" ? "SIGNED" : "UNSIGNED";
}

export function compareTypeOfElement(element: ElementType): "FLOAT" | "SIGNED" | "UNSIGNED" {
  if (element === "f32" || element === "bf16") return "FLOAT";
  return element === "i32" || element === "i64" ? "SIGNED" : "UNSIGNED";
}
