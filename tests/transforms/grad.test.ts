// Reverse mode: every VJP rule and several composites against finite differences; convert's VJP exactly;
// second derivatives; grad and jit composed in both orders.
import { describe, expect, it } from "vitest";
import { type ArrayBase, DeviceArray, Primitive, forLoop, grad, jit, lax, np, valueAndGrad, vjp } from "../../src/index.js";
import { primitiveTable } from "../../src/ops/registry.js";
import type { PrimitiveDef } from "../../src/ops/types.js";
import { hv, randomValue, readHost, toDevice } from "../helpers/arrays.js";
import { checkGrad } from "../helpers/grad_check.js";
import { gradCases, weightedSum } from "./grad_cases.js";

const cases = gradCases();

describe("VJP rules against finite differences", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    await checkGrad(c.fn, c.args(), c.options);
  });

  it("every primitive with a VJP rule has a case", () => {
    const table = primitiveTable();
    const withRule = (Object.keys(table) as Primitive[]).filter((p) => (table[p] as PrimitiveDef<Primitive>).vjp !== undefined);
    const covered = new Set(cases.flatMap((c) => c.primitives));
    // convert is checked exactly below (finite differences through bf16 rounding are meaningless).
    covered.add(Primitive.Convert);
    // stop_gradient's derivative is zero by definition, not by its value: stop_gradient.test.ts checks it by hand.
    covered.add(Primitive.StopGradient);
    expect(withRule.filter((p) => !covered.has(p))).toEqual([]);
  });
});

describe("the gradient checker itself (issue 6.13)", () => {
  /** Runs `body` with `primitive`'s VJP rule scaled by `factor`, restoring the rule afterwards. */
  async function withScaledVjp(primitive: Primitive, factor: number, body: () => Promise<unknown>): Promise<void> {
    const table = primitiveTable() as unknown as Record<Primitive, PrimitiveDef<Primitive>>;
    const original = table[primitive];
    const rule = original.vjp!;
    table[primitive] = { ...original, vjp: (a) => rule(a).map((ct) => (ct === null ? null : lax.mul(ct, factor))) };
    try {
      await body();
    } finally {
      table[primitive] = original;
    }
  }
  const tanhCase = () => [randomValue("f32", [3, 4], 41, { min: -1.5, max: 1.5 })];
  const tanhLoss = (x: ArrayBase) => weightedSum(np.tanh(x));
  const mulCase = () => [randomValue("f32", [2, 5], 42), randomValue("f32", [2, 5], 43)];
  const mulLoss = (a: ArrayBase, b: ArrayBase) => weightedSum(np.sin(np.multiply(a, b)));

  it("passes the true VJPs at these points", async () => {
    await checkGrad(tanhLoss, tanhCase());
    await checkGrad(mulLoss, mulCase(), { argnums: [0, 1], device: "cpu" });
  });

  it("fails a VJP scaled by 1.01, on either device and in either mode", async () => {
    await withScaledVjp(Primitive.Tanh, 1.01, () => expect(checkGrad(tanhLoss, tanhCase(), { modes: ["eager"] })).rejects.toThrow(/checkGrad: \|diff\|/));
    await withScaledVjp(Primitive.Tanh, 1.01, () => expect(checkGrad(tanhLoss, tanhCase(), { device: "cpu", modes: ["jit"] })).rejects.toThrow(/checkGrad: \|diff\|/));
    await withScaledVjp(Primitive.Mul, 0.99, () => expect(checkGrad(mulLoss, mulCase(), { argnums: [0, 1] })).rejects.toThrow(/checkGrad: \|diff\|/));
  });

  it("fails when the eager and jit gradients disagree", async () => {
    // A rule that scales only when traced for jit (its inputs are tracers then) makes the two modes differ.
    const table = primitiveTable() as unknown as Record<Primitive, PrimitiveDef<Primitive>>;
    const original = table[Primitive.Tanh];
    const rule = original.vjp!;
    table[Primitive.Tanh] = {
      ...original,
      vjp: (a) => rule(a).map((ct) => (ct === null || ct instanceof DeviceArray ? ct : lax.mul(ct, 1.001))),
    };
    try {
      await expect(checkGrad(tanhLoss, tanhCase())).rejects.toThrow(/in jit mode but .* in eager mode/);
    } finally {
      table[Primitive.Tanh] = original;
    }
  });
});

