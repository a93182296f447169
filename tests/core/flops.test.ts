// The FLOP counter (issue 9) against hand counts on small programs: dot_general with free, contracted and batch
// dimensions, elementwise and reductions, forLoop trip counts read from the program (nested, offset, counting down),
// loops whose count is not in the program, and a gradient.
import { describe, expect, it } from "vitest";
import { type ArrayBase, type Program, countFlops, dotGeneralFlops, forLoop, grad, jit, lax, np, observeTraces, whileLoop } from "../../src/index.js";
import { Aval } from "../../src/core/aval.js";
import { disposeTree, hv, readAndDispose, toDevice } from "../helpers/arrays.js";

const zeros = (shape: number[]) => toDevice(hv("f32", shape, new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0)));

/** The Program jit traces for `fn` at these argument shapes (traced on the reference device, never run). */
function programOf(fn: (...args: ArrayBase[]) => unknown, ...shapes: number[][]) {
  const args = shapes.map(zeros);
  try {
    return jit(fn as (...a: ArrayBase[]) => ArrayBase).lower(...args).program;
  } finally {
    disposeTree(args);
  }
}

describe("dot_general FLOPs", () => {
  it("a matmul [3, 4] x [4, 5] is 2 * 3 * 4 * 5 = 120", () => {
    const count = countFlops(programOf((a, b) => np.matmul(a, b), [3, 4], [4, 5]));
    expect(count).toEqual({ dot: 120, elementwise: 0, dots: 1, unknownLoops: 0 });
  });

  it("a batched einsum bij,bjk->bik at (2, 3, 4, 5) is 2 * 2 * 3 * 4 * 5 = 240", () => {
    expect(countFlops(programOf((a, b) => np.einsum("bij,bjk->bik", a, b), [2, 3, 4], [2, 4, 5])).dot).toBe(240);
  });

  it("two contracted axes: [2, 3, 4] . [3, 4, 6] over (3, 4) is 2 * 2 * 6 * 12 = 288", () => {
    const program = programOf((a, b) => lax.dotGeneral(a, b, { lhsContracting: [1, 2], rhsContracting: [0, 1], lhsBatch: [], rhsBatch: [] }), [2, 3, 4], [3, 4, 6]);
    expect(countFlops(program).dot).toBe(288);
  });

  it("dotGeneralFlops with batch and free axes on both sides", () => {
    // batch 7, lhs free 2 x 3, rhs free 5, contracted 4: 2 * 7 * 6 * 5 * 4
    const lhs = new Aval([7, 2, 4, 3], "f32");
    const rhs = new Aval([4, 7, 5], "f32");
    expect(dotGeneralFlops(lhs, rhs, { lhsContracting: [2], rhsContracting: [0], lhsBatch: [0], rhsBatch: [1] })).toBe(2 * 7 * 6 * 5 * 4);
  });
});

describe("elementwise and reductions", () => {
  it("counts one per float output element, one per reduced input element, nothing for integers", () => {
    // exp (20) + add (20) + sum over 20 elements (20); the i32 iota and add are not counted.
    const program = programOf((x) => {
      const y = np.add(np.exp(x), x);
      const counter = lax.add(lax.iota("i32", [4, 5], 0), 1);
      return [np.sum(y), counter];
    }, [4, 5]);
    expect(countFlops(program)).toEqual({ dot: 0, elementwise: 60, dots: 0, unknownLoops: 0 });
  });
});

