// The GRPO run: each step takes promptsPerStep tasks, draws G completions per prompt with the rollout engine (the
// compiled sampler), decodes and scores them with the reward combiner, turns rewards into group advantages (a
// compiled graph), computes reference logprobs (beta > 0) and old logprobs (mu > 1) with their compiled graphs,
// and runs mu train steps on the rollout. Metrics per step: the train step's (loss, kl, clip fractions, grad norm,
// entropy, learning rate), rewards overall and per function, frac_reward_zero_std, completion lengths and the
// terminated fraction, the time split rollout / rewards (decode, score, advantages, batch) / logprobs / update,
// and tokens per second.
import type { ArrayBase } from "../core/array_base.js";
import * as np from "../lib/np.js";
import type { DeviceArray } from "../runtime/array.js";
import { type Device, type DeviceKind, getDevice } from "../runtime/device.js";
import { jit } from "../transforms/jit.js";
import type { Gemma3Config } from "../../models/gemma3/config.js";
import type { Gemma3Params } from "../../models/gemma3/params.js";
import type { Tokenizer } from "../data/tokenizer.js";
import { type AdvantageOptions, advantageConfig, fracRewardZeroStd, groupAdvantages } from "./advantages.js";
import { type GrpoLossOptions, type LossFunction, grpoLossConfig } from "./grpo_loss.js";
import type { RewardCombiner } from "./rewards.js";
import {
  type EvalResult,
  type LoggedSample,
  type RolloutEngine,
  type Task,
  type TaskStream,
  completionText,
  disposeBatch,
  encodePrompt,
  evaluate,
  fitPrompt,
  packBatch,
  stepSeed,
} from "./trainer_common.js";
import { disposeArrays } from "./trainer_state.js";
import { type LoopResult, type StageComponents, type StageOptions, type StepOutcome, runStage } from "./trainer_loop.js";
import { type OptimizerOptions, type TrainBatch, TrainStep, type TrainState } from "./train_step.js";

export interface GrpoOptions extends StageOptions {
  promptsPerStep: number;
  /** G: completions per prompt (>= 2). */
  G: number;
  /** mu: updates per rollout (default 1). The optimizer's totalSteps counts updates: steps * mu. */
  mu?: number;
  /** Options of the built-in loss (beta, epsilon, kl, aggregation ...). */
  grpo?: GrpoLossOptions;
  /** A custom loss instead of the built-in one. */
  loss?: LossFunction;
  /** Compute reference logprobs (default: beta > 0 with the built-in loss, false with a custom one). */
  referenceLogprobs?: boolean;
  advantages?: Omit<AdvantageOptions, "groupSize">;
  optimizer: OptimizerOptions;
  maxGradNorm?: number;
  microBatches?: number;
  rollout: { maxNewTokens: number; temperature: number; topK?: number; topP?: number; promptBucket?: number };
  /** Prompts longer than this keep their last tokens; train batches are padded to exactly this (one shape). */
  maxPromptLength?: number;
  /** Train on the first EOS token (default false). */
  trainOnEos?: boolean;
  /** Zero the mask of completions that never stopped (default false). */
  maskTruncated?: boolean;
  /** Greedy evaluation length (default rollout.maxNewTokens). */
  evalMaxNewTokens?: number;
  /** Prompts decoded at once in evaluation (default all). */
  evalBatchSize?: number;
  /** Evaluate by sampling with these settings instead of greedily (EvalOptions.sampling). */
  evalSampling?: { temperature: number; topK?: number; topP?: number };
  /** A second, sampled evaluation pass after the greedy one (EvalOptions.alsoSampled). */
  evalAlsoSampled?: { temperature: number; topK?: number; topP?: number };
  /** Train every weight instead of an adapter (TrainStepOptions.trainBase): the state's trainable tree, and so
   * `components.initialLora`, is the model's parameter tree, a copy of `components.base`, which stays frozen as the
   * KL reference. The rollout engine must generate from a parameter tree (fullParamsRollout). Default false. */
  trainBase?: boolean;
  /** Sample completions logged per step (default 2). */
  logSamples?: number;
  systemPrompt?: string;
  chunk?: number;
}

export interface GrpoComponents extends StageComponents {
  base: Gemma3Params<DeviceArray>;
  tokenizer: Tokenizer;
  rollout: RolloutEngine;
  rewards: RewardCombiner;
  evalTasks?: readonly Task[];
  device?: DeviceKind | Device;
}

