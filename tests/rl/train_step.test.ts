// The compiled LoRA train step (issue 8.1): its loss against a plain full-logits computation, its adapter gradient
// against finite differences of that computation, donation of the adapter and optimizer state, the NaN skip,
// gradient accumulation over micro-batches, mu = 2 with old logprobs, the reference graph, and the SFT loss's mask.
// Every test frees what it makes; a step leaves no array or device buffer behind.
import { afterAll, describe, expect, it } from "vitest";
import { type DeviceArray, liveArrays, liveBuffers, np, rl } from "../../src/index.js";
import { disposeTree, readAndDispose, readTidy } from "../helpers/arrays.js";
import { castTree } from "../models/helpers.js";
import {
  axpy,
  baseParams,
  config,
  deviceBatch,
  directionalDerivatives,
  hostBatch,
  leaves,
  loraConfig,
  oracleLoss,
  oracleValue,
  randomLora,
  scalar,
  takeScalar,
  treeValues,
} from "./train_helpers.js";

const base = baseParams();

afterAll(() => {
  disposeTree(base);
});

/** The loss of a gradient call, its arrays freed. */
function lossOf(out: { loss: DeviceArray; grads: unknown }): Promise<number> {
  return takeScalar(out.loss, out.grads);
}

/** The gradient of a gradient call, its arrays freed. */
async function gradsOf(out: { loss: DeviceArray; grads: unknown }): Promise<Float32Array[]> {
  try {
    return await treeValues(out.grads);
  } finally {
    disposeTree(out.loss, out.grads);
  }
}

/** The metrics of an update, read and freed. */
function metricsOf(step: rl.TrainStep, result: { metrics: DeviceArray }): Promise<Record<string, number>> {
  return step.readMetrics(result.metrics);
}
const grpo = { beta: 0.1, kl: "k3", epsilon: 0.2 } as const;
const optimizer = { lr: 1e-2, warmupSteps: 1, totalSteps: 10, weightDecay: 0.1 };

function makeStep(options: Partial<rl.TrainStepOptions> = {}): rl.TrainStep {
  return new rl.TrainStep({ model: config, lora: loraConfig, grpo: options.loss ? undefined : grpo, optimizer, maxGradNorm: 1, device: "cpu", ...options });
}

function copyLora(lora: unknown) {
  return axpy(lora, leaves(lora).map((x) => new Float32Array(x.size)), 0);
}

describe("TrainStep gradient", () => {
  it("matches the full-logits loss and its finite differences (mu = 1, KL term)", async () => {
    const step = makeStep({ temperature: 0.9, chunk: 7 });
    const lora = randomLora(1);
    const batch = deviceBatch(hostBatch());
    const refLogp = step.referenceLogprobs(base, batch);
    const old = step.policyLogprobs(lora, base, batch);
    const withRef = { ...batch, refLogp };
    const oracle = oracleLoss(rl.grpoLossFunction(grpo), 0.9);

    const { loss, grads } = step.gradient(lora, base, withRef);
    const atZero = oracle(lora, base, withRef, old, refLogp);
    expect(await scalar(loss)).toBeAllclose(await scalar(atZero.loss), { rtol: 1e-5, atol: 1e-6 });
    // The policy-logprob graph agrees with the full logits.
    expect(Array.from((await old.data()) as Float32Array)).toBeAllclose(Array.from((await atZero.logp.data()) as Float32Array), { rtol: 1e-5, atol: 1e-5 });

    // Directional derivatives along random directions, old logprobs held at their value at the point.
    const lossAt = async (l: typeof lora) => oracleValue(oracle(l, base, withRef, old, refLogp));
    for (const seed of [5, 6]) {
      const { analytic, numeric } = await directionalDerivatives(lossAt, lora, grads, seed);
      expect(Math.abs(analytic)).toBeGreaterThan(1e-4);
      expect(analytic).toBeAllclose(numeric, { rtol: 2e-2, atol: 1e-4 });
    }
    disposeTree(lora, withRef, old, loss, grads, atZero);
  });

  it("runs with bf16 base weights: loss and gradient close to the f32 base's", async () => {
    const step = makeStep({ grpo: { beta: 0 } });
    const lora = randomLora(12);
    const batch = deviceBatch(hostBatch());
    const f32 = step.gradient(lora, base, batch);
    const bf16Base = castTree(base, "bf16");
    const bf16 = step.gradient(lora, bf16Base, batch);
    expect(await scalar(bf16.loss)).toBeAllclose(await scalar(f32.loss), { rtol: 2e-2, atol: 2e-3 });
    const [a, b] = [await gradsOf(f32), await gradsOf(bf16)];
    disposeTree(lora, batch, bf16Base);
    const dot = (x: Float32Array[], y: Float32Array[]) => x.reduce((sum, leaf, i) => sum + leaf.reduce((s, v, j) => s + v * y[i]![j]!, 0), 0);
    expect(dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b))).toBeGreaterThan(0.99); // same direction
    expect(Math.sqrt(dot(b, b)) / Math.sqrt(dot(a, a))).toBeAllclose(1, { rtol: 5e-2 });
  });

  it("averages micro-batch gradients: 2 micro-batches of 2 equal one batch of 4, loop and unrolled", async () => {
    const lora = randomLora(2);
    const batch = deviceBatch(hostBatch(4, 11));
    const whole = await gradsOf(makeStep({ grpo: { beta: 0 } }).gradient(lora, base, batch));
    for (const accumulation of ["loop", "unrolled"] as const) {
      const step = makeStep({ grpo: { beta: 0 }, microBatches: 2, accumulation });
      const split = await gradsOf(step.gradient(lora, base, batch));
      split.forEach((leaf, i) => expect(Array.from(leaf)).toBeAllclose(Array.from(whole[i]!), { rtol: 1e-4, atol: 1e-6 }));
    }
    disposeTree(lora, batch);
  });
});

