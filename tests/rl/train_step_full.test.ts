// Full-parameter training in the compiled train step (TrainStepOptions.trainBase, issue 8: a model trained from
// scratch learns with every weight, not an adapter): the gradient reaches every weight of the model, including the
// tied embedding through both its lookup and the output head, and matches an independent computation (the model's
// full logits differentiated end to end by `grad`, and finite differences); an update changes every weight and
// leaves no array behind. Full-parameter GRPO: the GRPO loss with a KL term reaches every weight, and the reference
// logprobs come from the frozen base tree, unchanged by updates of the trained copy.
import { afterAll, describe, expect, it } from "vitest";
import { type ArrayBase, type DeviceArray, jit, lax, liveArrays, liveBuffers, np, rl } from "../../src/index.js";
import { valueAndGrad } from "../../src/transforms/autodiff.js";
import { copyParams } from "../../models/gemma3/init.js";
import { forward } from "../../models/gemma3/model.js";
import type { Gemma3Params } from "../../models/gemma3/params.js";
import { disposeTree } from "../helpers/arrays.js";
import { baseParams, config, deviceBatch, directionalDerivatives, hostBatch, leaves, loraConfig, takeScalar, treeValues } from "./train_helpers.js";

const base = baseParams();

afterAll(() => {
  disposeTree(base);
});

function makeStep(): rl.TrainStep {
  return new rl.TrainStep({ model: config, lora: loraConfig, loss: rl.sftLoss, optimizer: { lr: 1e-2 }, trainBase: true, device: "cpu" });
}

/** The SFT loss the plain way: the whole model's logits, log_softmax at the completion tokens, masked mean. */
function oracleLoss(params: Gemma3Params<ArrayBase>, batch: rl.TrainBatch): ArrayBase {
  const [S, P] = batch.prompts.shape as [number, number];
  const C = batch.completions.shape[1]!;
  const tokens = np.concatenate([batch.prompts, batch.completions], 1);
  const mask = np.concatenate([batch.promptMask, np.full([S, C], 1, "bool")], 1);
  const logits = forward(config, params, tokens, mask); //                                 [S, P+C, V]
  const logp = rl.logprobsFromLogits(lax.slice(logits, [0, P - 1, 0], [S, P + C - 1, config.vocabSize]), batch.completions);
  return np.negative(np.divide(np.sum(np.multiply(logp, batch.mask)), np.sum(batch.mask)));
}

const oracleGrad = jit((params: Gemma3Params<ArrayBase>, batch: rl.TrainBatch) => {
  const [loss, grads] = valueAndGrad((p: Gemma3Params<ArrayBase>) => oracleLoss(p, batch))(params) as unknown as [ArrayBase, Gemma3Params<ArrayBase>];
  return { loss, grads };
}, { device: "cpu" });
const oracleValue = jit((params: Gemma3Params<ArrayBase>, batch: rl.TrainBatch) => oracleLoss(params, batch), { device: "cpu" });

function sftBatch(): rl.TrainBatch<DeviceArray> {
  const { advantages, ...batch } = deviceBatch(hostBatch());
  advantages!.dispose();
  return batch;
}

