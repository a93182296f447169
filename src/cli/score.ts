// `grpo-xla score`: the log-probability the model gives each next token of a sequence, and optionally the full
// logits, as one JSON object on stdout: the tool for comparing this implementation with another one.
//
//   tokens:    the sequence t_0 .. t_{n-1} as scored (with --text: the tokenizer's ids, bos first)
//   logprobs:  n - 1 numbers, logprobs[i] = log p(t_{i+1} | t_0 .. t_i) = log_softmax(logits[i])[t_{i+1}]
//   logits:    (with --logits) n arrays of V numbers, logits[i] = the f32 output at position i, which predicts t_{i+1}
//
// One sequence, no padding, positions 0 .. n-1. The logprobs are computed on the device in f32 from the same
// logits; numbers are printed exactly (the shortest decimal of the f32 value widened to f64).
import { logprobsFromLogits } from "../../kernels/logprobs.js";
import type { Gemma3Config } from "../../models/gemma3/config.js";
import { forward } from "../../models/gemma3/model.js";
import type { Gemma3Params } from "../../models/gemma3/params.js";
import type { LoraConfig, LoraParams } from "../../models/lora.js";
import type { ArrayBase } from "../core/array_base.js";
import * as np from "../lib/np.js";
import * as lax from "../ops/index.js";
import { DeviceArray } from "../runtime/array.js";
import { jit } from "../transforms/jit.js";
import { checkTokenRange, parseTokenList } from "./inputs.js";
import { MODEL_OPTIONS, chooseTokenizer, loadSource } from "./model_source.js";
import { COMMON_OPTIONS, type Command, type Io, UsageError } from "./options.js";

const SCORE_OPTIONS = {
  tokens: { type: "string", value: "IDS", help: "the sequence as token ids: 2,105,2364,... or [2, 105, 2364]" },
  text: { type: "string", value: "TEXT", help: "the sequence as text, tokenized first (bos prepended; no chat template)" },
  logits: { type: "boolean", help: "also print the logits: one array of vocabulary size per position (f32)" },
  ...MODEL_OPTIONS,
  ...COMMON_OPTIONS,
} as const;

/** The model's logits [1, n, V] and, for n >= 2, the logprob of each next token [1, n - 1]. */
function scoreGraph(config: Gemma3Config, loraConfig: LoraConfig | undefined) {
  return (params: Gemma3Params<ArrayBase>, lora: LoraParams<ArrayBase> | null, tokens: ArrayBase): ArrayBase[] => {
    const [B, T] = tokens.shape as [number, number];
    const adapter = lora === null ? undefined : { lora, config: loraConfig! };
    const logits = forward(config, params, tokens, np.ones([B, T], "bool"), adapter); //     [1, n, V]
    if (T < 2) return [logits];
    const predicting = lax.slice(logits, [0, 0, 0], [B, T - 1, config.vocabSize]); //         [1, n-1, V]
    const next = lax.slice(tokens, [0, 1], [B, T]); //                                        [1, n-1]
    return [logits, logprobsFromLogits(predicting, next)]; //                                 [1, n-1]
  };
}

/** f32 values as a JSON array (each the shortest decimal of its f64 widening, which reads back exactly). */
function jsonNumbers(values: ArrayLike<number>): string {
  return JSON.stringify(Array.from(values, (v) => (Number.isFinite(v) ? v : String(v))));
}

export const scoreCommand: Command<typeof SCORE_OPTIONS> = {
  name: "score",
  summary: "print the log-probability of each next token of a sequence (and its logits) as JSON",
  usage: [
    "grpo-xla score --model DIR --tokens 2,105,2364,... [--logits] [--device cpu]",
    "grpo-xla score --preset tiny --text \"Hello\" [--seed 0]",
  ],
  description: [
    "Prints one JSON object: {\"tokens\": [t_0, ..., t_n-1], \"logprobs\": [n - 1 numbers]} where",
    "logprobs[i] = log p(t_i+1 | t_0 .. t_i) = log_softmax(logits[i])[t_i+1], and with --logits also",
    "\"logits\": n arrays of vocabulary size, logits[i] being the f32 model output at position i.",
    "One sequence, no padding. Give the sequence with --tokens or --text, the model with --model or --preset.",
  ].join("\n"),
  options: SCORE_OPTIONS,
  async run(options, io: Io) {
    if ((options.tokens === undefined) === (options.text === undefined)) {
      throw new UsageError("give exactly one of --tokens IDS or --text TEXT");
    }
    const fromIds = options.tokens === undefined ? undefined : parseTokenList(options.tokens, "--tokens");
    const source = await loadSource(options);
    let tokens: number[];
    if (fromIds !== undefined) {
      tokens = fromIds;
    } else {
      const tokenizer = await chooseTokenizer(options, source);
      if (tokenizer === undefined) throw new UsageError(`no tokenizer fits a vocabulary of ${source.config.vocabSize}: give --tokens or --tokenizer`);
      tokens = tokenizer.encode(options.text!);
    }
    checkTokenRange(tokens, source.config.vocabSize, options.text === undefined ? "--tokens" : "--text");
    if (tokens.length > source.config.maxPositions) {
      throw new UsageError(`the sequence has ${tokens.length} tokens, more than the model's ${source.config.maxPositions} positions`);
    }
    const run = jit(scoreGraph(source.config, source.lora?.config), { device: source.device, name: "score" });
    const input = np.array(Int32Array.from(tokens), { shape: [1, tokens.length], device: source.device });
    const [logits, logprobs] = run(source.params, source.lora?.lora ?? null, input) as DeviceArray[];
    const logprobValues = logprobs === undefined ? new Float32Array(0) : ((await logprobs.data()) as Float32Array);
    await io.write(`{"tokens":${JSON.stringify(tokens)},"logprobs":${jsonNumbers(logprobValues)}`);
    if (options.logits) {
      const values = (await logits!.data()) as Float32Array;
      const V = source.config.vocabSize;
      await io.write(`,"logits":[`);
      for (let i = 0; i < tokens.length; i++) await io.write(`${i > 0 ? "," : ""}${jsonNumbers(values.subarray(i * V, (i + 1) * V))}`);
      await io.write("]");
    }
    await io.write("}\n");
    for (const array of [input, logits, logprobs]) if (array instanceof DeviceArray) array.dispose();
  },
};
