// dot_general precision (issue 10.6): jit's `precision` and setDefaultPrecision lower to a precision_config on
// every dot_general of the module, the jit cache keeps one module per level, our CPU plugin accepts each level
// (computing in f32, i.e. HIGHEST, whatever is asked). tests/runtime/dot_precision.test.ts feeds the plugin
// hand-written modules.
import { afterEach, describe, expect, it } from "vitest";
import { type ArrayBase, type Precision, getDefaultPrecision, grad, jit, np, setDefaultPrecision } from "../../src/index.js";
import { expectAllclose } from "../helpers/allclose.js";
import { type HostValue, randomValue, readAndDispose, toDevice } from "../helpers/arrays.js";
import { dotTolerance } from "../helpers/tolerance.js";

const LEVELS: [Precision, string][] = [
  ["default", "DEFAULT"],
  ["high", "HIGH"],
  ["highest", "HIGHEST"],
];

const config = (x: string) => `precision_config = [#stablehlo<precision ${x}>, #stablehlo<precision ${x}>]`;

/** Every dot_general line of a module, and how many carry `expected`. */
function dotLines(text: string): { total: number; carrying: (expected: string) => number } {
  const lines = text.split("\n").filter((l) => l.includes('"stablehlo.dot_general"'));
  return { total: lines.length, carrying: (expected) => lines.filter((l) => l.includes(config(expected))).length };
}

function loss(w: ArrayBase, x: ArrayBase): ArrayBase {
  return np.sum(np.tanh(np.matmul(np.matmul(x, w), np.transpose(w))));
}

/** out = a @ b in float64, from the definition. */
function matmulOracle(a: HostValue, b: HostValue): number[] {
  const [m, k] = a.shape as [number, number];
  const n = b.shape[1]!;
  const out: number[] = [];
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a.data[i * k + p]! * b.data[p * n + j]!;
      out.push(s);
    }
  }
  return out;
}

afterEach(() => setDefaultPrecision("default"));

describe("dot precision in the emitted module (issue 10.6)", () => {
  it.each(LEVELS)("jit precision %s puts precision_config %s on every dot_general, gradients included", (level, hlo) => {
    const w = toDevice(randomValue("f32", [4, 3], 1), "cpu");
    const x = toDevice(randomValue("f32", [2, 4], 2), "cpu");
    const text = jit(grad(loss), { precision: level }).lower(w, x).stablehlo();
    const dots = dotLines(text);
    expect(dots.total).toBeGreaterThanOrEqual(4); // two forward products and their transposes
    expect(dots.carrying(hlo)).toBe(dots.total);
    expect(text).toMatch(
      /"stablehlo\.dot_general"\(%\d+, %\d+\) \{dot_dimension_numbers = #stablehlo\.dot<[^>]*>, precision_config = \[#stablehlo<precision [A-Z]+>, #stablehlo<precision [A-Z]+>\]\}/,
    );
    w.dispose();
    x.dispose();
  });

  it("the global precision applies to jit without its own, and jit's own overrides it", () => {
    expect(getDefaultPrecision()).toBe("default");
    const a = toDevice(randomValue("f32", [2, 2], 3), "cpu");
    const matmul = (p: ArrayBase, q: ArrayBase) => np.matmul(p, q);
    expect(dotLines(jit(matmul).lower(a, a).stablehlo()).carrying("DEFAULT")).toBe(1);
    setDefaultPrecision("highest");
    expect(dotLines(jit(matmul).lower(a, a).stablehlo()).carrying("HIGHEST")).toBe(1);
    expect(dotLines(jit(matmul, { precision: "high" }).lower(a, a).stablehlo()).carrying("HIGH")).toBe(1);
    expect(dotLines(jit(matmul, { precision: "default" }).lower(a, a).stablehlo()).carrying("DEFAULT")).toBe(1);
    a.dispose();
  });

  it("a per-call precision overrides the module's for that product and its gradients", () => {
    const w = toDevice(randomValue("f32", [4, 3], 8), "cpu");
    const x = toDevice(randomValue("f32", [2, 4], 9), "cpu");
    const f = (wp: ArrayBase, xp: ArrayBase) => np.sum(np.matmul(np.einsum("bk,kn->bn", xp, wp, { precision: "highest" }), np.transpose(wp)));
    const forward = dotLines(jit(f, { precision: "high" }).lower(w, x).stablehlo());
    expect([forward.total, forward.carrying("HIGHEST"), forward.carrying("HIGH")]).toEqual([2, 1, 1]);
    // d/dw: the einsum's two transposed products keep HIGHEST, the matmul's keep the module's HIGH.
    const backward = dotLines(jit(grad(f), { precision: "high" }).lower(w, x).stablehlo());
    expect(backward.carrying("HIGHEST") + backward.carrying("HIGH")).toBe(backward.total);
    expect(backward.carrying("HIGHEST")).toBeGreaterThanOrEqual(2);
    expect(backward.carrying("HIGH")).toBeGreaterThanOrEqual(2);
    expect(() => np.matmul(x, w, { precision: "low" as Precision })).toThrow(/dot_general: precision must be/);
    w.dispose();
    x.dispose();
  });

  it("rejects an unknown level, naming where it came from", () => {
    expect(() => setDefaultPrecision("bf16" as Precision)).toThrow(/setDefaultPrecision: precision must be "default", "high" or "highest", got "bf16"/);
    expect(() => jit((p: ArrayBase) => p, { precision: "HIGH" as Precision, name: "f" })).toThrow(/jit\(f\): precision must be/);
    expect(getDefaultPrecision()).toBe("default");
  });
});

describe("dot precision on the cpu plugin (issue 10.6)", () => {
  it("the jit cache holds one module per level; each compiles, runs and gives the same f32 results", async () => {
    const a = randomValue("f32", [5, 7], 4);
    const b = randomValue("f32", [7, 3], 5);
    const expected = matmulOracle(a, b);
    const da = toDevice(a, "cpu");
    const db = toDevice(b, "cpu");
    const matmul = jit((p: ArrayBase, q: ArrayBase) => np.matmul(p, q), { device: "cpu" });
    const results: number[][] = [];
    for (const [level] of LEVELS) {
      setDefaultPrecision(level);
      const [out] = await readAndDispose([matmul(da, db)]);
      expectAllclose(out!.data, expected, dotTolerance("cpu", level), `cpu at ${level}`);
      results.push(out!.data);
    }
    expect(matmul.cacheSize).toBe(3);
    // The same level again reuses its module.
    setDefaultPrecision("high");
    (await readAndDispose([matmul(da, db)])).forEach((r) => expect(r.data).toEqual(results[1]));
    expect(matmul.cacheSize).toBe(3);
    // The plugin computes in f32 at every level: the three modules agree bit for bit.
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    da.dispose();
    db.dispose();
  });

  it("the reference device agrees with the cpu plugin within the cpu tolerance at each level", async () => {
    const a = randomValue("f32", [3, 4], 6);
    const b = randomValue("f32", [4, 2], 7);
    for (const [level] of LEVELS) {
      const f = (p: ArrayBase, q: ArrayBase) => np.einsum("mk,kn->mn", p, q);
      const [ref] = await readAndDispose([jit(f, { precision: level })(toDevice(a, "reference"), toDevice(b, "reference"))]);
      const ca = toDevice(a, "cpu");
      const cb = toDevice(b, "cpu");
      const [cpu] = await readAndDispose([jit(f, { precision: level })(ca, cb)]);
      ca.dispose();
      cb.dispose();
      expectAllclose(cpu!.data, ref!.data, dotTolerance("cpu", level), `einsum at ${level}`);
    }
  });
});
