// The GRPO loss pieces and the whole loss against arithmetic written out by hand; the loss's gradient with respect
// to logp against finite differences; eager versus jit on reference and cpu; option errors; custom losses.
import { describe, expect, it } from "vitest";
import { type ArrayBase, type DeviceArray, grad, jit, np, rl, tidy } from "../../src/index.js";
import { checkGrad } from "../helpers/grad_check.js";
import { disposeTree, hv, readHost, readTidy } from "../helpers/arrays.js";

// Values are built inside tidy: single arrays are disposed once read (read), results with several arrays once the
// test is done with them (valueOf reads one without freeing it, disposeTree frees them all).
const read = async (fn: () => ArrayBase): Promise<number[]> => (await readTidy(fn)).data;
const valueOf = async (x: ArrayBase): Promise<number[]> => (await readHost(x)).data;
const e = Math.exp;

describe("loss pieces", () => {
  it("importanceRatio is exp(logp - old) with the log-ratio clipped to [-20, 20]", async () => {
    const logp = () => np.array([0, -1, 30, -30]);
    const old = () => np.array([0, -2, 0, -5]);
    // d = [0, 1, 30 -> 20, -25 -> -20]
    expect(await read(() => rl.importanceRatio(logp(), old()))).toBeAllclose([1, e(1), e(20), e(-20)], { rtol: 1e-6 });
  });

  it("clippedSurrogate is max(-A r, -A clip(r, 1 - eps, 1 + eps_high))", async () => {
    const ratio = () => np.array([[0.5, 0.9, 1.0, 1.1, 1.5], [0.5, 0.9, 1.0, 1.1, 1.5], [0.5, 0.9, 1.0, 1.1, 1.5]]);
    const pg = await read(() => rl.clippedSurrogate(ratio(), np.array([1, -1, 2]), 0.2, 0.28));
    // A = +1: max(-r, -clip(r, 0.8, 1.28)): r = 0.5 -> max(-0.5, -0.8) = -0.5; r = 1.5 -> max(-1.5, -1.28) = -1.28.
    // A = -1: max(r, clip(r)): r = 0.5 -> max(0.5, 0.8) = 0.8; r = 1.5 -> max(1.5, 1.28) = 1.5.
    // A = +2: twice the A = +1 row.
    expect(pg).toBeAllclose([-0.5, -0.9, -1, -1.1, -1.28, 0.8, 0.9, 1, 1.1, 1.5, -1, -1.8, -2, -2.2, -2.56], { rtol: 1e-6 });
  });

  it("delta (two-sided clip) caps the unclipped ratio", async () => {
    // A = -1, r = [5, 0.5]: max(min(r, 2), clip(r, 0.8, 1.2)) = [max(2, 1.2), max(0.5, 0.8)] = [2, 0.8].
    // A = +1, r = [5, 0.5]: max(-min(r, 2), -clip(r)) = [max(-2, -1.2), max(-0.5, -0.8)] = [-1.2, -0.5].
    const pg = () => rl.clippedSurrogate(np.array([[5, 0.5], [5, 0.5]]), np.array([-1, 1]), 0.2, 0.2, 2);
    expect(await read(pg)).toBeAllclose([2, 0.8, -1.2, -0.5], { rtol: 1e-6 });
  });

  it("dualClip caps the loss at -A c for negative advantages only", async () => {
    // Row A = -1, r = [5, 2]: pg = max(r, clip(r, 0.8, 1.2)) = [5, 2]; cap -A c = 3 -> [3, 2].
    // Row A = +1, r = [5, 0.5]: pg = [max(-5, -1.2), max(-0.5, -0.8)] = [-1.2, -0.5], untouched.
    // Row A = -2, r = [2, 0.1]: pg = [4, max(0.2, 1.6) = 1.6]; cap 6 -> unchanged.
    const A = () => np.array([-1, 1, -2]);
    const pg = () => rl.clippedSurrogate(np.array([[5, 2], [5, 0.5], [2, 0.1]]), A(), 0.2, 0.2);
    expect(await read(() => rl.dualClip(pg(), A(), 3))).toBeAllclose([3, 2, -1.2, -0.5, 4, 1.6], { rtol: 1e-6 });
  });

  it("the KL estimators k1, k2, k3", async () => {
    const [logp, ref] = [np.array([[-1, -2, -0.3]]), np.array([[-1.5, -1, -0.3]])];
    // logp - ref = [0.5, -1, 0]
    expect(await read(() => rl.klK1(logp, ref))).toBeAllclose([0.5, -1, 0], { rtol: 1e-6 });
    expect(await read(() => rl.klK2(logp, ref))).toBeAllclose([0.125, 0.5, 0], { rtol: 1e-6 });
    // d = ref - logp = [-0.5, 1, 0]: exp(-0.5) + 0.5 - 1 = 0.1065307, e - 1 - 1 = 0.7182818, 1 - 0 - 1 = 0
    expect(await read(() => rl.klK3(logp, ref))).toBeAllclose([0.10653066, 0.71828183, 0], { rtol: 1e-6, atol: 1e-7 });
    expect(await read(() => rl.klEstimate("k2", logp, ref))).toBeAllclose([0.125, 0.5, 0], { rtol: 1e-6 });
    expect(() => rl.klEstimate("k4" as rl.KlEstimator, logp, ref)).toThrow(/estimator must be one of k1, k2, k3/);
    disposeTree([logp, ref]);
  });

  describe("aggregation", () => {
    // Values with a NaN and an inf in masked-out places; the third sequence has no valid token.
    const values = () => np.array([[1, 2, NaN], [4, 5, 6], [7, Infinity, 9]]);
    const mask = () => np.array([[1, 1, 0], [1, 0, 0], [0, 0, 0]]);
    // Per-sequence sums [3, 4, 0], counts [2, 1, 0]; 2 sequences count.

    it("sequence-mean-token-mean: (3/2 + 4/1) / 2", async () => {
      expect(await read(() => rl.sequenceMeanTokenMean(values(), mask()))).toBeAllclose([2.75]);
      expect(await read(() => rl.aggregate(values(), mask(), "sequence-mean-token-mean"))).toBeAllclose([2.75]);
    });
    it("token-mean: (1 + 2 + 4) / 3", async () => {
      expect(await read(() => rl.tokenMean(values(), mask()))).toBeAllclose([7 / 3]);
      expect(await read(() => rl.aggregate(values(), mask(), "token-mean"))).toBeAllclose([7 / 3]);
    });
    it("sequence-mean-token-scale: (3/L + 4/L) / 2, L = maxLength (default T = 3)", async () => {
      expect(await read(() => rl.sequenceMeanTokenScale(values(), mask(), 4))).toBeAllclose([0.875]);
      expect(await read(() => rl.aggregate(values(), mask(), "sequence-mean-token-scale"))).toBeAllclose([(1 + 4 / 3) / 2]);
    });
    it("seq-mean-token-sum: (3 + 4) / 2", async () => {
      expect(await read(() => rl.sequenceMeanTokenSum(values(), mask()))).toBeAllclose([3.5]);
      expect(await read(() => rl.aggregate(values(), mask(), "seq-mean-token-sum"))).toBeAllclose([3.5]);
    });
    it("an all-zero mask gives 0 in every mode; bool masks work", async () => {
      for (const mode of rl.AGGREGATIONS) {
        expect(await read(() => rl.aggregate(values(), np.zeros([3, 3]), mode))).toEqual([0]);
      }
      const boolMask = () => np.array([[true, true, false], [true, false, false], [false, false, false]]);
      expect(await read(() => rl.aggregate(values(), boolMask(), "token-mean"))).toBeAllclose([7 / 3]);
      expect(() => tidy(() => rl.aggregate(values(), np.zeros([3, 2]), "token-mean"))).toThrow(/mask f32\[3,2\] must have shape \[3, 3\]/);
      expect(() => tidy(() => rl.aggregate(values(), mask(), "bnpo" as rl.Aggregation))).toThrow(/mode must be one of/);
    });
  });
});

