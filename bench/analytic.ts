// Analytic matmul FLOPs and decode bytes of the GRPO phases, from the model config and the workload's shapes. The
// benchmark divides these by measured time; it also counts the dot_general FLOPs of the Programs it ran (core/flops)
// and prints both, so a formula that drifts from what the graphs compute shows up as a ratio away from 1.
import type { Gemma3Config } from "../models/gemma3/config.js";
import { weightTable } from "../models/gemma3/params.js";
import { type LoraConfig, loraParamCount, resolveTargets } from "../models/lora.js";

/** Shapes of one GRPO step: `prompts` x G rows, prompts of `promptLength` tokens, `newTokens` drawn per row. */
export interface Workload {
  prompts: number;
  G: number;
  promptLength: number;
  newTokens: number;
  lora: LoraConfig;
  /** Rows per logprob chunk of the train step's head. */
  chunk: number;
  weightsDtype: "f32" | "bf16";
}

export const rowsOf = (w: Workload): number => w.prompts * w.G;

/** Weights of the transformer blocks' projections (every matrix but the embedding). */
export function trunkMatrixParams(config: Gemma3Config): number {
  return weightTable(config)
    .filter((spec) => spec.kind === "matrix")
    .reduce((sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1), 0);
}

/** Scores and weighted values of every layer over all T x S query/key pairs (masked pairs are computed too). */
export function attentionFlops(config: Gemma3Config, B: number, T: number, S: number): number {
  return config.numLayers * 4 * B * T * S * config.numHeads * config.headDim;
}

/** The tied output projection for `rows` hidden rows. */
export function headFlops(config: Gemma3Config, rows: number): number {
  return 2 * config.vocabSize * config.dModel * rows;
}

/** Positions from a [B, S] mask: a cumulative sum, done as a matmul with a triangular S x S matrix. */
export function positionsFlops(B: number, S: number): number {
  return 2 * B * S * S;
}

/** The blocks over B x T new tokens attending to S keys: every matrix (and adapter matrix) once per token, and the
 * positions of the S keys. */
export function trunkFlops(config: Gemma3Config, lora: LoraConfig | undefined, B: number, T: number, S: number): number {
  const adapter = lora === undefined ? 0 : loraParamCount(config, lora);
  return 2 * (trunkMatrixParams(config) + adapter) * B * T + attentionFlops(config, B, T, S) + positionsFlops(B, S);
}

/** Head rows the chunked logprobs compute: S x C rows rounded up to whole chunks. */
export function chunkedRows(w: Workload): number {
  const rows = rowsOf(w) * w.newTokens;
  const chunk = Math.max(1, Math.min(w.chunk, rows));
  return Math.ceil(rows / chunk) * chunk;
}

/** Prefill: B prompts of P tokens into a cache of P + N slots, then one row of logits per prompt. */
export function prefillFlops(config: Gemma3Config, w: Workload): number {
  const B = rowsOf(w);
  return trunkFlops(config, w.lora, B, w.promptLength, w.promptLength + w.newTokens) + headFlops(config, B);
}

/** One decode step: B tokens attending to the whole cache, one row of logits each. */
export function decodeStepFlops(config: Gemma3Config, w: Workload): number {
  const B = rowsOf(w);
  return trunkFlops(config, w.lora, B, 1, w.promptLength + w.newTokens) + headFlops(config, B);
}

/** Bytes one decode step must read at least: every weight once, the adapter, and the whole f32 KV cache. */
export function decodeStepBytes(config: Gemma3Config, w: Workload): number {
  const weightBytes = w.weightsDtype === "bf16" ? 2 : 4;
  const weights = (trunkMatrixParams(config) + config.vocabSize * config.dModel) * weightBytes;
  const cache = 2 * config.numLayers * rowsOf(w) * (w.promptLength + w.newTokens) * config.numKvHeads * config.headDim * 4;
  return weights + loraParamCount(config, w.lora) * 4 + cache;
}

/** Reference logprobs: the base model (no adapter) over prompt + completion, the head over the completion rows. */
export function logprobsFlops(config: Gemma3Config, w: Workload): number {
  const T = w.promptLength + w.newTokens;
  return trunkFlops(config, undefined, rowsOf(w), T, T) + headFlops(config, chunkedRows(w));
}

/** Weights that read the first block's normed input (q, k, v and the adapters' A of q and kv): the embedding is
 * frozen, so no gradient flows through them to it. */
function firstBlockInputParams(config: Gemma3Config, lora: LoraConfig): number {
  const { dModel: D, numHeads: N, numKvHeads: K, headDim: H } = config;
  const adapted = resolveTargets(config, lora)[0]!.filter((target) => target === "q" || target === "kv").length;
  return (N * H + 2 * K * H) * D + adapted * D * lora.rank;
}

/** One update: the adapted forward, the head forward and its VJP (logits recomputed, then the hidden gradient),
 * and the trunk's backward to the adapter: activation gradients through every matrix (but into the embedding),
 * the adapter's weight gradients, and the attention's backward (twice its forward). */
export function updateFlops(config: Gemma3Config, w: Workload): number {
  const B = rowsOf(w);
  const T = w.promptLength + w.newTokens;
  const adapter = loraParamCount(config, w.lora);
  const forward = trunkFlops(config, w.lora, B, T, T) + headFlops(config, chunkedRows(w));
  const headBackward = 2 * headFlops(config, chunkedRows(w));
  const activations = trunkMatrixParams(config) + adapter - firstBlockInputParams(config, w.lora);
  const trunkBackward = 2 * (activations + adapter) * B * T + 2 * attentionFlops(config, B, T, T);
  return forward + headBackward + trunkBackward;
}
