// stop_gradient is the identity on values: every dtype and the edge shapes come back unchanged (issue 6.16).
import { Primitive, lax } from "../../src/index.js";
import type { DType } from "../../src/core/dtype.js";
import { randomValue } from "../helpers/arrays.js";
import { type OpCase, seedOf, shapeText } from "./case_types.js";

export function stopGradientCases(): OpCase[] {
  const shapes: [DType, number[]][] = [
    ["f32", [2, 3]],
    ["bf16", [4]],
    ["i32", []],
    ["u32", [0, 2]],
    ["bool", [1, 1]],
  ];
  return shapes.map(([dtype, shape]) => {
    const name = `stop_gradient ${dtype} ${shapeText(shape)}`;
    return {
      name,
      primitives: [Primitive.StopGradient],
      build: () => [randomValue(dtype, shape, seedOf(name))],
      fn: (x) => lax.stopGradient(x),
      expected: ([x]) => x!,
    };
  });
}