// Two completions of T = 3. logp - old: row 0 [0, ln 1.5, ln 0.5] (A = +1), row 1 [ln 0.5, ln 1.1, 0] (A = -1),
// row 1's last token masked. Ratios: row 0 [1, 1.5, 0.5], row 1 [0.5, 1.1, (1)].
const logpRows = [[-1, -1, -1], [-2, -2, -2]];
const oldRows = [[-1, -1 - Math.log(1.5), -1 - Math.log(0.5)], [-2 - Math.log(0.5), -2 - Math.log(1.1), -2]];
// ref - logp: row 0 [0, -0.5, 0.5], row 1 [0, -1, 0].
const refRows = [[-1, -1.5, -0.5], [-2, -3, -2]];
const maskRows = [[1, 1, 1], [1, 1, 0]];
const inputs = (device: "reference" | "cpu" = "reference"): rl.LossInputs => ({
  logp: np.array(logpRows, { device }),
  oldLogp: np.array(oldRows, { device }),
  refLogp: np.array(refRows, { device }),
  mask: np.array(maskRows, { device }),
  advantages: np.array([1, -1], { device }),
});
// eps = 0.2: row 0 pg = [max(-1, -1), max(-1.5, -1.2), max(-0.5, -0.8)] = [-1, -1.2, -0.5]
//            row 1 pg = [max(0.5, 0.8), max(1.1, 1.1)] = [0.8, 1.1]
const pgSeqMean = ((-1 - 1.2 - 0.5) / 3 + (0.8 + 1.1) / 2) / 2; // (-0.9 + 0.95) / 2 = 0.025
// k3 = exp(d) - d - 1: row 0 [0, e^-0.5 - 0.5, e^0.5 - 1.5], row 1 [0, e^-1]
const k3Row0 = [0, e(-0.5) + 0.5 - 1, e(0.5) - 0.5 - 1];
const k3Row1 = [0, e(-1) + 1 - 1];
const klSeqMean = ((k3Row0[0]! + k3Row0[1]! + k3Row0[2]!) / 3 + (k3Row1[0]! + k3Row1[1]!) / 2) / 2;
const klTokenMean = (k3Row0[0]! + k3Row0[1]! + k3Row0[2]! + k3Row1[0]! + k3Row1[1]!) / 5;

