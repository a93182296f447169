// What the GRPO and SFT loops share: prompts in the chat format, host token lists packed into the train step's
// padded device batches (with the compiled completion mask), the rollout and metrics-sink contracts, greedy
// evaluation (accuracy and format compliance), the NaN streak, the wall-clock budget, and export.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { ArrayBase } from "../core/array_base.js";
import * as np from "../lib/np.js";
import type { DeviceArray } from "../runtime/array.js";
import type { Device, DeviceKind } from "../runtime/device.js";
import { jit } from "../transforms/jit.js";
import type { Gemma3Config } from "../../models/gemma3/config.js";
import type { Gemma3Params } from "../../models/gemma3/params.js";
import { saveLoraAdapter, saveModelDirectory } from "../../models/gemma3/weights.js";
import { type LoraApplication, type LoraConfig, type LoraParams, mergeLora } from "../../models/lora.js";
import { type GenerateOptions, Sampler } from "../../models/gemma3/sampler.js";
import { encodeChat } from "../data/chat.js";
import type { Tokenizer } from "../data/tokenizer.js";
import type { MetricsSink } from "../train/metrics.js";
import { completionMask } from "./masks.js";
import { extractAnswer, parseExactFormat, parseNumber } from "./rewards.js";
import { type TrainBatch, trainableParams } from "./train_step.js";

/** The instruction every prompt starts with: the answer format the rewards check. */
export const DEFAULT_SYSTEM_PROMPT =
  "Think about the problem step by step. Write your reasoning between <reasoning> and </reasoning>, then the final " +
  "answer alone between <answer> and </answer>.";

/** A task the loops train and evaluate on (the data sources' Example has these fields). */
export interface Task {
  id: string;
  question: string;
  answer: string;
  reasoning?: string;
}

/** A source of training tasks whose position can be saved and restored (the data iterator). */
export interface TaskStream {
  next(): Task;
  readonly position: unknown;
}

/** The chat-formatted prompt of a task: one user turn (system text first), then the model turn's opening. */
export function encodePrompt(tokenizer: Tokenizer, task: Task, systemPrompt = DEFAULT_SYSTEM_PROMPT): number[] {
  return encodeChat(tokenizer, [
    { role: "system", content: systemPrompt },
    { role: "user", content: task.question },
  ]);
}

/** A prompt cut to its last `maxLength` tokens when longer (the end holds the question and the model-turn opening). */
export function fitPrompt(tokens: number[], maxLength: number | undefined): number[] {
  return maxLength === undefined || tokens.length <= maxLength ? tokens : tokens.slice(tokens.length - maxLength);
}

// --- rollouts ----------------------------------------------------------------------------------------------------

export interface RolloutRequest {
  /** Prompt token ids, one row per prompt; each is repeated samplesPerPrompt times, contiguously. */
  prompts: number[][];
  samplesPerPrompt: number;
  maxNewTokens: number;
  greedy: boolean;
  temperature: number;
  topK?: number;
  topP?: number;
  stopTokens: readonly number[];
  /** The draw's seed: the loop passes one derived from (run seed, step), so a resumed run draws the same. */
  seed: number;
}

export interface RolloutResult {
  /** Per row: the drawn tokens, through the stop token when one was drawn. */
  tokens: number[][];
  /** Whether the row drew a stop token. */
  finished: boolean[];
}

/** Generates completions under the adapter as it is now (the compiled sampler, or any other generator). */
export interface RolloutEngine {
  generate(lora: LoraParams<DeviceArray>, request: RolloutRequest): Promise<RolloutResult>;
}

export interface SamplerRolloutOptions {
  seed: number;
  device?: DeviceKind | Device;
  promptBucket?: number;
  cacheDtype?: "f32" | "bf16";
}

/**
 * The compiled sampler (models/gemma3/sampler.ts) as a rollout engine: one Sampler for the whole run, so its
 * prefill and decode graphs compile once per shape, with the adapter swapped in before each call (the train step
 * donates the previous one). Its key is the run seed with the request's per-call seed folded in
 * (GenerateOptions.seed), so a resumed run draws exactly the samples of an uninterrupted one.
 */
export function samplerRollout(model: Gemma3Config, base: Gemma3Params<DeviceArray>, loraConfig: LoraConfig, options: SamplerRolloutOptions): RolloutEngine {
  let holder: LoraApplication<DeviceArray> | undefined;
  let sampler: Sampler | undefined;
  return {
    async generate(lora, request) {
      if (holder === undefined) holder = { lora, config: loraConfig };
      holder.lora = lora;
      sampler ??= new Sampler(model, base, { device: options.device, seed: options.seed, lora: holder, promptBucket: options.promptBucket, cacheDtype: options.cacheDtype });
      return runSampler(sampler, request);
    },
  };
}

