// The shape of an op test case, shared by the reference-device tests here and (later) the cpu-vs-reference
// comparison: inputs are host values, `fn` is applied to device arrays made from them, and `expected` computes the
// answer from the same host values with plain JS written in the test (never the library's reference rules).
import type { ArrayBase, Primitive } from "../../src/index.js";
import type { DType } from "../../src/core/dtype.js";
import type { HostValue } from "../helpers/arrays.js";

export interface Tolerance {
  rtol: number;
  atol: number;
}

export interface OpCase {
  /** Unique and descriptive, e.g. "exp f32 [2,3]". */
  name: string;
  /** Primitives this case exists to exercise (the coverage test checks every primitive has a case). */
  primitives: readonly Primitive[];
  build: () => HostValue[];
  fn: (...inputs: ArrayBase[]) => ArrayBase | ArrayBase[];
  expected: (inputs: readonly HostValue[]) => HostValue | HostValue[];
  /** Overrides the per-dtype default tolerance. */
  tolerance?: Tolerance;
  /** The results are fixed exactly by IEEE arithmetic: compare stored bits (signed zeros, subnormals), not values
   * within a tolerance. */
  bitExact?: boolean;
}

/** Default comparison per output dtype: integers and bools exact; f32 to a few ulps; bf16 to one ulp (the
 * reference computes in f32 and rounds once more). */
export function defaultTolerance(dtype: DType): Tolerance {
  switch (dtype) {
    case "f32":
      return { rtol: 3e-6, atol: 1e-6 };
    case "bf16":
      return { rtol: 8e-3, atol: 1e-6 };
    default:
      return { rtol: 0, atol: 0 };
  }
}

/** A stable 32-bit seed from a case name, so data do not depend on case order. */
export function seedOf(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}
