// Token sampling from next-token logits [B, V]: temperature, top-k and top-p (nucleus) without sorting, tokens that
// must never be sampled, and a categorical draw with our threefry generator (Gumbel-max). Every piece is a plain
// function of arrays, so it traces into the sampler's compiled decode loop.
//
// Top-k and top-p need a per-row threshold (the k-th largest logit; the smallest probability that keeps mass >= p).
// Instead of sorting a 262k vocabulary, both bisect over the 32-bit keys of an order-preserving map from floats to
// u32: 32 halvings pin the threshold exactly, each a compare and a row sum over [B, V].
import type { ArrayBase } from "../src/core/array_base.js";
import { ShapeError } from "../src/core/errors.js";
import * as nn from "../src/lib/nn.js";
import * as np from "../src/lib/np.js";
import * as random from "../src/lib/random.js";
import * as lax from "../src/ops/index.js";

/** Gemma3's `<start_of_image>` and `<end_of_image>`: never sampled when the vocabulary contains them. */
export const IMAGE_TOKENS: readonly number[] = [255_999, 256_000];

/** An order-preserving map of f32 to u32: a < b as floats iff key(a) < key(b) as unsigned integers. */
export function sortableKey(x: ArrayBase): ArrayBase {
  const bits = lax.bitcastConvert(x, "u32"); //                                     [...]
  const negative = np.greaterEqual(bits, 0x80000000); //                           [...]
  return np.where(negative, lax.not(bits), np.bitwiseOr(bits, 0x80000000)); //     [...]
}

/**
 * For each row, the largest u32 t with `holds(t)` true, where `holds` maps thresholds [B] u32 to [B] bool, is
 * true at 0 and stays false once false (monotone). 32 bisection steps over [0, 2^32 - 1].
 */
export function bisectThreshold(rows: number, holds: (threshold: ArrayBase) => ArrayBase): ArrayBase {
  let lo = np.zeros([rows], "u32"); //                                              [B]
  let hi = np.full([rows], 0xffffffff, "u32"); //                                   [B]
  // Unrolled: 32 steps halve [0, 2^32 - 1] to one value (a nested while loop inside the decode loop cost more).
  for (let step = 0; step < 32; step++) {
    // mid = lo + ceil((hi - lo) / 2), without overflowing u32; mid > lo while hi > lo.
    const gap = np.subtract(hi, lo); //                                            [B]
    const mid = np.add(lo, np.add(np.rightShift(gap, 1), np.bitwiseAnd(gap, 1))); // [B]
    const ok = np.bitwiseAnd(holds(mid), np.notEqual(gap, 0)); //                   [B]
    lo = np.where(ok, mid, lo); //                                                  [B]
    hi = np.where(ok, hi, np.maximum(lo, np.subtract(mid, 1))); //                  [B]
  }
  return lo; //                                                                     [B]
}

function checkLogits(logits: ArrayBase, where: string): [number, number] {
  if (logits.ndim !== 2 || logits.dtype !== "f32") throw new ShapeError(`${where}: logits must be f32 [B, V], got ${logits.aval}`);
  return logits.shape as [number, number];
}

/** -inf at the given token ids (those inside the vocabulary). Each run of consecutive ids is one column block
 * written over the logits: a pass over [B, V] per run, where a mask built from an iota took five. */
export function disallowTokens(logits: ArrayBase, ids: readonly number[]): ArrayBase {
  const [B, V] = checkLogits(logits, "disallowTokens");
  const inside = [...new Set(ids.filter((id) => Number.isInteger(id) && id >= 0 && id < V))].sort((a, b) => a - b);
  let out = logits;
  for (let start = 0; start < inside.length; ) {
    let end = start + 1;
    while (end < inside.length && inside[end] === inside[end - 1]! + 1) end++;
    out = lax.dynamicUpdateSlice(out, np.full([B, end - start], -Infinity), [0, inside[start]!]); // [B, V]
    start = end;
  }
  return out;
}

