// LoRA on Gemma3 as Tunix applies it: y += (x A) B * alpha / rank on the attention and MLP projections, with one
// A shared by keys and values. The adapter is its own parameter tree, so gradients reach only it, and leaving it
// out gives the base model (the GRPO reference policy) from the same weights.
import type { ArrayBase } from "../src/core/array_base.js";
import * as lax from "../src/ops/index.js";
import * as np from "../src/lib/np.js";
import type { DeviceArray } from "../src/runtime/array.js";
import { type Device, type DeviceKind, getDevice } from "../src/runtime/device.js";
import { valueAndGrad } from "../src/transforms/autodiff.js";
import { jit } from "../src/transforms/jit.js";
import type { Gemma3Config } from "./gemma3/config.js";
import { uniformTensor } from "./gemma3/init.js";
import type { Gemma3LayerParams, Gemma3Params, LayerWeightName } from "./gemma3/params.js";

/** The projections LoRA can adapt. `kv` is the fused key/value projection with one shared A. */
export type LoraTarget = "q" | "kv" | "o" | "gate" | "up" | "down";

export const LORA_TARGETS: readonly LoraTarget[] = ["q", "kv", "o", "gate", "up", "down"];

/** Tunix's default target set for Gemma3: every attention and MLP projection. */
export const DEFAULT_LORA_TARGETS: readonly LoraTarget[] = LORA_TARGETS;

export interface LoraConfig {
  /** r, the inner width of A and B. */
  rank: number;
  /** The update is scaled by alpha / rank. */
  alpha: number;
  /**
   * What to adapt: target names ("q", "kv", ...) on every layer, or patterns over "layers.<i>.<target>" paths
   * where `*` matches any run of characters (e.g. "layers.1*.q", "layers.*.kv").
   */
  targets: readonly string[];
}

/** One adapted projection. Shapes per target (D = dModel, N/K = query/KV heads, H = headDim, F = ffnDim):
 *   q    A [D, r]    B [r, N*H]
 *   kv   A [D, r]    B [r, 2*K*H]   (the first K*H columns adapt k, the rest v)
 *   o    A [N*H, r]  B [r, D]
 *   gate A [D, r]    B [r, F]        up likewise
 *   down A [F, r]    B [r, D]
 * The base weight's update, in its Hugging Face [out, in] layout, is (A B)^T * alpha / rank. */
export interface LoraPair<A> {
  a: A;
  b: A;
}

export interface LoraParams<A> {
  layers: Partial<Record<LoraTarget, LoraPair<A>>>[];
}

/** A LoRA adapter applied on top of the base weights: its parameters and its config (rank, alpha, targets). */
export interface LoraApplication<A = ArrayBase> {
  lora: LoraParams<A>;
  config: LoraConfig;
}

/** [in, out] of each target's update. */
export function loraDims(config: Gemma3Config, target: LoraTarget): [number, number] {
  const { dModel: d, numHeads: n, numKvHeads: k, headDim: h, ffnDim: f } = config;
  switch (target) {
    case "q":
      return [d, n * h];
    case "kv":
      return [d, 2 * k * h];
    case "o":
      return [n * h, d];
    case "gate":
    case "up":
      return [d, f];
    case "down":
      return [f, d];
  }
}

export class LoraConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LoraConfigError";
  }
}

/** Checks rank, alpha and targets; throws a LoraConfigError naming the field. */
export function validateLoraConfig(lora: LoraConfig): LoraConfig {
  if (!Number.isInteger(lora.rank) || lora.rank <= 0) throw new LoraConfigError(`LoRA rank must be a positive integer, got ${JSON.stringify(lora.rank)}`);
  if (typeof lora.alpha !== "number" || !Number.isFinite(lora.alpha) || lora.alpha <= 0) {
    throw new LoraConfigError(`LoRA alpha must be a positive number, got ${JSON.stringify(lora.alpha)}`);
  }
  if (!Array.isArray(lora.targets) || lora.targets.length === 0) throw new LoraConfigError("LoRA targets must list at least one target or pattern");
  return lora;
}

