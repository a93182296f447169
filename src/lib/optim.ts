// Optimizers as pure functions over pytrees of arrays (concrete or traced), in the style of optax: an optimizer
// is {init(params) -> state, update(grads, state, params) -> {updates, state}}, and applyUpdates adds the updates
// to the parameters. Everything is np/lax code, so a whole train step (loss, grad, clipping, update) compiles into
// one program under jit. The step count lives in the state as an i32 scalar array, so it traces too.
import { ArrayBase } from "../core/array_base.js";
import { type PyTree, flatten, treeMap, unflatten } from "../core/pytree.js";
import * as np from "./np.js";

/** A pytree whose leaves are arrays. */
export type Tree = PyTree<ArrayBase>;

const isArray = (x: unknown): boolean => x instanceof ArrayBase;

function leaves(tree: Tree, where: string): ArrayBase[] {
  const flat = flatten<ArrayBase>(tree, isArray);
  for (const leaf of flat.leaves) {
    if (!(leaf instanceof ArrayBase)) throw new TypeError(`${where}: every leaf must be an array`);
  }
  return flat.leaves;
}

/** Applies `fn` leaf by leaf to trees of one structure (the first tree's). */
export function treeMapN(fn: (...xs: ArrayBase[]) => ArrayBase, first: Tree, ...rest: Tree[]): Tree {
  const { leaves: firstLeaves, treedef } = flatten<ArrayBase>(first, isArray);
  const others = rest.map((t, i) => {
    const l = leaves(t, "treeMapN");
    if (l.length !== firstLeaves.length) throw new TypeError(`treeMapN: tree ${i + 1} has ${l.length} leaves, the first has ${firstLeaves.length}`);
    return l;
  });
  return unflatten<ArrayBase>(treedef, firstLeaves.map((x, i) => fn(x, ...others.map((o) => o[i]!))));
}

/** A schedule: a function of the step, which is a JS number (for logging) or an i32/f32 scalar array (inside the
 * optimizer, traced under jit). */
export type Schedule = {
  (step: number): number;
  (step: ArrayBase): ArrayBase;
  (step: number | ArrayBase): number | ArrayBase;
};

/** A constant, or a function of the 0-based step count (an i32 scalar array) such as a Schedule. */
export type ScheduleLike = number | ((step: ArrayBase) => ArrayBase | number);

function valueAt(schedule: ScheduleLike, step: ArrayBase): ArrayBase | number {
  return typeof schedule === "number" ? schedule : schedule(step);
}

export interface Optimizer<S> {
  init(params: Tree): S;
  /** The updates to add to the parameters (already multiplied by -lr), and the next state. */
  update(grads: Tree, state: S, params: Tree): { updates: Tree; state: S };
}

/** params + updates, leaf by leaf. */
export function applyUpdates(params: Tree, updates: Tree): Tree {
  return treeMapN((p, u) => np.add(p, np.astype(u, p.dtype)), params, updates);
}

// --- AdamW ---------------------------------------------------------------------------------------------------

export interface AdamWConfig {
  /** Learning rate: a constant or a schedule of the 0-based step. */
  lr: ScheduleLike;
  /** Decay of the first moment (beta1). */
  b1?: number;
  /** Decay of the second moment (beta2). */
  b2?: number;
  /** Added to sqrt(vhat) in the denominator. */
  eps?: number;
  /** Decoupled weight decay (lambda), multiplied by lr like the Adam step. */
  weightDecay?: number;
}

export interface AdamWState {
  /** Number of updates applied so far: i32 scalar. */
  count: ArrayBase;
  /** First moment m, one per parameter. */
  mu: Tree;
  /** Second moment v, one per parameter. */
  nu: Tree;
}

/** AdamW (Loshchilov & Hutter), as optax.adamw: with t = count + 1,
 * m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  mhat = m / (1 - b1^t);  vhat = v / (1 - b2^t);
 * update = -lr(count) * (mhat / (sqrt(vhat) + eps) + weightDecay * p). */
export function adamw(config: AdamWConfig): Optimizer<AdamWState> {
  const b1 = config.b1 ?? 0.9;
  const b2 = config.b2 ?? 0.999;
  const eps = config.eps ?? 1e-8;
  const weightDecay = config.weightDecay ?? 0.01;
  for (const [name, value] of [["b1", b1], ["b2", b2]] as const) {
    if (!(value >= 0 && value < 1)) throw new RangeError(`adamw: ${name} must be in [0, 1), got ${value}`);
  }
  if (!(eps >= 0) || !(weightDecay >= 0)) throw new RangeError(`adamw: eps and weightDecay must be >= 0, got ${eps} and ${weightDecay}`);
  return {
    init(params) {
      leaves(params, "adamw.init");
      return {
        count: np.zeros([], "i32"),
        mu: treeMapN((p) => np.zerosLike(p), params),
        nu: treeMapN((p) => np.zerosLike(p), params),
      };
    },
    update(grads, state, params) {
      const t = np.astype(np.add(state.count, 1), "f32");
      const correction1 = np.subtract(1, np.power(np.full([], b1), t)); // 1 - b1^t
      const correction2 = np.subtract(1, np.power(np.full([], b2), t)); // 1 - b2^t
      const lr = valueAt(config.lr, state.count);
      const mu = treeMapN((g, m) => np.add(np.multiply(m, b1), np.multiply(g, 1 - b1)), grads, state.mu);
      const nu = treeMapN((g, v) => np.add(np.multiply(v, b2), np.multiply(np.square(g), 1 - b2)), grads, state.nu);
      const updates = treeMapN(
        (m, v, p) => {
          const mhat = np.divide(m, np.astype(correction1, m.dtype));
          const vhat = np.divide(v, np.astype(correction2, v.dtype));
          const adam = np.divide(mhat, np.add(np.sqrt(vhat), eps));
          const decayed = np.add(adam, np.multiply(p, weightDecay));
          return np.multiply(decayed, typeof lr === "number" ? -lr : np.astype(np.negative(lr), m.dtype));
        },
        mu,
        nu,
        params,
      );
      return { updates, state: { count: np.add(state.count, 1), mu, nu } };
    },
  };
}

