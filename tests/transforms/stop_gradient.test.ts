// stop_gradient (issue 6.16): the identity on values with a zero cotangent. Gradients are checked against
// derivatives worked out by hand in float64, eagerly and under jit, on the reference and cpu devices.
import { describe, expect, it } from "vitest";
import {
  type ArrayBase,
  type DeviceArray,
  forLoop,
  grad,
  jit,
  lax,
  nn,
  np,
  Primitive,
  stopGradient,
  tidy,
  valueAndGrad,
} from "../../src/index.js";
import { primitiveTable } from "../../src/ops/registry.js";
import type { DeviceKind } from "../../src/runtime/device.js";

const DEVICES: DeviceKind[] = ["reference", "cpu"];
const MODES = ["eager", "jit"] as const;
type Mode = (typeof MODES)[number];

/** Runs `fn` on `args` eagerly or through jit on `device`, checking every result leaf came from there. */
async function on(device: DeviceKind, mode: Mode, fn: (...xs: ArrayBase[]) => unknown, args: ArrayBase[]): Promise<number[][]> {
  // tidy frees eager intermediates, so the leak check at the end sees only what the tests forgot.
  const out = tidy(() => (mode === "jit" ? jit(fn, { device })(...args) : fn(...args))) as DeviceArray | DeviceArray[];
  const leaves = Array.isArray(out) ? out : [out];
  const values: number[][] = [];
  for (const leaf of leaves) {
    expect(leaf.device.kind).toBe(device);
    values.push(Array.from(await leaf.data(), Number));
    leaf.dispose();
  }
  return values;
}

const X = [0.5, -1.25, 2, 3.5];

describe.each(DEVICES)("stop_gradient on %s", (device) => {
  const vec = (data: number[]) => np.array(data, { device });

  it.each(MODES)("is the identity on values, in every dtype (%s)", async (mode) => {
    const f = vec(X);
    const i = np.array([3, -7, 11], { device, dtype: "i32" });
    const [a, b] = await on(device, mode, (p, q) => [stopGradient(p), lax.stopGradient(q)], [f, i]);
    expect(a).toEqual(X);
    expect(b).toEqual([3, -7, 11]);
    f.dispose();
    i.dispose();
  });

  it.each(MODES)("the gradient through it is zero (%s)", async (mode) => {
    const x = vec(X);
    const [g] = await on(device, mode, grad((v: ArrayBase) => np.sum(np.multiply(stopGradient(v), 3))), [x]);
    expect(g).toEqual([0, 0, 0, 0]);
    x.dispose();
  });

  it.each(MODES)("d/dx sum(x * stop_gradient(x)) is x, not 2x (%s)", async (mode) => {
    const x = vec(X);
    const [g] = await on(device, mode, grad((v: ArrayBase) => np.sum(np.multiply(v, stopGradient(v)))), [x]);
    // The stopped factor is the constant c = x: d/dx (x * c) = c.
    expect(g).toEqual(X);
    x.dispose();
  });

  it.each(MODES)("second derivative of x * stop_gradient(x) is zero (%s)", async (mode) => {
    const x = np.array(1.5, { device });
    const d1 = grad((v: ArrayBase) => np.multiply(v, stopGradient(v)));
    const [g1, g2] = await on(device, mode, (v) => [d1(v), grad((u: ArrayBase) => d1(u) as ArrayBase)(v)], [x]);
    expect(g1).toEqual([1.5]);
    expect(g2).toEqual([0]);
    x.dispose();
  });

  it.each(MODES)("GRPO's ratio exp(logp - stop_gradient(logp)) is 1 with the gradient of logp (%s)", async (mode) => {
    const theta = [0.3, -1.1, 2.0, 0.0, 0.7];
    const adv = [1.5, -0.5, 0.25, 2.0, -1.0];
    // loss = sum(A * ratio) with logp = log_softmax(theta): value sum(A); since the ratio is 1, its gradient is
    // the gradient of sum(A * logp), A_j - softmax_j * sum(A).
    const z = theta.reduce((s, t) => s + Math.exp(t), 0);
    const sumA = adv.reduce((s, a) => s + a, 0);
    const expected = theta.map((t, j) => adv[j]! - (Math.exp(t) / z) * sumA);
    const loss = (t: ArrayBase, a: ArrayBase) => {
      const logp = nn.logSoftmax(t);
      const ratio = np.exp(np.subtract(logp, stopGradient(logp)));
      return [ratio, np.sum(np.multiply(a, ratio))];
    };
    const t = vec(theta);
    const a = vec(adv);
    const [ratio, value, g] = await on(
      device,
      mode,
      (tt, aa) => {
        const [v, gt] = valueAndGrad((u: ArrayBase) => loss(u, aa)[1]!)(tt) as [ArrayBase, ArrayBase];
        return [loss(tt, aa)[0]!, v, gt];
      },
      [t, a],
    );
    expect(ratio).toEqual([1, 1, 1, 1, 1]);
    expect(value).toEqual([sumA]);
    expect(g).toBeAllclose(expected, { rtol: 1e-5, atol: 1e-6 });
    t.dispose();
    a.dispose();
  });

  it.each(MODES)("inside a loop body its operand stands for its result (%s)", async (mode) => {
    const x = vec(X);
    // stop_gradient of a carried value lowers to the region's block argument itself, used by an op (a) and
    // returned as is (b).
    const step = (_i: ArrayBase, [a, b]: ArrayBase[]) => [np.multiply(stopGradient(a!), b!), stopGradient(b!)];
    const [a, b] = await on(device, mode, (v) => forLoop(0, 2, step, [v, v]), [x]);
    expect(a).toEqual(X.map((t) => t * t * t));
    expect(b).toEqual(X);
    x.dispose();
  });

  it("an eager result is a new array: disposing the operand leaves it readable", async () => {
    const x = vec(X);
    const y = stopGradient(x) as DeviceArray;
    expect(y).not.toBe(x);
    x.dispose();
    expect(Array.from(await y.data(), Number)).toEqual(X);
    y.dispose();
  });
});

describe("stop_gradient in programs", () => {
  it("traces as one equation and lowers to no op at all", () => {
    const lowered = jit((x: ArrayBase) => stopGradient(x)).lower(np.array(X, { device: "reference" }));
    expect(lowered.programText()).toMatch(/= stop_gradient a\b/);
    const body = lowered.stablehlo().split("\n").filter((l) => l.includes("stablehlo."));
    expect(body).toEqual([]);
    expect(lowered.stablehlo()).toMatch(/func\.return"?\(?%arg0/);
  });

  it("its VJP rule gives the operand a zero cotangent", () => {
    // The backward pass never reaches the rule (stopped values are not active), so it is checked directly.
    const x = np.array(X, { device: "reference" });
    const rule = primitiveTable()[Primitive.StopGradient].vjp!;
    const ct = np.onesLike(x) as DeviceArray;
    expect(rule({ params: {}, inputs: [x], outputs: [x], cotangents: [ct], needs: [true] })).toEqual([null]);
    x.dispose();
    ct.dispose();
  });

  it("the backward pass computes no cotangent for the stopped operand", () => {
    const x = np.array(X, { device: "reference" });
    // Forward: one multiply. Backward: ct * stop_gradient(x) only; ct * x (the stopped operand's share) is not built.
    const text = jit(grad((v: ArrayBase) => np.sum(np.multiply(v, stopGradient(v))))).lower(x).programText();
    expect(text.match(/= mul /g)?.length).toBe(2);
    x.dispose();
  });
});
