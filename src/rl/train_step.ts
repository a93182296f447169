// The compiled train step for LoRA on Gemma3: one graph computes the policy's per-token logprobs of the completion
// tokens, the loss (the built-in GRPO loss, SFT cross-entropy, or a user's LossFunction), the gradient with
// respect to the adapter only, global-norm clipping, the AdamW update with its learning-rate schedule, and the
// metrics. The adapter and the optimizer state are donated, so they are updated in place.
//
// The gradient is assembled from three pieces instead of one `grad` over everything, so that no [tokens, vocab]
// block outlives its chunk and the old logprobs are detached exactly:
//   1. the trunk (forwardHidden under LoRA) runs under `vjp` with respect to the adapter;
//   2. the head's logprobs come from the chunked forward loop, and the loss is differentiated with respect to
//      `logp` alone: `oldLogp` is a separate, undifferentiated input, and with mu = 1 it is the very same value as
//      `logp` (ratio exactly 1, no gradient through it), which is what stop_gradient(logp) would give;
//   3. logprobsFromHiddenVjp turns d loss / d logp into d hidden chunk by chunk, and the trunk's vjp takes it to
//      the adapter.
// Sequence layout: [prompt, left-padded to P | completion, right-padded to C]; completion token j sits at position
// P + j and is predicted by the hidden state at P + j - 1.
import type { ArrayBase } from "../core/array_base.js";
import { Aval } from "../core/aval.js";
import { ShapeError } from "../core/errors.js";
import { type PyTree, flatten, unflatten } from "../core/pytree.js";
import { withNewTrace } from "../core/trace.js";
import { forLoop } from "../lib/control.js";
import * as np from "../lib/np.js";
import * as optim from "../lib/optim.js";
import * as lax from "../ops/index.js";
import { type DeviceArray, tidy } from "../runtime/array.js";
import { type Device, type DeviceKind, getDevice } from "../runtime/device.js";
import { valueAndGrad, vjp } from "../transforms/autodiff.js";
import { jit } from "../transforms/jit.js";
import { logprobsAndEntropyFromHidden, logprobsFromHidden, logprobsFromHiddenVjp } from "../../kernels/logprobs.js";
import { maskedMean } from "../../kernels/masked.js";
import type { Gemma3Config } from "../../models/gemma3/config.js";
import { forwardHidden } from "../../models/gemma3/model.js";
import type { Gemma3Params } from "../../models/gemma3/params.js";
import { type LoraConfig, type LoraParams, validateLoraConfig } from "../../models/lora.js";
import { type GrpoLossOptions, type LossFunction, type LossInputs, grpoLossFunction, normalizeLossOutput } from "./grpo_loss.js";

/** Token sequences of one batch: S rows of a left-padded prompt and a right-padded completion. */
export interface SequenceBatch<A = ArrayBase> {
  /** [S, P] i32, left-padded. */
  prompts: A;
  /** [S, P] bool, false on the prompt's padding. */
  promptMask: A;
  /** [S, C] i32, right-padded. */
  completions: A;
}

/** What one update trains on. */
export interface TrainBatch<A = ArrayBase> extends SequenceBatch<A> {
  /** [S, C] f32: 1 on the completion tokens the loss counts (rl.completionMask). */
  mask: A;
  /** [S] f32 (GRPO; omitted for SFT, where it is zero). */
  advantages?: A;
  /** [S, C] f32: the logprobs before this rollout's first update (needed when mu > 1; with mu = 1 omit it and the
   * step uses its own logprobs, detached). */
  oldLogp?: A;
  /** [S, C] f32: the reference policy's logprobs (needed when the loss has a KL term). */
  refLogp?: A;
}

export interface OptimizerOptions {
  /** Peak learning rate (after warmup). */
  lr: number;
  /** Linear warmup steps from 0 to lr (default 0). */
  warmupSteps?: number;
  /** Total optimizer steps; the decay reaches endLr at this step. Omit for a constant lr after warmup. */
  totalSteps?: number;
  /** The decay after warmup (default "cosine"; needs totalSteps unless "constant"). */
  decay?: "cosine" | "linear" | "constant";
  endLr?: number;
  b1?: number;
  b2?: number;
  eps?: number;
  weightDecay?: number;
}

