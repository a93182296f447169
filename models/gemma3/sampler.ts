// Batched generation with Gemma3 as compiled graphs: one prefill graph (the left-padded prompts through the model,
// filling the KV cache, and the first token drawn) and one decode graph whose while loop draws every further token
// (see docs/DECISIONS.md for why one loop graph rather than one compiled step per token). The loop state (KV cache,
// token and log-probability buffers) stays on the device and is donated from prefill to decode; nothing returns to
// the host until the batch is done, and nothing is recompiled per token (or per call, for the same shapes and
// sampling mode: temperature, k and p are runtime values).
import type { ArrayBase } from "../../src/core/array_base.js";
import { whileLoop } from "../../src/lib/control.js";
import * as np from "../../src/lib/np.js";
import * as random from "../../src/lib/random.js";
import * as lax from "../../src/ops/index.js";
import type { DeviceArray } from "../../src/runtime/array.js";
import { type Device, type DeviceKind, getDevice } from "../../src/runtime/device.js";
import { jit } from "../../src/transforms/jit.js";
import { IMAGE_TOKENS, isStopToken, sampleTokens } from "../../kernels/sampling.js";
import type { LoraApplication, LoraConfig, LoraParams } from "../lora.js";
import type { Gemma3Config } from "./config.js";
import { type KVCache, decodeHidden, emptyCache, logitsFromHidden } from "./model.js";
import type { Gemma3Params } from "./params.js";

/** Gemma's end-of-sequence and end-of-turn ids. */
export const DEFAULT_STOP_TOKENS: readonly number[] = [1, 106];
export const PAD_TOKEN = 0;

export interface GenerateOptions {
  /** Tokens drawn per row at most. */
  maxNewTokens: number;
  /** Samples per prompt (G): each prompt is repeated G times, contiguously. Default 1. */
  samplesPerPrompt?: number;
  /** Argmax decoding (default when temperature is 0 or unset). */
  greedy?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  /** A row ends after drawing one of these (default [1, 106]); it is included in the row's tokens. */
  stopTokens?: readonly number[];
  /** This call's seed, folded into the sampler's key in place of the call count: the same (sampler seed, call
   * seed) draws the same tokens in any process, which is what lets a resumed run repeat an uninterrupted one. */
  seed?: number;
}

export interface Generation {
  /** Per row (prompt-major, G rows per prompt): the drawn tokens, through the stop token when one was drawn. */
  tokens: number[][];
  /** log_softmax(logits / T) of each drawn token (T = 1 when greedy). */
  logprobs: number[][];
  /** Whether the row drew a stop token (false: it ran out of maxNewTokens). */
  finished: boolean[];
  /** Decode loop iterations run (the loop stops early once every row has finished). */
  steps: number;
  /** Wall-clock seconds of the prefill graph (from launch until its state is ready) and of the decode loop. */
  seconds: { prefill: number; decode: number };
}

export interface SamplerOptions {
  device?: DeviceKind | Device;
  /** Seed of the sampling key; each generate() call draws with a fresh key derived from it. */
  seed?: number;
  /** Applied on top of the base weights (omit for the base model). */
  lora?: LoraApplication<DeviceArray>;
  /** Prompt lengths are padded up to a multiple of this (fewer distinct shapes, fewer compiles). Default 16. */
  promptBucket?: number;
  /** dtype of the KV cache (default f32). */
  cacheDtype?: "f32" | "bf16";
}

/** The state carried by the decode loop. B rows, S = P + N cache slots, N = maxNewTokens. */
type LoopState = {
  cache: KVCache; //         per layer k, v [B, S, K, H]
  cacheMask: ArrayBase; //   [B, S] bool: slots holding real tokens
  tokens: ArrayBase; //      [B, N] i32: drawn tokens (pad after a row finished)
  logprobs: ArrayBase; //    [B, N] f32
  done: ArrayBase; //        [B] bool
  step: ArrayBase; //        i32: tokens drawn so far
};

/** Static shape and mode of one compiled generation. */
interface Plan {
  promptLength: number;
  maxNewTokens: number;
  greedy: boolean;
  useTopK: boolean;
  useTopP: boolean;
  stopTokens: number[];
}

/** Runtime sampling values (no recompilation when they change). */
interface Knobs {
  temperature: ArrayBase; // f32
  topK: ArrayBase; //        i32
  topP: ArrayBase; //        f32
}

