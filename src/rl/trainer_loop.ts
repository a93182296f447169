// The loop both trainers run: resume from the latest checkpoint, step until the step count or the wall-clock budget
// ends, write every step's metrics and sample completions to the sinks, evaluate every N steps, checkpoint every N
// steps, before the budget runs out and at the end, and stop with a clear message after repeated non-finite
// updates (saving first, so nothing is lost).
import type { Gemma3Config } from "../../models/gemma3/config.js";
import { type LoraConfig, type LoraParams, initLora } from "../../models/lora.js";
import type { DeviceArray } from "../runtime/array.js";
import type { Device } from "../runtime/device.js";
import type { MetricsPointer, MetricsSink } from "../train/metrics.js";
import { WallClockBudget } from "../train/budget.js";
import { type EvalResult, type LoggedSample, NanGuard, type TaskStream, TrainingDivergedError, writeAll, writeSamples } from "./trainer_common.js";
import { type CheckpointStore, checkpointOf, disposeArrays, stateFromCheckpoint } from "./trainer_state.js";
import type { TrainStep, TrainState } from "./train_step.js";

export interface LoopOptions {
  kind: "grpo" | "sft";
  seed: number;
  /** Trainer steps in the whole run (a resumed run continues to this count). */
  steps: number;
  /** Save every N steps (default: only before the budget ends and at the end). */
  checkpointEvery?: number;
  /** Evaluate every N steps (default never). */
  evalEvery?: number;
  /** Evaluate before the first step too (default false). */
  evalAtStart?: boolean;
  /** Evaluate after the last step when that step was not an evaluation step (default false). */
  evalAtEnd?: boolean;
  /** Write metrics every N steps (default 1). */
  logEvery?: number;
  /** Wall-clock budget of this process in seconds (a hosted session's limit; default none). */
  timeBudgetSeconds?: number;
  /** Stop (and save) when the next step would end closer than this to the budget (default 120 s). */
  marginSeconds?: number;
  /** Stop after this many consecutive non-finite updates (default 5). */
  maxConsecutiveNaN?: number;
  /** Continue from the store's latest checkpoint (an error when there is none). */
  resume?: boolean;
}

export interface StepOutcome {
  state: TrainState;
  metrics: Record<string, number>;
  /** Whether the update was skipped for a non-finite loss or gradient norm (any of the step's updates). */
  skipped: boolean;
  samples?: LoggedSample[];
}

export interface LoopHooks {
  model: Gemma3Config;
  lora: LoraConfig;
  device: Device;
  sinks: readonly MetricsSink[];
  store?: CheckpointStore;
  log?: (message: string) => void;
  /** The state of a fresh run. */
  initialState(): TrainState;
  step(step: number, state: TrainState): Promise<StepOutcome>;
  evaluate?(state: TrainState): Promise<EvalResult>;
  /** Where the run's metrics log stands, saved with each checkpoint (RunLog.pointer). */
  metricsPointer?(): MetricsPointer;
  /** The data position to save, and to restore on resume. */
  dataPosition(): unknown;
  restoreData(position: unknown): void;
}

export interface LoopResult {
  /** The final adapter and optimizer state, now the caller's to free (rl.disposeArrays). */
  state: TrainState;
  /** Steps completed. */
  step: number;
  stoppedBy: "steps" | "time budget";
  /** The last evaluation, when there was one. */
  evaluation?: EvalResult;
}

async function logEvaluation(hooks: LoopHooks, step: number, state: TrainState): Promise<EvalResult | undefined> {
  if (hooks.evaluate === undefined) return undefined;
  const started = Date.now();
  const result = await hooks.evaluate(state);
  await writeAll(hooks.sinks, step, {
    "eval/accuracy": result.accuracy,
    "eval/format_compliance": result.formatCompliance,
    "eval/majority_baseline": result.majorityBaseline,
    "eval/distinct_questions": result.distinctQuestions,
    ...(result.sampled === undefined ? {} : { "eval/sampled_accuracy": result.sampled.accuracy, "eval/sampled_format_compliance": result.sampled.formatCompliance }),
    "eval/time_s": (Date.now() - started) / 1000,
  });
  await writeSamples(hooks.sinks, step, "samples/eval", result.samples.slice(0, 4));
  return result;
}