export interface TrainStepOptions {
  model: Gemma3Config;
  lora: LoraConfig;
  /** The policy loss (default: rl.grpoLoss with `grpo`'s options). */
  loss?: LossFunction;
  /** Options of the built-in GRPO loss when `loss` is not given. */
  grpo?: GrpoLossOptions;
  optimizer: OptimizerOptions;
  /** Global-norm clip of the gradient (default none). */
  maxGradNorm?: number;
  /** Logprobs are log_softmax(logits / temperature): the rollout temperature (default 1). */
  temperature?: number;
  /** Micro-batches per update: the batch's S rows are split into this many equal parts whose gradients are
   * averaged (default 1). */
  microBatches?: number;
  /** "loop": one compiled while loop over micro-batches (one micro-batch's activations live at a time);
   * "unrolled": the micro-batches one after another in the graph (default "loop"). */
  accumulation?: "loop" | "unrolled";
  /** Token positions per logprob chunk (default 1024). */
  chunk?: number;
  /** Train every weight of the model instead of an adapter (full-parameter SFT of a model trained from scratch,
   * where a low-rank update of random weights cannot learn much). The state's trainable tree (`TrainState.lora`)
   * is then the model's whole parameter tree (a Gemma3Params), the gradient reaches every weight (the tied
   * embedding through both the input lookup and the output head), and the `base` argument of the graphs is not
   * read except by the reference graph: full-parameter GRPO keeps the model it starts from as `base`, a separate
   * frozen tree, and its reference logprobs are that tree's (default false). */
  trainBase?: boolean;
  device?: DeviceKind | Device;
}

/** The trainable state: the adapter and its optimizer state. Both are donated to each step. */
export interface TrainState<A = DeviceArray> {
  /** The adapter; with TrainStepOptions.trainBase, the model's whole parameter tree (see `trainableParams`). */
  lora: LoraParams<A>;
  optimizer: optim.AdamWState & { count: A; mu: PyTree<A>; nu: PyTree<A> };
}

/** The names of the step's metrics, in the order of its metrics vector. */
export const STEP_METRICS = ["loss", "gradNorm", "learningRate", "entropy", "skipped"] as const;

/** Linear warmup from 0 to peak over W steps, then linear decay to `end` at totalSteps (constant after). */
function warmupLinear(peak: number, W: number, totalSteps: number, end: number): optim.Schedule {
  function schedule(step: number): number;
  function schedule(step: ArrayBase): ArrayBase;
  function schedule(step: number | ArrayBase): number | ArrayBase;
  function schedule(step: number | ArrayBase): number | ArrayBase {
    const D = totalSteps - W;
    if (typeof step === "number") return step < W ? (peak * step) / W : peak + ((end - peak) * Math.min(step - W, D)) / D;
    const s = np.astype(step, "f32");
    const warm = W > 0 ? np.multiply(s, peak / W) : np.full(s.shape, peak);
    const decayed = np.add(np.multiply(np.clip(np.subtract(s, W), 0, D), (end - peak) / D), peak);
    return np.where(np.less(s, W), warm, decayed);
  }
  return schedule;
}

/** The learning-rate schedule of the options: linear warmup, then cosine or linear decay, or constant. */
export function learningRateSchedule(options: OptimizerOptions): optim.Schedule {
  const warmupSteps = options.warmupSteps ?? 0;
  const decay = options.decay ?? "cosine";
  const end = options.endLr ?? 0;
  if (!(Number.isFinite(options.lr) && options.lr > 0)) throw new RangeError(`optimizer: lr must be a positive number, got ${options.lr}`);
  if (!(Number.isInteger(warmupSteps) && warmupSteps >= 0)) throw new RangeError(`optimizer: warmupSteps must be an integer >= 0, got ${warmupSteps}`);
  if (!["cosine", "linear", "constant"].includes(decay)) throw new RangeError(`optimizer: decay must be cosine, linear or constant, got '${String(decay)}'`);
  if (options.totalSteps !== undefined && decay !== "constant") {
    if (!(Number.isInteger(options.totalSteps) && options.totalSteps > warmupSteps)) {
      throw new RangeError(`optimizer: totalSteps must be an integer > warmupSteps = ${warmupSteps}, got ${options.totalSteps}`);
    }
    if (decay === "linear") return warmupLinear(options.lr, warmupSteps, options.totalSteps, end);
    return optim.schedules.warmupCosine({ peak: options.lr, warmupSteps, totalSteps: options.totalSteps, endValue: end });
  }
  if (decay !== "constant" && options.totalSteps === undefined && options.decay !== undefined) {
    throw new RangeError(`optimizer: a ${decay} decay needs totalSteps`);
  }
  if (warmupSteps === 0) return optim.schedules.constant(options.lr);
  return warmupLinear(options.lr, warmupSteps, warmupSteps + 1, options.lr); // warmup, then flat at lr
}