/** Plain gradient descent: update = -lr(count) * g. */
export function sgd(config: { lr: ScheduleLike }): Optimizer<{ count: ArrayBase }> {
  return {
    init: () => ({ count: np.zeros([], "i32") }),
    update(grads, state) {
      const lr = valueAt(config.lr, state.count);
      const updates = treeMapN((g) => np.multiply(g, typeof lr === "number" ? -lr : np.astype(np.negative(lr), g.dtype)), grads);
      return { updates, state: { count: np.add(state.count, 1) } };
    },
  };
}

// --- gradient clipping -----------------------------------------------------------------------------------------

/** sqrt of the sum of squares of every element of every leaf (f32 scalar). */
export function globalNorm(tree: Tree): ArrayBase {
  const squares = leaves(tree, "globalNorm").map((x) => np.sum(np.square(np.astype(x, "f32"))));
  if (squares.length === 0) return np.zeros([], "f32");
  return np.sqrt(squares.reduce((a, b) => np.add(a, b)));
}

/** Scales every gradient by maxNorm / norm when the global norm exceeds maxNorm (as optax.clip_by_global_norm).
 * Returns the clipped gradients and the norm before clipping. */
export function clipByGlobalNorm(grads: Tree, maxNorm: number): { grads: Tree; norm: ArrayBase } {
  if (!(maxNorm > 0)) throw new RangeError(`clipByGlobalNorm: maxNorm must be > 0, got ${maxNorm}`);
  const norm = globalNorm(grads);
  const below = np.less(norm, maxNorm);
  // The division only matters where the norm is at least maxNorm > 0.
  const factor = np.where(below, 1, np.divide(maxNorm, np.maximum(norm, maxNorm)));
  const clipped = treeMapN((g) => np.multiply(g, np.astype(factor, g.dtype)), grads);
  return { grads: clipped, norm };
}

// --- schedules -------------------------------------------------------------------------------------------------

export interface WarmupCosineConfig {
  /** Value at the end of warmup. */
  peak: number;
  /** Steps of linear warmup from `initValue` to `peak`. */
  warmupSteps: number;
  /** Total steps, warmup included; after it the value stays at `endValue`. */
  totalSteps: number;
  endValue?: number;
  initValue?: number;
}

/** Linear warmup from initValue (default 0) to peak over warmupSteps, then cosine decay to endValue at totalSteps
 * (optax.warmup_cosine_decay_schedule with decay_steps = totalSteps):
 *   step < W:  init + (peak - init) * step / W
 *   else:      end + (peak - end) * (1 + cos(pi * min(step - W, D) / D)) / 2,  D = totalSteps - W. */
function warmupCosine(config: WarmupCosineConfig): Schedule {
  const { peak, warmupSteps: W, totalSteps } = config;
  const end = config.endValue ?? 0;
  const init = config.initValue ?? 0;
  if (!(W >= 0) || !(totalSteps > W)) throw new RangeError(`warmupCosine: need 0 <= warmupSteps < totalSteps, got ${W} and ${totalSteps}`);
  const D = totalSteps - W;
  function schedule(step: number): number;
  function schedule(step: ArrayBase): ArrayBase;
  function schedule(step: number | ArrayBase): number | ArrayBase;
  function schedule(step: number | ArrayBase): number | ArrayBase {
    if (typeof step === "number") {
      if (step < W) return init + ((peak - init) * step) / W;
      const t = Math.min(step - W, D);
      return end + ((peak - end) * (1 + Math.cos((Math.PI * t) / D))) / 2;
    }
    const s = np.astype(step, "f32");
    const warm = W > 0 ? np.add(np.multiply(s, (peak - init) / W), init) : np.full(s.shape, peak);
    const t = np.clip(np.subtract(s, W), 0, D);
    const decayed = np.add(np.multiply(np.add(np.cos(np.multiply(t, Math.PI / D)), 1), (peak - end) / 2), end);
    return np.where(np.less(s, W), warm, decayed);
  }
  return schedule;
}

/** A constant as a schedule. */
function constant(value: number): Schedule {
  function schedule(step: number): number;
  function schedule(step: ArrayBase): ArrayBase;
  function schedule(step: number | ArrayBase): number | ArrayBase;
  function schedule(step: number | ArrayBase): number | ArrayBase {
    return typeof step === "number" ? value : np.full(step.shape, value);
  }
  return schedule;
}

export const schedules = { warmupCosine, constant };
