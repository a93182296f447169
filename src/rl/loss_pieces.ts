// The pieces of the GRPO policy loss, each a pure function on [S, T] per-token arrays (S completions, T
// completion positions) and [S] advantages, all in f32:
//   ratio           r = exp(clip(logp - old_logp, -20, 20))
//   surrogate       pg = max(-A r, -A clip(r, 1 - eps, 1 + eps_high)), optionally r -> min(r, delta) in the first
//   dual clip       pg = min(pg, -A c) where A < 0   (c > 1 caps the loss of a negative-advantage token)
//   KL estimators   k1 = logp - ref;  k2 = (logp - ref)^2 / 2;  k3 = exp(ref - logp) - (ref - logp) - 1
//   aggregation     per-token values -> scalar under a mask, in one of four conventions
import type { ArrayBase } from "../core/array_base.js";
import * as np from "../lib/np.js";
import { masked, maskWeights } from "../../kernels/masked.js";

/** Bound on logp - old_logp before exp, so one wild token cannot overflow the ratio. */
export const LOG_RATIO_BOUND = 20;

/** Advantages [S] as a column [S, 1], to broadcast over the T positions. */
function column(advantages: ArrayBase): ArrayBase {
  return np.expandDims(advantages, 1);
}

/** Importance ratio pi / pi_old per token. */
export function importanceRatio(logp: ArrayBase, oldLogp: ArrayBase): ArrayBase {
  return np.exp(np.clip(np.subtract(logp, oldLogp), -LOG_RATIO_BOUND, LOG_RATIO_BOUND));
}

/** PPO's clipped surrogate as a loss (to minimise): max(-A r, -A clip(r, 1 - epsilon, 1 + epsilonHigh)). With
 * `delta` (TRL's two-sided GRPO), the unclipped branch uses min(r, delta), bounding a negative-advantage token's
 * loss at -A delta. */
export function clippedSurrogate(ratio: ArrayBase, advantages: ArrayBase, epsilon: number, epsilonHigh: number, delta?: number): ArrayBase {
  const A = column(advantages);
  const unclipped = np.multiply(np.negative(A), delta === undefined ? ratio : np.minimum(ratio, delta));
  const clipped = np.multiply(np.negative(A), np.clip(ratio, 1 - epsilon, 1 + epsilonHigh));
  return np.maximum(unclipped, clipped);
}

/** Dual clip: where A < 0 the per-token loss is capped at -A c (c > 1), so a token whose ratio has grown far
 * beyond 1 + eps under a negative advantage no longer dominates the update. */
export function dualClip(pg: ArrayBase, advantages: ArrayBase, c: number): ArrayBase {
  const A = column(advantages);
  const cap = np.multiply(np.negative(A), c);
  return np.where(np.less(A, 0), np.minimum(pg, cap), pg);
}

export type KlEstimator = "k1" | "k2" | "k3";
export const KL_ESTIMATORS: readonly KlEstimator[] = ["k1", "k2", "k3"];

/** k1 ("kl"): logp - ref_logp. Unbiased, can be negative per token. */
export function klK1(logp: ArrayBase, refLogp: ArrayBase): ArrayBase {
  return np.subtract(logp, refLogp);
}

/** k2 ("mse_kl"): (logp - ref_logp)^2 / 2. */
export function klK2(logp: ArrayBase, refLogp: ArrayBase): ArrayBase {
  return np.multiply(np.square(np.subtract(logp, refLogp)), 0.5);
}

/** k3 ("low_var_kl"): exp(d) - d - 1 with d = ref_logp - logp; never negative. */
export function klK3(logp: ArrayBase, refLogp: ArrayBase): ArrayBase {
  const d = np.subtract(refLogp, logp);
  return np.subtract(np.subtract(np.exp(d), d), 1);
}

const KL_FUNCTIONS: { [K in KlEstimator]: (logp: ArrayBase, refLogp: ArrayBase) => ArrayBase } = { k1: klK1, k2: klK2, k3: klK3 };

