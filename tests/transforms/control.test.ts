// The user-level loops (whileLoop, forLoop): pytree state, captured values, dynamic trip counts under jit,
// lowering, and clear errors for ill-typed bodies and conditions.
import { describe, expect, it } from "vitest";
import { type ArrayBase, forLoop, jit, lax, np, tidy, whileLoop } from "../../src/index.js";
import { disposeTree, hv, readAndDispose, readTidy, toDevice } from "../helpers/arrays.js";
import { expectModulesVerify } from "../helpers/mlir.js";

const i32 = (v: number) => toDevice(hv("i32", [], [v]));

describe("whileLoop", () => {
  it("carries a pytree state and captures outer arrays", async () => {
    const scale = toDevice(hv("f32", [2], [2, 3]));
    type State = { i: ArrayBase; acc: ArrayBase };
    const run = (limit: ArrayBase) =>
      whileLoop<State>(
        (s) => lax.compare(s.i, limit, "LT"),
        (s) => ({ i: lax.add(s.i, 1), acc: np.add(np.multiply(s.acc, scale), 1) }),
        { i: i32(0), acc: toDevice(hv("f32", [2], [0, 0])) },
      );
    const eager = tidy(() => run(i32(3)));
    const [i, acc] = await readAndDispose([eager.i, eager.acc]);
    expect(i!.data).toEqual([3]);
    // acc <- acc * s + 1, three times from 0: 1, s + 1, s^2 + s + 1
    expect(acc!.data).toEqual([7, 13]);
    const limit = i32(3);
    const jitted = jit(run)(limit) as unknown as State;
    expect((await readAndDispose([jitted.acc]))[0]!.data).toEqual([7, 13]);
    disposeTree(jitted, limit, scale);
  });

  it("a JS number in the initial state becomes an f32 scalar carry", async () => {
    const out = tidy(() =>
      whileLoop(
        (s: [ArrayBase, ArrayBase]) => lax.compare(s[0], 4, "LT"),
        (s: [ArrayBase, ArrayBase]) => [np.add(s[0], 1), np.multiply(s[1], 2)] as [ArrayBase, ArrayBase],
        [0, toDevice(hv("f32", [], [1]))] as unknown as [ArrayBase, ArrayBase],
      ),
    );
    const [counter, doubled] = await readAndDispose(out);
    expect(counter).toEqual({ dtype: "f32", shape: [], data: [4] });
    expect(doubled!.data).toEqual([16]);
  });

  it("lowers to one stablehlo.while that passes the structural check", () => {
    const f = (x: ArrayBase, n: ArrayBase) => forLoop(0, n, (i, acc: ArrayBase) => np.add(acc, np.multiply(x, lax.convert(i, "f32"))), np.zerosLike(x));
    const args = [toDevice(hv("f32", [3], [1, 2, 3])), i32(4)] as const;
    const text = jit(f, { name: "forLoop" }).lower(...args).stablehlo();
    disposeTree(args);
    expect(text.match(/"stablehlo.while"/g)).toHaveLength(1);
    expectModulesVerify([{ name: "forLoop", text }]);
  });

  it("the body must keep shapes and dtypes; the condition must be a bool scalar", () => {
    const init = toDevice(hv("f32", [2], [1, 2]));
    expect(() => whileLoop((x: ArrayBase) => lax.compare(np.sum(x), 10, "LT"), (x: ArrayBase) => np.sum(x), init)).toThrow(
      /while: the body must map the carry \(f32\[2\]\) to the same types; it takes \(f32\[2\]\) and returns \(f32\[\]\)/,
    );
    expect(() => whileLoop((x: ArrayBase) => np.sum(x), (x: ArrayBase) => x, init)).toThrow(/while: the condition must return one bool scalar, got \(f32\[\]\)/);
    expect(() => whileLoop((x: ArrayBase) => lax.compare(x, 1, "LT"), (x: ArrayBase) => x, init)).toThrow(/while: the condition must return one bool scalar, got \(bool\[2\]\)/);
    expect(() =>
      whileLoop(
        (s: ArrayBase[]) => lax.compare(np.sum(s[0]!), 10, "LT"),
        (s: ArrayBase[]) => [s[0]!],
        [init, init],
      ),
    ).toThrow(/whileLoop: the body returned 1 arrays, the state has 2/);
    init.dispose();
  });
});

describe("forLoop", () => {
  it("runs a dynamic trip count under jit without retracing", async () => {
    let traces = 0;
    const triangle = jit((n: ArrayBase) => {
      traces++;
      return forLoop(0, n, (i, acc: ArrayBase) => lax.add(acc, i), i32(0));
    });
    const results = [];
    for (const n of [0, 1, 5, 10]) {
      const count = i32(n);
      results.push((await readAndDispose([triangle(count) as ArrayBase]))[0]!.data[0]);
      count.dispose();
    }
    expect(results).toEqual([0, 0, 10, 45]);
    expect(traces).toBe(1);
  });

  it("a static bound and a loop that never runs", async () => {
    const x = toDevice(hv("f32", [2], [1, 2]));
    expect((await readTidy(() => forLoop(3, 3, (_i, s: ArrayBase) => np.multiply(s, 10), x))).data).toEqual([1, 2]);
    expect((await readTidy(() => forLoop(0, 3, (_i, s: ArrayBase) => np.multiply(s, 10), x))).data).toEqual([1000, 2000]);
    x.dispose();
  });
});