/** 1 where every element of x is finite (bool scalar): x - x is 0 for finite values and NaN for inf and NaN. */
function allFinite(x: ArrayBase): ArrayBase {
  return np.all(np.equal(np.subtract(x, x), 0));
}

function treeLeaves(tree: unknown): ArrayBase[] {
  return flatten(tree as PyTree<ArrayBase>).leaves as ArrayBase[];
}

/** Leaf by leaf: onTrue where `condition` (a bool scalar) holds, else onFalse. */
function selectTree<T>(condition: ArrayBase, onTrue: T, onFalse: T): T {
  const a = flatten(onTrue as PyTree<ArrayBase>);
  const b = treeLeaves(onFalse);
  return unflatten(a.treedef, (a.leaves as ArrayBase[]).map((x, i) => np.where(condition, x, b[i]!))) as T;
}

function checkBatch(batch: TrainBatch, where: string): { S: number; P: number; C: number } {
  const { prompts, promptMask, completions, mask } = batch;
  if (prompts.ndim !== 2 || prompts.dtype !== "i32") throw new ShapeError(`${where}: prompts must be i32 [S, P], got ${prompts.aval}`);
  const [S, P] = prompts.shape as [number, number];
  if (P < 1) throw new ShapeError(`${where}: prompts need at least one position (the first completion token is predicted from the last prompt token)`);
  if (promptMask.dtype !== "bool" || promptMask.shape.join(",") !== `${S},${P}`) throw new ShapeError(`${where}: promptMask must be bool [${S}, ${P}], got ${promptMask.aval}`);
  if (completions.ndim !== 2 || completions.dtype !== "i32" || completions.shape[0] !== S) {
    throw new ShapeError(`${where}: completions must be i32 [${S}, C], got ${completions.aval}`);
  }
  const C = completions.shape[1]!;
  const check = (x: ArrayBase | undefined, name: string, shape: number[]) => {
    if (x !== undefined && x.shape.join(",") !== shape.join(",")) throw new ShapeError(`${where}: ${name} ${x.aval} must have shape [${shape.join(", ")}]`);
  };
  check(mask, "mask", [S, C]);
  check(batch.advantages, "advantages", [S]);
  check(batch.oldLogp, "oldLogp", [S, C]);
  check(batch.refLogp, "refLogp", [S, C]);
  return { S, P, C };
}

/** The names of a loss's metrics, from a trace of the loss on abstract [S, C] inputs (nothing is computed). */
function lossMetricNames(loss: LossFunction, S: number, C: number, withRef: boolean): string[] {
  return withNewTrace("loss metric names", (trace) => {
    const tokens = () => trace.newArgument(new Aval([S, C], "f32"));
    const inputs: LossInputs = { logp: tokens(), oldLogp: tokens(), mask: tokens(), advantages: trace.newArgument(new Aval([S], "f32")) };
    if (withRef) inputs.refLogp = tokens();
    return Object.keys(normalizeLossOutput(loss(inputs)).metrics);
  });
}

/** The full token sequences [S, P + C] and their attention mask (the completion counts as real tokens: padding
 * after a completion's end comes later in the sequence, so causal attention never lets it reach a kept token). */
export function sequenceTokens(batch: SequenceBatch): { tokens: ArrayBase; mask: ArrayBase } {
  const [S, C] = batch.completions.shape as [number, number];
  return {
    tokens: np.concatenate([batch.prompts, batch.completions], 1), //                    [S, P+C]
    mask: np.concatenate([batch.promptMask, np.full([S, C], 1, "bool")], 1), //          [S, P+C]
  };
}

/** Whether a trainable tree is a model's whole parameter tree (full-parameter training) rather than an adapter. */
export function isFullParams(tree: unknown): boolean {
  return typeof tree === "object" && tree !== null && "embed" in tree && "finalNorm" in tree;
}

