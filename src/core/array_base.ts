// The common face of every array the user touches: concrete device arrays, tracers inside a trace, and scalar
// constants written into a program.
import { Aval, type Shape } from "./aval.js";
import type { DType } from "./dtype.js";

export abstract class ArrayBase {
  abstract readonly aval: Aval;
  get shape(): Shape {
    return this.aval.shape;
  }
  get dtype(): DType {
    return this.aval.dtype;
  }
  get ndim(): number {
    return this.aval.shape.length;
  }
  get size(): number {
    return this.aval.size;
  }
}

/** A JS number used as an operand, typed by the operation that uses it. Becomes a `Lit` in a Program. */
export class ScalarConst extends ArrayBase {
  readonly aval: Aval;
  constructor(
    readonly value: number,
    dtype: DType,
  ) {
    super();
    // A fractional number would silently truncate on every device; integer scalars may be negative for u32
    // (they wrap, as when stored into a Uint32Array).
    if ((dtype === "i32" || dtype === "u32" || dtype === "i64") && !Number.isInteger(value)) {
      throw new TypeError(`the JS number ${value} cannot be a ${dtype} scalar (not an integer); convert the array to a float dtype first`);
    }
    this.aval = new Aval([], dtype);
  }
  override toString(): string {
    return `ScalarConst(${this.value}:${this.dtype})`;
  }
}
