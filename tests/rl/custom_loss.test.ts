// Custom losses (issue 8.2): the worked example of docs/CUSTOM_LOSS.md (GSPO, a sequence-level importance ratio)
// by hand on small numbers, compiled into the train step (loss against the full-logits oracle, gradient against
// finite differences, its metrics in the step's output), and the doc shows exactly the code tested here.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type DeviceArray, np, rl, tidy } from "../../src/index.js";
import { disposeTree, readAndDispose } from "../helpers/arrays.js";
import { baseParams, config, deviceBatch, directionalDerivatives, hostBatch, loraConfig, oracleLoss, oracleValue, randomLora, takeScalar } from "./train_helpers.js";

// --- example: begin ---
/** GSPO: one importance ratio per sequence, s = exp(mean over its tokens of (logp - oldLogp)), clipped as in PPO;
 * the loss is the mean over sequences (with at least one token) of max(-A s, -A clip(s, 1 - eps, 1 + eps)). */
function gspoLoss(epsilon: number): rl.LossFunction {
  return ({ logp, oldLogp, advantages, mask }) => {
    const keep = np.greater(mask, 0); //                                                [S, T]
    const tokens = np.sum(np.astype(keep, "f32"), { axis: 1 }); //                      [S]
    const logRatio = np.where(keep, np.subtract(logp, oldLogp), 0); //                  [S, T]
    const ratio = np.exp(np.divide(np.sum(logRatio, { axis: 1 }), np.maximum(tokens, 1))); // [S]
    const clipped = np.clip(ratio, 1 - epsilon, 1 + epsilon); //                        [S]
    const negA = np.negative(advantages); //                                            [S]
    const perSequence = np.maximum(np.multiply(negA, ratio), np.multiply(negA, clipped)); // [S]
    const valid = np.astype(np.greater(tokens, 0), "f32"); //                          [S]
    const loss = np.divide(np.sum(np.multiply(perSequence, valid)), np.maximum(np.sum(valid), 1));
    const clippedFraction = np.mean(np.astype(np.notEqual(ratio, clipped), "f32"));
    return { loss, metrics: { sequenceRatioMean: np.mean(ratio), sequenceClipFraction: clippedFraction } };
  };
}
// --- example: end ---

describe("custom loss: GSPO example", () => {
  it("matches a hand computation", async () => {
    // Row 0: tokens 0, 1 kept, log-ratios 0.3 and 0.1 -> s = exp(0.2); A = 1, s within 1 +- 0.25: term -exp(0.2).
    // Row 1: all three kept, log-ratios -0.6, -0.6, -0.6 -> s = exp(-0.6) = 0.5488; A = -2:
    //        max(2 s, 2 clip(s)) = max(1.0976, 2 * 0.75) = 1.5 (clipped).
    // Row 2: no token kept: does not count.
    const [loss, ratioMean, clipFraction] = await readAndDispose(
      tidy(() => {
        const logp = np.array([[-1.0, -2.0, -5.0], [-1.6, -0.6, -2.6], [-1, -1, -1]]);
        const oldLogp = np.array([[-1.3, -2.1, -9.0], [-1.0, 0.0, -2.0], [-3, -3, -3]]);
        const mask = np.array([[1, 1, 0], [1, 1, 1], [0, 0, 0]]);
        const advantages = np.array([1, -2, 5]);
        const { loss, metrics } = rl.normalizeLossOutput(gspoLoss(0.25)({ logp, oldLogp, mask, advantages }));
        return [loss, metrics.sequenceRatioMean!, metrics.sequenceClipFraction!];
      }),
    );
    expect(loss!.data[0]).toBeAllclose((-Math.exp(0.2) + 1.5) / 2, { rtol: 1e-6 });
    // Row 2 has no tokens: s = exp(0) = 1 (unclipped).
    expect(ratioMean!.data[0]).toBeAllclose((Math.exp(0.2) + Math.exp(-0.6) + 1) / 3, { rtol: 1e-6 });
    expect(clipFraction!.data[0]).toBeAllclose(1 / 3, { rtol: 1e-6 });
  });

  it("compiles into the train step: loss and gradient against the full-logits oracle, metrics reported", async () => {
    const base = baseParams();
    const loss = gspoLoss(0.2);
    const step = new rl.TrainStep({ model: config, lora: loraConfig, loss, optimizer: { lr: 1e-2 }, device: "cpu" });
    const lora = randomLora(21);
    const batch = deviceBatch(hostBatch());
    const oldLogp = step.policyLogprobs(lora, base, batch);
    const oracle = oracleLoss(loss);
    const { loss: value, grads } = step.gradient(lora, base, batch);
    expect(await takeScalar(value)).toBeAllclose(await oracleValue(oracle(lora, base, batch, oldLogp, null)), { rtol: 1e-5 });
    const lossAt = async (l: typeof lora) => oracleValue(oracle(l, base, batch, oldLogp, null));
    const { analytic, numeric } = await directionalDerivatives(lossAt, lora, grads, 3);
    expect(Math.abs(analytic)).toBeGreaterThan(1e-4);
    expect(analytic).toBeAllclose(numeric, { rtol: 2e-2, atol: 1e-4 });

    const result = step.step(step.initState(lora), base, batch);
    const metrics = await step.readMetrics(result.metrics);
    expect(metrics.sequenceRatioMean).toBe(1); // mu = 1: the ratio is exactly 1
    expect(metrics.sequenceClipFraction).toBe(0);
    expect(metrics.skipped).toBe(0);
    disposeTree(base, batch, oldLogp, grads, result.state);
  });

  it("a bare-scalar loss works, and a metric named like a step metric is refused", async () => {
    const base = baseParams();
    const batch = deviceBatch(hostBatch());
    const bare: rl.LossFunction = ({ logp, mask, advantages }) => np.negative(np.mean(np.multiply(np.multiply(logp, mask), np.expandDims(advantages, 1))));
    const step = new rl.TrainStep({ model: config, lora: loraConfig, loss: bare, optimizer: { lr: 1e-2 }, device: "cpu" });
    const result = step.step(step.initState(randomLora(22)), base, batch);
    const metrics = await step.readMetrics(result.metrics);
    expect(Object.keys(metrics)).toEqual(["loss", "gradNorm", "learningRate", "entropy", "skipped"]);
    const clash: rl.LossFunction = ({ logp }) => ({ loss: np.sum(logp), metrics: { gradNorm: np.sum(logp) } });
    const bad = new rl.TrainStep({ model: config, lora: loraConfig, loss: clash, optimizer: { lr: 1e-2 }, device: "cpu" });
    expect(() => bad.gradient(result.state.lora, base, batch)).toThrow(/metric name 'gradNorm' is reserved/);
    disposeTree(base, batch, result.state);
  });

  it("docs/CUSTOM_LOSS.md shows exactly the example tested here", () => {
    const source = readFileSync(new URL(import.meta.url).pathname, "utf8");
    const example = source.slice(source.indexOf("// --- example: begin ---\n") + 26, source.indexOf("// --- example: end ---"));
    const doc = readFileSync(new URL("../../docs/CUSTOM_LOSS.md", import.meta.url).pathname, "utf8");
    expect(example.length).toBeGreaterThan(500);
    expect(doc).toContain(example.trim());
  });
});