/** The compiled sampler for full-parameter training: the state's trainable tree is the model's weights
 * (TrainStepOptions.trainBase), swapped in before each call (the train step donates the previous ones). */
export function fullParamsRollout(model: Gemma3Config, options: SamplerRolloutOptions): RolloutEngine {
  let sampler: Sampler | undefined;
  return {
    async generate(trainable, request) {
      const params = trainableParams(trainable);
      sampler ??= new Sampler(model, params, { device: options.device, seed: options.seed, promptBucket: options.promptBucket, cacheDtype: options.cacheDtype });
      sampler.params = params;
      return runSampler(sampler, request);
    },
  };
}

async function runSampler(sampler: Sampler, request: RolloutRequest): Promise<RolloutResult> {
  const generateOptions: GenerateOptions = {
    maxNewTokens: request.maxNewTokens,
    samplesPerPrompt: request.samplesPerPrompt,
    greedy: request.greedy,
    temperature: request.temperature,
    ...(request.topK !== undefined && request.topK > 0 ? { topK: request.topK } : {}),
    ...(request.topP !== undefined && request.topP < 1 ? { topP: request.topP } : {}),
    stopTokens: request.stopTokens,
    seed: request.seed,
  };
  const generation = await sampler.generate(request.prompts, generateOptions);
  return { tokens: generation.tokens, finished: generation.finished };
}