/** The trainable tree of a full-parameter state as the model's parameters (an error for an adapter). */
export function trainableParams<A>(tree: LoraParams<A>): Gemma3Params<A> {
  if (!isFullParams(tree)) throw new TypeError("expected a model's parameter tree (full-parameter training), got an adapter");
  return tree as unknown as Gemma3Params<A>;
}

/** A model's parameter tree in the trainable slot of a TrainState (full-parameter training). */
export function asTrainable<A>(params: Gemma3Params<A>): LoraParams<A> {
  return params as unknown as LoraParams<A>;
}

/** Hidden states that predict the completion tokens: hidden [S, P + C, D] -> [S, C, D]. */
function predictingHidden(hidden: ArrayBase, P: number, C: number): ArrayBase {
  return np.sliceAxis(hidden, 1, P - 1, P + C - 1);
}

/** A compiled LoRA train step with its companion graphs (old/reference logprobs, the bare gradient). */
export class TrainStep {
  readonly device: Device;
  readonly model: Gemma3Config;
  readonly loraConfig: LoraConfig;
  readonly lossFunction: LossFunction;
  readonly temperature: number;
  readonly microBatches: number;
  readonly chunk: number;
  readonly maxGradNorm: number | undefined;
  readonly trainBase: boolean;
  private readonly optimizer: optim.Optimizer<optim.AdamWState>;
  private readonly schedule: optim.Schedule;
  private readonly accumulation: "loop" | "unrolled";
  private names: string[] | undefined;
  private readonly stepJit;
  private readonly gradientJit;
  private readonly policyJit;
  private readonly referenceJit;
  private readonly initJit;

  constructor(options: TrainStepOptions) {
    this.device = getDevice(options.device);
    this.model = options.model;
    this.loraConfig = validateLoraConfig(options.lora);
    if (options.loss !== undefined && options.grpo !== undefined) throw new TypeError("TrainStep: pass either loss or grpo (the built-in loss's options), not both");
    this.lossFunction = options.loss ?? grpoLossFunction(options.grpo);
    this.temperature = options.temperature ?? 1;
    if (!(Number.isFinite(this.temperature) && this.temperature > 0)) throw new RangeError(`TrainStep: temperature must be a positive number, got ${this.temperature}`);
    this.microBatches = options.microBatches ?? 1;
    if (!(Number.isInteger(this.microBatches) && this.microBatches >= 1)) throw new RangeError(`TrainStep: microBatches must be a positive integer, got ${this.microBatches}`);
    this.accumulation = options.accumulation ?? "loop";
    if (this.accumulation !== "loop" && this.accumulation !== "unrolled") throw new RangeError(`TrainStep: accumulation must be "loop" or "unrolled", got '${String(this.accumulation)}'`);
    this.chunk = options.chunk ?? 1024;
    this.trainBase = options.trainBase ?? false;
    this.maxGradNorm = options.maxGradNorm;
    if (this.maxGradNorm !== undefined && !(this.maxGradNorm > 0)) throw new RangeError(`TrainStep: maxGradNorm must be > 0, got ${this.maxGradNorm}`);
    const o = options.optimizer;
    this.schedule = learningRateSchedule(o);
    this.optimizer = optim.adamw({ lr: this.schedule, b1: o.b1, b2: o.b2, eps: o.eps, weightDecay: o.weightDecay });
    const device = this.device;
    this.stepJit = jit(
      (lora: LoraParams<ArrayBase>, state: optim.AdamWState, base: Gemma3Params<ArrayBase>, batch: TrainBatch) => this.stepGraph(lora, state, base, batch),
      { device, donateArgnums: [0, 1], name: "train_step" },
    );
    this.gradientJit = jit(
      (lora: LoraParams<ArrayBase>, base: Gemma3Params<ArrayBase>, batch: TrainBatch) => this.accumulatedGradient(lora, base, batch),
      { device, name: "train_gradient" },
    );
    this.policyJit = jit(
      (lora: LoraParams<ArrayBase>, base: Gemma3Params<ArrayBase>, batch: SequenceBatch) => this.logprobsGraph(base, batch, lora),
      { device, name: "policy_logprobs" },
    );
    this.referenceJit = jit((base: Gemma3Params<ArrayBase>, batch: SequenceBatch) => this.logprobsGraph(base, batch), { device, name: "reference_logprobs" });
    this.initJit = jit((lora: LoraParams<ArrayBase>) => this.optimizer.init(lora as unknown as optim.Tree), { device, name: "optimizer_init" });
  }

