// Host-side tensors: a dtype, a shape and a typed array in row-major order. The reference device computes on
// these, and they are what `data()` returns.
import { Aval, shapeSize, showShape, type Shape } from "../core/aval.js";
import { type AnyTypedArray, type DType, allocTyped, bf16BitsToF32, f32ToBf16Bits } from "../core/dtype.js";

export interface HostTensor {
  readonly dtype: DType;
  readonly shape: Shape;
  readonly data: AnyTypedArray;
}

export function hostTensor(dtype: DType, shape: Shape, data?: AnyTypedArray): HostTensor {
  const size = shapeSize(shape);
  const buffer = data ?? allocTyped(dtype, size);
  if (buffer.length !== size) {
    throw new RangeError(`host tensor ${dtype}${showShape(shape)} needs ${size} elements, got ${buffer.length}`);
  }
  return { dtype, shape: [...shape], data: buffer };
}

export function avalOf(t: HostTensor): Aval {
  return new Aval(t.shape, t.dtype);
}

/** Reads element i as a JS number (bf16 decoded, bool as 0/1, i64 as a number). */
export function readNumber(t: HostTensor, i: number): number {
  const v = t.data[i]!;
  if (t.dtype === "bf16") return bf16BitsToF32(v as number);
  return Number(v);
}

/** Stores a JS number into element i, converting as the dtype requires (bf16 rounds to nearest even). */
export function writeNumber(t: HostTensor, i: number, value: number): void {
  switch (t.dtype) {
    case "bf16":
      (t.data as Uint16Array)[i] = f32ToBf16Bits(value);
      return;
    case "bool":
      (t.data as Uint8Array)[i] = value ? 1 : 0;
      return;
    case "i64":
      (t.data as BigInt64Array)[i] = BigInt(Math.trunc(value));
      return;
    default:
      (t.data as Float32Array | Int32Array | Uint32Array)[i] = value;
  }
}

/** Converts any JS values (nested arrays, typed arrays, numbers, booleans) into a host tensor of `dtype`. */
export function toHostTensor(values: unknown, dtype: DType, shape?: Shape): HostTensor {
  if (ArrayBuffer.isView(values) && !(values instanceof DataView)) {
    // Typed arrays are read in place, never through a JS array: one of a few hundred million elements (a
    // checkpoint's embedding) is past the longest array V8 can grow, and would end the process.
    const view = values as unknown as ArrayLike<number | bigint>;
    if (dtype === "bf16" && values instanceof Uint16Array) {
      const t = hostTensor(dtype, shape ?? [view.length], new Uint16Array(values));
      return t;
    }
    const t = allocateFor(dtype, shape ?? [view.length], view.length);
    const sameType =
      (dtype === "f32" && values instanceof Float32Array) ||
      (dtype === "i32" && values instanceof Int32Array) ||
      (dtype === "u32" && values instanceof Uint32Array);
    if (sameType) {
      (t.data as Float32Array | Int32Array | Uint32Array).set(values as Float32Array | Int32Array | Uint32Array);
      return t;
    }
    for (let i = 0; i < view.length; i++) writeChecked(t, i, Number(view[i]));
    return t;
  }
  const inferred = inferShape(values, "values");
  const flat: number[] = [];
  flattenInto(values, flat);
  const t = allocateFor(dtype, shape ?? inferred, flat.length);
  for (let i = 0; i < flat.length; i++) writeChecked(t, i, flat[i]!);
  return t;
}

/** A host tensor of `shape` for `count` values, or the error saying they do not fill it. */
function allocateFor(dtype: DType, shape: Shape, count: number): HostTensor {
  const size = shapeSize(shape);
  if (count !== size) throw new RangeError(`np.array: ${count} values do not fill shape ${showShape(shape)} (${size} elements)`);
  return hostTensor(dtype, shape);
}

/** writeNumber, refusing a non-integer for an integer dtype. */
function writeChecked(t: HostTensor, i: number, v: number): void {
  if ((t.dtype === "i32" || t.dtype === "u32" || t.dtype === "i64") && !Number.isInteger(v)) {
    throw new TypeError(`np.array: value ${v} at flat index ${i} is not an integer, but the dtype is ${t.dtype}`);
  }
  writeNumber(t, i, v);
}

function inferShape(values: unknown, where: string): number[] {
  if (typeof values === "number" || typeof values === "boolean") return [];
  if (Array.isArray(values)) {
    if (values.length === 0) return [0];
    const inner = inferShape(values[0], `${where}[0]`);
    values.forEach((v, i) => {
      const s = inferShape(v, `${where}[${i}]`);
      if (s.join(",") !== inner.join(",")) {
        throw new RangeError(`np.array: ${where}[${i}] has shape ${showShape(s)} but ${where}[0] has ${showShape(inner)} (ragged)`);
      }
    });
    return [values.length, ...inner];
  }
  throw new TypeError(`np.array: ${where} is a ${typeof values}, expected numbers, booleans or nested arrays of them`);
}

function flattenInto(values: unknown, out: number[]): void {
  if (typeof values === "number") out.push(values);
  else if (typeof values === "boolean") out.push(values ? 1 : 0);
  else if (Array.isArray(values)) for (const v of values) flattenInto(v, out);
}