/** Keeps each row's k largest logits (all of them tied with the k-th), -inf elsewhere. k: number or i32 scalar. */
export function topK(logits: ArrayBase, k: number | ArrayBase): ArrayBase {
  const [B, V] = checkLogits(logits, "topK");
  const keys = sortableKey(logits); //                                              [B, V]
  const count = (threshold: ArrayBase) =>
    np.sum(np.astype(np.greaterEqual(keys, lax.broadcastInDim(threshold, [B, V], [0])), "i32"), { axis: -1 }); // [B]
  const kth = bisectThreshold(B, (threshold) => np.greaterEqual(count(threshold), k)); // [B]
  return np.where(np.greaterEqual(keys, lax.broadcastInDim(kth, [B, V], [0])), logits, -Infinity); // [B, V]
}

/** Keeps the smallest set of most probable tokens whose probability (softmax of `logits`) reaches p, -inf elsewhere.
 * p: number or f32 scalar in (0, 1]. */
export function topP(logits: ArrayBase, p: number | ArrayBase): ArrayBase {
  const [B, V] = checkLogits(logits, "topP");
  const probs = nn.softmax(logits, { axis: -1 }); //                                 [B, V]
  const keys = lax.bitcastConvert(probs, "u32"); //                                 [B, V] order-preserving for p >= 0
  const massFrom = (threshold: ArrayBase) =>
    np.sum(np.where(np.greaterEqual(keys, lax.broadcastInDim(threshold, [B, V], [0])), probs, 0), { axis: -1 }); // [B]
  const smallestKept = bisectThreshold(B, (threshold) => np.greaterEqual(massFrom(threshold), p)); // [B]
  return np.where(np.greaterEqual(keys, lax.broadcastInDim(smallestKept, [B, V], [0])), logits, -Infinity); // [B, V]
}

export interface SamplingOptions {
  /** Take the most likely token (temperature, top-k and top-p are ignored). */
  greedy: boolean;
  /** Logits are divided by it before the draw and before the returned log-probabilities (number or f32 scalar). */
  temperature?: number | ArrayBase;
  /** Keep the k most likely tokens (number or i32 scalar); undefined: no top-k. */
  topK?: number | ArrayBase;
  /** Keep the nucleus of mass p (number or f32 scalar); undefined: no top-p. */
  topP?: number | ArrayBase;
  /** Token ids never sampled (default: the image tokens). */
  disallowed?: readonly number[];
}

/**
 * One token per row from logits [B, V] f32, and its log-probability log_softmax(logits / T)[token] over the full
 * vocabulary (T = 1 when greedy), which is what a trainer recomputes. Returns tokens [B] i32 and logprobs [B] f32.
 */
export function sampleTokens(key: random.Key, logits: ArrayBase, options: SamplingOptions): { tokens: ArrayBase; logprobs: ArrayBase } {
  checkLogits(logits, "sampleTokens");
  const temperature = options.greedy ? 1 : (options.temperature ?? 1);
  // x / 1 is x: no pass over [B, V] for it.
  const scaled = temperature === 1 ? logits : np.divide(logits, temperature); //   [B, V]
  // The log-softmax's passes over `scaled` first: the -inf writes below are then its last use and go in place
  // (an 8 MB copy per decode step at batch 8 otherwise).
  const logSoftmax = nn.logSoftmaxPrepared(scaled);
  const allowed = disallowTokens(scaled, options.disallowed ?? IMAGE_TOKENS); //   [B, V]
  let candidates = allowed;
  let tokens: ArrayBase;
  if (options.greedy) {
    tokens = np.argmax(candidates, -1); //                                          [B]
  } else {
    if (options.topK !== undefined) candidates = topK(candidates, options.topK); // [B, V]
    if (options.topP !== undefined) candidates = topP(candidates, options.topP); // [B, V]
    tokens = random.categorical(key, candidates, { axis: -1 }); //                  [B]
  }
  tokens = np.astype(tokens, "i32");
  const logprobs = logSoftmax.at(tokens, allowed); //                                [B]
  return { tokens, logprobs };
}

/** True where a token is one of `stopTokens`: tokens [B] i32 -> [B] bool. */
export function isStopToken(tokens: ArrayBase, stopTokens: readonly number[]): ArrayBase {
  let stop = np.zeros(tokens.shape, "bool");
  for (const id of stopTokens) stop = np.bitwiseOr(stop, np.equal(tokens, id));
  return stop;
}