describe("convert's VJP", () => {
  it("f32 -> bf16 sends the bf16 cotangent back as f32; integer outputs send nothing", async () => {
    const x = toDevice(hv("f32", [3], [1.1, -2.3, 0.5]));
    const { vjp: back } = vjp((v: ArrayBase) => lax.convert(v, "bf16"), [x]);
    const [ct] = back(toDevice(hv("bf16", [3], [0.5, -1.5, 3]))) as ArrayBase[];
    const host = await readHost(ct!);
    expect(host.dtype).toBe("f32");
    expect(host.data).toEqual([0.5, -1.5, 3]);
    const g = grad((v: ArrayBase) => np.sum(np.add(lax.convert(lax.convert(v, "i32"), "f32"), v)))(x) as ArrayBase;
    expect((await readHost(g)).data).toEqual([1, 1, 1]);
  });

  it("a bf16 computation inside an f32 loss differentiates through both converts", async () => {
    const f = (v: ArrayBase) => np.sum(lax.convert(np.multiply(lax.convert(v, "bf16"), lax.convert(v, "bf16")), "f32"));
    const x = toDevice(hv("f32", [3], [1, -2, 0.5]));
    expect((await readHost(grad(f)(x) as ArrayBase)).data).toEqual([2, -4, 1]);
  });
});

describe("exact gradients at special points", () => {
  it("ties in max/min share the cotangent equally (reduce and binary)", async () => {
    const x = toDevice(hv("f32", [4], [1, 3, 3, 2]));
    expect((await readHost(grad((v: ArrayBase) => np.max(v))(x) as ArrayBase)).data).toEqual([0, 0.5, 0.5, 0]);
    const y = toDevice(hv("f32", [4], [1, 3, 0, 2]));
    const [gx, gy] = grad((a: ArrayBase, b: ArrayBase) => np.sum(np.maximum(a, b)), { argnums: [0, 1] })(x, y) as ArrayBase[];
    expect((await readHost(gx!)).data).toEqual([0.5, 0.5, 1, 0.5]);
    expect((await readHost(gy!)).data).toEqual([0.5, 0.5, 0, 0.5]);
  });

  it("bf16 inputs get bf16 gradients", async () => {
    const x = toDevice(hv("bf16", [3], [1.5, -2, 0.25]));
    const g = await readHost(grad((v: ArrayBase) => np.sum(lax.convert(np.multiply(v, v), "f32")))(x) as ArrayBase);
    expect(g).toEqual({ dtype: "bf16", shape: [3], data: [3, -4, 0.5] });
  });

  it("vjp with hasAux passes aux through and differentiates the main output only", async () => {
    const x = toDevice(hv("f32", [2], [2, 3]));
    const { outputs, vjp: back, aux } = vjp((v: ArrayBase) => [np.multiply(v, v), { count: np.sum(v) }], [x], { hasAux: true });
    expect((await readHost(outputs as ArrayBase)).data).toEqual([4, 9]);
    expect((await readHost((aux as { count: ArrayBase }).count)).data).toEqual([5]);
    const [ct] = back(toDevice(hv("f32", [2], [1, -1]))) as ArrayBase[];
    expect((await readHost(ct!)).data).toEqual([4, -6]);
  });

  it("jit of a second derivative matches eager", async () => {
    const f = (v: ArrayBase) => np.multiply(np.sin(v), np.exp(v));
    const x = toDevice(hv("f32", [], [0.7]));
    const eager = await scalar(grad(grad(f))(x));
    expect(await scalar(jit(grad(grad(f)))(x))).toBeAllclose(eager, { rtol: 1e-6 });
    expect(eager).toBeAllclose(2 * Math.cos(0.7) * Math.exp(0.7), { rtol: 1e-5 });
  });
});

// --- composites ---------------------------------------------------------------------------------------------

function softmax(x: ArrayBase, axis = -1): ArrayBase {
  const shifted = np.subtract(x, np.max(x, { axis, keepdims: true }));
  const e = np.exp(shifted);
  return np.divide(e, np.sum(e, { axis, keepdims: true }));
}

function logsumexp(x: ArrayBase, axis = -1): ArrayBase {
  const m = np.max(x, { axis, keepdims: true });
  return np.add(np.squeeze(m, axis), np.log(np.sum(np.exp(np.subtract(x, m)), { axis })));
}

