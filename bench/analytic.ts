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

/** The trunk's backward to the adapter over B x T tokens, block by block. Autodiff computes only the gradients that
 * lead to an adapter matrix: into the frozen embedding nothing flows, and the first blocks before any adapter see
 * part of their gradients skipped. A value is "live" when it depends on the adapter. Per base matrix, the input's
 * gradient (2 x its size per token) when its input is live; per adapter pair A [in, r], B [r, out]: the weight
 * gradients (2 (in r + r out)), the output gradient through B (2 r out), and A's input gradient (2 in r) when live;
 * attention: dP = dO V^T and dQ, dK, dV, each 2 B T S N H, when their operands need them. */
export function trunkBackwardFlops(config: Gemma3Config, lora: LoraConfig, B: number, T: number): number {
  const { dModel: D, numHeads: N, numKvHeads: K, headDim: H, ffnDim: F } = config;
  const r = lora.rank;
  const score = 2 * B * T * T * N * H;
  const pair = (inDim: number, outDim: number, inputLive: boolean) => 2 * (inDim * r + r * outDim) + 2 * r * outDim + (inputLive ? 2 * inDim * r : 0);
  let live: boolean = false; // the embedding is frozen
  let total = 0;
  for (const targets of resolveTargets(config, lora)) {
    const has = (target: string) => (targets as string[]).includes(target);
    const qLive: boolean = live || has("q");
    const kvLive: boolean = live || has("kv");
    const attnLive: boolean = qLive || kvLive;
    const hLive: boolean = attnLive || has("o") || live;
    const midLive: boolean = hLive || has("gate") || has("up");
    let perToken = 0;
    if (live) perToken += 2 * (N * H + 2 * K * H) * D; // into the block's normed input through q, k, v
    if (has("q")) perToken += pair(D, N * H, live);
    if (has("kv")) perToken += pair(D, 2 * K * H, live);
    if (attnLive) perToken += 2 * N * H * D; // through o into the attention output
    if (has("o")) perToken += pair(N * H, D, attnLive);
    if (hLive) perToken += 2 * 2 * D * F; // through gate and up
    if (has("gate")) perToken += pair(D, F, hLive);
    if (has("up")) perToken += pair(D, F, hLive);
    if (midLive) perToken += 2 * F * D; // through down
    if (has("down")) perToken += pair(F, D, midLive);
    total += perToken * B * T + score * ((attnLive ? 1 : 0) + (qLive ? 1 : 0) + 2 * (kvLive ? 1 : 0));
    live = midLive || has("down");
  }
  return total;
}

/** One update: the adapted forward, the head forward and its VJP (logits recomputed, then the hidden gradient),
 * and the trunk's backward to the adapter. */
export function updateFlops(config: Gemma3Config, w: Workload): number {
  const B = rowsOf(w);
  const T = w.promptLength + w.newTokens;
  const forward = trunkFlops(config, w.lora, B, T, T) + headFlops(config, chunkedRows(w));
  const headBackward = 2 * headFlops(config, chunkedRows(w));
  return forward + headBackward + trunkBackwardFlops(config, w.lora, B, T);
}