describe("TrainStep update", () => {
  it("donates the adapter and optimizer state and keeps the live-array and device-buffer counts flat", async () => {
    const step = makeStep();
    const batch = deviceBatch(hostBatch());
    const refLogp = step.referenceLogprobs(base, batch);
    let state = step.initState(randomLora(3));
    const before = leaves(state);
    let result = step.step(state, base, { ...batch, refLogp });
    expect(before.every((x) => x.isConsumed)).toBe(true);
    state = result.state;
    const metrics = await step.readMetrics(result.metrics);
    expect(Object.keys(metrics).slice(0, 5)).toEqual(["loss", "gradNorm", "learningRate", "entropy", "skipped"]);
    expect(Object.keys(metrics).slice(5).sort()).toEqual(["clipFractionHigh", "clipFractionLow", "kl", "pgLoss", "ratioMean"]);
    expect(metrics.skipped).toBe(0);
    expect(metrics.ratioMean).toBe(1); // mu = 1: old logprobs are the step's own, detached
    expect(metrics.learningRate).toBe(0); // warmup starts at 0
    expect(metrics.entropy).toBeGreaterThan(0);
    const live = [liveArrays(), liveBuffers()];
    for (let i = 0; i < 3; i++) {
      result = step.step(state, base, { ...batch, refLogp });
      state = result.state;
      const m = await step.readMetrics(result.metrics);
      expect(m.learningRate).toBeAllclose(step.learningRate(i + 1), { rtol: 1e-6 });
      expect([liveArrays(), liveBuffers()]).toEqual(live);
    }
    expect(await scalar(state.optimizer.count)).toBe(4);
    disposeTree(batch, refLogp, state);
  });

  it("skips a NaN step inside the graph: the state stays bit-identical and the flag is set", async () => {
    const step = makeStep({ grpo: { beta: 0 } });
    const host = hostBatch();
    let state = step.initState(randomLora(4));
    const good = deviceBatch(host);
    const warm = step.step(state, base, good); // moments become non-zero
    state = warm.state;
    await metricsOf(step, warm);
    const snapshot = await treeValues(state);
    const bad = deviceBatch({ ...host, advantages: host.advantages.map((a, i) => (i === 1 ? Number.NaN : a)) });
    const result = step.step(state, base, bad);
    const metrics = await step.readMetrics(result.metrics);
    expect(metrics.skipped).toBe(1);
    expect(Number.isNaN(metrics.loss)).toBe(true);
    const after = await treeValues(result.state);
    after.forEach((leaf, i) => expect(Buffer.from(leaf.buffer).equals(Buffer.from(snapshot[i]!.buffer))).toBe(true));
    // The next good step proceeds from the unchanged state.
    const next = step.step(result.state, base, good);
    expect((await step.readMetrics(next.metrics)).skipped).toBe(0);
    expect(await scalar(next.state.optimizer.count)).toBe(2);
    disposeTree(good, bad, next.state);
  });

  it("mu = 2: the second update on one rollout sees ratio != 1 against the old logprobs", async () => {
    const step = makeStep({ grpo: { beta: 0, epsilon: 0.2 }, optimizer: { lr: 1e-2 } });
    const batch = deviceBatch(hostBatch());
    let state = step.initState(randomLora(5));
    const oldLogp = step.policyLogprobs(state.lora, base, batch);
    const first = step.step(state, base, { ...batch, oldLogp });
    state = first.state;
    expect((await step.readMetrics(first.metrics)).ratioMean).toBeAllclose(1, { rtol: 1e-5 });
    // The oracle: the clipped surrogate at the updated adapter with the same old logprobs.
    const oracle = oracleLoss(rl.grpoLossFunction({ beta: 0, epsilon: 0.2 }));
    const expected = await oracleValue(oracle(state.lora, base, batch, oldLogp, null));
    const second = step.step(state, base, { ...batch, oldLogp });
    const m = await step.readMetrics(second.metrics);
    expect(Math.abs(m.ratioMean - 1)).toBeGreaterThan(1e-4);
    expect(m.loss).toBeAllclose(expected, { rtol: 1e-4, atol: 1e-6 });
    disposeTree(batch, oldLogp, second.state);
  });

  it("accumulated steps equal one full-batch step (same update)", async () => {
    const batch = deviceBatch(hostBatch(4, 12));
    const lora = randomLora(6);
    const results: Float32Array[][] = [];
    for (const microBatches of [1, 2]) {
      const step = makeStep({ grpo: { beta: 0 }, microBatches });
      const result = step.step(step.initState(copyLora(lora)), base, batch);
      await metricsOf(step, result);
      results.push(await treeValues(result.state.lora));
      disposeTree(result.state);
    }
    results[1]!.forEach((leaf, i) => expect(Array.from(leaf)).toBeAllclose(Array.from(results[0]![i]!), { rtol: 1e-4, atol: 1e-6 }));
    disposeTree(batch, lora);
  });
});

