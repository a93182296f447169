// rl.groupAdvantages and rl.fracRewardZeroStd against arithmetic written out by hand, eager and under jit on
// reference and cpu, under grad (finite differences), and their option errors.
import { describe, expect, it } from "vitest";
import { type ArrayBase, grad, jit, np, rl, tidy } from "../../src/index.js";
import { checkGrad } from "../helpers/grad_check.js";
import { hv, readTidy } from "../helpers/arrays.js";

// Each value is built inside tidy and disposed once read, so no array outlives its test.
const read = async (fn: () => ArrayBase): Promise<number[]> => (await readTidy(fn)).data;

// Two groups of G = 4: [1, 2, 3, 6] (mean 3) and [2, 2, 2, 2] (all equal).
const rewards = [1, 2, 3, 6, 2, 2, 2, 2];
// Group 1 centred: [-2, -1, 0, 3]; squares 4 + 1 + 0 + 9 = 14; ddof-1 variance 14 / 3.
const groupStd = Math.sqrt(14 / 3); // 2.1602...
// Batch mean 20 / 8 = 2.5; deviations [-1.5, -0.5, 0.5, 3.5, -0.5 x4]; squares 2.25 + 0.25 + 0.25 + 12.25 + 4 x 0.25 = 16.
const batchStd = Math.sqrt(16 / 7); // 1.5119...