  /** Names of the entries of the metrics vector a step returns: STEP_METRICS, then the loss's own metrics. */
  get metricNames(): readonly string[] {
    if (this.names === undefined) throw new Error("TrainStep: metric names are known after the first step is traced");
    return this.names;
  }

  /** The learning rate the schedule gives at a 0-based optimizer step (for logging). */
  learningRate(step: number): number {
    return this.schedule(step);
  }

  /** A fresh optimizer state for the adapter (zero moments, count 0). */
  initState(lora: LoraParams<DeviceArray>): TrainState {
    return { lora, optimizer: this.initJit(lora) as unknown as TrainState["optimizer"] };
  }

  /** One update. The state's arrays are donated: use the returned state from now on. Returns the metrics vector
   * (read it with readMetrics) and the new state; a NaN/inf loss or gradient norm leaves the state's values
   * unchanged and sets the "skipped" metric to 1. */
  step(state: TrainState, base: Gemma3Params<DeviceArray>, batch: TrainBatch<DeviceArray>): { state: TrainState; metrics: DeviceArray } {
    const out = this.stepJit(state.lora, state.optimizer, base, batch) as unknown as {
      lora: LoraParams<DeviceArray>;
      optimizer: TrainState["optimizer"];
      metrics: DeviceArray;
    };
    return { state: { lora: out.lora, optimizer: out.optimizer }, metrics: out.metrics };
  }

  /** Reads a metrics vector into named numbers (and disposes it). */
  async readMetrics(metrics: DeviceArray): Promise<Record<string, number>> {
    const values = await metrics.data();
    metrics.dispose();
    return Object.fromEntries(this.metricNames.map((name, i) => [name, Number(values[i])]));
  }

  /** The loss and its gradient with respect to the adapter, averaged over micro-batches, without an update. */
  gradient(lora: LoraParams<DeviceArray>, base: Gemma3Params<DeviceArray>, batch: TrainBatch<DeviceArray>): { loss: DeviceArray; grads: LoraParams<DeviceArray> } {
    const out = this.gradientJit(lora, base, batch) as unknown as { grads: LoraParams<DeviceArray>; metrics: DeviceArray };
    const loss = tidy(() => np.reshape(lax.slice(out.metrics, [0], [1]), [])) as DeviceArray;
    out.metrics.dispose();
    return { loss, grads: out.grads };
  }

  /** Per-token logprobs [S, C] of the completions under the adapted policy (old logprobs for mu > 1). */
  policyLogprobs(lora: LoraParams<DeviceArray>, base: Gemma3Params<DeviceArray>, batch: SequenceBatch<DeviceArray>): DeviceArray {
    return this.policyJit(lora, base, batch) as unknown as DeviceArray;
  }

  /** Per-token logprobs [S, C] under the reference policy: the base weights with LoRA off, or with trainBase the
   * frozen `base` tree the trained copy started from (never the trained tree itself). */
  referenceLogprobs(base: Gemma3Params<DeviceArray>, batch: SequenceBatch<DeviceArray>): DeviceArray {
    return this.referenceJit(base, batch) as unknown as DeviceArray;
  }

  // --- graphs ----------------------------------------------------------------------------------------------------

  /** Rows per logprob chunk: never more than the batch's S * C (a larger chunk would be padded with dead rows,
   * each a full vocabulary row of logits). */
  private chunkFor(batch: SequenceBatch): number {
    const [S, C] = batch.completions.shape as [number, number];
    return Math.max(1, Math.min(this.chunk, S * C));
  }

  private logprobsGraph(base: Gemma3Params<ArrayBase>, batch: SequenceBatch, lora?: LoraParams<ArrayBase>): ArrayBase {
    const P = batch.prompts.shape[1]!;
    const C = batch.completions.shape[1]!;
    const { tokens, mask } = sequenceTokens(batch);
    if (lora !== undefined && this.trainBase) {
      const params = trainableParams(lora);
      const hidden = predictingHidden(forwardHidden(this.model, params, tokens, mask), P, C); // [S, C, D]
      return logprobsFromHidden(hidden, params.embed, batch.completions, this.temperature, { chunk: this.chunkFor(batch), method: "loop" });
    }
    const adapter = lora === undefined ? undefined : { lora, config: this.loraConfig };
    const hidden = predictingHidden(forwardHidden(this.model, base, tokens, mask, adapter), P, C); // [S, C, D]
    return logprobsFromHidden(hidden, base.embed, batch.completions, this.temperature, { chunk: this.chunkFor(batch), method: "loop" }); // [S, C]
  }