describe("TrainStep with trainBase (full-parameter training)", () => {
  it("the gradient reaches every weight and matches grad of the full-logits loss and finite differences", async () => {
    const step = makeStep();
    const params = copyParams(base);
    const batch = sftBatch();
    const { loss, grads } = step.gradient(rl.asTrainable(params), base, batch);
    const oracle = oracleGrad(params, batch) as unknown as { loss: DeviceArray; grads: Gemma3Params<DeviceArray> };
    const ours = await treeValues(grads);
    const theirs = await treeValues(oracle.grads);
    expect(await takeScalar(loss)).toBeAllclose(await takeScalar(oracle.loss), { rtol: 1e-5, atol: 1e-6 });
    expect(ours.length).toBe(2 + 13 * config.numLayers); // embed, finalNorm and 13 weights per layer
    ours.forEach((leaf, i) => {
      expect(leaf.some((v) => v !== 0), `leaf ${i} has a gradient`).toBe(true);
      expect(Array.from(leaf)).toBeAllclose(Array.from(theirs[i]!), { rtol: 1e-3, atol: 1e-6 });
    });
    // The embedding's gradient has both parts: rows of tokens that are only predicted (never in the input) get the
    // head's share alone, and the input lookup's share is not lost either.
    const lossAt = (p: Gemma3Params<DeviceArray>) => takeScalar(oracleValue(p, batch) as unknown as DeviceArray);
    const { analytic, numeric } = await directionalDerivatives(lossAt as never, rl.asTrainable(params), grads, 21);
    expect(Math.abs(analytic)).toBeGreaterThan(1e-4);
    expect(analytic).toBeAllclose(numeric, { rtol: 2e-2, atol: 1e-4 });
    disposeTree(params, batch, grads, oracle.grads);
  });

  it("an update changes every weight, donates the state, and keeps the array counts flat", async () => {
    const step = makeStep();
    const batch = sftBatch();
    const start = await treeValues(base);
    let state = step.initState(rl.asTrainable(copyParams(base)));
    let result = step.step(state, base, batch);
    expect(leaves(state.lora).every((x) => x.isConsumed)).toBe(true);
    state = result.state;
    await step.readMetrics(result.metrics);
    const live = [liveArrays(), liveBuffers()];
    result = step.step(state, base, batch);
    state = result.state;
    const metrics = await step.readMetrics(result.metrics);
    expect(metrics.skipped).toBe(0);
    expect([liveArrays(), liveBuffers()]).toEqual(live);
    const trained = await treeValues(state.lora);
    trained.forEach((leaf, i) => expect(Array.from(leaf), `leaf ${i}`).not.toEqual(Array.from(start[i]!)));
    // The frozen base the copy was made from is untouched.
    expect(await treeValues(base)).toEqual(start);
    disposeTree(batch, state);
  });

  it("GRPO with KL: the gradient reaches every weight and matches finite differences; the reference stays the frozen base", async () => {
    const grpo = { beta: 0.5, kl: "k3" as const };
    const step = new rl.TrainStep({ model: config, lora: loraConfig, grpo, optimizer: { lr: 1e-2 }, trainBase: true, device: "cpu" });
    const batch = deviceBatch(hostBatch());
    // The trained copy starts as the base: its logprobs are the reference's.
    let state = step.initState(rl.asTrainable(copyParams(base)));
    const reference = step.referenceLogprobs(base, batch);
    const policy = step.policyLogprobs(state.lora, base, batch);
    const referenceValues = Array.from((await reference.data()) as Float32Array);
    expect(Array.from((await policy.data()) as Float32Array)).toBeAllclose(referenceValues, { rtol: 1e-5, atol: 1e-6 });
    policy.dispose();
    batch.refLogp = reference;
    // Two updates move the policy away from the reference; the reference logprobs do not move.
    for (let i = 0; i < 2; i++) {
      const result = step.step(state, base, batch);
      state = result.state;
      expect((await step.readMetrics(result.metrics)).skipped).toBe(0);
    }
    const again = step.referenceLogprobs(base, batch);
    expect(Array.from((await again.data()) as Float32Array)).toEqual(referenceValues);
    again.dispose();
    // At the moved policy the KL term has a gradient: the full gradient against the plain full-logits loss, with the
    // old logprobs held fixed at this point (so the ratio, and the finite differences, see the policy move).
    batch.oldLogp = step.policyLogprobs(state.lora, base, batch);
    const oracle = jit((params: Gemma3Params<ArrayBase>, b: rl.TrainBatch) => {
      const [S, P] = b.prompts.shape as [number, number];
      const C = b.completions.shape[1]!;
      const tokens = np.concatenate([b.prompts, b.completions], 1);
      const mask = np.concatenate([b.promptMask, np.full([S, C], 1, "bool")], 1);
      const logits = forward(config, params, tokens, mask);
      const logp = rl.logprobsFromLogits(lax.slice(logits, [0, P - 1, 0], [S, P + C - 1, config.vocabSize]), b.completions);
      return rl.normalizeLossOutput(rl.grpoLossFunction(grpo)({ logp, oldLogp: b.oldLogp!, mask: b.mask, advantages: b.advantages!, refLogp: b.refLogp! })).loss;
    }, { device: "cpu" });
    const { loss, grads } = step.gradient(state.lora, base, batch);
    const lossAt = (p: Gemma3Params<DeviceArray>) => takeScalar(oracle(p, batch) as unknown as DeviceArray);
    expect(await takeScalar(loss)).toBeAllclose(await lossAt(rl.trainableParams(state.lora)), { rtol: 1e-4, atol: 1e-6 });
    const ours = await treeValues(grads);
    ours.forEach((leaf, i) => expect(leaf.some((v) => v !== 0), `leaf ${i} has a gradient`).toBe(true));
    const { analytic, numeric } = await directionalDerivatives(lossAt as never, state.lora, grads, 22);
    expect(Math.abs(analytic)).toBeGreaterThan(1e-4);
    expect(analytic).toBeAllclose(numeric, { rtol: 2e-2, atol: 1e-4 });
    disposeTree(batch, state, grads);
  });
});