function rmsNorm(x: ArrayBase, scale: ArrayBase): ArrayBase {
  const meanSquare = np.mean(np.square(x), { axis: -1, keepdims: true });
  return np.multiply(np.multiply(x, np.rsqrt(np.add(meanSquare, 1e-6))), np.add(scale, 1));
}

/** Single-head causal self-attention on [B, T, D] with projections to H. */
function attention(x: ArrayBase, wq: ArrayBase, wk: ArrayBase, wv: ArrayBase): ArrayBase {
  const [, t] = x.shape as [number, number, number];
  const h = wq.shape[1]!;
  const q = np.einsum("btd,dh->bth", x, wq); // [B, T, H]
  const k = np.einsum("btd,dh->bth", x, wk); // [B, T, H]
  const v = np.einsum("btd,dh->bth", x, wv); // [B, T, H]
  const scores = np.multiply(np.einsum("bth,bsh->bts", q, k), 1 / Math.sqrt(h)); // [B, T, T]
  const causal = lax.compare(lax.iota("i32", [t, t], 1), lax.iota("i32", [t, t], 0), "LE"); // [T, T]
  const masked = np.where(causal, scores, -1e9);
  return np.einsum("bts,bsh->bth", softmax(masked, -1), v); // [B, T, H]
}

/** Mean cross-entropy of a 2-layer tanh MLP. */
function mlpLoss(w1: ArrayBase, b1: ArrayBase, w2: ArrayBase, b2: ArrayBase, x: ArrayBase, labels: ArrayBase): ArrayBase {
  const hidden = np.tanh(np.add(np.matmul(x, w1), b1)); // [N, H]
  const logits = np.add(np.matmul(hidden, w2), b2); // [N, C]
  const logProbs = np.subtract(logits, np.expandDims(logsumexp(logits, -1), -1)); // [N, C]
  const picked = np.takeAlongAxis(logProbs, np.expandDims(labels, -1), -1); // [N, 1]
  return np.negative(np.mean(picked));
}

describe("composites against finite differences", () => {
  it("softmax", async () => {
    await checkGrad((x) => weightedSum(softmax(x!)), [randomValue("f32", [3, 5], 1, { min: -3, max: 3 })]);
  });

  it("logsumexp", async () => {
    await checkGrad((x) => weightedSum(logsumexp(x!)), [randomValue("f32", [4, 6], 2, { min: -3, max: 3 })]);
  });

  it("rms norm (input and scale)", async () => {
    await checkGrad((x, s) => weightedSum(rmsNorm(x!, s!)), [randomValue("f32", [3, 8], 3), randomValue("f32", [8], 4, { min: -0.5, max: 0.5 })], {
      argnums: [0, 1],
    });
  });

  it("causal attention block with np.einsum (input and the three projections)", async () => {
    const args = [randomValue("f32", [2, 4, 6], 5), ...[6, 7, 8].map((s) => randomValue("f32", [6, 3], s, { min: -0.6, max: 0.6 }))];
    await checkGrad((x, wq, wk, wv) => weightedSum(attention(x!, wq!, wk!, wv!)), args, { argnums: [0, 1, 2, 3] });
  });

  it("2-layer MLP cross-entropy loss (all parameters)", async () => {
    const params = [randomValue("f32", [3, 5], 9, { min: -1, max: 1 }), randomValue("f32", [5], 10), randomValue("f32", [5, 4], 11, { min: -1, max: 1 }), randomValue("f32", [4], 12)];
    const data = [randomValue("f32", [6, 3], 13), hv("i32", [6], [0, 3, 1, 1, 2, 3])];
    await checkGrad((w1, b1, w2, b2, x, y) => mlpLoss(w1!, b1!, w2!, b2!, x!, y!), [...params, ...data], { argnums: [0, 1, 2, 3] });
  });

  it("the same MLP gradient computed on cpu", async () => {
    const params = [randomValue("f32", [3, 5], 9, { min: -1, max: 1 }), randomValue("f32", [5], 10), randomValue("f32", [5, 4], 11, { min: -1, max: 1 }), randomValue("f32", [4], 12)];
    const data = [randomValue("f32", [6, 3], 13), hv("i32", [6], [0, 3, 1, 1, 2, 3])];
    await checkGrad((w1, b1, w2, b2, x, y) => mlpLoss(w1!, b1!, w2!, b2!, x!, y!), [...params, ...data], { argnums: [0, 1, 2, 3], device: "cpu" });
  });
});

