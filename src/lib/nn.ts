// Neural-network building blocks composed from np/lax operations, so they trace, differentiate and lower like any
// other user code: activations, normalisation, softmax family, cross-entropy and a small attention helper.
import type { ArrayBase } from "../core/array_base.js";
import { normalizeAxis, showShape } from "../core/aval.js";
import { ShapeError } from "../core/errors.js";
import * as lax from "../ops/index.js";
import * as np from "./np.js";

export interface AxisOptions {
  axis?: number;
}

// --- activations ---------------------------------------------------------------------------------------------

/** max(x, 0), with gradient 0 at 0 (as JAX's relu). */
export function relu(x: ArrayBase): ArrayBase {
  return np.where(np.greater(x, 0), x, 0);
}

/** x * sigmoid(x) (also called swish). */
export function silu(x: ArrayBase): ArrayBase {
  return np.multiply(x, np.sigmoid(x));
}

export const sigmoid = np.sigmoid;

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** GELU, tanh approximation (as Gemma uses): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
export function gelu(x: ArrayBase): ArrayBase {
  const cube = np.multiply(np.multiply(x, x), x);
  const inner = np.multiply(np.add(x, np.multiply(cube, 0.044715)), SQRT_2_OVER_PI);
  return np.multiply(np.multiply(x, 0.5), np.add(np.tanh(inner), 1));
}

// --- softmax family ------------------------------------------------------------------------------------------

/** The maximum along `axis` (kept as a size-1 axis), with infinite maxima replaced by 0 so that x - max stays
 * finite for rows that are all -inf. Only used as a shift: the results below do not depend on its value, so its
 * gradient contributions cancel. */
function shiftFor(x: ArrayBase, axis: number): ArrayBase {
  const m = np.max(x, { axis, keepdims: true });
  const finite = np.equal(np.subtract(m, m), 0); // false for +-inf and NaN
  return np.where(finite, m, 0);
}

/** log(sum(exp(x))) along `axis`, computed as m + log(sum(exp(x - m))) with m the maximum. */
export function logsumexp(x: ArrayBase, options: AxisOptions & { keepdims?: boolean } = {}): ArrayBase {
  const axis = normalizeAxis(options.axis ?? -1, x.ndim, "logsumexp");
  const m = shiftFor(x, axis);
  const summed = np.sum(np.exp(np.subtract(x, m)), { axis, keepdims: true });
  const result = np.add(np.log(summed), m);
  return options.keepdims ? result : np.squeeze(result, axis);
}

/** exp(x) / sum(exp(x)) along `axis`. */
export function softmax(x: ArrayBase, options: AxisOptions = {}): ArrayBase {
  const axis = normalizeAxis(options.axis ?? -1, x.ndim, "softmax");
  const e = np.exp(np.subtract(x, shiftFor(x, axis)));
  return np.divide(e, np.sum(e, { axis, keepdims: true }));
}

/** x - logsumexp(x) along `axis`. */
export function logSoftmax(x: ArrayBase, options: AxisOptions = {}): ArrayBase {
  const axis = normalizeAxis(options.axis ?? -1, x.ndim, "logSoftmax");
  const shifted = np.subtract(x, shiftFor(x, axis));
  return np.subtract(shifted, np.log(np.sum(np.exp(shifted), { axis, keepdims: true })));
}

/** log_softmax(x)[..., index] along the last axis: indices [...] i32 -> [...]. The same arithmetic as taking from
 * logSoftmax, without writing the whole log-softmax only to read one entry per row. */
export function logSoftmaxAt(x: ArrayBase, indices: ArrayBase): ArrayBase {
  return logSoftmaxPrepared(x).at(indices);
}

/** logSoftmaxAt in two parts: the passes over x (its shift m, and log(sum(exp(x - m)))) when called, the pick
 * when `at` is: source[index] - m - logSum, where `source` (x by default) is any array equal to x at the picked
 * indices. The sampler calls this first and then writes -inf over disallowed tokens of x itself: that write is
 * then x's last use and goes in place instead of copying x, and the pick reads the written array (a drawn token
 * is never a disallowed one). x - m is not kept, so exp writes over it. Same arithmetic as logSoftmax. */
export function logSoftmaxPrepared(x: ArrayBase): { at(indices: ArrayBase, source?: ArrayBase): ArrayBase } {
  const axis = x.ndim - 1;
  const m = shiftFor(x, axis); //                                                       [..., 1]
  const logSum = np.log(np.sum(np.exp(np.subtract(x, m)), { axis, keepdims: true })); // [..., 1]
  return {
    at: (indices, source = x) => {
      const picked = np.takeAlongAxis(source, np.expandDims(indices, -1), -1); //   [..., 1]
      return np.squeeze(np.subtract(np.subtract(picked, m), logSum), -1); //        [...]
    },
  };
}

// --- normalisation -------------------------------------------------------------------------------------------

export interface RmsNormOptions {
  /** Scale by (1 + weight) instead of weight, as Gemma stores its norm scales. */
  addOne?: boolean;
}

/** RMSNorm over the last axis: x / sqrt(mean(x^2) + eps) * weight (or * (1 + weight) with `addOne`). bf16 inputs
 * are normalised in f32 and the result cast back. */
export function rmsNorm(x: ArrayBase, weight: ArrayBase, eps = 1e-6, options: RmsNormOptions = {}): ArrayBase {
  const last = x.shape[x.ndim - 1];
  if (weight.ndim !== 1 || weight.shape[0] !== last) {
    throw new ShapeError(`rmsNorm: weight ${weight.aval} must be a vector of x's last dimension (x is ${x.aval})`);
  }
  const xf = np.astype(x, "f32");
  const meanSquare = np.mean(np.square(xf), { axis: -1, keepdims: true }); // [..., 1]
  const normed = np.multiply(xf, np.rsqrt(np.add(meanSquare, eps)));
  const w = np.astype(weight, "f32");
  const scale = options.addOne ? np.add(w, 1) : w;
  return np.astype(np.multiply(normed, scale), x.dtype);
}