export async function runLoop(options: LoopOptions, hooks: LoopHooks): Promise<LoopResult> {
  const log = hooks.log ?? ((message: string) => console.log(message));
  if (!(Number.isInteger(options.steps) && options.steps >= 0)) throw new RangeError(`steps must be an integer >= 0, got ${options.steps}`);
  for (const name of ["checkpointEvery", "evalEvery", "logEvery"] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  const guard = new NanGuard(options.maxConsecutiveNaN ?? 5, (message) => log(message));
  let state: TrainState;
  let step = 0;
  if (options.resume) {
    if (hooks.store === undefined) throw new Error("resume: the run has no checkpoint store (set an output directory)");
    const checkpoint = await hooks.store.load();
    if (checkpoint === undefined) throw new Error("resume: no checkpoint found to resume from");
    if (checkpoint.kind !== options.kind) throw new Error(`resume: the checkpoint is from a ${checkpoint.kind} run, this is a ${options.kind} run`);
    if (checkpoint.seed !== options.seed) throw new Error(`resume: the checkpoint was written with seed ${checkpoint.seed}, this run has seed ${options.seed}`);
    hooks.restoreData(checkpoint.data);
    guard.restore(Number(checkpoint.extra.nanStreak ?? 0));
    state = stateFromCheckpoint(checkpoint, hooks.model, hooks.lora, hooks.device, "resume");
    step = checkpoint.step;
    log(`resumed ${options.kind} at step ${step}`);
  } else {
    state = hooks.initialState();
  }
  // Until the run returns its state, the run owns it: a failed run frees it (arrays an update took are skipped).
  try {
    const budget = new WallClockBudget({ budget: options.timeBudgetSeconds ?? null, marginSeconds: options.marginSeconds });
    const save = async () => {
      if (hooks.store === undefined) return;
      const checkpoint = await checkpointOf(state, {
        kind: options.kind,
        step,
        seed: options.seed,
        data: hooks.dataPosition(),
        extra: { nanStreak: guard.consecutive },
        metrics: hooks.metricsPointer?.() ?? null,
      });
      for (const sink of hooks.sinks) sink.flush();
      await hooks.store.save(checkpoint);
    };

    let evaluation: EvalResult | undefined;
    if (options.evalAtStart && step === 0) evaluation = await logEvaluation(hooks, 0, state);
    let stoppedBy: LoopResult["stoppedBy"] = "steps";
    let savedAt = -1;
    let evaluatedAt = options.evalAtStart && step === 0 ? 0 : -1;
    while (step < options.steps) {
      if (budget.outOfTime()) {
        stoppedBy = "time budget";
        log(`time budget: stopping after step ${step} and saving`);
        break;
      }
      const outcome = await hooks.step(step, state);
      state = outcome.state;
      step++;
      budget.stepDone();
      if (step % (options.logEvery ?? 1) === 0 || outcome.skipped) await writeAll(hooks.sinks, step, outcome.metrics);
      if (step % (options.logEvery ?? 1) === 0 && outcome.samples !== undefined && outcome.samples.length > 0) await writeSamples(hooks.sinks, step, "samples/train", outcome.samples);
      try {
        guard.record(step, outcome.skipped, outcome.metrics.loss ?? Number.NaN, outcome.metrics.gradNorm ?? Number.NaN);
      } catch (error) {
        if (error instanceof TrainingDivergedError) await save();
        throw error;
      }
      if (options.checkpointEvery !== undefined && step % options.checkpointEvery === 0) {
        await save();
        savedAt = step;
      }
      if (options.evalEvery !== undefined && step % options.evalEvery === 0) {
        evaluation = await logEvaluation(hooks, step, state);
        evaluatedAt = step;
      }
    }
    if (savedAt !== step) await save();
    if (options.evalAtEnd && evaluatedAt !== step) evaluation = await logEvaluation(hooks, step, state);
    return { state, step, stoppedBy, ...(evaluation === undefined ? {} : { evaluation }) };
  } catch (error) {
    disposeArrays(state);
    throw error;
  }
}

/** The loop settings both trainers take. */
export type StageOptions = Omit<LoopOptions, "kind">;

/** The components both trainers take. */
export interface StageComponents {
  model: Gemma3Config;
  lora: LoraConfig;
  /** The adapter to start from (a previous stage's result); a fresh one from the seed when absent. A fresh run takes
   * it over: the first update donates it, and a run that fails before that frees it. */
  initialLora?: LoraParams<DeviceArray>;
  /** Training tasks, from the start or from a saved position. */
  tasks: (position?: unknown) => TaskStream;
  sinks: readonly MetricsSink[];
  store?: CheckpointStore;
  /** The run log's position, saved with each checkpoint (RunLog.pointer). */
  metricsPointer?: () => MetricsPointer;
  log?: (message: string) => void;
}

/** A trainer as the stage loop drives it. */
export interface StageTrainer {
  readonly device: Device;
  readonly trainStep: TrainStep;
  step(step: number, state: TrainState): Promise<StepOutcome>;
  /** Present when the trainer can evaluate (held-out tasks and a generator). */
  evaluate?: (state: TrainState) => Promise<EvalResult>;
  /** The task stream in use; replaced on resume. */
  tasks: TaskStream;
}

/** Runs (or resumes) one stage with its trainer. */
export function runStage(kind: LoopOptions["kind"], options: StageOptions, components: StageComponents, trainer: StageTrainer): Promise<LoopResult> {
  const c = components;
  return runLoop(
    { ...options, kind },
    {
      model: c.model,
      lora: c.lora,
      device: trainer.device,
      sinks: c.sinks,
      store: c.store,
      log: c.log,
      ...(c.metricsPointer === undefined ? {} : { metricsPointer: c.metricsPointer }),
      initialState: () => trainer.trainStep.initState(c.initialLora ?? initLora(c.model, c.lora, { seed: options.seed, device: trainer.device })),
      step: (step, state) => trainer.step(step, state),
      ...(trainer.evaluate === undefined ? {} : { evaluate: trainer.evaluate }),
      dataPosition: () => trainer.tasks.position,
      restoreData: (position) => (trainer.tasks = c.tasks(position)),
    },
  );
}
