// Numeric comparison for tests: numpy's allclose rule (|a - e| <= atol + rtol * |e|), NaN equal to NaN by
// default, infinities equal only to themselves; and bit-for-bit comparison of stored values, for results that
// IEEE arithmetic fixes exactly (signed zeros, subnormals, conversions), which no tolerance can see: -0 is within
// any atol of +0, and a flushed subnormal within 1e-6 of its true value. Failures name the first mismatching
// index (as a multi-index when the shape is known) and how many elements differ.
import { expect } from "vitest";

export interface AllcloseOptions {
  rtol?: number;
  atol?: number;
  /** NaN in `actual` matches NaN in `expected` (default true). */
  equalNaN?: boolean;
  /** Shape of both operands, for reporting multi-indices (inferred from nested arrays when absent). */
  shape?: readonly number[];
  /** -0 and +0 differ (default false, as in numpy). */
  signedZeros?: boolean;
}

export type NumericLike = number | boolean | ArrayLike<number> | readonly NumericLike[];

/** Flattens numbers, booleans, typed arrays and nested arrays; returns the values and the nested shape. */
export function flattenNumeric(value: unknown): { values: number[]; shape: number[] } {
  if (typeof value === "number") return { values: [value], shape: [] };
  if (typeof value === "boolean") return { values: [value ? 1 : 0], shape: [] };
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const view = value as unknown as ArrayLike<number | bigint>;
    return { values: Array.from({ length: view.length }, (_, i) => Number(view[i])), shape: [view.length] };
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return { values: [], shape: [0] };
    const parts = value.map(flattenNumeric);
    const inner = parts[0]!.shape;
    const ragged = parts.some((p) => p.shape.join(",") !== inner.join(","));
    if (ragged) return { values: parts.flatMap((p) => p.values), shape: [parts.reduce((n, p) => n + p.values.length, 0)] };
    return { values: parts.flatMap((p) => p.values), shape: [value.length, ...inner] };
  }
  throw new TypeError(`allclose: cannot compare a ${typeof value}`);
}

function whereText(flat: number, shape: readonly number[]): string {
  return shape.length > 1 ? `[${unravel(flat, shape).join(", ")}] (flat ${flat})` : `${flat}`;
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length).fill(0);
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d]!;
    if (size === 0) return [];
    index[d] = rest % size;
    rest = Math.floor(rest / size);
  }
  return index;
}

function close(a: number, e: number, rtol: number, atol: number, equalNaN: boolean, signedZeros: boolean): boolean {
  if (Number.isNaN(a) || Number.isNaN(e)) return equalNaN && Number.isNaN(a) && Number.isNaN(e);
  if (signedZeros && a === 0 && e === 0) return Object.is(a, e);
  if (!Number.isFinite(a) || !Number.isFinite(e)) return a === e;
  return Math.abs(a - e) <= atol + rtol * Math.abs(e);
}

