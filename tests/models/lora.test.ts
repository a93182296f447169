// LoRA on Gemma3 (issue 7.2): B = 0 is the base model exactly, gradients reach only the adapter (tree structure and
// finite differences on single entries), merging gives the adapted model's logits in the base dtype, targets
// resolve by name and pattern, and the trainable-parameter count matches the published 1B figure.
import { afterAll, describe, expect, it } from "vitest";
import { type ArrayBase, type DeviceArray, jit, lax, nn, np, tidy } from "../../src/index.js";
import { flatten, treedefKey } from "../../src/core/pytree.js";
import { type Gemma3Config, preset } from "../../models/gemma3/config.js";
import { initParams } from "../../models/gemma3/init.js";
import { forward } from "../../models/gemma3/model.js";
import type { Gemma3Params } from "../../models/gemma3/params.js";
import {
  DEFAULT_LORA_TARGETS,
  type LoraConfig,
  type LoraParams,
  type LoraTarget,
  initLora,
  loraDims,
  loraParamCount,
  loraValueAndGrad,
  mergeLora,
  resolveTargets,
} from "../../models/lora.js";
import { makeRng } from "../helpers/arrays.js";
import { disposeTree, maskArray, tokensArray, values, valuesOnce } from "./helpers.js";

const config: Gemma3Config = preset("tiny");
const loraConfig: LoraConfig = { rank: 4, alpha: 8, targets: DEFAULT_LORA_TARGETS };
const rng = makeRng(21);
const tokenRows = [Array.from({ length: 6 }, () => Math.floor(rng() * config.vocabSize)), [0, 0, 7, 8, 9, 10]];
const validRows = tokenRows.map((row, b) => row.map((_, i) => b === 0 || i >= 2));
const tokens = tokensArray(tokenRows, "cpu");
const mask = maskArray(validRows, "cpu");
afterAll(() => disposeTree([tokens, mask]));

const base = jit((p: Gemma3Params<ArrayBase>, t: ArrayBase, m: ArrayBase) => forward(config, p, t, m), { device: "cpu" });
const adapted = jit(
  (p: Gemma3Params<ArrayBase>, l: LoraParams<ArrayBase>, t: ArrayBase, m: ArrayBase) => forward(config, p, t, m, { lora: l, config: loraConfig }),
  { device: "cpu" },
);

/** Replaces every B with small random values (freeing the zero B), so the adapter changes the model and A receives
 * gradient. */