describe("groupAdvantages", () => {
  const r = () => np.array(rewards);

  it("grpo, group scale: (r - group mean) / (group std (ddof 1) + eps); an all-equal group gives 0", async () => {
    const s = groupStd + 1e-6;
    expect(await read(() => rl.groupAdvantages(r(), { groupSize: 4 }))).toBeAllclose([-2 / s, -1 / s, 0, 3 / s, 0, 0, 0, 0], { rtol: 1e-6 });
    // TRL's eps 1e-4.
    const t = groupStd + 1e-4;
    expect(await read(() => rl.groupAdvantages(r(), { groupSize: 4, eps: 1e-4 }))).toBeAllclose([-2 / t, -1 / t, 0, 3 / t, 0, 0, 0, 0], { rtol: 1e-6 });
  });

  it("grpo with G = 2: [0, 1] has std sqrt(0.5)", async () => {
    // mean 0.5, centred [-0.5, 0.5], variance (0.25 + 0.25) / (2 - 1) = 0.5
    const a = () => rl.groupAdvantages(np.array([0, 1, 4, 4]), { groupSize: 2, eps: 1e-4 });
    const s = Math.sqrt(0.5) + 1e-4;
    expect(await read(a)).toBeAllclose([-0.5 / s, 0.5 / s, 0, 0], { rtol: 1e-6 });
  });

  it("grpo, batch scale: group-centred, divided by the batch std (ddof 1)", async () => {
    const s = batchStd + 1e-6;
    expect(await read(() => rl.groupAdvantages(r(), { groupSize: 4, scale: "batch" }))).toBeAllclose([-2 / s, -1 / s, 0, 3 / s, 0, 0, 0, 0], { rtol: 1e-6 });
  });

  it("grpo with scale none and dr_grpo: r - group mean", async () => {
    expect(await read(() => rl.groupAdvantages(r(), { groupSize: 4, scale: "none" }))).toEqual([-2, -1, 0, 3, 0, 0, 0, 0]);
    expect(await read(() => rl.groupAdvantages(r(), { groupSize: 4, mode: "dr_grpo" }))).toEqual([-2, -1, 0, 3, 0, 0, 0, 0]);
  });

  it("rloo: r minus the mean of the other G - 1 rewards, optionally scaled", async () => {
    // Group sum 12; baselines (12 - r) / 3 = [11/3, 10/3, 3, 2]; A = [1 - 11/3, 2 - 10/3, 3 - 3, 6 - 2].
    const expected = [-8 / 3, -4 / 3, 0, 4, 0, 0, 0, 0];
    expect(await read(() => rl.groupAdvantages(r(), { groupSize: 4, mode: "rloo" }))).toBeAllclose(expected, { rtol: 1e-6 });
    const s = groupStd + 1e-6;
    expect(await read(() => rl.groupAdvantages(r(), { groupSize: 4, mode: "rloo", scale: "group" }))).toBeAllclose(expected.map((a) => a / s), { rtol: 1e-6 });
    const b = batchStd + 1e-6;
    expect(await read(() => rl.groupAdvantages(r(), { groupSize: 4, mode: "rloo", scale: "batch" }))).toBeAllclose(expected.map((a) => a / b), { rtol: 1e-6 });
  });

  it("accepts a validated config (paper symbols) as well as options", async () => {
    const config = rl.advantageConfig({ groupSize: 4, mode: "rloo" });
    expect(config).toEqual({ G: 4, mode: "rloo", scale: "none", eps: 1e-6 });
    expect(await read(() => rl.groupAdvantages(r(), config))).toBeAllclose([-8 / 3, -4 / 3, 0, 4, 0, 0, 0, 0], { rtol: 1e-6 });
  });

  it("gives the same values eagerly and under jit on reference and cpu", async () => {
    for (const options of [
      { groupSize: 4 },
      { groupSize: 2, scale: "batch" as const },
      { groupSize: 4, mode: "rloo" as const, scale: "group" as const },
    ]) {
      const eager = await read(() => rl.groupAdvantages(r(), options));
      for (const device of ["reference", "cpu"] as const) {
        const f = jit((x: ArrayBase) => rl.groupAdvantages(x, options), { device });
        expect(await read(() => f(np.array(rewards, { device })))).toBeAllclose(eager, { rtol: 1e-6, atol: 1e-7 });
      }
    }
  });

  it("differentiates: gradient matches finite differences, and stays finite for an all-equal group", async () => {
    const w = np.array([0.3, -1.2, 0.7, 2.0, -0.4, 1.1, 0.5, -0.9]);
    const weighted = (options: rl.AdvantageOptions) => (x: ArrayBase) => np.sum(np.multiply(rl.groupAdvantages(x, options), w));
    const spread = hv("f32", [8], [1, 2, 3, 6, 0.5, -1, 2.5, 4]);
    await checkGrad(weighted({ groupSize: 4 }), [spread]);
    await checkGrad(weighted({ groupSize: 4, scale: "batch" }), [spread]);
    // With G = 2 and group scaling, rloo's advantages are +-sqrt(2) whatever the rewards (gradient 0): check G = 4.
    await checkGrad(weighted({ groupSize: 4, mode: "rloo", scale: "group" }), [spread]);
    await checkGrad(weighted({ groupSize: 2, mode: "rloo", scale: "none" }), [spread]);
    const g = await read(() => grad(weighted({ groupSize: 4 }))(np.array(rewards)) as ArrayBase);
    expect(g.every(Number.isFinite)).toBe(true);
    // The all-equal group: A = 0 / (0 + eps), so dA/dr = (I - 1/G) / eps there (std's own gradient is 0 at 0).
    const wg = [-0.4, 1.1, 0.5, -0.9];
    const meanW = wg.reduce((a, b) => a + b, 0) / 4;
    expect(g.slice(4)).toBeAllclose(wg.map((v) => (v - meanW) / 1e-6), { rtol: 1e-3 });
    w.dispose();
  });

  it("rejects bad options and shapes with clear errors", async () => {
    const r6 = () => np.array([1, 2, 3, 4, 5, 6]);
    expect(() => tidy(() => rl.groupAdvantages(r6(), { groupSize: 4 }))).toThrow(/N = 6 rewards is not a positive multiple of the group size G = 4/);
    expect(() => tidy(() => rl.groupAdvantages(r6(), { groupSize: 1 }))).toThrow(/groupSize \(G\) must be an integer >= 2/);
    expect(() => tidy(() => rl.groupAdvantages(r6(), { groupSize: 2.5 }))).toThrow(/groupSize/);
    expect(() => tidy(() => rl.groupAdvantages(r6(), { groupSize: 2, mode: "ppo" as rl.AdvantageMode }))).toThrow(/mode must be one of grpo, dr_grpo, rloo/);
    expect(() => tidy(() => rl.groupAdvantages(r6(), { groupSize: 2, scale: "token" as rl.AdvantageScale }))).toThrow(/scale must be one of group, batch, none/);
    expect(() => tidy(() => rl.groupAdvantages(r6(), { groupSize: 2, mode: "dr_grpo", scale: "group" }))).toThrow(/dr_grpo does not divide by a std/);
    expect(() => tidy(() => rl.groupAdvantages(r6(), { groupSize: 2, eps: -1 }))).toThrow(/eps must be a finite number > 0 when dividing by a std/);
    expect(() => tidy(() => rl.groupAdvantages(r6(), { groupSize: 2, eps: 0 }))).toThrow(/eps must be a finite number > 0/);
    expect(await read(() => rl.groupAdvantages(r6(), { groupSize: 2, eps: 0, scale: "none" }))).toEqual([-0.5, 0.5, -0.5, 0.5, -0.5, 0.5]);
    expect(() => tidy(() => rl.groupAdvantages(np.array([[1, 2]]), { groupSize: 2 }))).toThrow(/rewards must be a vector/);
    expect(() => tidy(() => rl.groupAdvantages(np.array([1, 2], { dtype: "i32" }), { groupSize: 2 }))).toThrow(/rewards must be f32 or bf16/);
  });
});

describe("fracRewardZeroStd", () => {
  it("is the fraction of groups whose rewards are all equal", async () => {
    expect(await read(() => rl.fracRewardZeroStd(np.array(rewards), 4))).toEqual([0.5]);
    // Groups of 2: [1, 1] [2, 3] [0, 0] [5, 5] -> 3 of 4.
    expect(await read(() => rl.fracRewardZeroStd(np.array([1, 1, 2, 3, 0, 0, 5, 5]), 2))).toEqual([0.75]);
    const f = jit((x: ArrayBase) => rl.fracRewardZeroStd(x, 2), { device: "cpu" });
    expect(await read(() => f(np.array([1, 1, 2, 3, 0, 0, 5, 5], { device: "cpu" })))).toEqual([0.75]);
    // The input has arrived before the call fails, so dispose() frees it at once, not when its upload lands.
    const bad = await np.array([1, 2, 3]).ready();
    expect(() => rl.fracRewardZeroStd(bad, 2)).toThrow(/not a positive multiple/);
    bad.dispose();
  });
});