/** undefined when close, else a message naming the first mismatching index. */
export function allcloseMismatch(actual: unknown, expected: unknown, options: AllcloseOptions = {}): string | undefined {
  const rtol = options.rtol ?? 1e-6;
  const atol = options.atol ?? 1e-6;
  const equalNaN = options.equalNaN ?? true;
  const a = flattenNumeric(actual);
  const e = flattenNumeric(expected);
  if (a.values.length !== e.values.length) {
    return `sizes differ: actual has ${a.values.length} elements (shape [${a.shape}]), expected ${e.values.length} (shape [${e.shape}])`;
  }
  const shape = options.shape ?? (e.shape.length > 1 ? e.shape : a.shape.length > 1 ? a.shape : e.shape);
  let first = -1;
  let count = 0;
  for (let i = 0; i < a.values.length; i++) {
    if (!close(a.values[i]!, e.values[i]!, rtol, atol, equalNaN, options.signedZeros ?? false)) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (first < 0) return undefined;
  const av = a.values[first]!;
  const ev = e.values[first]!;
  const where = whereText(first, shape);
  const preview = (values: number[]) =>
    values.length <= 16 ? `[${values.join(", ")}]` : `[${values.slice(0, 16).join(", ")}, ...]`;
  return (
    `first mismatch at index ${where}: actual ${av}, expected ${ev} ` +
    `(|diff| ${Math.abs(av - ev)} > atol ${atol} + rtol ${rtol} * |expected|); ` +
    `${count} of ${a.values.length} elements differ\n  actual:   ${preview(a.values)}\n  expected: ${preview(e.values)}`
  );
}

/** The element types whose stored bits `storedBits` knows. */
export type BitsDType = "f32" | "bf16" | "i32" | "u32" | "bool" | "i64";

const bitsView = new DataView(new ArrayBuffer(4));

/** The bits a number has when stored as `dtype`: the f32 pattern, the bf16 pattern (the number must be a bf16
 * value), or the integer itself. NaN maps to NaN: payloads are not specified across devices. */
export function storedBits(value: number, dtype: BitsDType): number {
  if (dtype !== "f32" && dtype !== "bf16") return value;
  if (Number.isNaN(value)) return NaN;
  bitsView.setFloat32(0, value);
  const bits = bitsView.getUint32(0);
  if (bitsView.getFloat32(0) !== value && !(value === 0)) throw new Error(`storedBits: ${value} is not an f32 value`);
  if (dtype === "f32") return bits;
  if ((bits & 0xffff) !== 0) throw new Error(`storedBits: ${value} is not a bf16 value`);
  return bits >>> 16;
}

const signed = (v: number) => (Object.is(v, -0) ? "-0" : String(v));

const hex = (bits: number, dtype: BitsDType) =>
  Number.isNaN(bits) ? "NaN" : dtype === "f32" ? `0x${bits.toString(16).padStart(8, "0")}` : dtype === "bf16" ? `0x${bits.toString(16).padStart(4, "0")}` : `${bits}`;

/** undefined when every element has the same stored bits (any NaN matching any NaN), else a message. */
export function bitsMismatch(actual: readonly number[], expected: readonly number[], dtype: BitsDType, shape: readonly number[] = [expected.length]): string | undefined {
  if (actual.length !== expected.length) return `sizes differ: ${actual.length} elements, expected ${expected.length}`;
  const a = actual.map((v) => storedBits(v, dtype));
  const e = expected.map((v) => storedBits(v, dtype));
  const differs = a.map((bits, i) => !(Object.is(bits, e[i]) || (Number.isNaN(bits) && Number.isNaN(e[i]!))));
  const first = differs.indexOf(true);
  if (first < 0) return undefined;
  return (
    `bits differ at index ${whereText(first, shape)}: actual ${signed(actual[first]!)} (${hex(a[first]!, dtype)}), ` +
    `expected ${signed(expected[first]!)} (${hex(e[first]!, dtype)}); ${differs.filter(Boolean).length} of ${a.length} elements differ`
  );
}

/** Throws (failing the test) unless `actual` and `expected` store the same bits as `dtype`. */
export function expectSameBits(actual: readonly number[], expected: readonly number[], dtype: BitsDType, label = ""): void {
  const mismatch = bitsMismatch(actual, expected, dtype);
  if (mismatch !== undefined) throw new Error(`${label ? `${label}: ` : ""}${mismatch}`);
}

/** Throws (failing the test) when `actual` and `expected` are not close. */
export function expectAllclose(actual: unknown, expected: unknown, options: AllcloseOptions = {}, label = ""): void {
  const mismatch = allcloseMismatch(actual, expected, options);
  if (mismatch !== undefined) throw new Error(`${label ? `${label}: ` : ""}not allclose: ${mismatch}`);
}

interface AllcloseMatchers<R = unknown> {
  /** numpy allclose, reporting the first mismatching index. */
  toBeAllclose(expected: unknown, options?: AllcloseOptions): R;
}

declare module "vitest" {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Matchers<T = any> extends AllcloseMatchers<T> {}
}

expect.extend({
  toBeAllclose(received: unknown, expected: unknown, options: AllcloseOptions = {}) {
    const mismatch = allcloseMismatch(received, expected, options);
    return {
      pass: mismatch === undefined,
      message: () => (mismatch === undefined ? "expected arrays not to be allclose, but they are" : `expected arrays to be allclose: ${mismatch}`),
    };
  },
});