  /** Loss, metrics and adapter gradient of one micro-batch. The metrics vector is [loss, entropy, ...loss metrics]. */
  private microBatchGradient(lora: LoraParams<ArrayBase>, base: Gemma3Params<ArrayBase>, batch: TrainBatch): { grads: LoraParams<ArrayBase>; metrics: ArrayBase } {
    const { S, P, C } = checkBatch(batch, "train step");
    const { tokens, mask: attentionMask } = sequenceTokens(batch);
    // Full-parameter training differentiates the trunk with respect to every weight; LoRA with respect to the adapter.
    const trunk = this.trainBase
      ? vjp((p: Gemma3Params<ArrayBase>) => forwardHidden(this.model, p, tokens, attentionMask), [trainableParams(lora)])
      : vjp((l: LoraParams<ArrayBase>) => forwardHidden(this.model, base, tokens, attentionMask, { lora: l, config: this.loraConfig }), [lora]);
    const embed = this.trainBase ? trainableParams(lora).embed : base.embed;
    const hidden = predictingHidden(trunk.outputs as ArrayBase, P, C); //                 [S, C, D]
    const head = { chunk: this.chunkFor(batch), method: "loop" } as const;
    const { logprobs: logp, entropy } = logprobsAndEntropyFromHidden(hidden, embed, batch.completions, this.temperature, head); // [S, C]
    const advantages = batch.advantages ?? np.zeros([S]);
    const inputsAt = (current: ArrayBase): LossInputs => {
      const inputs: LossInputs = { logp: current, oldLogp: batch.oldLogp ?? logp, mask: batch.mask, advantages };
      if (batch.refLogp !== undefined) inputs.refLogp = batch.refLogp;
      return inputs;
    };
    const lossOf = (current: ArrayBase) => {
      const { loss, metrics } = normalizeLossOutput(this.lossFunction(inputsAt(current)));
      return [loss, metrics] as [ArrayBase, Record<string, ArrayBase>];
    };
    const [[loss, lossMetrics], dLogp] = valueAndGrad(lossOf, { hasAux: true })(logp) as unknown as [[ArrayBase, Record<string, ArrayBase>], ArrayBase];
    const names = Object.keys(lossMetrics);
    this.recordNames(names);
    const headGrads = logprobsFromHiddenVjp(hidden, embed, batch.completions, this.temperature, dLogp, { chunk: head.chunk, embedGrad: this.trainBase });
    const dSequence = np.pad(headGrads.hidden, [[0, 0], [P - 1, 1], [0, 0]]); //          [S, P+C, D]
    let [grads] = trunk.vjp(dSequence) as unknown as [LoraParams<ArrayBase>];
    if (this.trainBase) {
      // The tied embedding's gradient: its lookup (through the trunk) plus its use as the output head.
      const params = trainableParams(grads);
      grads = asTrainable({ ...params, embed: np.add(params.embed, headGrads.embed!) });
    }
    const values = [loss, maskedMean(entropy, batch.mask), ...names.map((n) => lossMetrics[n]!)].map((v) => np.astype(v, "f32"));
    return { grads, metrics: np.stack(values) };
  }

  private recordNames(lossNames: string[]): void {
    const names = [...STEP_METRICS, ...lossNames];
    for (const name of lossNames) {
      if ((STEP_METRICS as readonly string[]).includes(name)) throw new TypeError(`loss function: metric name '${name}' is reserved by the train step`);
    }
    this.names = names;
  }

