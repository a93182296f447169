// The two stages as entry points on a validated TrainConfig (src/train/config.ts): runSft and runGrpo build the
// model (a preset from its seed, or a Hugging Face folder), the tokenizer, the data, the run log under
// <run.dir>/<run.name>/, the checkpoint store and the compiled sampler, run the stage, and export the adapter and
// the merged weights at the end. `run.resumeFrom` continues a run of the same stage exactly (LoRA, optimizer
// state, step, sampling seed, data position, metrics log), or starts a stage from another stage's adapter (GRPO
// from SFT).
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Gemma3Config, preset } from "../../models/gemma3/config.js";
import { initParams } from "../../models/gemma3/init.js";
import type { Gemma3Params } from "../../models/gemma3/params.js";
import { loadModelDirectory } from "../../models/gemma3/weights.js";
import type { LoraConfig, LoraParams } from "../../models/lora.js";
import { CharTokenizer } from "../data/char_tokenizer.js";
import type { Dataset, Example } from "../data/example.js";
import { type DataPosition, DataIterator } from "../data/iterator.js";
import { loadDataSources } from "../data/source.js";
import { type Tokenizer, loadTokenizer } from "../data/tokenizer.js";
import { GrpoTrainer } from "../rl/grpo_trainer.js";
import { RewardCombiner, defaultRewards } from "../rl/rewards.js";
import { type EvalResult, type RolloutEngine, type Task, type TaskStream, exportModel, fullParamsRollout, samplerRollout } from "../rl/trainer_common.js";
import type { LoopResult, StageOptions } from "../rl/trainer_loop.js";
import { type CheckpointStore, directoryCheckpointStore, disposeArrays, isFullParamsCheckpoint, stateFromCheckpoint } from "../rl/trainer_state.js";
import { type OptimizerOptions, asTrainable, trainableParams } from "../rl/train_step.js";
import { saveModelDirectory } from "../../models/gemma3/weights.js";
import { copyParams } from "../../models/gemma3/init.js";
import { type DeviceArray } from "../runtime/array.js";
import { type Device, getDevice } from "../runtime/device.js";
import { loadCheckpoint } from "./checkpoint.js";
import type { TrainConfig } from "./config.js";
import { type MetricsSink, RunLog } from "./metrics.js";
import { SftTrainer } from "./sft_trainer.js";
import { writeCurves } from "./svg_chart.js";

/** Vocabularies up to this size get the character tokenizer (a model made for the built-in tasks). */
const CHARACTER_VOCAB_LIMIT = 4096;

export interface RunHooks {
  log?: (message: string) => void;
  /** More sinks besides the run log (a progress bar). */
  sinks?: readonly MetricsSink[];
  /** A generator in place of the compiled sampler. */
  rollout?: RolloutEngine;
}

/** A finished run: its step count, why it stopped, the last evaluation, and where it wrote the adapter and the merged
 * model. The trained adapter is read back from `adapterPath`: the run frees its device arrays before returning. */
export interface RunResult extends Omit<LoopResult, "state"> {
  runDir: string;
  /** null when the run trained every weight (`lora.enabled: false`): there is no adapter, only the model. */
  adapterPath: string | null;
  mergedDir: string;
}

interface Prepared {
  device: Device;
  model: Gemma3Config;
  base: Gemma3Params<DeviceArray>;
  tokenizer: Tokenizer;
  lora: LoraConfig;
  /** Full-parameter training (`lora.enabled: false`): the trainable tree is the model's parameters. */
  trainBase: boolean;
  runDir: string;
  runLog: RunLog;
  store: CheckpointStore;
  /** Same-stage checkpoint to continue. */
  resume: boolean;
  /** Another stage's adapter to start from. */
  initialLora?: LoraParams<DeviceArray>;
  train: Dataset<Example>;
  evalTasks: Task[];
  tasks: (position?: unknown) => TaskStream;
  stageOptions: StageOptions;
  /** The generator: the compiled sampler, prompts padded to maxPromptLength (one shape per run). */
  rollout: RolloutEngine;
  /** Write SVG curves of every logged metric at the end. */
  curves: boolean;
  log: (message: string) => void;
}

/** What a run allocated and releases however it ends: device arrays (base weights, a starting adapter, the final
 * state) and open logs. */
class Owned {
  private readonly trees: unknown[] = [];
  private readonly logs: { close(): void }[] = [];

  arrays<T>(tree: T): T {
    this.trees.push(tree);
    return tree;
  }

  log<T extends { close(): void }>(log: T): T {
    this.logs.push(log);
    return log;
  }

