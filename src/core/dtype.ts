// Element types. i64 exists only for the few places StableHLO demands it; user-visible arrays use the rest.

export type DType = "f32" | "bf16" | "i32" | "u32" | "bool" | "i64";

export const DTYPES: readonly DType[] = ["f32", "bf16", "i32", "u32", "bool", "i64"];

export function isFloat(dtype: DType): boolean {
  return dtype === "f32" || dtype === "bf16";
}

export function isInteger(dtype: DType): boolean {
  return dtype === "i32" || dtype === "u32" || dtype === "i64";
}

export function isSigned(dtype: DType): boolean {
  return dtype === "i32" || dtype === "i64";
}

export function byteSize(dtype: DType): number {
  switch (dtype) {
    case "f32":
    case "i32":
    case "u32":
      return 4;
    case "bf16":
      return 2;
    case "bool":
      return 1;
    case "i64":
      return 8;
  }
}

/** The MLIR element type spelling. */
export function mlirElementType(dtype: DType): string {
  switch (dtype) {
    case "f32":
      return "f32";
    case "bf16":
      return "bf16";
    case "i32":
      return "i32";
    case "u32":
      return "ui32";
    case "bool":
      return "i1";
    case "i64":
      return "i64";
  }
}

export type TypedArrayFor<D extends DType> = D extends "f32"
  ? Float32Array
  : D extends "bf16"
    ? Uint16Array
    : D extends "i32"
      ? Int32Array
      : D extends "u32"
        ? Uint32Array
        : D extends "bool"
          ? Uint8Array
          : BigInt64Array;

export type AnyTypedArray = Float32Array | Uint16Array | Int32Array | Uint32Array | Uint8Array | BigInt64Array;

export function allocTyped(dtype: DType, size: number): AnyTypedArray {
  switch (dtype) {
    case "f32":
      return new Float32Array(size);
    case "bf16":
      return new Uint16Array(size);
    case "i32":
      return new Int32Array(size);
    case "u32":
      return new Uint32Array(size);
    case "bool":
      return new Uint8Array(size);
    case "i64":
      return new BigInt64Array(size);
  }
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Rounds an f32 to the nearest bf16 (ties to even) and returns its 16-bit pattern. NaN stays NaN. */
export function f32ToBf16Bits(value: number): number {
  f32Scratch[0] = value;
  const bits = u32Scratch[0]!;
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0) {
    return ((bits >>> 16) | 0x0040) & 0xffff; // quiet NaN, sign kept
  }
  const lsb = (bits >>> 16) & 1;
  const rounded = (bits + 0x7fff + lsb) >>> 0;
  return (rounded >>> 16) & 0xffff;
}

export function bf16BitsToF32(bits: number): number {
  u32Scratch[0] = (bits & 0xffff) << 16;
  return f32Scratch[0]!;
}