// --- higher order and composition with jit ------------------------------------------------------------------

async function scalar(x: unknown): Promise<number> {
  return (await readHost(x as ArrayBase)).data[0]!;
}

describe("second derivatives", () => {
  const points = [-1.3, -0.2, 0.4, 1.7];
  const secondDerivatives: [string, (x: ArrayBase) => ArrayBase, (x: number) => number][] = [
    ["tanh", np.tanh, (x) => -2 * Math.tanh(x) * (1 - Math.tanh(x) ** 2)],
    ["sin", np.sin, (x) => -Math.sin(x)],
    ["logistic", np.sigmoid, (x) => {
      const s = 1 / (1 + Math.exp(-x));
      return s * (1 - s) * (1 - 2 * s);
    }],
    ["x^3 via mul", (x) => np.multiply(np.multiply(x, x), x), (x) => 6 * x],
    ["exp(x) / (1 + x^2)", (x) => np.divide(np.exp(x), np.add(np.multiply(x, x), 1)), (x) => (Math.exp(x) * (x ** 4 - 4 * x ** 3 + 8 * x ** 2 - 4 * x - 1)) / (1 + x * x) ** 3],
  ];
  it.each(secondDerivatives.map(([name, f, d2]) => [name, f, d2] as const))("d2/dx2 %s", async (_name, f, d2) => {
    const second = grad(grad(f));
    for (const p of points) {
      const x = toDevice(hv("f32", [], [p]));
      expect(await scalar(second(x))).toBeAllclose(d2(Math.fround(p)), { rtol: 1e-4, atol: 1e-5 });
    }
  });

  it("a Hessian-vector product (grad of a gradient's weighted sum) matches finite differences", async () => {
    const g = (x: ArrayBase) => np.sum(np.multiply(np.tanh(x), np.sin(x)));
    await checkGrad((x) => weightedSum(grad(g)(x!) as ArrayBase), [randomValue("f32", [2, 3], 21)]);
  });

  it("third derivative of x^4 is 24x", async () => {
    const f = (x: ArrayBase) => np.multiply(np.multiply(x, x), np.multiply(x, x));
    expect(await scalar(grad(grad(grad(f)))(toDevice(hv("f32", [], [0.75]))))).toBeAllclose(18, { rtol: 1e-5 });
  });
});