  /** Frees the arrays still live (a donated adapter is skipped) and closes the logs (closing twice is harmless). */
  release(): void {
    for (const tree of this.trees.splice(0)) disposeArrays(tree);
    for (const log of this.logs.splice(0)) log.close();
  }
}

async function prepare(config: TrainConfig, stage: "sft" | "grpo", hooks: RunHooks, owned: Owned): Promise<Prepared> {
  if (config.stage !== stage) throw new Error(`run${stage === "sft" ? "Sft" : "Grpo"}: the config is for stage ${config.stage}`);
  const log = hooks.log ?? ((message: string) => console.log(message));
  const device = getDevice(config.run.device);
  let model: Gemma3Config;
  let base: Gemma3Params<DeviceArray>;
  let tokenizerPath: string | undefined;
  if (config.model.dir !== null) {
    const loaded = await loadModelDirectory(config.model.dir, { device, weightsDtype: config.model.dtype });
    ({ config: model, params: base, tokenizerPath } = loaded);
    owned.arrays(base);
  } else {
    if (config.model.preset === null) throw new Error("model: set preset or dir");
    model = preset(config.model.preset as Parameters<typeof preset>[0]);
    base = owned.arrays(initParams(model, { seed: config.run.seed, device, weightsDtype: config.model.dtype }));
  }
  const tokenizer = tokenizerPath !== undefined ? await loadTokenizer(tokenizerPath) : model.vocabSize <= CHARACTER_VOCAB_LIMIT ? new CharTokenizer() : await loadTokenizer();
  if (tokenizer.vocabSize > model.vocabSize) throw new Error(`the tokenizer has ${tokenizer.vocabSize} ids, the model's vocabulary only ${model.vocabSize}`);
  const lora: LoraConfig = { rank: config.lora.rank, alpha: config.lora.alpha, targets: config.lora.targets };
  const trainBase = !config.lora.enabled;
  const runDir = join(config.run.dir, config.run.name);

  let resume = false;
  let initialLora: LoraParams<DeviceArray> | undefined;
  let resumeAt;
  let store = directoryCheckpointStore(runDir, { keep: config.checkpoint.keep });
  if (config.run.resumeFrom !== null) {
    const { manifest } = loadCheckpoint(config.run.resumeFrom);
    if (manifest.extra.kind === stage) {
      resume = true;
      const source = directoryCheckpointStore(config.run.resumeFrom);
      const into = store;
      store = { load: () => source.load(), save: (checkpoint) => into.save(checkpoint) };
      // Continuing this run's own log: cut it back to where the checkpoint was written.
      const from = resolve(config.run.resumeFrom);
      if (from === resolve(runDir) || from.startsWith(resolve(runDir, "checkpoints"))) resumeAt = manifest.metrics ?? undefined;
    } else {
      const checkpoint = await directoryCheckpointStore(config.run.resumeFrom).load();
      // Full-parameter GRPO keeps the loaded model as its frozen KL reference: started from another run's weights,
      // the reference would not be the policy it starts from.
      if (trainBase && stage === "grpo") {
        throw new Error(`${config.run.resumeFrom}: full-parameter GRPO starts from a model folder, not another stage's checkpoint: set model.dir to that run's export/model (the start and the frozen KL reference)`);
      }
      if (isFullParamsCheckpoint(checkpoint!) !== trainBase) {
        throw new Error(`${config.run.resumeFrom}: a ${String(manifest.extra.kind)} run that trained ${trainBase ? "an adapter" : "every weight"} cannot start this ${trainBase ? "full-parameter" : "LoRA"} run; start it from that run's export/model (model.dir) instead`);
      }
      // Another stage's optimizer moments do not carry over: only its adapter is kept.
      const state = stateFromCheckpoint(checkpoint!, model, lora, device, config.run.resumeFrom);
      disposeArrays(state.optimizer);
      initialLora = owned.arrays(state.lora);
      log(`${stage}: starting from the ${String(manifest.extra.kind)} adapter of ${config.run.resumeFrom} (step ${manifest.step})`);
    }
  }
  // A fresh full-parameter run trains a copy of the base weights in f32 (the base itself stays as loaded).
  if (trainBase && !resume && initialLora === undefined) initialLora = owned.arrays(asTrainable(copyParams(base)));
  mkdirSync(runDir, { recursive: true });
  const runLog = owned.log(new RunLog(runDir, { tensorboard: config.log.tensorboard, ...(resumeAt === undefined ? {} : { resumeAt }) }));

  const sources = await loadDataSources({ ...config.data, seed: config.run.seed });
  for (const [split, report] of Object.entries(sources.reports)) {
    if (report !== undefined && report.skipped > 0) log(`data: ${report.skipped} malformed ${split} rows skipped`);
  }
  const train = sources.train;
  const evalTasks = Array.from({ length: Math.min(sources.eval.size, config.data.evalSize) }, (_, i) => sources.eval.get(i));
  const tasks = (position?: unknown): TaskStream => {
    const iterator = new DataIterator(train, { shuffleSeed: config.run.seed, shuffle: config.data.shuffle, ...(position === undefined ? {} : { position: position as DataPosition }) });
    return { next: () => iterator.next(), get position() { return iterator.position; } };
  };
  const stageOptions: StageOptions = {
    seed: config.run.seed,
    steps: config.optim.steps,
    checkpointEvery: config.checkpoint.every,
    ...(config.eval.every > 0 ? { evalEvery: config.eval.every } : {}),
    evalAtStart: true,
    evalAtEnd: true,
    logEvery: config.log.every,
    ...(config.run.timeBudget === null ? {} : { timeBudgetSeconds: config.run.timeBudget }),
    marginSeconds: config.checkpoint.marginSeconds,
    resume,
  };
  const rolloutOptions = { seed: config.run.seed, device, promptBucket: config.sampling.maxPromptLength };
  return { device, model, base, tokenizer, lora, trainBase, runDir, runLog, store, resume, initialLora, train, evalTasks, tasks, stageOptions, curves: config.log.curves, log,
    rollout: hooks.rollout ?? (trainBase ? fullParamsRollout(model, rolloutOptions) : samplerRollout(model, base, lora, rolloutOptions)),
  };
}