/** The per-token KL estimate of one kind. */
export function klEstimate(kind: KlEstimator, logp: ArrayBase, refLogp: ArrayBase): ArrayBase {
  const fn = KL_FUNCTIONS[kind];
  if (fn === undefined) throw new RangeError(`kl: estimator must be one of ${KL_ESTIMATORS.join(", ")}, got '${String(kind)}'`);
  return fn(logp, refLogp);
}

// --- aggregation ---------------------------------------------------------------------------------------------

/** How per-token values become one scalar. Only sequences with at least one valid token count as sequences.
 *   sequence-mean-token-mean  (Tunix default, TRL "grpo"): mean over each sequence's tokens, mean over sequences
 *   token-mean                (TRL "bnpo"/"dapo"): sum over all valid tokens / their number
 *   sequence-mean-token-scale (Dr. GRPO): each sequence's sum / maxLength, mean over sequences
 *   seq-mean-token-sum:       each sequence's sum, mean over sequences */
export type Aggregation = "sequence-mean-token-mean" | "token-mean" | "sequence-mean-token-scale" | "seq-mean-token-sum";
export const AGGREGATIONS: readonly Aggregation[] = ["sequence-mean-token-mean", "token-mean", "sequence-mean-token-scale", "seq-mean-token-sum"];

interface SequenceSums {
  sums: ArrayBase; //      [S] sum of valid values per sequence
  counts: ArrayBase; //    [S] number (total weight) of valid tokens per sequence
  sequences: ArrayBase; // scalar: max(number of sequences with a valid token, 1)
}

function sequenceSums(values: ArrayBase, mask: ArrayBase): SequenceSums {
  const weights = maskWeights(mask, values.shape, "aggregate");
  const sums = np.sum(masked(values, weights), { axis: 1 });
  const counts = np.sum(weights, { axis: 1 });
  const valid = np.astype(np.greater(counts, 0), "f32");
  return { sums, counts, sequences: np.maximum(np.sum(valid), 1) };
}

export function sequenceMeanTokenMean(values: ArrayBase, mask: ArrayBase): ArrayBase {
  const { sums, counts, sequences } = sequenceSums(values, mask);
  // A sequence without valid tokens has sum 0 and contributes 0 / 1.
  return np.divide(np.sum(np.divide(sums, np.maximum(counts, 1))), sequences);
}

export function tokenMean(values: ArrayBase, mask: ArrayBase): ArrayBase {
  const { sums, counts } = sequenceSums(values, mask);
  return np.divide(np.sum(sums), np.maximum(np.sum(counts), 1));
}

export function sequenceMeanTokenScale(values: ArrayBase, mask: ArrayBase, maxLength: number): ArrayBase {
  const { sums, sequences } = sequenceSums(values, mask);
  return np.divide(np.divide(np.sum(sums), maxLength), sequences);
}

export function sequenceMeanTokenSum(values: ArrayBase, mask: ArrayBase): ArrayBase {
  const { sums, sequences } = sequenceSums(values, mask);
  return np.divide(np.sum(sums), sequences);
}

/** Aggregates [S, T] values under a [S, T] mask; `maxLength` (default T) is the Dr. GRPO scale. */
export function aggregate(values: ArrayBase, mask: ArrayBase, mode: Aggregation, maxLength = values.shape[1]!): ArrayBase {
  switch (mode) {
    case "sequence-mean-token-mean":
      return sequenceMeanTokenMean(values, mask);
    case "token-mean":
      return tokenMean(values, mask);
    case "sequence-mean-token-scale":
      return sequenceMeanTokenScale(values, mask, maxLength);
    case "seq-mean-token-sum":
      return sequenceMeanTokenSum(values, mask);
    default:
      throw new RangeError(`aggregate: mode must be one of ${AGGREGATIONS.join(", ")}, got '${String(mode)}'`);
  }
}
