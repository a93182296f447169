// Attention pieces shared by the training forward and the decode forward: token positions from a padding mask,
// the visibility mask (causal, optionally within a sliding window), and writing new keys/values into a cache.
// Both forwards describe keys by their positions and a validity mask, so left-padded rows, right-padded rows and
// a partly filled cache are the same case.
import type { ArrayBase } from "../src/core/array_base.js";
import { ShapeError } from "../src/core/errors.js";
import * as lax from "../src/ops/index.js";
import * as np from "../src/lib/np.js";

/** Position of every token: the number of real tokens before it (cumsum(mask) - 1), so left padding does not
 * shift positions. mask: [B, T] bool. Returns [B, T] i32 (-1 on leading padding). */
export function positionsFromMask(mask: ArrayBase): ArrayBase {
  if (mask.dtype !== "bool" || mask.ndim !== 2) throw new ShapeError(`positionsFromMask: expected a bool [B, T] mask, got ${mask.aval}`);
  // cumsum is a matmul with a triangular matrix: exact in f32 for lengths below 2^24.
  const counts = np.cumsum(np.astype(mask, "f32"), -1); //                          [B, T]
  return np.subtract(np.astype(counts, "i32"), 1); //                               [B, T]
}

/**
 * Which keys each query sees: [B, T, S] bool. A query at position p sees a valid key at position q iff q <= p and,
 * with a window w, p - q < w (Gemma3's local layers: 0 <= p - q < slidingWindow).
 *
 * queryPositions [B, T] i32, keyPositions [B, S] i32, keyValid [B, S] bool.
 */
export function visibilityMask(queryPositions: ArrayBase, keyPositions: ArrayBase, keyValid: ArrayBase, window?: number): ArrayBase {
  const [B, T] = queryPositions.shape as [number, number];
  const S = keyPositions.shape[1]!;
  if (keyPositions.shape[0] !== B || keyValid.shape.join(",") !== keyPositions.shape.join(",")) {
    throw new ShapeError(`visibilityMask: queries ${queryPositions.aval}, keys ${keyPositions.aval}, validity ${keyValid.aval} do not agree`);
  }
  const query = lax.broadcastInDim(queryPositions, [B, T, S], [0, 1]); //            [B, T, S]
  const key = lax.broadcastInDim(keyPositions, [B, T, S], [0, 2]); //                [B, T, S]
  const valid = lax.broadcastInDim(keyValid, [B, T, S], [0, 2]); //                  [B, T, S]
  let visible = np.bitwiseAnd(valid, np.lessEqual(key, query)); //                   [B, T, S]
  if (window !== undefined) visible = np.bitwiseAnd(visible, np.less(np.subtract(query, key), window)); // [B, T, S]
  return visible;
}

/** One layer's key/value cache: [B, S, K, H] each. */
export type LayerCache<A = ArrayBase> = {
  k: A;
  v: A;
};

/** Writes `k`, `v` [B, T, K, H] into the cache at slots index .. index + T - 1 (index: an i32 scalar). */
export function writeCache(cache: LayerCache, k: ArrayBase, v: ArrayBase, index: ArrayBase | number): LayerCache {
  if (k.ndim !== 4 || k.shape[0] !== cache.k.shape[0] || k.shape[2] !== cache.k.shape[2] || k.shape[3] !== cache.k.shape[3]) {
    throw new ShapeError(`writeCache: new keys ${k.aval} do not fit the cache ${cache.k.aval}`);
  }
  return {
    k: lax.dynamicUpdateSlice(cache.k, np.astype(k, cache.k.dtype), [0, index, 0, 0]), // [B, S, K, H]
    v: lax.dynamicUpdateSlice(cache.v, np.astype(v, cache.v.dtype), [0, index, 0, 0]), // [B, S, K, H]
  };
}