describe("grpoLoss", () => {
  it("is aggregate(pg) + beta aggregate(kl), with metrics, by hand", async () => {
    const out = tidy(() => rl.grpoLoss(inputs(), { epsilon: 0.2, beta: 0.04, kl: "k3" }));
    const { loss, metrics } = out;
    expect(await valueOf(loss)).toBeAllclose([pgSeqMean + 0.04 * klSeqMean], { rtol: 1e-5 });
    expect(await valueOf(metrics.pgLoss)).toBeAllclose([0.025], { rtol: 1e-5 });
    expect(await valueOf(metrics.kl)).toBeAllclose([klTokenMean], { rtol: 1e-5 });
    // Of 5 valid tokens: low clip = A < 0 and r < 0.8 (row 1, r = 0.5); high clip = A > 0 and r > 1.2 (row 0, r = 1.5).
    expect(await valueOf(metrics.clipFractionLow)).toBeAllclose([0.2], { rtol: 1e-6 });
    expect(await valueOf(metrics.clipFractionHigh)).toBeAllclose([0.2], { rtol: 1e-6 });
    expect(await valueOf(metrics.ratioMean)).toBeAllclose([(1 + 1.5 + 0.5 + 0.5 + 1.1) / 5], { rtol: 1e-6 });
    disposeTree(out);
  });

  it("every aggregation mode and KL estimator, by hand", async () => {
    const pgTokens = [-1, -1.2, -0.5, 0.8, 1.1];
    // k1 = logp - ref = -(ref - logp): row 0 [0, 0.5, -0.5], row 1 [0, 1]; k2 = k1^2 / 2.
    const k1 = [0, 0.5, -0.5, 0, 1];
    const k2 = k1.map((v) => (v * v) / 2);
    const k3 = [...k3Row0, ...k3Row1];
    const agg = (t: number[], mode: rl.Aggregation, L = 3) => {
      const row0 = t[0]! + t[1]! + t[2]!;
      const row1 = t[3]! + t[4]!;
      if (mode === "sequence-mean-token-mean") return (row0 / 3 + row1 / 2) / 2;
      if (mode === "token-mean") return (row0 + row1) / 5;
      if (mode === "sequence-mean-token-scale") return (row0 / L + row1 / L) / 2;
      return (row0 + row1) / 2;
    };
    for (const aggregation of rl.AGGREGATIONS) {
      for (const [kl, values] of [["k1", k1], ["k2", k2], ["k3", k3]] as const) {
        const out = tidy(() => rl.grpoLoss(inputs(), { beta: 0.5, kl, aggregation, maxLength: 8 }));
        const expected = agg(pgTokens, aggregation, 8) + 0.5 * agg(values, aggregation, 8);
        expect(await valueOf(out.loss), `${aggregation} ${kl}`).toBeAllclose([expected], { rtol: 1e-5, atol: 1e-6 });
        expect(await valueOf(out.metrics.pgLoss)).toBeAllclose([agg(pgTokens, aggregation, 8)], { rtol: 1e-5, atol: 1e-6 });
        expect(await valueOf(out.metrics.kl)).toBeAllclose([values.reduce((a, b) => a + b, 0) / 5], { rtol: 1e-5, atol: 1e-6 });
        disposeTree(out);
      }
    }
  });

  it("epsilonHigh and dualClip change the clipping as stated", async () => {
    // eps_high 0.6: row 0's r = 1.5 is no longer clipped: pg row 0 = [-1, -1.5, -0.5].
    const high = tidy(() => rl.grpoLoss(inputs(), { beta: 0, epsilon: 0.2, epsilonHigh: 0.6, aggregation: "token-mean" }));
    expect(await valueOf(high.loss)).toBeAllclose([(-1 - 1.5 - 0.5 + 0.8 + 1.1) / 5], { rtol: 1e-5 });
    expect(await valueOf(high.metrics.clipFractionHigh)).toEqual([0]);
    disposeTree(high);
    // dual clip c = 1.05 caps row 1 (A = -1) at 1.05: [min(0.8, 1.05), min(1.1, 1.05)] = [0.8, 1.05].
    expect(await read(() => rl.grpoLoss(inputs(), { beta: 0, dualClip: 1.05, aggregation: "token-mean" }).loss)).toBeAllclose([(-1 - 1.2 - 0.5 + 0.8 + 1.05) / 5], { rtol: 1e-5 });
    // delta 1.25 (> 1 + 0.2) leaves these ratios (at most 1.5 with A > 0, 1.1 with A < 0) as they were.
    expect(await read(() => rl.grpoLoss(inputs(), { beta: 0, delta: 1.25, aggregation: "token-mean" }).loss)).toBeAllclose([(-1 - 1.2 - 0.5 + 0.8 + 1.1) / 5], { rtol: 1e-5 });
  });

  it("beta = 0 needs no refLogp and never reads it; beta > 0 without it is an error", async () => {
    const all = inputs();
    const { refLogp: _unused, ...rest } = all;
    const out = tidy(() => rl.grpoLoss(rest, { beta: 0 }));
    expect(await valueOf(out.loss)).toBeAllclose([0.025], { rtol: 1e-5 });
    expect(await valueOf(out.metrics.kl)).toEqual([0]);
    // A refLogp of the wrong shape is not even checked when beta = 0.
    expect(() => tidy(() => void rl.grpoLoss({ ...rest, refLogp: np.zeros([7]) }, { beta: 0 }))).not.toThrow();
    expect(() => tidy(() => rl.grpoLoss(rest, { beta: 0.1 }))).toThrow(/beta = 0.1 needs refLogp/);
    disposeTree(out, all);
  });

  it("only sequences with a valid token count; masked positions may hold anything", async () => {
    const base = inputs();
    // A third row with an empty mask and garbage logprobs leaves every number unchanged.
    const extended: rl.LossInputs = tidy(() => ({
      logp: np.concatenate([base.logp, np.array([[NaN, Infinity, -Infinity]])]),
      oldLogp: np.concatenate([base.oldLogp, np.array([[0, NaN, 0]])]),
      refLogp: np.concatenate([base.refLogp!, np.array([[NaN, 0, 0]])]),
      mask: np.concatenate([base.mask, np.zeros([1, 3])]),
      advantages: np.array([1, -1, 5]),
    }));
    for (const aggregation of rl.AGGREGATIONS) {
      const a = tidy(() => rl.grpoLoss(base, { aggregation }));
      const b = tidy(() => rl.grpoLoss(extended, { aggregation }));
      expect(await valueOf(b.loss)).toBeAllclose(await valueOf(a.loss), { rtol: 1e-6 });
      for (const key of ["pgLoss", "kl", "clipFractionLow", "clipFractionHigh", "ratioMean"] as const) {
        expect(await valueOf(b.metrics[key]), key).toBeAllclose(await valueOf(a.metrics[key]), { rtol: 1e-6 });
      }
      disposeTree(a, b);
    }
    disposeTree(base, extended);
  });

  it("its gradient with respect to logp: by hand at a clipped and an unclipped token, and by finite differences", async () => {
    // token-mean, beta 0: d loss / d logp_t = -A r_t / 5 where unclipped, 0 where the clipped branch wins.
    const gradLogp = grad((logp: ArrayBase) => rl.grpoLoss({ ...inputs(), logp }, { beta: 0, aggregation: "token-mean" }).loss);
    const g = await read(() => gradLogp(np.array(logpRows)) as ArrayBase);
    // row 0 (A = 1): r = [1, 1.5 (clipped), 0.5] -> [-1/5, 0, -0.5/5]; row 1 (A = -1): r = [0.5 (clipped), 1.1, masked].
    expect(g).toBeAllclose([-0.2, 0, -0.1, 0, 1.1 / 5, 0], { rtol: 1e-5, atol: 1e-7 });

    // Finite differences on logprobs away from the clip boundaries, for every aggregation and estimator.
    const logp = hv("f32", [3, 4], [-1.2, -0.7, -2.5, -0.1, -3, -1.1, -0.4, -0.9, -1.6, -2.2, -0.05, -0.8]);
    const dOld = [0.4, -0.5, 0.05, -0.1, 0.6, 0.02, -0.35, 0.1, -0.6, 0.3, 0, 0.5]; // logp - old
    const old = np.array(logp.data.map((v, i) => v - dOld[i]!), { shape: [3, 4] });
    const ref = np.array(logp.data.map((v, i) => v + 0.3 * Math.sin(i + 1)), { shape: [3, 4] });
    const mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1]]);
    const advantages = np.array([0.9, -1.3, 0.4]);
    const cases = [
      ...rl.AGGREGATIONS.map((aggregation) => ({ aggregation, kl: "k3" as const })),
      ...rl.KL_ESTIMATORS.filter((kl) => kl !== "k3").map((kl) => ({ aggregation: "token-mean" as const, kl })),
    ];
    for (const { aggregation, kl } of cases) {
      const f = (x: ArrayBase) => rl.grpoLoss({ logp: x, oldLogp: old, refLogp: ref, mask, advantages }, { beta: 0.3, kl, aggregation, dualClip: 1.5 }).loss;
      await checkGrad(f, [logp]);
    }
    disposeTree([old, ref, mask, advantages]);
  });

  it("gives the same values eagerly and under jit on reference and cpu", async () => {
    const options = { beta: 0.04, kl: "k3" as const, dualClip: 3 };
    const keys = ["pgLoss", "kl", "clipFractionLow", "clipFractionHigh", "ratioMean"] as const;
    // tidy frees the inputs; the outputs are freed once read.
    const valuesOf = async (out: ReturnType<typeof rl.grpoLoss>) => {
      const values = [await valueOf(out.loss), ...(await Promise.all(keys.map((k) => valueOf(out.metrics[k]))))];
      disposeTree(out);
      return values;
    };
    const expected = await valuesOf(tidy(() => rl.grpoLoss(inputs(), options)));
    for (const device of ["reference", "cpu"] as const) {
      const f = jit((x: rl.LossInputs) => rl.grpoLoss(x, options), { device });
      const got = await valuesOf(tidy(() => f(inputs(device))));
      expect(got.flat(), device).toBeAllclose(expected.flat(), { rtol: 1e-6, atol: 1e-7 });
    }
  });

  it("validates its options when they are built", () => {
    expect(rl.grpoLossConfig()).toEqual({
      epsilon: 0.2,
      epsilonHigh: 0.2,
      dualClip: undefined,
      delta: undefined,
      beta: 0.04,
      kl: "k3",
      aggregation: "sequence-mean-token-mean",
      maxLength: undefined,
    });
    expect(() => rl.grpoLossConfig({ epsilon: 0 })).toThrow(/epsilon must be in \(0, 1\)/);
    expect(() => rl.grpoLossConfig({ epsilonHigh: -1 })).toThrow(/epsilonHigh must be a positive number/);
    expect(() => rl.grpoLossConfig({ dualClip: 0.5 })).toThrow(/dualClip must be a number > 1/);
    expect(() => rl.grpoLossConfig({ delta: 1.1 })).toThrow(/delta must be a number > 1 \+ epsilonHigh = 1.2/);
    expect(() => rl.grpoLossConfig({ beta: -0.1 })).toThrow(/beta must be a finite number >= 0/);
    expect(() => rl.grpoLossConfig({ kl: "kl" as rl.KlEstimator })).toThrow(/kl must be one of k1, k2, k3/);
    expect(() => rl.grpoLossConfig({ aggregation: "dapo" as rl.Aggregation })).toThrow(/aggregation must be one of sequence-mean-token-mean/);
    expect(() => rl.grpoLossConfig({ maxLength: 2.5 })).toThrow(/maxLength must be a positive integer/);
    expect(() => rl.grpoLossFunction({ beta: Number.NaN })).toThrow(/beta/);
    expect(() => tidy(() => rl.grpoLoss({ ...inputs(), advantages: np.array([1, 2, 3]) }))).toThrow(/advantages f32\[3\] must have shape \[2\]/);
    expect(() => tidy(() => rl.grpoLoss({ ...inputs(), oldLogp: np.zeros([2, 4]) }))).toThrow(/oldLogp f32\[2,4\] must have shape \[2, 3\]/);
    expect(() => tidy(() => rl.grpoLoss({ ...inputs(), logp: np.zeros([6]) }))).toThrow(/logp must be \[S, T\]/);
  });
});