const advantagesJit = jit((rewards: ArrayBase, options: AdvantageOptions) => groupAdvantages(rewards, options), { staticArgnums: [1], name: "group_advantages" });

function summary(values: readonly number[], name: string): Record<string, number> {
  const n = values.length;
  return {
    [`${name}/mean`]: n === 0 ? 0 : values.reduce((a, b) => a + b, 0) / n,
    [`${name}/min`]: n === 0 ? 0 : Math.min(...values),
    [`${name}/max`]: n === 0 ? 0 : Math.max(...values),
  };
}

const zeroStdJit = jit((rewards: ArrayBase, G: number) => fracRewardZeroStd(rewards, G), { staticArgnums: [1], name: "frac_reward_zero_std" });

export class GrpoTrainer {
  readonly trainStep: TrainStep;
  readonly device: Device;
  private readonly mu: number;
  private readonly withReference: boolean;
  private readonly advantageOptions: AdvantageOptions;
  tasks: TaskStream;
  readonly evaluate?: (state: TrainState) => Promise<EvalResult>;

  constructor(
    readonly options: GrpoOptions,
    readonly components: GrpoComponents,
  ) {
    this.device = getDevice(components.device);
    this.mu = options.mu ?? 1;
    if (!(Number.isInteger(this.mu) && this.mu >= 1)) throw new RangeError(`grpo: mu must be a positive integer, got ${this.mu}`);
    if (!(Number.isInteger(options.promptsPerStep) && options.promptsPerStep >= 1)) throw new RangeError(`grpo: promptsPerStep must be a positive integer, got ${options.promptsPerStep}`);
    const rows = options.promptsPerStep * options.G;
    if (rows % (options.microBatches ?? 1) !== 0) throw new RangeError(`grpo: ${rows} completions per step (promptsPerStep x G) do not split into ${options.microBatches} micro-batches`);
    this.advantageOptions = { ...options.advantages, groupSize: options.G };
    advantageConfig(this.advantageOptions); // validates G and the mode now, not at the first step
    this.withReference = options.referenceLogprobs ?? (options.loss === undefined ? grpoLossConfig(options.grpo).beta > 0 : false);
    this.trainStep = new TrainStep({
      model: components.model,
      lora: components.lora,
      ...(options.loss === undefined ? { grpo: options.grpo } : { loss: options.loss }),
      optimizer: options.optimizer,
      maxGradNorm: options.maxGradNorm,
      temperature: options.rollout.temperature,
      microBatches: options.microBatches,
      chunk: options.chunk,
      trainBase: options.trainBase,
      device: this.device,
    });
    this.tasks = components.tasks();
    if (components.evalTasks !== undefined && components.evalTasks.length > 0) this.evaluate = (state) => this.evaluateHeldOut(state);
  }

  /** Runs (or resumes) the whole GRPO stage. */
  run(): Promise<LoopResult> {
    return runStage("grpo", this.options, this.components, this);
  }

  /** Greedy accuracy and format compliance on the held-out tasks. */
  evaluateHeldOut(state: TrainState): Promise<EvalResult> {
    const { components: c, options: o } = this;
    return evaluate({
      tokenizer: c.tokenizer,
      rollout: c.rollout,
      lora: state.lora,
      tasks: c.evalTasks ?? [],
      maxNewTokens: o.evalMaxNewTokens ?? o.rollout.maxNewTokens,
      systemPrompt: o.systemPrompt,
      maxPromptLength: o.maxPromptLength,
      batchSize: o.evalBatchSize,
      ...(o.evalSampling === undefined ? {} : { sampling: o.evalSampling }),
      ...(o.evalAlsoSampled === undefined ? {} : { alsoSampled: o.evalAlsoSampled }),
    });
  }

