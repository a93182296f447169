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
    this.aval = new Aval([], dtype);
  }
  override toString(): string {
    return `ScalarConst(${this.value}:${this.dtype})`;
  }
}