function withRandomB(lora: LoraParams<DeviceArray>, seed: number): LoraParams<DeviceArray> {
  const draw = makeRng(seed);
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

/** Next-token cross-entropy of the adapted model over the real tokens. */
function loss(lora: LoraParams<ArrayBase>, params: Gemma3Params<ArrayBase>, t: ArrayBase, m: ArrayBase): ArrayBase {
  const [B, T] = t.shape as [number, number];
  const V = config.vocabSize;
  const logits = forward(config, params, t, m, { lora, config: loraConfig }); //      [B, T, V]
  const predictions = lax.slice(logits, [0, 0, 0], [B, T - 1, V]); //                 [B, T-1, V]
  const next = lax.slice(t, [0, 1], [B, T]); //                                       [B, T-1]
  const weights = np.astype(lax.slice(m, [0, 1], [B, T]), "f32"); //                  [B, T-1]
  return nn.crossEntropy(predictions, next, { weights });
}

describe("LoRA", () => {
  const params = initParams(config, { seed: 3, device: "cpu", normScale: 0.3 });
  afterAll(() => disposeTree(params));

  it("with B = 0 gives the base model's logits exactly", async () => {
    const lora = initLora(config, loraConfig, { seed: 1, device: "cpu" });
    const b = await values(lora.layers[0]!.q!.b);
    expect(b.every((v) => v === 0)).toBe(true);
    const a = await values(lora.layers[0]!.q!.a);
    const bound = Math.sqrt(6 / config.dModel);
    expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(bound * 0.9); // He-uniform, not a narrower draw
    expect(await valuesOnce(() => adapted(params, lora, tokens, mask))).toEqual(await valuesOnce(() => base(params, tokens, mask)));
    disposeTree(lora);
  });

  it("gradients reach only the adapter, and match finite differences on single entries", async () => {
    const lora = withRandomB(initLora(config, loraConfig, { seed: 2, device: "cpu" }), 9);
    const step = jit(loraValueAndGrad(loss), { device: "cpu" });
    const [value, gradient] = step(lora, params, tokens, mask);
    expect(treedefKey(flatten(gradient).treedef)).toBe(treedefKey(flatten(lora).treedef));
    const evaluate = jit(loss, { device: "cpu" });
    expect(await values(value)).toEqual(await valuesOnce(() => evaluate(lora, params, tokens, mask)));
    const eps = 1e-2;
    const checks: [number, LoraTarget, "a" | "b"][] = [
      [0, "q", "a"],
      [1, "kv", "b"],
      [2, "o", "a"],
      [0, "down", "b"],
      [2, "gate", "a"],
    ];
    for (const [layer, target, side] of checks) {
      const original = lora.layers[layer]![target]![side];
      const g = await values(gradient.layers[layer]![target]![side]);
      // The entry with the largest gradient: its finite difference is far above f32 round-off.
      const entry = g.reduce((best, v, i) => (Math.abs(v) > Math.abs(g[best]!) ? i : best), 0);
      const host = await values(original);
      const shifted = (delta: number) =>
        valuesOnce(() => {
          const copy = Float32Array.from(host);
          copy[entry] = copy[entry]! + delta;
          const replaced = np.array(copy, { shape: original.shape, device: "cpu" });
          const tree: LoraParams<ArrayBase> = { layers: lora.layers.map((pairs, i) => (i !== layer ? pairs : { ...pairs, [target]: { ...pairs[target]!, [side]: replaced } })) };
          return evaluate(tree, params, tokens, mask);
        });
      const numeric = ((await shifted(eps))[0]! - (await shifted(-eps))[0]!) / (2 * eps);
      expect(Math.abs(g[entry]!), `${layer}.${target}.${side}`).toBeGreaterThan(1e-3);
      expect(numeric, `layers.${layer}.${target}.${side}[${entry}]`).toBeCloseTo(g[entry]!, 3);
    }
    disposeTree([lora, gradient, value]);
  });

  it("merged weights give the adapted model's logits, in the base dtype (f32 and bf16)", async () => {
    const lora = withRandomB(initLora(config, loraConfig, { seed: 4, device: "cpu" }), 5);
    for (const dtype of ["f32", "bf16"] as const) {
      const weights = dtype === "f32" ? params : initParams(config, { seed: 3, device: "cpu", normScale: 0.3, weightsDtype: "bf16" });
      const merged = tidy(() => mergeLora(config, weights, { lora, config: loraConfig }));
      expect(merged.layers[1]!.q.dtype).toBe(dtype);
      expect(merged.layers[1]!.q.shape).toEqual(weights.layers[1]!.q.shape);
      expect(merged.embed).toBe(weights.embed); // untouched weights are shared, not copied
      expect(merged.layers[1]!.qNorm).toBe(weights.layers[1]!.qNorm);
      const expected = await valuesOnce(() => adapted(weights, lora, tokens, mask));
      const actual = await valuesOnce(() => base(merged, tokens, mask));
      const baseline = await valuesOnce(() => base(weights, tokens, mask));
      // bf16 rounds every merged weight once: ~2^-9 relative, far below the adapter's own effect.
      const tolerance = dtype === "f32" ? { rtol: 1e-4, atol: 1e-4 } : { rtol: 2e-2, atol: 5e-2 };
      expect(actual).toBeAllclose(expected, tolerance);
      expect(baseline).not.toBeAllclose(expected, tolerance);
      // Only the merged projections are new: the rest of the tree is the weights' own arrays.
      merged.layers.forEach((layer, i) => {
        const own = weights.layers[i]! as unknown as Record<string, ArrayBase>;
        for (const [name, w] of Object.entries(layer)) if (w !== own[name]) disposeTree(w);
      });
      if (dtype === "bf16") disposeTree(weights);
    }
    disposeTree(lora);
  });
});

describe("LoRA targets", () => {
  it("resolve bare names on every layer and `*` patterns over layers.<i>.<target>", () => {
    const resolve = (targets: string[]) => resolveTargets(config, { rank: 2, alpha: 2, targets });
    expect(resolve(["q", "down"])).toEqual([["q", "down"], ["q", "down"], ["q", "down"]]);
    expect(resolve(["layers.1.q", "layers.*.kv"])).toEqual([["kv"], ["q", "kv"], ["kv"]]);
    expect(resolve(["layers.2.*"])).toEqual([[], [], ["q", "kv", "o", "gate", "up", "down"]]);
    expect(resolve(["layers.1*.gate", "layers.*.u*"])).toEqual([["up"], ["gate", "up"], ["up"]]);
    expect(() => resolve(["qq"])).toThrow(/"qq" matches no projection/);
    expect(() => resolve(["layers.3.q"])).toThrow(/layers 0\.\.2/);
    expect(() => resolveTargets(config, { rank: 0, alpha: 2, targets: ["q"] })).toThrow(/rank must be a positive integer/);
  });

  it("an adapter on a pattern has only those pairs, with [in, r] and [r, out] shapes", async () => {
    const lora = initLora(config, { rank: 3, alpha: 3, targets: ["layers.1.o", "layers.*.up"] }, { device: "cpu" });
    expect(lora.layers.map((pairs) => Object.keys(pairs).sort())).toEqual([["up"], ["o", "up"], ["up"]]);
    expect(lora.layers[1]!.o!.a.shape).toEqual([loraDims(config, "o")[0], 3]);
    expect(lora.layers[1]!.o!.b.shape).toEqual([3, loraDims(config, "o")[1]]);
    // Drawn before they are freed, so the draws' own intermediates are freed too before the file's leak check.
    await Promise.all(lora.layers.flatMap((pairs) => Object.values(pairs).flatMap((pair) => [pair!.a.ready(), pair!.b.ready()])));
    disposeTree(lora);
  });

  it("count 50.27M trainable parameters at rank 64 on gemma3-1b", () => {
    expect(loraParamCount(preset("gemma3-1b"), { rank: 64, alpha: 64, targets: DEFAULT_LORA_TARGETS })).toBe(50_266_112);
  });
});