export class Sampler {
  private readonly device: Device;
  private readonly seed: number;
  private calls = 0;
  private readonly prefill;
  private readonly loop;

  constructor(
    readonly config: Gemma3Config,
    /** The weights each call reads; replaceable between calls by arrays of the same shapes (a full-parameter
     * trainer's updated weights), which reuse the compiled graphs. */
    public params: Gemma3Params<DeviceArray>,
    private readonly options: SamplerOptions = {},
  ) {
    this.device = getDevice(options.device);
    this.seed = options.seed ?? 0;
    const loraConfig = options.lora?.config;
    const prefill = (
      p: Gemma3Params<ArrayBase>,
      lora: LoraParams<ArrayBase> | null,
      prompts: ArrayBase,
      promptMask: ArrayBase,
      key: ArrayBase,
      knobs: Knobs,
      plan: Plan,
    ): LoopState => this.prefillGraph(p, adapter(lora, loraConfig), prompts, promptMask, key, knobs, plan);
    const loop = (p: Gemma3Params<ArrayBase>, lora: LoraParams<ArrayBase> | null, state: LoopState, key: ArrayBase, knobs: Knobs, plan: Plan): LoopState =>
      this.loopGraph(p, adapter(lora, loraConfig), state, key, knobs, plan);
    this.prefill = jit(prefill, { device: this.device, staticArgnums: [6], name: "sampler_prefill" });
    this.loop = jit(loop, { device: this.device, staticArgnums: [5], donateArgnums: [2], name: "sampler_decode" });
  }

  /** Number of compiled signatures so far (prefill + decode). */
  get compiledSignatures(): number {
    return this.prefill.cacheSize + this.loop.cacheSize;
  }

  private sample(logits: ArrayBase, key: ArrayBase, step: ArrayBase, knobs: Knobs, plan: Plan): { tokens: ArrayBase; logprobs: ArrayBase } {
    return sampleTokens(random.foldIn(key, step), logits, {
      greedy: plan.greedy,
      temperature: knobs.temperature,
      ...(plan.useTopK ? { topK: knobs.topK } : {}),
      ...(plan.useTopP ? { topP: knobs.topP } : {}),
      disallowed: IMAGE_TOKENS,
    });
  }

  /** The prompts through the model, and the first token drawn from the last position's logits. */
  private prefillGraph(
    params: Gemma3Params<ArrayBase>,
    lora: LoraApplication | undefined,
    prompts: ArrayBase,
    promptMask: ArrayBase,
    key: ArrayBase,
    knobs: Knobs,
    plan: Plan,
  ): LoopState {
    const [B, P] = prompts.shape as [number, number];
    const N = plan.maxNewTokens;
    const S = P + N;
    const cacheDtype = this.options.cacheDtype ?? "f32";
    const cacheMask = lax.pad(promptMask, 0, [0, 0], [0, N]); //                 [B, S]
    const run = decodeHidden(this.config, params, prompts, { cache: emptyCache(this.config, B, S, cacheDtype), index: 0, cacheMask }, lora);
    const last = lax.reshape(lax.slice(run.hidden, [0, P - 1, 0], [B, P, this.config.dModel]), [B, this.config.dModel]); // [B, D]
    const step = np.zeros([], "i32");
    const first = this.sample(logitsFromHidden(params, last), key, step, knobs, plan); // [B] each
    return {
      cache: run.cache,
      cacheMask,
      tokens: lax.dynamicUpdateSlice(np.full([B, N], PAD_TOKEN, "i32"), np.expandDims(first.tokens, 1), [0, 0]), // [B, N]
      logprobs: lax.dynamicUpdateSlice(np.zeros([B, N]), np.expandDims(first.logprobs, 1), [0, 0]), //        [B, N]
      done: isStopToken(first.tokens, plan.stopTokens), //                                                      [B]
      step: np.add(step, 1),
    };
  }