describe("LossFunction", () => {
  it("grpoLossFunction and a user-written loss share one signature", async () => {
    const builtIn: rl.LossFunction = rl.grpoLossFunction({ beta: 0.04 });
    // REINFORCE with a masked token mean: -sum(A logp m) / sum(m).
    const reinforce: rl.LossFunction = ({ logp, advantages, mask }) =>
      np.negative(rl.maskedMean(np.multiply(logp, np.expandDims(advantages, 1)), mask));
    // The scalars and metrics checked below have arrived, so dispose() frees them at once.
    const [notScalar, scalar, vector] = await Promise.all([np.zeros([2]), np.zeros([]), np.zeros([3])].map((x) => (x as DeviceArray).ready()));
    expect(() => rl.normalizeLossOutput(notScalar!)).toThrow(/the loss must be a scalar/);
    expect(() => rl.normalizeLossOutput({ loss: scalar!, metrics: { m: vector! } })).toThrow(/metric 'm' must be a scalar/);
    disposeTree([notScalar, scalar, vector]);
    const a = tidy(() => rl.normalizeLossOutput(builtIn(inputs())));
    expect(await valueOf(a.loss)).toBeAllclose([pgSeqMean + 0.04 * klSeqMean], { rtol: 1e-5 });
    expect(Object.keys(a.metrics).sort()).toEqual(["clipFractionHigh", "clipFractionLow", "kl", "pgLoss", "ratioMean"]);
    const b = tidy(() => rl.normalizeLossOutput(reinforce(inputs())));
    // -(1 (-1 -1 -1) + (-1) (-2 -2)) / 5 = -(-3 + 4) / 5
    expect(await valueOf(b.loss)).toBeAllclose([-0.2], { rtol: 1e-6 });
    expect(b.metrics).toEqual({});
    disposeTree(a, b);
  });
});