describe("learning-rate schedules", () => {
  it("warmup then cosine, linear or constant, by hand; the traced schedule gives the same numbers", async () => {
    const cosine = rl.learningRateSchedule({ lr: 1, warmupSteps: 2, totalSteps: 6 });
    const linear = rl.learningRateSchedule({ lr: 1, warmupSteps: 2, totalSteps: 6, decay: "linear", endLr: 0.2 });
    const flat = rl.learningRateSchedule({ lr: 0.5, warmupSteps: 4 });
    const constant = rl.learningRateSchedule({ lr: 0.3 });
    const steps = [0, 1, 2, 3, 4, 6, 9];
    expect(steps.map((s) => cosine(s))).toBeAllclose([0, 0.5, 1, (1 + Math.cos(Math.PI / 4)) / 2, 0.5, 0, 0], { atol: 1e-12 });
    expect(steps.map((s) => linear(s))).toBeAllclose([0, 0.5, 1, 0.8, 0.6, 0.2, 0.2], { atol: 1e-12 });
    expect(steps.map((s) => flat(s))).toBeAllclose([0, 0.125, 0.25, 0.375, 0.5, 0.5, 0.5], { atol: 1e-12 });
    expect(steps.map((s) => constant(s))).toEqual(steps.map(() => 0.3));
    for (const schedule of [cosine, linear, flat]) {
      const traced = await Promise.all(steps.map(async (s) => (await readTidy(() => schedule(np.array(s, { dtype: "i32", shape: [], device: "cpu" })))).data[0]!));
      expect(traced).toBeAllclose(steps.map((s) => schedule(s)), { rtol: 1e-6, atol: 1e-7 });
    }
    expect(() => rl.learningRateSchedule({ lr: 1, decay: "linear" })).toThrow(/a linear decay needs totalSteps/);
    expect(() => rl.learningRateSchedule({ lr: 1, warmupSteps: 5, totalSteps: 5 })).toThrow(/totalSteps must be an integer > warmupSteps = 5/);
  });
});

describe("reference logprobs and SFT", () => {
  it("the reference graph is the model with LoRA off", async () => {
    const step = makeStep();
    const batch = deviceBatch(hostBatch());
    const zeroB = randomLora(7);
    for (const layer of zeroB.layers) {
      for (const pair of Object.values(layer)) {
        pair!.b.dispose();
        pair!.b = np.zeros(pair!.b.shape) as DeviceArray;
      }
    }
    const adapter = randomLora(8);
    const [reference, policy, adapted] = (await readAndDispose([step.referenceLogprobs(base, batch), step.policyLogprobs(zeroB, base, batch), step.policyLogprobs(adapter, base, batch)])).map((v) => v.data);
    expect(reference).toEqual(policy);
    expect(adapted).not.toEqual(reference);
    disposeTree(batch, zeroB, adapter);
  });

  it("SFT loss is the cross-entropy of the kept completion tokens only", async () => {
    const step = makeStep({ loss: rl.sftLoss });
    const host = hostBatch();
    const lora = randomLora(9);
    const batch = deviceBatch(host);
    const { advantages: _unused, ...sftBatch } = batch;
    const loss = await lossOf(step.gradient(lora, base, sftBatch));
    // By hand from the per-token logprobs of the completion positions.
    const [{ data: logp }] = await readAndDispose([step.policyLogprobs(lora, base, batch)]);
    const kept = host.mask.flat();
    const expected = -kept.reduce((s, m, i) => s + m * logp[i]!, 0) / kept.reduce((a, b) => a + b, 0);
    expect(loss).toBeAllclose(expected, { rtol: 1e-5 });
    // Changing masked completion tokens (padding) leaves the loss unchanged; changing a kept one does not.
    const padded = host.completions.map((row, s) => row.map((t, i) => (host.mask[s]![i] === 0 ? 77 : t)));
    const lossWith = async (completions: number[][]) => {
      const { completions: ids, ...rest } = deviceBatch({ ...host, completions });
      disposeTree(rest);
      try {
        return await lossOf(step.gradient(lora, base, { ...sftBatch, completions: ids }));
      } finally {
        ids.dispose();
      }
    };
    expect(await lossWith(padded)).toBe(loss);
    const changed = host.completions.map((row, s) => row.map((t, i) => (s === 0 && i === 0 ? t + 1 : t)));
    expect(await lossWith(changed)).not.toBe(loss);
    disposeTree(lora, batch);
  });
});