describe("while loops", () => {
  const body = (b: ArrayBase) => (_i: ArrayBase, s: ArrayBase) => np.matmul(s, b); // [2, 3] x [3, 3]: 36 FLOPs

  it("a forLoop(0, 5) counts its body 5 times", () => {
    const count = countFlops(programOf((a, b) => forLoop(0, 5, body(b), a), [2, 3], [3, 3]));
    expect(count).toEqual({ dot: 180, elementwise: 0, dots: 5, unknownLoops: 0 });
  });

  it("a forLoop(2, 11) counts 9 iterations", () => {
    expect(countFlops(programOf((a, b) => forLoop(2, 11, body(b), a), [2, 3], [3, 3])).dot).toBe(9 * 36);
  });

  it("nested loops multiply: 3 outer x 4 inner iterations", () => {
    const program = programOf((a, b) => forLoop(0, 3, (_i, s) => forLoop(0, 4, body(b), s), a), [2, 3], [3, 3]);
    expect(countFlops(program)).toEqual({ dot: 12 * 36, elementwise: 0, dots: 12, unknownLoops: 0 });
  });

  it("a counter stepped down by 2 from 10 while > 0 runs 5 times (f32 counter, the matmul and the step counted)", () => {
    const program = programOf(
      (a, b) => whileLoop(([i]: ArrayBase[]) => lax.compare(i!, 0, "GT"), ([i, s]: ArrayBase[]) => [lax.sub(i!, 2), np.matmul(s!, b)], [10 as unknown as ArrayBase, a])[1]!,
      [2, 3],
      [3, 3],
    );
    // The f32 counter's subtraction is float arithmetic: one element per iteration.
    expect(countFlops(program)).toEqual({ dot: 5 * 36, elementwise: 5, dots: 5, unknownLoops: 0 });
  });

  it("a data-dependent loop is reported and counted `unknownTrips` times", () => {
    const program = programOf((a, b) => whileLoop((s: ArrayBase) => np.less(np.sum(s), 100), (s: ArrayBase) => np.matmul(s, b), a), [2, 3], [3, 3]);
    const once = countFlops(program);
    expect(once.unknownLoops).toBe(1);
    expect(once.dot).toBe(36);
    // The condition's sum (6 elements) runs trips + 1 times.
    expect(countFlops(program, { unknownTrips: 7 })).toEqual({ dot: 7 * 36, elementwise: 8 * 6, dots: 7, unknownLoops: 1 });
  });

  it("a bound passed as an argument is not a constant: the loop is unknown", () => {
    const bound = toDevice(hv("i32", [], [5]));
    const [a, b] = [zeros([2, 3]), zeros([3, 3])];
    const program = jit((x: ArrayBase, w: ArrayBase, n: ArrayBase) => forLoop(0, n, body(w), x)).lower(a, b, bound).program;
    disposeTree([a, b, bound]);
    expect(countFlops(program, { unknownTrips: 3 })).toMatchObject({ dot: 3 * 36, unknownLoops: 1 });
  });
});

describe("gradients", () => {
  it("grad of sum(x w) with respect to w: the forward matmul and x^T g, 2 x 2mkn", () => {
    // m 2, k 3, n 4: forward 48, weight gradient 48; the input's gradient is not asked for.
    const program = programOf((x, w) => grad((v: ArrayBase) => np.sum(np.matmul(x, v)))(w) as ArrayBase, [2, 3], [3, 4]);
    expect(countFlops(program).dot).toBe(96);
  });
});

describe("observeTraces", () => {
  it("reports each new signature's Program once, by name, until stopped", async () => {
    const seen: [string, Program][] = [];
    const stop = observeTraces((name, program) => seen.push([name, program]));
    const f = jit((a: ArrayBase, b: ArrayBase) => np.matmul(a, b), { name: "observed_matmul" });
    const [a, b, c] = [zeros([2, 3]), zeros([3, 4]), zeros([3, 5])];
    await readAndDispose([f(a, b), f(a, b)]); // one trace for two calls
    stop();
    await readAndDispose([f(a, c)]); // a new signature, after stopping
    disposeTree([a, b, c]);
    expect(seen.map(([name]) => name)).toEqual(["observed_matmul"]);
    expect(countFlops(seen[0]![1]).dot).toBe(2 * 2 * 3 * 4);
  });
});
