// The SFT run: LoRA fine-tuning on worked solutions in the answer format, with the cross-entropy of the completion
// tokens only (the prompt never counts, padding is masked; the closing <end_of_turn> is trained on so the model
// learns to stop). Same train step, optimizer, NaN skip, checkpoints, evaluation and time budget as GRPO; its
// adapter is what a following GRPO stage starts from.
import type { DeviceArray } from "../runtime/array.js";
import { type Device, type DeviceKind, getDevice } from "../runtime/device.js";
import type { Gemma3Config } from "../../models/gemma3/config.js";
import type { Gemma3Params } from "../../models/gemma3/params.js";
import { type LoraConfig, type LoraParams, initLora } from "../../models/lora.js";
import type { Tokenizer } from "../data/tokenizer.js";
import type { TaskStream } from "../rl/grpo_trainer.js";
import { ANSWER_END, ANSWER_START, REASONING_END, REASONING_START } from "../rl/rewards.js";
import { type EvalResult, type MetricsSink, type RolloutEngine, type Task, disposeBatch, encodePrompt, evaluate, packBatch } from "../rl/trainer_common.js";
import { type LoopResult, type StepOutcome, runLoop } from "../rl/trainer_loop.js";
import type { CheckpointStore } from "../rl/trainer_state.js";
import { type OptimizerOptions, TrainStep, type TrainState, sftLoss } from "../rl/train_step.js";

export interface SftOptions {
  seed: number;
  steps: number;
  /** Examples per step. */
  batchSize: number;
  optimizer: OptimizerOptions;
  maxGradNorm?: number;
  microBatches?: number;
  /** C: completion tokens per example (longer solutions are cut; default 256). */
  maxCompletionTokens?: number;
  promptBucket?: number;
  checkpointEvery?: number;
  evalEvery?: number;
  evalAtStart?: boolean;
  evalMaxNewTokens?: number;
  timeBudgetMs?: number;
  maxConsecutiveNaN?: number;
  systemPrompt?: string;
  chunk?: number;
  resume?: boolean;
}

export interface SftComponents {
  model: Gemma3Config;
  base: Gemma3Params<DeviceArray>;
  lora: LoraConfig;
  initialLora?: LoraParams<DeviceArray>;
  tokenizer: Tokenizer;
  /** Tasks with worked solutions (`reasoning`), from the start or from a saved position. */
  tasks: (position?: unknown) => TaskStream;
  /** The target completion of a task (default: `<reasoning>steps</reasoning><answer>n</answer>`). */
  completionOf?: (task: Task) => string;
  /** Greedy evaluation needs a generator and held-out tasks. */
  rollout?: RolloutEngine;
  evalTasks?: readonly Task[];
  sinks: readonly MetricsSink[];
  store?: CheckpointStore;
  device?: DeviceKind | Device;
  log?: (message: string) => void;
}

/** The answer-format completion of a task with a worked solution. */
export function formatTarget(task: Task): string {
  if (task.reasoning === undefined || task.reasoning.trim() === "") throw new Error(`sft: task ${task.id} has no worked solution (reasoning) to train on`);
  return `${REASONING_START}${task.reasoning}${REASONING_END}${ANSWER_START}${task.answer}${ANSWER_END}`;
}

export class SftTrainer {
  readonly trainStep: TrainStep;
  readonly device: Device;
  private tasks: TaskStream;
  private readonly endOfTurn: number;

  constructor(
    readonly options: SftOptions,
    readonly components: SftComponents,
  ) {
    this.device = getDevice(components.device);
    if (!(Number.isInteger(options.batchSize) && options.batchSize >= 1)) throw new RangeError(`sft: batchSize must be a positive integer, got ${options.batchSize}`);
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
      device: this.device,
    });
    this.tasks = components.tasks();
  }

  run(): Promise<LoopResult> {
    const { components: c, options: o } = this;
    const canEvaluate = c.rollout !== undefined && c.evalTasks !== undefined && c.evalTasks.length > 0;
    return runLoop(
      {
        kind: "sft",
        seed: o.seed,
        steps: o.steps,
        checkpointEvery: o.checkpointEvery,
        evalEvery: o.evalEvery,
        evalAtStart: o.evalAtStart,
        timeBudgetMs: o.timeBudgetMs,
        maxConsecutiveNaN: o.maxConsecutiveNaN,
        resume: o.resume,
      },
      {
        model: c.model,
        lora: c.lora,
        device: this.device,
        sinks: c.sinks,
        store: c.store,
        log: c.log,
        initialState: () => this.trainStep.initState(c.initialLora ?? initLora(c.model, c.lora, { seed: o.seed, device: this.device })),
        step: (step, state) => this.step(step, state),
        ...(canEvaluate ? { evaluate: (state: TrainState) => this.evaluate(state) } : {}),
        dataPosition: () => this.tasks.position,
        restoreData: (position) => (this.tasks = c.tasks(position)),
      },
    );
  }

  evaluate(state: TrainState): Promise<EvalResult> {
    const { components: c, options: o } = this;
    if (c.rollout === undefined) throw new Error("sft: evaluation needs a rollout engine");
    return evaluate({
      tokenizer: c.tokenizer,
      rollout: c.rollout,
      lora: state.lora,
      tasks: c.evalTasks ?? [],
      maxNewTokens: o.evalMaxNewTokens ?? o.maxCompletionTokens ?? 256,
      systemPrompt: o.systemPrompt,
    });
  }

  /** The prompt and target completion tokens of a task (the completion ends with <end_of_turn>). */
  encode(task: Task): { prompt: number[]; completion: number[] } {
    const { tokenizer } = this.components;
    const target = (this.components.completionOf ?? formatTarget)(task);
    return {
      prompt: encodePrompt(tokenizer, task, this.options.systemPrompt),
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
      { promptBucket: o.promptBucket ?? 16, completionLength: C, padId: c.tokenizer.padId },
      // Train on the closing <end_of_turn> (and an <eos>, should a solution contain one): the model must learn to stop.
      { eosIds: [this.endOfTurn], trainOnEos: true, maskTruncated: false },
      this.device,
    );
    const result = this.trainStep.step(state, c.base, batch);
    const metrics = await this.trainStep.readMetrics(result.metrics);
    disposeBatch(batch);
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