function optimizerOptions(config: TrainConfig, updates: number): OptimizerOptions {
  const o = config.optim;
  return {
    lr: o.lr,
    warmupSteps: Math.floor(o.warmupFraction * updates),
    totalSteps: updates,
    decay: o.schedule,
    b1: o.b1,
    b2: o.b2,
    eps: o.eps,
    weightDecay: o.weightDecay,
  };
}

function rewardsOf(config: TrainConfig): RewardCombiner {
  const functions = defaultRewards().functions;
  const known = functions.map(({ fn }) => fn.name);
  for (const name of Object.keys(config.grpo.rewardWeights)) {
    if (!known.includes(name)) throw new Error(`grpo.rewardWeights: no reward function named '${name}' (known: ${known.join(", ")})`);
  }
  return new RewardCombiner(functions.map(({ fn }) => ({ fn, weight: config.grpo.rewardWeights[fn.name] ?? 1 })));
}

async function finish(p: Prepared, result: LoopResult): Promise<RunResult> {
  const mergedDir = join(p.runDir, "export", "model");
  const dtype = p.model.vocabSize <= CHARACTER_VOCAB_LIMIT ? "f32" : "bf16";
  let adapterPath: string | null = null;
  if (p.trainBase) {
    await saveModelDirectory(mergedDir, p.model, trainableParams(result.state.lora), { dtype });
  } else {
    adapterPath = join(p.runDir, "export", "adapter.safetensors");
    await exportModel(p.model, p.base, p.lora, result.state.lora, { adapterPath, mergedDir, dtype });
  }
  if (p.curves) writeCurves(join(p.runDir, "curves"), p.runLog.history);
  p.runLog.close();
  p.log(`${p.runDir}: ${result.step} steps (${result.stoppedBy}); ${adapterPath === null ? "" : `adapter ${adapterPath}, `}merged model ${mergedDir}`);
  const { state: _freed, ...loop } = result;
  return { ...loop, runDir: p.runDir, adapterPath, mergedDir };
}

/** Prepares a stage, runs it and exports its result, freeing everything the run allocated however it ends. */
async function runAndRelease(config: TrainConfig, stage: "sft" | "grpo", hooks: RunHooks, run: (p: Prepared) => Promise<LoopResult>): Promise<RunResult> {
  const owned = new Owned();
  try {
    const p = await prepare(config, stage, hooks, owned);
    const result = await run(p);
    owned.arrays(result.state);
    p.log(`${stage} done:${summaryOf(result.evaluation)}`);
    return await finish(p, result);
  } finally {
    owned.release();
  }
}

