// Abstract values: what tracing knows about an array (its shape and dtype, never its data).
import type { DType } from "./dtype.js";

export type Shape = readonly number[];

export class Aval {
  readonly shape: Shape;
  constructor(
    shape: Shape,
    readonly dtype: DType,
  ) {
    for (const dim of shape) {
      if (!Number.isInteger(dim) || dim < 0) throw new TypeError(`invalid dimension ${dim} in shape ${showShape(shape)}`);
    }
    this.shape = Object.freeze([...shape]);
  }
  get ndim(): number {
    return this.shape.length;
  }
  get size(): number {
    return shapeSize(this.shape);
  }
  equals(other: Aval): boolean {
    return this.dtype === other.dtype && sameShape(this.shape, other.shape);
  }
  toString(): string {
    return `${this.dtype}[${this.shape.join(",")}]`;
  }
}

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function showShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

/** Row-major strides in elements. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** Normalises a possibly negative axis against a rank, or throws naming the op. */
export function normalizeAxis(axis: number, ndim: number, where: string): number {
  if (!Number.isInteger(axis) || axis < -ndim || axis >= Math.max(ndim, 1) || (ndim === 0 && axis !== 0 && axis !== -1)) {
    throw new RangeError(`${where}: axis ${axis} is out of range for an array of rank ${ndim}`);
  }
  return axis < 0 ? axis + ndim : axis;
}