function patternRegex(pattern: string): RegExp {
  const escaped = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join(".*")}$`);
}

/**
 * The adapted projections of each layer: `result[i]` lists layer i's targets in LORA_TARGETS order. A bare target
 * name adapts it on every layer; anything else is a pattern over "layers.<i>.<target>" paths with `*` matching any
 * run of characters. A name or pattern that matches nothing is an error (a typo must not silently train nothing).
 */
export function resolveTargets(config: Gemma3Config, lora: LoraConfig): LoraTarget[][] {
  validateLoraConfig(lora);
  const chosen = Array.from({ length: config.numLayers }, () => new Set<LoraTarget>());
  for (const pattern of lora.targets) {
    if (typeof pattern !== "string" || pattern === "") throw new LoraConfigError(`LoRA target ${JSON.stringify(pattern)} is not a non-empty string`);
    const regex = (LORA_TARGETS as readonly string[]).includes(pattern) ? patternRegex(`layers.*.${pattern}`) : patternRegex(pattern);
    let matched = false;
    chosen.forEach((set, layer) => {
      for (const target of LORA_TARGETS) {
        if (regex.test(`layers.${layer}.${target}`)) {
          set.add(target);
          matched = true;
        }
      }
    });
    if (!matched) {
      throw new LoraConfigError(
        `LoRA target ${JSON.stringify(pattern)} matches no projection: use ${LORA_TARGETS.join(", ")} or a pattern over ` +
          `"layers.<i>.<target>" with layers 0..${config.numLayers - 1}`,
      );
    }
  }
  return chosen.map((set) => LORA_TARGETS.filter((target) => set.has(target)));
}

/** Number of trainable LoRA parameters: r * (in + out) per adapted projection. */
export function loraParamCount(config: Gemma3Config, lora: LoraConfig): number {
  return resolveTargets(config, lora).reduce(
    (sum, targets) => sum + targets.reduce((s, target) => s + lora.rank * loraDims(config, target).reduce((a, b) => a + b, 0), 0),
    0,
  );
}

export interface LoraInitOptions {
  seed?: number;
  /** Where the adapter is created (default: the default device). */
  device?: DeviceKind | Device;
}

/** A domain separator folded into LoRA keys, so an adapter and base weights drawn from one seed are independent. */
const LORA_KEY_DOMAIN = 0x4c6f5241;

/**
 * A fresh adapter in f32: A He-uniform U(-sqrt(6 / fan_in), sqrt(6 / fan_in)) with fan_in the contracted width,
 * B zero, so the adapted model starts equal to the base model. Seeded: the same numbers on every device.
 */
export function initLora(config: Gemma3Config, lora: LoraConfig, options: LoraInitOptions = {}): LoraParams<DeviceArray> {
  const device = getDevice(options.device);
  const targets = resolveTargets(config, lora);
  return {
    layers: targets.map((layerTargets, layer) => {
      const pairs: Partial<Record<LoraTarget, LoraPair<DeviceArray>>> = {};
      for (const target of layerTargets) {
        const [fanIn, fanOut] = loraDims(config, target);
        const common = { seed: options.seed ?? 0, dtype: "f32", device } as const;
        pairs[target] = {
          a: uniformTensor([fanIn, lora.rank], { ...common, path: [LORA_KEY_DOMAIN, layer, LORA_TARGETS.indexOf(target)], bound: Math.sqrt(6 / fanIn) }),
          b: uniformTensor([lora.rank, fanOut], { ...common, path: [], bound: 0 }),
        };
      }
      return pairs;
    }),
  };
}

/** The base weights each target adapts, with the columns of B that belong to each (kv splits B between k and v). */
function adaptedWeights(config: Gemma3Config, target: LoraTarget): { name: LayerWeightName; columns: [number, number] }[] {
  const [, out] = loraDims(config, target);
  if (target === "kv") {
    const half = out / 2;
    return [
      { name: "k", columns: [0, half] },
      { name: "v", columns: [half, out] },
    ];
  }
  return [{ name: target, columns: [0, out] }];
}

/** W + (A B[:, columns])^T * scale in W's dtype: W [out, in], A [in, r], B [r, *]. */
function mergeOne(weight: ArrayBase, a: ArrayBase, b: ArrayBase, scale: number, columns: [number, number]): ArrayBase {
  const part = lax.slice(b, [0, columns[0]], [b.shape[0]!, columns[1]]); //         [r, out]
  const delta = np.einsum("ir,ro->oi", a, part); //                                   [out, in]
  return np.astype(np.add(np.astype(weight, "f32"), np.multiply(delta, scale)), weight.dtype); // [out, in]
}

const mergeJitted = jit(mergeOne, { staticArgnums: [3, 4], name: "lora_merge" });

/**
 * The base weights with the adapter folded in, for export: every adapted weight becomes W + (A B)^T * alpha / rank
 * in the base dtype and Hugging Face's [out, in] layout (for kv, B's first half goes to k and the rest to v, both
 * with the shared A). Weights the adapter does not touch are the base's own arrays (not copies).
 */
export function mergeLora<A extends ArrayBase>(config: Gemma3Config, params: Gemma3Params<A>, adapter: LoraApplication): Gemma3Params<ArrayBase> {
  if (adapter.lora.layers.length !== config.numLayers) {
    throw new LoraConfigError(`the adapter has ${adapter.lora.layers.length} layers, the model ${config.numLayers}`);
  }
  const scale = adapter.config.alpha / adapter.config.rank;
  return {
    embed: params.embed,
    finalNorm: params.finalNorm,
    layers: params.layers.map((layer, i) => {
      const merged: Gemma3LayerParams<ArrayBase> = { ...layer };
      for (const target of LORA_TARGETS) {
        const pair = adapter.lora.layers[i]![target];
        if (pair === undefined) continue;
        for (const { name, columns } of adaptedWeights(config, target)) {
          merged[name] = mergeJitted(layer[name], pair.a, pair.b, scale, columns);
        }
      }
      return merged;
    }),
  };
}

/**
 * Value and gradient of `loss(lora, ...rest)` with respect to the adapter only. Base weights passed in `rest` are
 * constants of the differentiation: no cotangent is formed for them, so a frozen bf16 base costs no gradient
 * memory. The gradient has the adapter's tree structure.
 */
export function loraValueAndGrad<Rest extends unknown[]>(
  loss: (lora: LoraParams<ArrayBase>, ...rest: Rest) => ArrayBase,
): (lora: LoraParams<ArrayBase>, ...rest: Rest) => [ArrayBase, LoraParams<ArrayBase>] {
  const differentiated = valueAndGrad(loss as (...args: unknown[]) => ArrayBase, { argnums: 0 });
  return (lora, ...rest) => differentiated(lora, ...rest) as unknown as [ArrayBase, LoraParams<ArrayBase>];
}
