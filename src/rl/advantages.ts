// Group-relative advantages. Rewards [N] hold N / G groups of G completions of one prompt each, contiguous.
//   grpo:     A = (r - mean_group) / (std + eps), std with Bessel's correction (ddof = 1)
//   dr_grpo:  A = r - mean_group (Dr. GRPO drops the std)
//   rloo:     A = r - mean of the group's other G - 1 rewards (leave-one-out baseline)
// `scale` picks the std: of the group (Tunix, TRL "group"), of the whole batch (TRL "batch"), or none.
// Defaults follow Tunix: grpo, group scale, eps 1e-6 (TRL adds 1e-4).
import type { ArrayBase } from "../core/array_base.js";
import { ShapeError } from "../core/errors.js";
import * as np from "../lib/np.js";

export type AdvantageMode = "grpo" | "dr_grpo" | "rloo";
export type AdvantageScale = "group" | "batch" | "none";

export const ADVANTAGE_MODES: readonly AdvantageMode[] = ["grpo", "dr_grpo", "rloo"];
export const ADVANTAGE_SCALES: readonly AdvantageScale[] = ["group", "batch", "none"];

export interface AdvantageOptions {
  /** G, completions per prompt (>= 2). */
  groupSize: number;
  mode?: AdvantageMode;
  /** Default: "group" for grpo, "none" for dr_grpo and rloo. */
  scale?: AdvantageScale;
  /** Added to the std before dividing (default 1e-6; must be > 0 unless scale is "none"). */
  eps?: number;
}

export interface AdvantageConfig {
  G: number;
  mode: AdvantageMode;
  scale: AdvantageScale;
  eps: number;
}

/** Validates advantage options and fills in the defaults. */
export function advantageConfig(options: AdvantageOptions): AdvantageConfig {
  const G = options.groupSize;
  if (!Number.isInteger(G) || G < 2) {
    throw new RangeError(`groupAdvantages: groupSize (G) must be an integer >= 2 (one completion has no group baseline), got ${G}`);
  }
  const mode = options.mode ?? "grpo";
  if (!ADVANTAGE_MODES.includes(mode)) throw new RangeError(`groupAdvantages: mode must be one of ${ADVANTAGE_MODES.join(", ")}, got '${String(mode)}'`);
  const scale = options.scale ?? (mode === "grpo" ? "group" : "none");
  if (!ADVANTAGE_SCALES.includes(scale)) throw new RangeError(`groupAdvantages: scale must be one of ${ADVANTAGE_SCALES.join(", ")}, got '${String(scale)}'`);
  if (mode === "dr_grpo" && scale !== "none") {
    throw new RangeError(`groupAdvantages: dr_grpo does not divide by a std (scale must be 'none', got '${scale}'); use mode 'grpo' with scale '${scale}'`);
  }
  const eps = options.eps ?? 1e-6;
  // With eps = 0 a group of equal rewards would give 0 / 0.
  if (!(Number.isFinite(eps) && (eps > 0 || (eps === 0 && scale === "none")))) {
    throw new RangeError(`groupAdvantages: eps must be a finite number > 0 when dividing by a std (scale '${scale}'), got ${eps}`);
  }
  return { G, mode, scale, eps };
}

function checkRewards(rewards: ArrayBase, G: number, where: string): number {
  if (rewards.ndim !== 1) throw new ShapeError(`${where}: rewards must be a vector [N], got ${rewards.aval}`);
  if (rewards.dtype !== "f32" && rewards.dtype !== "bf16") throw new TypeError(`${where}: rewards must be f32 or bf16, got ${rewards.aval}`);
  const N = rewards.shape[0]!;
  if (N === 0 || N % G !== 0) throw new ShapeError(`${where}: N = ${N} rewards is not a positive multiple of the group size G = ${G}`);
  return N;
}

/** sqrt(x) with a zero gradient at x = 0 instead of an infinite one (a group whose rewards are all equal has
 * std 0; its advantages are 0 and must stay differentiable). */
function safeSqrt(x: ArrayBase): ArrayBase {
  const positive = np.greater(x, 0);
  return np.where(positive, np.sqrt(np.where(positive, x, 1)), 0);
}

/** Sample std with ddof = 1 along `axis` (kept as a size-1 axis). */
export function sampleStd(x: ArrayBase, axis: number | undefined): ArrayBase {
  const axes = axis === undefined ? x.shape.map((_, i) => i) : [axis];
  const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
  const centered = np.subtract(x, np.mean(x, { axis: axes, keepdims: true }));
  return safeSqrt(np.divide(np.sum(np.square(centered), { axis: axes, keepdims: true }), count - 1));
}

/** Per-completion advantages [N] (f32) from rewards [N]; see the file comment for the modes. */
export function groupAdvantages(rewards: ArrayBase, options: AdvantageOptions | AdvantageConfig): ArrayBase {
  const config = advantageConfig("G" in options ? { ...options, groupSize: options.G } : options);
  const { G, mode, scale, eps } = config;
  const N = checkRewards(rewards, G, "groupAdvantages");
  const r = np.astype(rewards, "f32");
  const grouped = np.reshape(r, [N / G, G]); //                                     [N/G, G]
  const groupSum = np.sum(grouped, { axis: 1, keepdims: true }); //                [N/G, 1]
  const baseline =
    mode === "rloo"
      ? np.divide(np.subtract(groupSum, grouped), G - 1) //                        [N/G, G] mean of the others
      : np.divide(groupSum, G); //                                                 [N/G, 1]
  let advantages = np.subtract(grouped, baseline); //                              [N/G, G]
  if (scale === "group") advantages = np.divide(advantages, np.add(sampleStd(grouped, 1), eps));
  if (scale === "batch") advantages = np.divide(advantages, np.add(sampleStd(r, undefined), eps));
  return np.reshape(advantages, [N]);
}

/** The fraction of groups whose rewards are all equal (they give every completion A = 0: no learning signal);
 * TRL's frac_reward_zero_std. A scalar f32. */
export function fracRewardZeroStd(rewards: ArrayBase, groupSize: number): ArrayBase {
  const { G } = advantageConfig({ groupSize });
  const N = checkRewards(rewards, G, "fracRewardZeroStd");
  const grouped = np.reshape(np.astype(rewards, "f32"), [N / G, G]);
  const flat = np.equal(np.max(grouped, { axis: 1 }), np.min(grouped, { axis: 1 })); // [N/G]
  return np.mean(np.astype(flat, "f32"));
}
