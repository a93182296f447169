// Shared pieces of the train-step tests: a tiny model with a LoRA adapter whose B is random (so the adapter changes
// the model and A receives gradient), a fixed GRPO batch, tree readers, and an independent loss: the model's full
// logits, log_softmax at the completion tokens, and rl.grpoLoss with explicit old logprobs.
import { type ArrayBase, DeviceArray, jit, lax, liveBuffers, np, rl, tidy } from "../../src/index.js";
import { type PyTree, flatten, treeMap } from "../../src/core/pytree.js";
import { type Gemma3Config, preset } from "../../models/gemma3/config.js";
import { initParams } from "../../models/gemma3/init.js";
import { forward } from "../../models/gemma3/model.js";
import type { Gemma3Params } from "../../models/gemma3/params.js";
import { DEFAULT_LORA_TARGETS, type LoraConfig, type LoraParams, initLora } from "../../models/lora.js";
import { disposeTree, makeRng } from "../helpers/arrays.js";

export const config: Gemma3Config = preset("tiny");
export const loraConfig: LoraConfig = { rank: 4, alpha: 8, targets: DEFAULT_LORA_TARGETS };

export function baseParams(): Gemma3Params<DeviceArray> {
  return initParams(config, { seed: 3, device: "cpu", normScale: 0.3 });
}

/** An adapter with He-uniform A and small random B. */
export function randomLora(seed: number): LoraParams<DeviceArray> {
  const lora = initLora(config, loraConfig, { seed, device: "cpu" });
  const draw = makeRng(seed + 100);
  return {
    layers: lora.layers.map((pairs) =>
      Object.fromEntries(
        Object.entries(pairs).map(([target, pair]) => {
          const b = np.array(Float32Array.from({ length: pair.b.size }, () => (draw() - 0.5) * 0.2), { shape: pair.b.shape, device: "cpu" });
          pair.b.dispose();
          return [target, { a: pair.a, b }];
        }),
      ),
    ),
  };
}

export interface HostBatch {
  prompts: number[][];
  promptValid: boolean[][];
  completions: number[][];
  mask: number[][];
  advantages: number[];
}

/** S rows: prompts of P = 4 positions (some left-padded), completions of C = 5 (some with masked tails). */
export function hostBatch(S = 4, seed = 7): HostBatch {
  const rng = makeRng(seed);
  const token = () => 3 + Math.floor(rng() * (config.vocabSize - 3));
  const P = 4;
  const C = 5;
  const batch: HostBatch = { prompts: [], promptValid: [], completions: [], mask: [], advantages: [] };
  for (let s = 0; s < S; s++) {
    const pad = s % 3; // 0, 1 or 2 padding positions on the left
    batch.prompts.push(Array.from({ length: P }, (_, i) => (i < pad ? 0 : token())));
    batch.promptValid.push(Array.from({ length: P }, (_, i) => i >= pad));
    const length = C - (s % 2); // every row keeps at least C - 1 tokens
    batch.completions.push(Array.from({ length: C }, (_, i) => (i < length ? token() : 0)));
    batch.mask.push(Array.from({ length: C }, (_, i) => (i < length ? 1 : 0)));
    batch.advantages.push(s % 2 === 0 ? 1 - s * 0.25 : -0.5 - s * 0.1);
  }
  return batch;
}

export function deviceBatch(host: HostBatch): rl.TrainBatch<DeviceArray> {
  const S = host.prompts.length;
  const P = host.prompts[0]!.length;
  const C = host.completions[0]!.length;
  return {
    prompts: np.array(Int32Array.from(host.prompts.flat()), { shape: [S, P], device: "cpu" }),
    promptMask: np.array(Uint8Array.from(host.promptValid.flat().map(Number)), { dtype: "bool", shape: [S, P], device: "cpu" }),
    completions: np.array(Int32Array.from(host.completions.flat()), { shape: [S, C], device: "cpu" }),
    mask: np.array(Float32Array.from(host.mask.flat()), { shape: [S, C], device: "cpu" }),
    advantages: np.array(Float32Array.from(host.advantages), { shape: [S], device: "cpu" }),
  };
}

export function leaves(tree: unknown): DeviceArray[] {
  return flatten(tree as PyTree<DeviceArray>).leaves as DeviceArray[];
}