function summaryOf(evaluation: EvalResult | undefined): string {
  if (evaluation === undefined) return "";
  const { accuracy, formatCompliance, majorityBaseline, distinctQuestions, sampled } = evaluation;
  const extra = sampled === undefined ? "" : `; sampled: accuracy ${sampled.accuracy.toFixed(3)}, format ${sampled.formatCompliance.toFixed(3)}`;
  return ` accuracy ${accuracy.toFixed(3)} (majority-answer baseline ${majorityBaseline.toFixed(3)}, ${distinctQuestions} distinct questions), format ${formatCompliance.toFixed(3)}${extra}`;
}

/** `eval.greedy: false`: evaluations sample as the run's rollouts do (temperature, top-k, top-p); `eval.sampled`:
 * a greedy evaluation is followed by such a sampled pass. */
type EvalSampling = { temperature: number; topK?: number; topP?: number };

function evalSampling(config: TrainConfig): { evalSampling?: EvalSampling; evalAlsoSampled?: EvalSampling } {
  const s = config.sampling;
  const sampling: EvalSampling = { temperature: s.temperature, ...(s.topK > 0 ? { topK: s.topK } : {}), ...(s.topP < 1 ? { topP: s.topP } : {}) };
  if (!config.eval.greedy) return { evalSampling: sampling };
  return config.eval.sampled ? { evalAlsoSampled: sampling } : {};
}

/** Runs the SFT stage of a validated config (stage "sft"). */
export function runSft(config: TrainConfig, hooks: RunHooks = {}): Promise<RunResult> {
  return runAndRelease(config, "sft", hooks, (p) => new SftTrainer(
    {
      ...p.stageOptions,
      batchSize: config.optim.batchSize,
      optimizer: optimizerOptions(config, config.optim.steps),
      ...(config.optim.clip === null ? {} : { maxGradNorm: config.optim.clip }),
      microBatches: config.optim.gradAccumulation,
      trainBase: p.trainBase,
      maxCompletionTokens: config.sampling.maxCompletionLength,
      maxPromptLength: config.sampling.maxPromptLength,
      evalBatchSize: config.eval.batchSize,
      ...evalSampling(config),
    },
    {
      model: p.model, base: p.base, lora: p.lora, tokenizer: p.tokenizer, tasks: p.tasks, rollout: p.rollout, evalTasks: p.evalTasks,
      sinks: [p.runLog, ...(hooks.sinks ?? [])], store: p.store, metricsPointer: () => p.runLog.pointer(), device: p.device, log: p.log,
      ...(p.initialLora === undefined ? {} : { initialLora: p.initialLora }),
    },
  ).run());
}

/** Runs the GRPO stage of a validated config (stage "grpo"); `run.resumeFrom` may name an SFT run to start from. */
export function runGrpo(config: TrainConfig, hooks: RunHooks = {}): Promise<RunResult> {
  const g = config.grpo;
  return runAndRelease(config, "grpo", hooks, (p) => new GrpoTrainer(
    {
      ...p.stageOptions,
      promptsPerStep: config.optim.batchSize,
      G: g.G,
      mu: g.mu,
      grpo: {
        beta: g.beta,
        epsilon: g.epsilon,
        ...(g.epsilonHigh === null ? {} : { epsilonHigh: g.epsilonHigh }),
        ...(g.dualClip === null ? {} : { dualClip: g.dualClip }),
        kl: g.kl,
        aggregation: g.aggregation,
        maxLength: config.sampling.maxCompletionLength,
      },
      advantages: { mode: g.advantage, scale: g.scaleRewards, eps: g.advantageEps },
      optimizer: optimizerOptions(config, config.optim.steps * g.mu),
      ...(config.optim.clip === null ? {} : { maxGradNorm: config.optim.clip }),
      microBatches: config.optim.gradAccumulation,
      rollout: { maxNewTokens: config.sampling.maxCompletionLength, temperature: config.sampling.temperature, topK: config.sampling.topK, topP: config.sampling.topP },
      maxPromptLength: config.sampling.maxPromptLength,
      evalBatchSize: config.eval.batchSize,
      ...evalSampling(config),
      trainOnEos: g.trainOnEos,
      maskTruncated: g.maskTruncated,
      logSamples: config.log.samples,
      trainBase: p.trainBase,
    },
    {
      model: p.model, base: p.base, lora: p.lora, tokenizer: p.tokenizer, rollout: p.rollout, rewards: rewardsOf(config), tasks: p.tasks, evalTasks: p.evalTasks,
      sinks: [p.runLog, ...(hooks.sinks ?? [])], store: p.store, metricsPointer: () => p.runLog.pointer(), device: p.device, log: p.log,
      ...(p.initialLora === undefined ? {} : { initialLora: p.initialLora }),
    },
  ).run());
}
