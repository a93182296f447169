// LoRA on Gemma3 as Tunix applies it: y += (x A) B * alpha / rank on the attention and MLP projections, with one
// A shared by keys and values. The adapter is its own parameter tree, so gradients reach only it, and leaving it
// out gives the base model (the GRPO reference policy) from the same weights.
import type { Gemma3Config } from "./gemma3/config.js";

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
