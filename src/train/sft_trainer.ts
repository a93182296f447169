// The SFT run: LoRA fine-tuning on worked solutions in the answer format, with the cross-entropy of the completion
// tokens only (the prompt never counts, padding is masked; the closing <end_of_turn> is trained on so the model
// learns to stop). Same train step, optimizer, NaN skip, checkpoints, evaluation and time budget as GRPO; its
// adapter is what a following GRPO stage starts from.
import type { DeviceArray } from "../runtime/array.js";
import { type Device, type DeviceKind, getDevice } from "../runtime/device.js";
import type { Gemma3Config } from "../../models/gemma3/config.js";
import type { Gemma3Params } from "../../models/gemma3/params.js";
import type { Tokenizer } from "../data/tokenizer.js";
import { ANSWER_END, ANSWER_START, REASONING_END, REASONING_START } from "../rl/rewards.js";
import { type EvalResult, type RolloutEngine, type Task, type TaskStream, disposeBatch, encodePrompt, evaluate, fitPrompt, packBatch } from "../rl/trainer_common.js";
import { disposeArrays } from "../rl/trainer_state.js";
import { type LoopResult, type StageComponents, type StageOptions, type StepOutcome, runStage } from "../rl/trainer_loop.js";
import { type OptimizerOptions, TrainStep, type TrainState, sftLoss } from "../rl/train_step.js";

export interface SftOptions extends StageOptions {
  /** Examples per step. */
  batchSize: number;
  optimizer: OptimizerOptions;
  maxGradNorm?: number;
  microBatches?: number;
  /** C: completion tokens per example (longer solutions are cut; default 256). */
  maxCompletionTokens?: number;
  promptBucket?: number;
  /** Prompts longer than this keep their last tokens; batches are padded to exactly this (one shape). */
  maxPromptLength?: number;
  evalMaxNewTokens?: number;
  /** Prompts decoded at once in evaluation (default all). */
  evalBatchSize?: number;
  /** Evaluate by sampling with these settings instead of greedily (EvalOptions.sampling). */
  evalSampling?: { temperature: number; topK?: number; topP?: number };
  /** A second, sampled evaluation pass after the greedy one (EvalOptions.alsoSampled). */
  evalAlsoSampled?: { temperature: number; topK?: number; topP?: number };
  systemPrompt?: string;
  chunk?: number;
  /** Train every weight instead of an adapter (TrainStepOptions.trainBase): the state's trainable tree, and so
   * `components.initialLora`, is then the model's parameter tree (the caller's copy of the base). Default false. */
  trainBase?: boolean;
}

export interface SftComponents extends StageComponents {
  base: Gemma3Params<DeviceArray>;
  tokenizer: Tokenizer;
  /** The target completion of a task (default: `<reasoning>steps</reasoning><answer>n</answer>`). */
  completionOf?: (task: Task) => string;
  /** Greedy evaluation needs a generator and held-out tasks. */
  rollout?: RolloutEngine;
  evalTasks?: readonly Task[];
  device?: DeviceKind | Device;
}

/** The answer-format completion of a task with a worked solution. */
export function formatTarget(task: Task): string {
  if (task.reasoning === undefined || task.reasoning.trim() === "") throw new Error(`sft: task ${task.id} has no worked solution (reasoning) to train on`);
  return `${REASONING_START}${task.reasoning}${REASONING_END}${ANSWER_START}${task.answer}${ANSWER_END}`;
}

export class SftTrainer {
  readonly trainStep: TrainStep;
  readonly device: Device;
  tasks: TaskStream;
  readonly evaluate?: (state: TrainState) => Promise<EvalResult>;
  private readonly endOfTurn: number;

