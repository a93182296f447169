// The GRPO loss: aggregate(pg) + beta * aggregate(kl) over [S, T] completion tokens, with its metrics. The
// inputs are exactly what a custom loss receives (`LossInputs`), so any `LossFunction` can take its place in a
// train step. Defaults follow Tunix: eps 0.2, eps_high = eps, beta 0.04, k3, sequence-mean-token-mean.
import { ArrayBase } from "../core/array_base.js";
import { showShape } from "../core/aval.js";
import { ShapeError } from "../core/errors.js";
import * as np from "../lib/np.js";
import { maskedMean } from "../../kernels/masked.js";
import {
  AGGREGATIONS,
  type Aggregation,
  KL_ESTIMATORS,
  type KlEstimator,
  aggregate,
  clippedSurrogate,
  dualClip,
  importanceRatio,
  klEstimate,
} from "./loss_pieces.js";

/** What a policy loss receives: per-token logprobs [S, T] under the current, rollout ("old") and reference
 * policies, the completion mask [S, T] (1 on tokens to train on) and the advantages [S]. refLogp is absent when
 * the run has no KL term (beta = 0: the reference forward is skipped). */
export interface LossInputs {
  logp: ArrayBase;
  oldLogp: ArrayBase;
  refLogp?: ArrayBase;
  mask: ArrayBase;
  advantages: ArrayBase;
}

/** A loss returns a scalar, or a scalar with named scalar metrics. */
export type LossOutput = ArrayBase | { loss: ArrayBase; metrics?: Record<string, ArrayBase> };

/** A user-written policy loss, traced into the train step like the built-in one. */
export type LossFunction = (inputs: LossInputs) => LossOutput;

/** A loss's output in the `{ loss, metrics }` form, checking that the loss and every metric are scalars. */
export function normalizeLossOutput(output: LossOutput): { loss: ArrayBase; metrics: Record<string, ArrayBase> } {
  const result = output instanceof ArrayBase ? { loss: output, metrics: {} } : { loss: output.loss, metrics: output.metrics ?? {} };
  if (result.loss.ndim !== 0) throw new ShapeError(`loss function: the loss must be a scalar, got ${result.loss.aval}`);
  for (const [name, value] of Object.entries(result.metrics)) {
    if (value.ndim !== 0) throw new ShapeError(`loss function: metric '${name}' must be a scalar, got ${value.aval}`);
  }
  return result;
}

export interface GrpoLossOptions {
  /** eps: the ratio is clipped below at 1 - epsilon (default 0.2). */
  epsilon?: number;
  /** eps_high: the ratio is clipped above at 1 + epsilonHigh (default epsilon; DAPO uses 0.28). */
  epsilonHigh?: number;
  /** c > 1: dual clip for negative advantages (default off). */
  dualClip?: number;
  /** TRL's two-sided clip: the unclipped ratio is capped at delta (> 1 + epsilonHigh; default off). */
  delta?: number;
  /** beta: weight of the KL penalty (default 0.04; 0 drops the KL term and the need for refLogp). */
  beta?: number;
  /** KL estimator (default "k3"). */
  kl?: KlEstimator;
  aggregation?: Aggregation;
  /** The Dr. GRPO scale of "sequence-mean-token-scale" (default: T, the completion axis of the inputs). */
  maxLength?: number;
}

export interface GrpoLossConfig {
  epsilon: number;
  epsilonHigh: number;
  dualClip: number | undefined;
  delta: number | undefined;
  beta: number;
  kl: KlEstimator;
  aggregation: Aggregation;
  maxLength: number | undefined;
}

/** Validates loss options and fills in the defaults. */
export function grpoLossConfig(options: GrpoLossOptions = {}): GrpoLossConfig {
  const where = "grpoLoss";
  const epsilon = options.epsilon ?? 0.2;
  if (!(Number.isFinite(epsilon) && epsilon > 0 && epsilon < 1)) throw new RangeError(`${where}: epsilon must be in (0, 1), got ${epsilon}`);
  const epsilonHigh = options.epsilonHigh ?? epsilon;
  if (!(Number.isFinite(epsilonHigh) && epsilonHigh > 0)) throw new RangeError(`${where}: epsilonHigh must be a positive number, got ${epsilonHigh}`);
  const c = options.dualClip;
  if (c !== undefined && !(Number.isFinite(c) && c > 1)) throw new RangeError(`${where}: dualClip must be a number > 1 (it caps -A r at -A c), got ${c}`);
  const delta = options.delta;
  if (delta !== undefined && !(Number.isFinite(delta) && delta > 1 + epsilonHigh)) {
    throw new RangeError(`${where}: delta must be a number > 1 + epsilonHigh = ${1 + epsilonHigh}, got ${delta}`);
  }
  const beta = options.beta ?? 0.04;
  if (!(Number.isFinite(beta) && beta >= 0)) throw new RangeError(`${where}: beta must be a finite number >= 0, got ${beta}`);
  const kl = options.kl ?? "k3";
  if (!KL_ESTIMATORS.includes(kl)) throw new RangeError(`${where}: kl must be one of ${KL_ESTIMATORS.join(", ")}, got '${String(kl)}'`);
  const aggregation = options.aggregation ?? "sequence-mean-token-mean";
  if (!AGGREGATIONS.includes(aggregation)) throw new RangeError(`${where}: aggregation must be one of ${AGGREGATIONS.join(", ")}, got '${String(aggregation)}'`);
  const maxLength = options.maxLength;
  if (maxLength !== undefined && !(Number.isInteger(maxLength) && maxLength > 0)) {
    throw new RangeError(`${where}: maxLength must be a positive integer, got ${maxLength}`);
  }
  return { epsilon, epsilonHigh, dualClip: c, delta, beta, kl, aggregation, maxLength };
}