  /** One decode step: the previous token through the model, the next one drawn. */
  private stepGraph(params: Gemma3Params<ArrayBase>, lora: LoraApplication | undefined, s: LoopState, key: ArrayBase, knobs: Knobs, plan: Plan): LoopState {
    const [B] = s.tokens.shape as [number, number];
    // The token drawn at step - 1 enters the cache at slot P + step - 1.
    const previous = lax.dynamicSlice(s.tokens, [0, np.subtract(s.step, 1)], [B, 1]); //        [B, 1]
    const index = np.add(s.step, plan.promptLength - 1); //                                       i32
    const cacheMask = lax.dynamicUpdateSlice(s.cacheMask, np.ones([B, 1], "bool"), [0, index]); // [B, S]
    const run = decodeHidden(this.config, params, previous, { cache: s.cache, index, cacheMask }, lora);
    const logits = logitsFromHidden(params, lax.reshape(run.hidden, [B, this.config.dModel])); //  [B, V]
    const drawn = this.sample(logits, key, s.step, knobs, plan); //                              [B] each
    const tokens = np.where(s.done, PAD_TOKEN, drawn.tokens); //                                  [B]
    const logprobs = np.where(s.done, 0, drawn.logprobs); //                                      [B]
    return {
      cache: run.cache,
      cacheMask,
      tokens: lax.dynamicUpdateSlice(s.tokens, np.expandDims(tokens, 1), [0, s.step]), //        [B, N]
      logprobs: lax.dynamicUpdateSlice(s.logprobs, np.expandDims(logprobs, 1), [0, s.step]), //  [B, N]
      done: np.bitwiseOr(s.done, isStopToken(tokens, plan.stopTokens)), //                       [B]
      step: np.add(s.step, 1),
    };
  }

  /** Steps until every row is done or N tokens are drawn: one while loop. */
  private loopGraph(params: Gemma3Params<ArrayBase>, lora: LoraApplication | undefined, initial: LoopState, key: ArrayBase, knobs: Knobs, plan: Plan): LoopState {
    const N = plan.maxNewTokens;
    return whileLoop(
      (s: LoopState) => np.bitwiseAnd(np.less(s.step, N), np.logicalNot(np.all(s.done))),
      (s: LoopState) => this.stepGraph(params, lora, s, key, knobs, plan),
      initial,
    );
  }

  /** Generates continuations of `prompts` (token ids, each non-empty). */
  async generate(prompts: readonly (readonly number[])[], options: GenerateOptions): Promise<Generation> {
    if (options.seed !== undefined && (!Number.isInteger(options.seed) || options.seed < 0 || options.seed > 0x7fffffff)) {
      throw new RangeError(`sampler: the call seed must be an integer in [0, 2^31), got ${options.seed}`);
    }
    const plan = this.planFor(prompts, options);
    const G = options.samplesPerPrompt ?? 1;
    const P = plan.promptLength;
    const rows = prompts.flatMap((prompt) => Array.from({ length: G }, () => prompt));
    const B = rows.length;
    const device = this.device;
    const tokenData = new Int32Array(B * P);
    const maskData = new Uint8Array(B * P);
    rows.forEach((prompt, b) => {
      prompt.forEach((token, i) => {
        tokenData[b * P + P - prompt.length + i] = token;
        maskData[b * P + P - prompt.length + i] = 1;
      });
    });
    const promptArray = np.array(tokenData, { shape: [B, P], device });
    const maskArray = np.array(maskData, { dtype: "bool", shape: [B, P], device });
    // A fresh key per call: the seed's key with the call number (or the call's own seed) folded in.
    const keyArray = np.array(Uint32Array.from([0, this.seed >>> 0]), { device });
    const knobs: Knobs = {
      temperature: np.array(options.temperature ?? 1, { shape: [], device }),
      topK: np.array(options.topK ?? 0, { dtype: "i32", shape: [], device }),
      topP: np.array(options.topP ?? 1, { shape: [], device }),
    };
    const callNumber = this.calls++;
    const callIndex = np.array(options.seed ?? callNumber, { dtype: "i32", shape: [], device });
    const key = deriveKey(keyArray, callIndex) as DeviceArray;
    const lora = this.options.lora?.lora ?? null;
    const launched = performance.now();
    const started = this.prefill(this.params, lora, promptArray, maskArray, key, knobs, plan);
    // Waiting for readiness moves no data: the loop could not start before the prefill's state exists anyway.
    await (started.step as DeviceArray).ready();
    const prefilled = performance.now();
    const final = this.loop(this.params, lora, started, key, knobs, plan);
    await (final.step as DeviceArray).ready();
    const seconds = { prefill: (prefilled - launched) / 1000, decode: (performance.now() - prefilled) / 1000 };
    const out = final as unknown as Record<"tokens" | "logprobs" | "done" | "step", DeviceArray>;
    const [tokens, logprobs, done, steps] = await Promise.all([out.tokens.data(), out.logprobs.data(), out.done.data(), out.step.data()]);
    for (const array of [promptArray, maskArray, keyArray, callIndex, key, knobs.temperature, knobs.topK, knobs.topP]) (array as DeviceArray).dispose();
    disposeState(final);
    return { ...unpack(tokens as Int32Array, logprobs as Float32Array, done as Uint8Array, Number(steps[0]), B, plan), seconds };
  }

