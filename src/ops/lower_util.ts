// Small helpers shared by the lowerings: MLIR types of avals and back, scalar constants, compare types.
import { type Block, type ElementType, type TensorType, type Value, attr, tensorType } from "../../hlo/index.js";
import type { Aval } from "../core/aval.js";
import { DTYPES, type DType, isFloat, isSigned, mlirElementType } from "../core/dtype.js";

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

/** The project dtype an MLIR element type spells (the inverse of mlirElementType). */
export function dtypeOfElement(element: ElementType): DType {
  const dtype = DTYPES.find((d) => mlirElementType(d) === element);
  if (dtype === undefined) throw new Error(`no dtype for MLIR element type ${element}`);
  return dtype;
}

export function compareTypeOfElement(element: ElementType): "FLOAT" | "SIGNED" | "UNSIGNED" {
  const dtype = dtypeOfElement(element);
  if (isFloat(dtype)) return "FLOAT";
  return isSigned(dtype) ? "SIGNED" : "UNSIGNED";
}
