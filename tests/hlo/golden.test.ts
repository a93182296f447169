// Golden snapshots of the printed Program and the emitted StableHLO for a few representative functions, so a
// refactor of tracing, autodiff or lowering shows up as a reviewable diff. Update with `npx vitest run -u`.
import { describe, expect, it } from "vitest";
import { type ArrayBase, grad, jit, lax, np } from "../../src/index.js";
import type { DType } from "../../src/core/dtype.js";
import { type HostValue, hv, toDevice } from "../helpers/arrays.js";
import { expectModulesVerify } from "../helpers/mlir.js";
import { whileLoop } from "../helpers/while.js";

const zeros = (dtype: DType, shape: number[]): HostValue => hv(dtype, shape, new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0));

function logSoftmax(logits: ArrayBase): ArrayBase {
  const m = np.max(logits, { axis: -1, keepdims: true });
  const shifted = np.subtract(logits, m);
  return np.subtract(shifted, np.log(np.sum(np.exp(shifted), { axis: -1, keepdims: true })));
}

function softmaxCrossEntropy(logits: ArrayBase, labels: ArrayBase): ArrayBase {
  const picked = np.takeAlongAxis(logSoftmax(logits), np.expandDims(labels, -1), -1); // [N, 1]
  return np.negative(np.mean(picked));
}

function mlpLoss(params: { w1: ArrayBase; b1: ArrayBase; w2: ArrayBase; b2: ArrayBase }, x: ArrayBase, labels: ArrayBase): ArrayBase {
  const hidden = np.tanh(np.add(np.matmul(x, params.w1), params.b1)); // [N, H]
  const logits = np.add(np.matmul(hidden, params.w2), params.b2); // [N, C]
  return softmaxCrossEntropy(logits, labels);
}

interface Golden {
  name: string;
  fn: (...args: never[]) => unknown;
  args: () => unknown[];
}

const goldens: Golden[] = [
  {
    name: "matmul",
    fn: (a: ArrayBase, b: ArrayBase) => np.matmul(a, b),
    args: () => [toDevice(zeros("f32", [2, 3])), toDevice(zeros("f32", [3, 4]))],
  },
  {
    name: "reduce",
    fn: (x: ArrayBase) => [np.sum(x, { axis: 1 }), np.max(x, { axis: 0 }), np.argmax(x, -1)],
    args: () => [toDevice(zeros("f32", [3, 4]))],
  },
  {
    name: "while_loop",
    fn: (x: ArrayBase, n: ArrayBase) =>
      whileLoop(
        (i) => lax.compare(i!, n, "LT"),
        (i, acc) => [lax.add(i!, 1), lax.add(acc!, lax.mul(x, lax.convert(i!, "f32")))],
        [lax.mul(n, 0), np.zerosLike(x)],
      ),
    args: () => [toDevice(zeros("f32", [3])), toDevice(zeros("i32", []))],
  },
  {
    name: "mlp_grad",
    fn: (params: { w1: ArrayBase; b1: ArrayBase; w2: ArrayBase; b2: ArrayBase }, x: ArrayBase, labels: ArrayBase) => grad(mlpLoss)(params, x, labels),
    args: () => [
      { w1: toDevice(zeros("f32", [3, 5])), b1: toDevice(zeros("f32", [5])), w2: toDevice(zeros("f32", [5, 4])), b2: toDevice(zeros("f32", [4])) },
      toDevice(zeros("f32", [2, 3])),
      toDevice(zeros("i32", [2])),
    ],
  },
  {
    name: "softmax_cross_entropy",
    fn: (logits: ArrayBase, labels: ArrayBase) => softmaxCrossEntropy(logits, labels),
    args: () => [toDevice(zeros("f32", [4, 5])), toDevice(zeros("i32", [4]))],
  },
];

describe("golden snapshots", () => {
  it.each(goldens.map((g) => [g.name, g] as const))("%s: Program and StableHLO", async (name, g) => {
    const lowered = jit(g.fn as (...args: unknown[]) => unknown, { name }).lower(...g.args());
    const module = lowered.stablehlo();
    expectModulesVerify([{ name, text: module }]);
    await expect(lowered.programText()).toMatchFileSnapshot(`./__golden__/${name}.program.txt`);
    await expect(module).toMatchFileSnapshot(`./__golden__/${name}.mlir`);
  });

  it("lowering is deterministic: the same function lowers to the same text twice", () => {
    for (const g of goldens) {
      const first = jit(g.fn as (...args: unknown[]) => unknown, { name: g.name }).lower(...g.args());
      const second = jit(g.fn as (...args: unknown[]) => unknown, { name: g.name }).lower(...g.args());
      expect(second.stablehlo()).toBe(first.stablehlo());
      expect(second.programText()).toBe(first.programText());
    }
  });
});