  private planFor(prompts: readonly (readonly number[])[], options: GenerateOptions): Plan {
    if (prompts.length === 0) throw new RangeError("generate: no prompts");
    const longest = Math.max(...prompts.map((p) => p.length));
    if (prompts.some((p) => p.length === 0)) throw new RangeError("generate: every prompt needs at least one token");
    for (const prompt of prompts) {
      for (const token of prompt) {
        if (!Number.isInteger(token) || token < 0 || token >= this.config.vocabSize) {
          throw new RangeError(`generate: token ${token} is outside the vocabulary [0, ${this.config.vocabSize})`);
        }
      }
    }
    if (!Number.isInteger(options.maxNewTokens) || options.maxNewTokens < 1) throw new RangeError(`generate: maxNewTokens must be a positive integer, got ${options.maxNewTokens}`);
    const G = options.samplesPerPrompt ?? 1;
    if (!Number.isInteger(G) || G < 1) throw new RangeError(`generate: samplesPerPrompt must be a positive integer, got ${G}`);
    const greedy = options.greedy ?? !(options.temperature !== undefined && options.temperature > 0);
    if (!greedy && !(options.temperature !== undefined && options.temperature > 0)) throw new RangeError("generate: sampling needs a temperature > 0");
    if (options.topK !== undefined && (!Number.isInteger(options.topK) || options.topK < 1)) throw new RangeError(`generate: topK must be a positive integer, got ${options.topK}`);
    if (options.topP !== undefined && !(options.topP > 0 && options.topP <= 1)) throw new RangeError(`generate: topP must be in (0, 1], got ${options.topP}`);
    const bucket = this.options.promptBucket ?? 16;
    const promptLength = Math.ceil(longest / bucket) * bucket;
    if (promptLength + options.maxNewTokens > this.config.maxPositions) {
      throw new RangeError(`generate: ${promptLength} prompt + ${options.maxNewTokens} new tokens exceed the model's ${this.config.maxPositions} positions`);
    }
    return {
      promptLength,
      maxNewTokens: options.maxNewTokens,
      greedy,
      useTopK: !greedy && options.topK !== undefined,
      useTopP: !greedy && options.topP !== undefined && options.topP < 1,
      stopTokens: [...(options.stopTokens ?? DEFAULT_STOP_TOKENS)],
    };
  }
}

function adapter(lora: LoraParams<ArrayBase> | null, config: LoraConfig | undefined): LoraApplication | undefined {
  return lora === null || config === undefined ? undefined : { lora, config };
}

const deriveKey = jit((seedKey: ArrayBase, call: ArrayBase) => random.foldIn(seedKey, call), { name: "sampler_key" });

function disposeState(state: LoopState): void {
  for (const layer of state.cache) {
    (layer.k as DeviceArray).dispose();
    (layer.v as DeviceArray).dispose();
  }
  for (const array of [state.cacheMask, state.tokens, state.logprobs, state.done, state.step]) (array as DeviceArray).dispose();
}

function unpack(tokens: Int32Array, logprobs: Float32Array, done: Uint8Array, steps: number, B: number, plan: Plan): Omit<Generation, "seconds"> {
  const N = plan.maxNewTokens;
  const stops = new Set(plan.stopTokens);
  const result: Omit<Generation, "seconds"> = { tokens: [], logprobs: [], finished: [], steps: steps - 1 };
  for (let b = 0; b < B; b++) {
    const row = Array.from(tokens.subarray(b * N, (b + 1) * N));
    const stopAt = row.findIndex((token) => stops.has(token));
    const length = stopAt < 0 ? Math.min(N, steps) : stopAt + 1;
    result.tokens.push(row.slice(0, length));
    result.logprobs.push(Array.from(logprobs.subarray(b * N, b * N + length)));
    result.finished.push(done[b] === 1);
  }
  return result;
}
