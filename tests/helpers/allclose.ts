// Numeric comparison for tests: numpy's allclose rule (|a - e| <= atol + rtol * |e|), NaN equal to NaN by
// default, infinities equal only to themselves. Failures name the first mismatching index (as a multi-index when
// the shape is known) and how many elements differ.
import { expect } from "vitest";

export interface AllcloseOptions {
  rtol?: number;
  atol?: number;
  /** NaN in `actual` matches NaN in `expected` (default true). */
  equalNaN?: boolean;
  /** Shape of both operands, for reporting multi-indices (inferred from nested arrays when absent). */
  shape?: readonly number[];
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

function close(a: number, e: number, rtol: number, atol: number, equalNaN: boolean): boolean {
  if (Number.isNaN(a) || Number.isNaN(e)) return equalNaN && Number.isNaN(a) && Number.isNaN(e);
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
    if (!close(a.values[i]!, e.values[i]!, rtol, atol, equalNaN)) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (first < 0) return undefined;
  const av = a.values[first]!;
  const ev = e.values[first]!;
  const where = shape.length > 1 ? `[${unravel(first, shape).join(", ")}] (flat ${first})` : `${first}`;
  const preview = (values: number[]) =>
    values.length <= 16 ? `[${values.join(", ")}]` : `[${values.slice(0, 16).join(", ")}, ...]`;
  return (
    `first mismatch at index ${where}: actual ${av}, expected ${ev} ` +
    `(|diff| ${Math.abs(av - ev)} > atol ${atol} + rtol ${rtol} * |expected|); ` +
    `${count} of ${a.values.length} elements differ\n  actual:   ${preview(a.values)}\n  expected: ${preview(e.values)}`
  );
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