/** A step's seed from the run's seed, the step and a stream tag (distinct streams for training and evaluation). */
export function stepSeed(seed: number, step: number, stream: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const v of [step, stream]) {
    h = Math.imul(h ^ (v >>> 0), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h & 0x7fffffff;
}

// --- metrics (the sinks are src/train/metrics.ts's: the run log, TensorBoard, memory) ----------------------------

export interface LoggedSample {
  prompt: string;
  completion: string;
  answer?: string;
  reward?: number;
}

export async function writeAll(sinks: readonly MetricsSink[], step: number, metrics: Record<string, number>): Promise<void> {
  for (const sink of sinks) sink.scalars(step, metrics);
}

/** Sample completions go to each sink's text log as one JSON object per sample, tagged `samples/<kind>`. */
export async function writeSamples(sinks: readonly MetricsSink[], step: number, tag: string, samples: readonly LoggedSample[]): Promise<void> {
  for (const sink of sinks) for (const sample of samples) sink.text(step, tag, JSON.stringify(sample));
}

/** Keeps everything in memory (tests, and callers that post-process a run). */
export class MemorySink implements MetricsSink {
  readonly rows: { step: number; metrics: Record<string, number> }[] = [];
  readonly texts: { step: number; tag: string; text: string }[] = [];
  scalars(step: number, values: Record<string, number>): void {
    this.rows.push({ step, metrics: { ...values } });
  }
  text(step: number, tag: string, text: string): void {
    this.texts.push({ step, tag, text });
  }
  /** The logged samples with one tag. */
  samples(tag: string): { step: number; sample: LoggedSample }[] {
    return this.texts.filter((t) => t.tag === tag).map((t) => ({ step: t.step, sample: JSON.parse(t.text) as LoggedSample }));
  }
  flush(): void {}
  close(): void {}
}

// --- batches ------------------------------------------------------------------------------------------------------

export interface BatchShape {
  /** Prompt lengths are padded up to a multiple of this. */
  promptBucket: number;
  /** C: completions are padded (or cut) to this many tokens. */
  completionLength: number;
  padId: number;
}

export interface MaskOptions {
  eosIds: readonly number[];
  trainOnEos: boolean;
  maskTruncated: boolean;
}

const maskJit = jit((completions: ArrayBase, options: MaskOptions) => completionMask(completions, options), { staticArgnums: [1], name: "completion_mask" });

/** Packs prompts (left-padded) and completions (right-padded) into a TrainBatch on `device`, with the compiled
 * completion mask. Rows of `prompts` and `completions` correspond one to one. */
export function packBatch(prompts: readonly (readonly number[])[], completions: readonly (readonly number[])[], shape: BatchShape, mask: MaskOptions, device: Device): TrainBatch<DeviceArray> {
  if (prompts.length !== completions.length || prompts.length === 0) {
    throw new RangeError(`packBatch: ${prompts.length} prompts and ${completions.length} completions (need as many of each, at least one)`);
  }
  const S = prompts.length;
  const longest = Math.max(...prompts.map((p) => p.length));
  if (longest === 0) throw new RangeError("packBatch: every prompt needs at least one token");
  const P = Math.ceil(longest / shape.promptBucket) * shape.promptBucket;
  const C = shape.completionLength;
  const promptIds = new Int32Array(S * P).fill(shape.padId);
  const promptValid = new Uint8Array(S * P);
  const completionIds = new Int32Array(S * C).fill(shape.padId);
  prompts.forEach((prompt, s) => {
    if (prompt.length === 0) throw new RangeError(`packBatch: prompt ${s} is empty`);
    prompt.forEach((token, i) => {
      promptIds[s * P + P - prompt.length + i] = token;
      promptValid[s * P + P - prompt.length + i] = 1;
    });
  });
  completions.forEach((completion, s) => completion.slice(0, C).forEach((token, i) => (completionIds[s * C + i] = token)));
  const completionArray = np.array(completionIds, { shape: [S, C], device });
  return {
    prompts: np.array(promptIds, { shape: [S, P], device }),
    promptMask: np.array(promptValid, { dtype: "bool", shape: [S, P], device }),
    completions: completionArray,
    mask: maskJit(completionArray, { eosIds: [...mask.eosIds], trainOnEos: mask.trainOnEos, maskTruncated: mask.maskTruncated }),
  };
}

/** Frees every array of a batch. */
export function disposeBatch(batch: Partial<TrainBatch<DeviceArray>>): void {
  for (const array of Object.values(batch)) if (array !== undefined && !array.isDisposed && !array.isConsumed) array.dispose();
}

/** Decoded completion text: the tokens before the first stop token, special tokens left out. A model whose
 * vocabulary is larger than the tokenizer's (padded embedding tables) can draw ids the tokenizer does not know;
 * they are dropped rather than stopping the run, as the rewards score whatever text remains. */
export function completionText(tokenizer: Tokenizer, tokens: readonly number[], stopTokens: readonly number[]): string {
  const stop = tokens.findIndex((t) => stopTokens.includes(t));
  const kept = (stop < 0 ? tokens : tokens.slice(0, stop)).filter((t) => Number.isInteger(t) && t >= 0 && t < tokenizer.vocabSize);
  return tokenizer.decode(kept, { skipSpecial: true });
}

// --- evaluation ---------------------------------------------------------------------------------------------------

/** Whether a completion's answer equals the reference: numerically when both parse as numbers, else as trimmed text. */
export function answerIsCorrect(completion: string, reference: string): boolean {
  const guess = extractAnswer(completion);
  if (guess === undefined) return false;
  const g = parseNumber(guess);
  const t = parseNumber(reference);
  if (g !== undefined && t !== undefined) return Math.abs(g - t) <= 1e-6 * Math.max(1, Math.abs(t));
  return guess.trim() === reference.trim();
}

export interface EvalOptions {
  tokenizer: Tokenizer;
  rollout: RolloutEngine;
  lora: LoraParams<DeviceArray>;
  tasks: readonly Task[];
  maxNewTokens: number;
  /** Tasks per generate call (default all at once). */
  batchSize?: number;
  systemPrompt?: string;
  /** Prompts longer than this keep their last tokens. */
  maxPromptLength?: number;
  /** Sample with these settings (seed 0, so every evaluation of a run draws alike) instead of decoding greedily:
   * the accuracy of the policy as it is sampled, which is what GRPO optimises. */
  sampling?: { temperature: number; topK?: number; topP?: number };
  /** After the greedy pass, sample each task once more with these settings (seed 0): EvalResult.sampled. */
  alsoSampled?: { temperature: number; topK?: number; topP?: number };
}

export interface EvalResult {
  accuracy: number;
  formatCompliance: number;
  /** The accuracy of always answering the held-out set's most common reference answer: the bar a model must clear
   * before its accuracy says anything about arithmetic. */
  majorityBaseline: number;
  /** Distinct questions among the tasks (duplicates weigh twice in the accuracy). */
  distinctQuestions: number;
  samples: LoggedSample[];
  /** The extra sampled pass (EvalOptions.alsoSampled): the policy's accuracy as it is sampled. */
  sampled?: { accuracy: number; formatCompliance: number };
}

/** The share of tasks whose reference answer is the most common one (answers compared as numbers when they parse). */
export function majorityBaseline(tasks: readonly Task[]): number {
  if (tasks.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const task of tasks) {
    const value = parseNumber(task.answer);
    const key = value === undefined ? `text:${task.answer.trim()}` : `number:${value}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return Math.max(...counts.values()) / tasks.length;
}

type Sampling = NonNullable<EvalOptions["sampling"]>;

/** One pass over the tasks, greedy or sampled (seed 0): correct and well-formed counts and the completions. */
async function evaluationPass(options: EvalOptions, sampling: Sampling | undefined): Promise<{ correct: number; formatted: number; samples: LoggedSample[] }> {
  const { tokenizer, tasks } = options;
  const batchSize = options.batchSize ?? tasks.length;
  let correct = 0;
  let formatted = 0;
  const samples: LoggedSample[] = [];
  for (let start = 0; start < tasks.length; start += batchSize) {
    const chunk = tasks.slice(start, start + batchSize);
    const result = await options.rollout.generate(options.lora, {
      prompts: chunk.map((task) => fitPrompt(encodePrompt(tokenizer, task, options.systemPrompt), options.maxPromptLength)),
      samplesPerPrompt: 1,
      maxNewTokens: options.maxNewTokens,
      ...(sampling === undefined ? { greedy: true, temperature: 1 } : { greedy: false, ...sampling }),
      stopTokens: tokenizer.stopIds,
      seed: 0,
    });
    chunk.forEach((task, i) => {
      const completion = completionText(tokenizer, result.tokens[i]!, tokenizer.stopIds);
      if (answerIsCorrect(completion, task.answer)) correct++;
      if (parseExactFormat(completion) !== undefined) formatted++;
      samples.push({ prompt: task.question, completion, answer: task.answer });
    });
  }
  return { correct, formatted, samples };
}

/** Greedy decoding (or sampling, with `sampling`) on held-out tasks: the fraction answered correctly and the fraction
 * in the exact format; with `alsoSampled`, a second pass that samples each task once (`sampled`). */
export async function evaluate(options: EvalOptions): Promise<EvalResult> {
  const { tasks } = options;
  if (tasks.length === 0) return { accuracy: 0, formatCompliance: 0, majorityBaseline: 0, distinctQuestions: 0, samples: [] };
  const main = await evaluationPass(options, options.sampling);
  const extra = options.alsoSampled === undefined ? undefined : await evaluationPass(options, options.alsoSampled);
  return {
    accuracy: main.correct / tasks.length,
    formatCompliance: main.formatted / tasks.length,
    majorityBaseline: majorityBaseline(tasks),
    distinctQuestions: new Set(tasks.map((task) => task.question)).size,
    samples: main.samples,
    ...(extra === undefined ? {} : { sampled: { accuracy: extra.correct / tasks.length, formatCompliance: extra.formatted / tasks.length } }),
  };
}

// --- run control --------------------------------------------------------------------------------------------------

/** A run stopped because updates kept failing. */
export class TrainingDivergedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TrainingDivergedError";
  }
}

/** Counts consecutive skipped (non-finite) updates and stops the run after `limit` of them in a row. */
export class NanGuard {
  private streak = 0;
  constructor(
    readonly limit: number,
    private readonly warn: (message: string) => void = (m) => console.warn(m),
  ) {
    if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`maxConsecutiveNaN must be a positive integer, got ${limit}`);
  }

  get consecutive(): number {
    return this.streak;
  }

  restore(streak: number): void {
    this.streak = streak;
  }

  /** Records one update; throws a TrainingDivergedError on the limit-th consecutive skip. */
  record(step: number, skipped: boolean, loss: number, gradNorm: number): void {
    if (!skipped) {
      this.streak = 0;
      return;
    }
    this.streak++;
    this.warn(`step ${step}: non-finite loss (${loss}) or gradient norm (${gradNorm}); the update was skipped (${this.streak} in a row)`);
    if (this.streak >= this.limit) {
      throw new TrainingDivergedError(
        `stopping at step ${step}: ${this.streak} consecutive updates had a non-finite loss or gradient norm (the parameters are those of ` +
          `the last finite update). Lower the learning rate, check the data and the rewards, or resume from the last checkpoint.`,
      );
    }
  }
}

export interface ExportOptions {
  /** Merged model directory (HF layout). */
  mergedDir?: string;
  /** Adapter safetensors file. */
  adapterPath?: string;
  dtype?: "f32" | "bf16";
}

/** Writes the adapter alone and/or the base weights with it merged in. */
export async function exportModel(model: Gemma3Config, base: Gemma3Params<DeviceArray>, loraConfig: LoraConfig, lora: LoraParams<DeviceArray>, options: ExportOptions): Promise<void> {
  if (options.adapterPath !== undefined) {
    mkdirSync(dirname(options.adapterPath), { recursive: true });
    await saveLoraAdapter(options.adapterPath, model, loraConfig, lora);
  }
  if (options.mergedDir !== undefined) {
    const merged = mergeLora(model, base, { lora, config: loraConfig }) as Gemma3Params<DeviceArray>;
    await saveModelDirectory(options.mergedDir, model, merged, { dtype: options.dtype });
    const baseArrays = new Set<unknown>([base.embed, base.finalNorm, ...base.layers.flatMap((layer) => Object.values(layer))]);
    for (const layer of merged.layers) for (const array of Object.values(layer)) if (!baseArrays.has(array)) (array as DeviceArray).dispose();
  }
}