export async function treeValues(tree: unknown): Promise<Float32Array[]> {
  return Promise.all(leaves(tree).map(async (x) => (await x.data()) as Float32Array));
}

/** tree + scale * direction, leaf by leaf (a new tree). */
export function axpy(tree: unknown, direction: readonly Float32Array[], scale: number): LoraParams<DeviceArray> {
  let i = 0;
  return tidy(() =>
    treeMap(tree as PyTree<DeviceArray>, (leaf) => {
      const x = leaf as DeviceArray;
      const d = direction[i++]!;
      return np.add(x, np.array(d.map((v) => v * scale), { shape: x.shape, device: "cpu" }));
    }),
  ) as unknown as LoraParams<DeviceArray>;
}

/** The loss computed the plain way: full logits, log_softmax at the completion tokens, a LossFunction with the
 * given old (and reference) logprobs. Also returns the logprobs. */
export const oracleLoss = (loss: rl.LossFunction, temperature = 1) =>
  jit(
    (lora: LoraParams<ArrayBase>, base: Gemma3Params<ArrayBase>, batch: rl.TrainBatch, oldLogp: ArrayBase, refLogp: ArrayBase | null) => {
      const [S, P] = batch.prompts.shape as [number, number];
      const C = batch.completions.shape[1]!;
      const tokens = np.concatenate([batch.prompts, batch.completions], 1);
      const mask = np.concatenate([batch.promptMask, np.full([S, C], 1, "bool")], 1);
      const logits = forward(config, base, tokens, mask, { lora, config: loraConfig }); //  [S, P+C, V]
      const predicting = lax.slice(logits, [0, P - 1, 0], [S, P + C - 1, config.vocabSize]);
      const logp = rl.logprobsFromLogits(predicting, batch.completions, temperature);
      const inputs: rl.LossInputs = { logp, oldLogp, mask: batch.mask, advantages: batch.advantages! };
      if (refLogp !== null) inputs.refLogp = refLogp;
      return { loss: rl.normalizeLossOutput(loss(inputs)).loss, logp };
    },
    { device: "cpu" },
  );

export async function scalar(x: ArrayBase): Promise<number> {
  if (!(x instanceof DeviceArray)) throw new TypeError("expected a concrete array");
  return Number((await x.data())[0]);
}

/** The first value of each output of an oracle call (or any tree of arrays), then frees them all. */
export async function takeScalar(x: ArrayBase, ...alsoFree: unknown[]): Promise<number> {
  try {
    return await scalar(x);
  } finally {
    disposeTree(x, ...alsoFree);
  }
}

/** The oracle's loss at a point, its outputs freed. */
export async function oracleValue(out: { loss: DeviceArray; logp: DeviceArray }): Promise<number> {
  return takeScalar(out.loss, out.logp);
}

/** The gradient's directional derivative along a random direction, and the central difference of `loss` along it
 * (eps 1e-2: f32 round-off grows as the step shrinks). */
export async function directionalDerivatives(
  loss: (lora: LoraParams<DeviceArray>) => Promise<number>,
  lora: LoraParams<DeviceArray>,
  grads: LoraParams<DeviceArray>,
  seed: number,
): Promise<{ analytic: number; numeric: number }> {
  const g = await treeValues(grads);
  const rng = makeRng(seed);
  const direction = g.map((leaf) => Float32Array.from(leaf, () => rng() - 0.5));
  const eps = 1e-2;
  const plus = axpy(lora, direction, eps);
  const minus = axpy(lora, direction, -eps);
  const numeric = ((await loss(plus)) - (await loss(minus))) / (2 * eps);
  disposeTree(plus);
  disposeTree(minus);
  const analytic = g.reduce((sum, leaf, i) => sum + leaf.reduce((s, v, j) => s + v * direction[i]![j]!, 0), 0);
  return { analytic, numeric };
}

/** liveBuffers() once the frees in flight have landed (an array disposed while the computation making it still runs
 * frees its buffer when that computation ends). Polls for up to 5 s for `expected`, so a real leak still fails. */
export async function buffersAfterFrees(expected: number): Promise<number> {
  for (let waited = 0; liveBuffers() !== expected && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  return liveBuffers();
}