  /** The gradient averaged over micro-batches: [loss, entropy, ...loss metrics] averaged likewise. */
  private accumulatedGradient(lora: LoraParams<ArrayBase>, base: Gemma3Params<ArrayBase>, batch: TrainBatch): { grads: LoraParams<ArrayBase>; metrics: ArrayBase } {
    const k = this.microBatches;
    if (k === 1) return this.microBatchGradient(lora, base, batch);
    const { S } = checkBatch(batch, "train step");
    if (S % k !== 0) throw new ShapeError(`train step: ${S} rows do not split into ${k} equal micro-batches`);
    const m = S / k;
    const parts = flatten(batch as unknown as PyTree<ArrayBase>);
    const leaves = parts.leaves as ArrayBase[];
    const microBatch = (i: ArrayBase | number): TrainBatch => {
      const sliced = leaves.map((x) => {
        if (typeof i === "number") return np.sliceAxis(x, 0, i * m, (i + 1) * m);
        const start = lax.mul(i, m);
        return lax.dynamicSlice(x, [start, ...x.shape.slice(1).map(() => 0)], [m, ...x.shape.slice(1)]);
      });
      return unflatten(parts.treedef, sliced) as unknown as TrainBatch;
    };
    const scale = 1 / k;
    const average = (acc: { grads: LoraParams<ArrayBase>; metrics: ArrayBase }) => ({
      grads: optim.treeMapN((g) => np.multiply(g, scale), acc.grads as unknown as optim.Tree) as unknown as LoraParams<ArrayBase>,
      metrics: np.multiply(acc.metrics, scale),
    });
    const add = (a: { grads: LoraParams<ArrayBase>; metrics: ArrayBase }, b: { grads: LoraParams<ArrayBase>; metrics: ArrayBase }) => ({
      grads: optim.treeMapN((x, y) => np.add(x, y), a.grads as unknown as optim.Tree, b.grads as unknown as optim.Tree) as unknown as LoraParams<ArrayBase>,
      metrics: np.add(a.metrics, b.metrics),
    });
    if (this.accumulation === "unrolled") {
      let acc = this.microBatchGradient(lora, base, microBatch(0));
      for (let i = 1; i < k; i++) acc = add(acc, this.microBatchGradient(lora, base, microBatch(i)));
      return average(acc);
    }
    // The loop's carry needs the metrics' count before its body is traced: trace the loss once on abstract inputs.
    const count = 2 + lossMetricNames(this.lossFunction, m, batch.completions.shape[1]!, batch.refLogp !== undefined).length;
    const init = {
      grads: optim.treeMapN((x) => np.zerosLike(x), lora as unknown as optim.Tree) as unknown as LoraParams<ArrayBase>,
      metrics: np.zeros([count]),
    };
    type Carry = typeof init;
    const body = (i: ArrayBase, acc: PyTree): PyTree => add(acc as unknown as Carry, this.microBatchGradient(lora, base, microBatch(i))) as unknown as PyTree;
    const total = forLoop(0, k, body, init as unknown as PyTree) as unknown as Carry;
    return average(total);
  }

  private stepGraph(lora: LoraParams<ArrayBase>, state: optim.AdamWState, base: Gemma3Params<ArrayBase>, batch: TrainBatch) {
    const { grads, metrics } = this.accumulatedGradient(lora, base, batch);
    const loss = lax.reshape(lax.slice(metrics, [0], [1]), []);
    const entropy = lax.reshape(lax.slice(metrics, [1], [2]), []);
    const rest = lax.slice(metrics, [2], [metrics.shape[0]!]);
    const tree = grads as unknown as optim.Tree;
    const { grads: clipped, norm } =
      this.maxGradNorm === undefined ? { grads: tree, norm: optim.globalNorm(tree) } : optim.clipByGlobalNorm(tree, this.maxGradNorm);
    const learningRate = np.astype(this.schedule(state.count), "f32");
    const { updates, state: nextState } = this.optimizer.update(clipped, state, lora as unknown as optim.Tree);
    const nextLora = optim.applyUpdates(lora as unknown as optim.Tree, updates) as unknown as LoraParams<ArrayBase>;
    // A NaN or inf anywhere in the loss or the gradient: keep the old values, flag the step.
    const finite = np.bitwiseAnd(allFinite(loss), allFinite(norm));
    const keptLora = selectTree(finite, nextLora, lora);
    const keptState = selectTree(finite, nextState, state);
    const skipped = np.astype(np.logicalNot(finite), "f32");
    const head = np.stack([loss, np.astype(norm, "f32"), learningRate, entropy, skipped]);
    return { lora: keptLora, optimizer: keptState, metrics: np.concatenate([head, rest], 0) };
  }
}

/** LoRA SFT: cross-entropy of the completion tokens, averaged over the tokens the mask keeps (prompt and padding
 * never count, because logprobs are only taken at completion positions and the mask drops padding). */
export const sftLoss: LossFunction = ({ logp, mask }) => {
  const loss = np.negative(maskedMean(logp, mask));
  return { loss, metrics: { tokens: np.sum(np.astype(mask, "f32")) } };
};