describe("grad and jit compose", () => {
  const loss = (w: ArrayBase, x: ArrayBase) => np.sum(np.tanh(np.matmul(x, w)));
  const w = () => toDevice(randomValue("f32", [3, 2], 31));
  const x = () => toDevice(randomValue("f32", [4, 3], 32));

  it("jit(grad(f)) gives the eager gradient", async () => {
    const [a, b] = [w(), x()];
    const eager = await readHost(grad(loss)(a, b) as ArrayBase);
    const jitted = await readHost(jit(grad(loss))(a, b) as ArrayBase);
    expect(jitted.shape).toEqual([3, 2]);
    expect(jitted.data).toBeAllclose(eager.data, { rtol: 1e-6, atol: 1e-7 });
  });

  it("grad inside a jitted function gives the eager gradient", async () => {
    const [a, b] = [w(), x()];
    const step = jit((p: ArrayBase, d: ArrayBase) => np.subtract(p, np.multiply(grad(loss)(p, d) as ArrayBase, 0.1)));
    const eager = await readHost(np.subtract(a, np.multiply(grad(loss)(a, b) as ArrayBase, 0.1)));
    expect((await readHost(step(a, b))).data).toBeAllclose(eager.data, { rtol: 1e-6, atol: 1e-7 });
  });

  it("grad of a jitted function traces through it", async () => {
    const [a, b] = [w(), x()];
    const eager = await readHost(grad(loss)(a, b) as ArrayBase);
    expect((await readHost(grad(jit(loss))(a, b) as ArrayBase)).data).toBeAllclose(eager.data, { rtol: 1e-6, atol: 1e-7 });
  });

  it("valueAndGrad with argnums and hasAux keeps its structure under jit", async () => {
    const f = (p: { w: ArrayBase; b: ArrayBase }, d: ArrayBase) => {
      const out = np.add(np.matmul(d, p.w), p.b);
      return [np.sum(np.square(out)), { mean: np.mean(out) }];
    };
    const params = { w: w(), b: toDevice(hv("f32", [2], [0.5, -0.5])) };
    const data = x();
    const vg = valueAndGrad(f, { argnums: [0, 1], hasAux: true });
    const [[value, aux], [gp, gd]] = vg(params, data) as [[ArrayBase, { mean: ArrayBase }], [{ w: ArrayBase; b: ArrayBase }, ArrayBase]];
    const [[jValue, jAux], [jgp, jgd]] = jit(vg)(params, data) as unknown as [[ArrayBase, { mean: ArrayBase }], [{ w: ArrayBase; b: ArrayBase }, ArrayBase]];
    for (const [a, b] of [[value, jValue], [aux.mean, jAux.mean], [gp.w, jgp.w], [gp.b, jgp.b], [gd, jgd]] as [ArrayBase, ArrayBase][]) {
      const [ha, hb] = [await readHost(a), await readHost(b)];
      expect(hb.shape).toEqual(ha.shape);
      expect(hb.data).toBeAllclose(ha.data, { rtol: 1e-6, atol: 1e-6 });
    }
    // d/db sum(out^2) = 2 * sum over rows of out
    const out = await readHost(np.add(np.matmul(data, params.w), params.b));
    const expectedGb = [0, 1].map((j) => 2 * [0, 1, 2, 3].reduce((s, i) => s + out.data[i * 2 + j]!, 0));
    expect((await readHost(gp.b)).data).toBeAllclose(expectedGb, { rtol: 1e-5 });
  });

  it("grad inside jit of a function closing over a value of the jit trace", async () => {
    const [a, b] = [w(), x()];
    const viaClosure = jit((d: ArrayBase, p: ArrayBase) => grad((q: ArrayBase) => loss(q, d))(p) as ArrayBase);
    const eager = await readHost(grad(loss)(a, b) as ArrayBase);
    expect((await readHost(viaClosure(b, a))).data).toBeAllclose(eager.data, { rtol: 1e-6, atol: 1e-7 });
  });

  it("a while loop that does not depend on the differentiated input does not block grad", async () => {
    const f = (v: ArrayBase, n: ArrayBase) => {
      const steps = forLoop(0, n, (_i, acc: ArrayBase) => np.add(acc, 1), toDevice(hv("f32", [], [0])));
      return np.sum(np.multiply(v, steps));
    };
    const v = toDevice(hv("f32", [2], [1, 2]));
    const n = toDevice(hv("i32", [], [3]));
    expect((await readHost(grad(f)(v, n) as ArrayBase)).data).toEqual([3, 3]);
    expect((await readHost(jit(grad(f))(v, n) as ArrayBase)).data).toEqual([3, 3]);
  });

  it("vjp returns outputs and a function of output cotangents", async () => {
    const a = toDevice(hv("f32", [2], [1, 2]));
    const b = toDevice(hv("f32", [2], [3, -1]));
    const { outputs, vjp: back } = vjp((p: ArrayBase, q: ArrayBase) => [np.multiply(p, q), np.sum(p)], [a, b]);
    expect((await readHost((outputs as ArrayBase[])[0]!)).data).toEqual([3, -2]);
    const [ca, cb] = back([toDevice(hv("f32", [2], [1, 10])), toDevice(hv("f32", [], [100]))]) as ArrayBase[];
    expect((await readHost(ca!)).data).toEqual([103, 90]);
    expect((await readHost(cb!)).data).toEqual([1, 20]);
  });

  it("a gradient with respect to an input the output ignores is zeros of its shape", async () => {
    const g = grad((p: ArrayBase, q: ArrayBase) => np.sum(q), { argnums: [0, 1] })(toDevice(hv("f32", [2, 2], [1, 2, 3, 4])), toDevice(hv("f32", [3], [1, 1, 1]))) as ArrayBase[];
    expect(await readHost(g[0]!)).toEqual({ dtype: "f32", shape: [2, 2], data: [0, 0, 0, 0] });
    expect((await readHost(g[1]!)).data).toEqual([1, 1, 1]);
  });

  it("grad of the identity and of a constant function", async () => {
    const x = toDevice(hv("f32", [], [3]));
    expect(await readHost(grad((v: ArrayBase) => v)(x) as ArrayBase)).toEqual({ dtype: "f32", shape: [], data: [1] });
    expect(await readHost(grad((v: ArrayBase) => np.add(np.multiply(v, 0), 5))(x) as ArrayBase)).toEqual({ dtype: "f32", shape: [], data: [0] });
  });
});