  constructor(
    readonly options: SftOptions,
    readonly components: SftComponents,
  ) {
    this.device = getDevice(components.device);
    if (!(Number.isInteger(options.batchSize) && options.batchSize >= 1)) throw new RangeError(`sft: batchSize must be a positive integer, got ${options.batchSize}`);
    if (options.batchSize % (options.microBatches ?? 1) !== 0) throw new RangeError(`sft: batchSize ${options.batchSize} does not split into ${options.microBatches} micro-batches`);
    const endOfTurn = components.tokenizer.specialId("<end_of_turn>");
    if (endOfTurn === undefined) throw new Error("sft: the tokenizer has no <end_of_turn> token to end the target completions with");
    this.endOfTurn = endOfTurn;
    this.trainStep = new TrainStep({
      model: components.model,
      lora: components.lora,
      loss: sftLoss,
      optimizer: options.optimizer,
      maxGradNorm: options.maxGradNorm,
      microBatches: options.microBatches,
      chunk: options.chunk,
      trainBase: options.trainBase,
      device: this.device,
    });
    this.tasks = components.tasks();
    const rollout = components.rollout;
    if (rollout !== undefined && components.evalTasks !== undefined && components.evalTasks.length > 0) {
      this.evaluate = (state) =>
        evaluate({
          tokenizer: components.tokenizer,
          rollout,
          lora: state.lora,
          tasks: components.evalTasks ?? [],
          maxNewTokens: options.evalMaxNewTokens ?? options.maxCompletionTokens ?? 256,
          systemPrompt: options.systemPrompt,
          maxPromptLength: options.maxPromptLength,
          batchSize: options.evalBatchSize,
          ...(options.evalSampling === undefined ? {} : { sampling: options.evalSampling }),
          ...(options.evalAlsoSampled === undefined ? {} : { alsoSampled: options.evalAlsoSampled }),
        });
    }
  }

  run(): Promise<LoopResult> {
    return runStage("sft", this.options, this.components, this);
  }

  /** The prompt and target completion tokens of a task (the completion ends with <end_of_turn>). */
  encode(task: Task): { prompt: number[]; completion: number[] } {
    const { tokenizer } = this.components;
    const target = (this.components.completionOf ?? formatTarget)(task);
    return {
      prompt: fitPrompt(encodePrompt(tokenizer, task, this.options.systemPrompt), this.options.maxPromptLength),
      completion: [...tokenizer.encode(target, { addBos: false }), this.endOfTurn],
    };
  }

  async step(_step: number, state: TrainState): Promise<StepOutcome> {
    const { components: c, options: o } = this;
    const started = performance.now();
    const examples = Array.from({ length: o.batchSize }, () => this.encode(this.tasks.next()));
    const C = o.maxCompletionTokens ?? 256;
    const batch = packBatch(
      examples.map((e) => e.prompt),
      examples.map((e) => e.completion),
      { promptBucket: o.maxPromptLength ?? o.promptBucket ?? 16, completionLength: C, padId: c.tokenizer.padId },
      // Train on the closing <end_of_turn> (and an <eos>, should a solution contain one): the model must learn to stop.
      { eosIds: [this.endOfTurn], trainOnEos: true, maskTruncated: false },
      this.device,
    );
    let result: { state: TrainState; metrics: DeviceArray } | undefined;
    let metrics: Record<string, number>;
    try {
      result = this.trainStep.step(state, c.base, batch);
      metrics = await this.trainStep.readMetrics(result.metrics);
    } catch (error) {
      // The loop only knows the state it passed in, which the update took.
      if (result !== undefined) disposeArrays(result.state);
      throw error;
    } finally {
      disposeBatch(batch);
    }
    const seconds = (performance.now() - started) / 1000;
    const trained = examples.reduce((sum, e) => sum + Math.min(e.completion.length, C), 0);
    const truncated = examples.filter((e) => e.completion.length > C).length;
    return {
      state: result.state,
      metrics: { ...metrics, "time/step_s": seconds, tokens_per_s: trained / seconds, truncated_fraction: truncated / examples.length },
      skipped: metrics.skipped === 1,
    };
  }
}