export interface GrpoLossMetrics {
  /** aggregate(pg) under the configured aggregation. */
  pgLoss: ArrayBase;
  /** Mean per-token KL estimate over valid tokens (0 when beta = 0). */
  kl: ArrayBase;
  /** Fraction of valid tokens with A < 0 and r < 1 - eps (clipped from below). */
  clipFractionLow: ArrayBase;
  /** Fraction of valid tokens with A > 0 and r > 1 + eps_high (clipped from above). */
  clipFractionHigh: ArrayBase;
  /** Mean ratio over valid tokens. */
  ratioMean: ArrayBase;
}

function asF32(x: ArrayBase, name: string, shape: readonly number[]): ArrayBase {
  if (x.dtype !== "f32" && x.dtype !== "bf16") throw new TypeError(`grpoLoss: ${name} must be f32 or bf16, got ${x.aval}`);
  if (x.shape.join(",") !== shape.join(",")) throw new ShapeError(`grpoLoss: ${name} ${x.aval} must have shape ${showShape(shape)}`);
  return np.astype(x, "f32");
}

/** The GRPO loss and its metrics for [S, T] inputs and [S] advantages. */
export function grpoLoss(inputs: LossInputs, options: GrpoLossOptions | GrpoLossConfig = {}): { loss: ArrayBase; metrics: GrpoLossMetrics } {
  const config = grpoLossConfig(options);
  if (inputs.logp.ndim !== 2) throw new ShapeError(`grpoLoss: logp must be [S, T], got ${inputs.logp.aval}`);
  const [S, T] = inputs.logp.shape as [number, number];
  const logp = asF32(inputs.logp, "logp", [S, T]);
  const oldLogp = asF32(inputs.oldLogp, "oldLogp", [S, T]);
  const advantages = asF32(inputs.advantages, "advantages", [S]);
  const mask = inputs.mask;
  if (mask.shape.join(",") !== [S, T].join(",")) throw new ShapeError(`grpoLoss: mask ${mask.aval} must have shape ${showShape([S, T])}`);

  const ratio = importanceRatio(logp, oldLogp); //                                           [S, T]
  let pg = clippedSurrogate(ratio, advantages, config.epsilon, config.epsilonHigh, config.delta); // [S, T]
  if (config.dualClip !== undefined) pg = dualClip(pg, advantages, config.dualClip);
  const maxLength = config.maxLength ?? T;
  const pgLoss = aggregate(pg, mask, config.aggregation, maxLength);

  let loss = pgLoss;
  let klMean: ArrayBase = np.zeros([]);
  if (config.beta > 0) {
    if (inputs.refLogp === undefined) throw new TypeError(`grpoLoss: beta = ${config.beta} needs refLogp (pass beta: 0 to train without a KL term)`);
    const kl = klEstimate(config.kl, logp, asF32(inputs.refLogp, "refLogp", [S, T])); //      [S, T]
    loss = np.add(pgLoss, np.multiply(aggregate(kl, mask, config.aggregation, maxLength), config.beta));
    klMean = maskedMean(kl, mask);
  }

  const A = np.expandDims(advantages, 1); //                                                 [S, 1]
  const clippedLow = both(np.less(ratio, 1 - config.epsilon), np.less(A, 0));
  const clippedHigh = both(np.greater(ratio, 1 + config.epsilonHigh), np.greater(A, 0));
  return {
    loss,
    metrics: {
      pgLoss,
      kl: klMean,
      clipFractionLow: maskedMean(clippedLow, mask),
      clipFractionHigh: maskedMean(clippedHigh, mask),
      ratioMean: maskedMean(ratio, mask),
    },
  };
}

/** 1 where both conditions hold, else 0 (f32). */
function both(a: ArrayBase, b: ArrayBase): ArrayBase {
  return np.astype(np.bitwiseAnd(a, b), "f32");
}

/** grpoLoss with fixed options as a LossFunction (options validated here, once). */
export function grpoLossFunction(options: GrpoLossOptions = {}): LossFunction {
  const config = grpoLossConfig(options);
  return (inputs) => {
    const { loss, metrics } = grpoLoss(inputs, config);
    return { loss, metrics: { ...metrics } };
  };
}