  /** One rollout and its mu updates. */
  async step(step: number, initial: TrainState): Promise<StepOutcome> {
    const { components: c, options: o } = this;
    const { tokenizer } = c;
    const G = o.G;
    const started = performance.now();
    const tasks = Array.from({ length: o.promptsPerStep }, () => this.tasks.next());
    const prompts = tasks.map((task) => fitPrompt(encodePrompt(tokenizer, task, o.systemPrompt), o.maxPromptLength));
    const generation = await c.rollout.generate(initial.lora, {
      prompts,
      samplesPerPrompt: G,
      maxNewTokens: o.rollout.maxNewTokens,
      greedy: false,
      temperature: o.rollout.temperature,
      topK: o.rollout.topK,
      topP: o.rollout.topP,
      stopTokens: tokenizer.stopIds,
      seed: stepSeed(o.seed, step, 1),
    });
    const rolledOut = performance.now();

    const rows = tasks.flatMap((task, i) => Array.from({ length: G }, () => ({ task, prompt: prompts[i]! })));
    const texts = generation.tokens.map((tokens) => completionText(tokenizer, tokens, tokenizer.stopIds));
    const scored = c.rewards.score(rows.map((row, i) => ({ prompt: row.task.question, completion: texts[i]!, answer: row.task.answer })));
    const rewardArray = np.array(Float32Array.from(scored.total), { shape: [rows.length], device: this.device });
    const advantages = advantagesJit(rewardArray, this.advantageOptions) as DeviceArray;
    const zeroStd = zeroStdJit(rewardArray, G) as DeviceArray;
    rewardArray.dispose();
    const batch: Partial<TrainBatch<DeviceArray>> = { advantages };
    let state = initial;
    const sums: Record<string, number> = {};
    let skipped = 0;
    let prepared: number;
    let logprobsDone: number;
    let zeroStdFraction: number;
    // The rollout's arrays are freed however the step ends.
    try {
      Object.assign(batch, packBatch(
        rows.map((row) => row.prompt),
        generation.tokens,
        { promptBucket: o.maxPromptLength ?? o.rollout.promptBucket ?? 16, completionLength: o.rollout.maxNewTokens, padId: tokenizer.padId },
        { eosIds: tokenizer.stopIds, trainOnEos: o.trainOnEos ?? false, maskTruncated: o.maskTruncated ?? false },
        this.device,
      ));
      const full = batch as TrainBatch<DeviceArray>;
      await Promise.all([advantages.data(), full.mask.data()]); // rewards, advantages and the batch are ready
      prepared = performance.now();
      if (this.withReference) full.refLogp = this.trainStep.referenceLogprobs(c.base, full);
      if (this.mu > 1) full.oldLogp = this.trainStep.policyLogprobs(initial.lora, c.base, full);
      for (const array of [full.refLogp, full.oldLogp]) if (array !== undefined) await array.data();
      logprobsDone = performance.now();
      for (let iteration = 0; iteration < this.mu; iteration++) {
        const result = this.trainStep.step(state, c.base, full);
        state = result.state;
        const metrics = await this.trainStep.readMetrics(result.metrics);
        skipped += metrics.skipped!;
        for (const [name, value] of Object.entries(metrics)) sums[name] = (sums[name] ?? 0) + value;
      }
      zeroStdFraction = Number((await zeroStd.data())[0]);
    } catch (error) {
      // An update after the first failed: the loop only knows the state it passed in (donated by now).
      if (state !== initial) disposeArrays(state);
      throw error;
    } finally {
      disposeBatch(batch);
      zeroStd.dispose();
    }
    const updated = performance.now();

    const lengths = generation.tokens.map((tokens) => {
      const stop = tokens.findIndex((t) => tokenizer.stopIds.includes(t));
      return stop < 0 ? tokens.length : stop;
    });
    const generated = generation.tokens.reduce((sum, tokens) => sum + tokens.length, 0);
    const seconds = (updated - started) / 1000;
    const metrics: Record<string, number> = {
      ...Object.fromEntries(Object.entries(sums).map(([name, value]) => [name, name === "skipped" ? value : value / this.mu])),
      ...scored.metrics,
      frac_reward_zero_std: zeroStdFraction,
      ...summary(lengths, "completion_length"),
      terminated_fraction: generation.finished.filter(Boolean).length / generation.finished.length,
      "time/rollout_s": (rolledOut - started) / 1000,
      "time/rewards_s": (prepared - rolledOut) / 1000,
      "time/logprobs_s": (logprobsDone - prepared) / 1000,
      "time/update_s": (updated - logprobsDone) / 1000,
      "time/step_s": seconds,
      tokens_per_s: generated / seconds,
      rollout_tokens_per_s: generated / Math.max((rolledOut - started) / 1000, 1e-9),
    };
    const samples: LoggedSample[] = texts.slice(0, o.logSamples ?? 2).map((completion, i) => ({
      prompt: rows[i]!.task.question,
      completion,
      answer: rows[i]!.task.answer,
      reward: scored.total[i]!,
    }));
    return { state, metrics, skipped: skipped > 0, samples };
  }
}
