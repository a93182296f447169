// Masked reductions over [S, T] per-token values: the building blocks of loss aggregation and token metrics.
// Masked-out entries are replaced by 0 with a select (not multiplied by 0), so NaN or inf in padding never leaks
// into a sum or its gradient.
import type { ArrayBase } from "../src/core/array_base.js";
import { showShape } from "../src/core/aval.js";
import { ShapeError } from "../src/core/errors.js";
import * as np from "../src/lib/np.js";

/** The mask as f32 weights (bool and integer masks become 0/1). */
export function maskWeights(mask: ArrayBase, shape: readonly number[], where: string): ArrayBase {
  if (mask.shape.join(",") !== shape.join(",")) throw new ShapeError(`${where}: mask ${mask.aval} must have shape ${showShape(shape)}`);
  return np.astype(mask, "f32");
}

/** values * mask where mask > 0, exactly 0 elsewhere. */
export function masked(values: ArrayBase, weights: ArrayBase): ArrayBase {
  return np.where(np.greater(weights, 0), np.multiply(values, weights), 0);
}

/** sum(values * mask) / max(sum(mask), 1): the mean over valid entries, 0 when there are none. */
export function maskedMean(values: ArrayBase, mask: ArrayBase): ArrayBase {
  const weights = maskWeights(mask, values.shape, "maskedMean");
  return np.divide(np.sum(masked(values, weights)), np.maximum(np.sum(weights), 1));
}
