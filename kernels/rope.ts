// Rotary position embedding (RoPE), in the half-split form Gemma uses: a head vector [x1, x2] (two halves of H/2)
// is rotated pairwise, (x1[i], x2[i]) by the angle position / base^(2i/H). Linear scaling divides positions by a
// factor (Gemma3 4B and up do this on their global layers only).
import type { ArrayBase } from "../src/core/array_base.js";
import { ShapeError } from "../src/core/errors.js";
import * as lax from "../src/ops/index.js";
import * as np from "../src/lib/np.js";

export interface RopeOptions {
  /** Base frequency (10,000 on Gemma3 local layers, 1,000,000 on global ones). */
  base: number;
  /** Positions are divided by this factor before the rotation (linear scaling); 1 means none. */
  scale?: number;
}

/** The rotation angles [..., H/2] (f32) for integer `positions` [...] and head width `headDim`. */
export function ropeAngles(positions: ArrayBase, headDim: number, options: RopeOptions): ArrayBase {
  if (headDim % 2 !== 0) throw new ShapeError(`rope: the head width must be even, got ${headDim}`);
  const half = headDim / 2;
  const fraction = np.multiply(lax.iota("f32", [half], 0), 2 / headDim); //          [H/2]   2i/H
  const timescale = np.power(options.base, fraction); //                             [H/2]   base^(2i/H)
  const scaled = np.divide(np.astype(positions, "f32"), options.scale ?? 1); //     [...]
  return np.divide(np.expandDims(scaled, -1), timescale); //                         [..., H/2]
}

/** Rotates `x` [B, T, N, H] by the positions [B, T] of its tokens; the result has x's dtype. */
export function applyRope(x: ArrayBase, positions: ArrayBase, options: RopeOptions): ArrayBase {
  if (x.ndim !== 4 || positions.ndim !== 2 || positions.shape[0] !== x.shape[0] || positions.shape[1] !== x.shape[1]) {
    throw new ShapeError(`rope: x must be [B, T, N, H] and positions [B, T], got ${x.aval} and ${positions.aval}`);
  }
  const [B, T, N, H] = x.shape as [number, number, number, number];
  const half = H / 2;
  const angles = np.expandDims(ropeAngles(positions, H, options), 2); //            [B, T, 1, H/2]
  const sin = np.sin(angles); //                                                     [B, T, 1, H/2]
  const cos = np.cos(angles); //                                                     [B, T, 1, H/2]
  const xf = np.astype(x, "f32"); //                                                 [B, T, N, H]
  const x1 = lax.slice(xf, [0, 0, 0, 0], [B, T, N, half]); //                        [B, T, N, H/2]
  const x2 = lax.slice(xf, [0, 0, 0, half], [B, T, N, H]); //                        [B, T, N, H/2]
  const first = np.subtract(np.multiply(x1, cos), np.multiply(x2, sin)); //          [B, T, N, H/2]
  const second = np.add(np.multiply(x2, cos), np.multiply(x1, sin)); //              [B, T, N, H/2]
  return np.astype(np.concatenate([first, second], -1), x.dtype); //                 [B, T, N, H]
}