// --- losses --------------------------------------------------------------------------------------------------

/** Per-example cross-entropy of integer `labels` [...] under `logits` [..., V]: logsumexp(logits) - logits[label].
 * Labels outside [0, V) are clamped into range. */
export function softmaxCrossEntropyWithIntegerLabels(logits: ArrayBase, labels: ArrayBase): ArrayBase {
  if (labels.dtype !== "i32" && labels.dtype !== "u32") throw new TypeError(`crossEntropy: labels must be integers, got ${labels.aval}`);
  if (labels.shape.join(",") !== logits.shape.slice(0, -1).join(",")) {
    throw new ShapeError(`crossEntropy: labels ${labels.aval} must have the shape of logits ${logits.aval} without its last axis`);
  }
  const picked = np.squeeze(np.takeAlongAxis(logits, np.expandDims(np.astype(labels, "i32"), -1), -1), -1); // [...]
  return np.subtract(logsumexp(logits, { axis: -1 }), picked);
}

export type Reduction = "mean" | "sum" | "none";

/** Cross-entropy of integer labels, reduced over all examples ("mean" by default, "sum", or "none" for the
 * per-example losses). An optional `weights` array [...] scales each example; "mean" then divides by its sum. */
export function crossEntropy(logits: ArrayBase, labels: ArrayBase, options: { reduction?: Reduction; weights?: ArrayBase } = {}): ArrayBase {
  let losses = softmaxCrossEntropyWithIntegerLabels(logits, labels);
  const weights = options.weights === undefined ? undefined : np.astype(options.weights, losses.dtype);
  if (weights !== undefined) losses = np.multiply(losses, weights);
  switch (options.reduction ?? "mean") {
    case "none":
      return losses;
    case "sum":
      return np.sum(losses);
    case "mean":
      return weights === undefined ? np.mean(losses) : np.divide(np.sum(losses), np.sum(weights));
  }
}

// --- attention -----------------------------------------------------------------------------------------------

/** A large negative logit for masked positions (finite, so fully masked rows give a uniform softmax, not NaN). */
const MASKED_LOGIT = -2.3819763e38;

export interface AttentionOptions {
  /** Multiplies q.k (default 1/sqrt(H)). */
  scale?: number;
  /** Caps logits smoothly at +-softCap (Gemma2-style tanh capping). */
  softCap?: number;
}

/** Scaled dot-product attention with grouped key/value heads.
 *
 * q: [B, T, N, H], k and v: [B, S, K, H] with N a multiple of K (each key/value head serves N/K query heads).
 * mask: bool, true where a query may attend, broadcastable to [B, N, T, S]; a 3-D mask [B, T, S] applies to
 * every head and a 2-D mask [T, S] to every batch element. Returns [B, T, N, H]. */
export function attention(q: ArrayBase, k: ArrayBase, v: ArrayBase, mask?: ArrayBase, options: AttentionOptions = {}): ArrayBase {
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4) throw new ShapeError(`attention: q, k, v must be [B, T, N, H], got ${q.aval}, ${k.aval}, ${v.aval}`);
  const [B, T, N, H] = q.shape as [number, number, number, number];
  const [, S, K] = k.shape as [number, number, number, number];
  if (k.shape.join(",") !== v.shape.join(",") || k.shape[0] !== B || k.shape[3] !== H || N % K !== 0) {
    throw new ShapeError(`attention: k ${k.aval} and v ${v.aval} must be [B, S, K, H] with K dividing N, for q ${q.aval}`);
  }
  const G = N / K;
  const scale = options.scale ?? 1 / Math.sqrt(H);
  const qg = np.reshape(q, [B, T, K, G, H]); //                                     [B, T, K, G, H]
  let logits = np.einsum("btkgh,bskh->bkgts", qg, k); //                           [B, K, G, T, S]
  logits = np.multiply(np.reshape(logits, [B, N, T, S]), scale); //                [B, N, T, S]
  if (options.softCap !== undefined) logits = np.multiply(np.tanh(np.divide(logits, options.softCap)), options.softCap);
  if (mask !== undefined) {
    if (mask.dtype !== "bool") throw new TypeError(`attention: the mask must be bool, got ${mask.aval}`);
    const m4 = mask.ndim === 2 ? np.reshape(mask, [1, 1, ...mask.shape]) : mask.ndim === 3 ? np.expandDims(mask, 1) : mask; // [B|1, N|1, T, S]
    np.broadcastShapes(`attention mask ${showShape(mask.shape)}`, m4.shape, [B, N, T, S]);
    logits = np.where(m4, logits, MASKED_LOGIT); //                                [B, N, T, S]
  }
  const probs = np.reshape(softmax(logits, { axis: -1 }), [B, K, G, T, S]); //    [B, K, G, T, S]
  const out = np.einsum("bkgts,bskh->btkgh", probs, v); //                         [B, T, K, G, H]
  return np.reshape(out, [B, T, N, H]); //                                          [B, T, N, H]
}

/** A causal mask [T, S]: query t (at absolute position offset + t) may attend key s when s <= offset + t. */
export function causalMask(T: number, S = T, offset = S - T): ArrayBase {
  const queries = lax.add(lax.iota("i32", [T, S], 0), offset);
  return lax.compare(lax.iota("i32", [T, S], 1), queries, "LE");
}
