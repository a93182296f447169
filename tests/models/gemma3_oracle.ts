// An independent Gemma3 in plain JavaScript (Float64Array loops), written from the published description
// (facts/gemma3.md), not from models/gemma3: the oracle the compiled model is checked against. Slow on purpose;
// for tiny configs only. Weights come in Hugging Face's [out, in] layout as flat row-major arrays.
import type { Gemma3Config } from "../../models/gemma3/config.js";

export interface HostLayer {
  inputNorm: Float64Array;
  postAttnNorm: Float64Array;
  preFfwNorm: Float64Array;
  postFfwNorm: Float64Array;
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  o: Float64Array;
  qNorm: Float64Array;
  kNorm: Float64Array;
  gate: Float64Array;
  up: Float64Array;
  down: Float64Array;
}

export interface HostModel {
  embed: Float64Array;
  finalNorm: Float64Array;
  layers: HostLayer[];
}

/** One sequence's activations: rows[t] is a vector of width D. */
type Rows = Float64Array[];

function rmsNormVector(x: Float64Array, weight: Float64Array, eps: number): Float64Array {
  let sumSquares = 0;
  for (const value of x) sumSquares += value * value;
  const inverse = 1 / Math.sqrt(sumSquares / x.length + eps);
  return x.map((value, i) => value * inverse * (1 + weight[i]!));
}

/** y[o] = sum_i W[o, i] x[i] for W stored [out, in]. */
function matVec(w: Float64Array, x: Float64Array, out: number): Float64Array {
  const inWidth = x.length;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let acc = 0;
    for (let i = 0; i < inWidth; i++) acc += w[o * inWidth + i]! * x[i]!;
    y[o] = acc;
  }
  return y;
}

function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

/** Rotates one head vector in place by `position` (half-split pairs (i, i + H/2)). */
function rotate(head: Float64Array, position: number, base: number, scale: number): void {
  const half = head.length / 2;
  for (let i = 0; i < half; i++) {
    const angle = position / scale / Math.pow(base, (2 * i) / head.length);
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    const a = head[i]!;
    const b = head[i + half]!;
    head[i] = a * c - b * s;
    head[i + half] = b * c + a * s;
  }
}

/** Positions as cumsum(valid) - 1. */
export function oraclePositions(valid: readonly boolean[]): number[] {
  let count = 0;
  return valid.map((v) => {
    if (v) count++;
    return count - 1;
  });
}

/** One block over one sequence. `valid` marks real tokens; outputs at padding rows are not meaningful. */
export function oracleBlock(config: Gemma3Config, layer: HostLayer, layerIndex: number, x: Rows, valid: readonly boolean[]): Rows {
  const { numHeads: N, numKvHeads: K, headDim: H, dModel: D, ffnDim: F } = config;
  const T = x.length;
  const positions = oraclePositions(valid);
  const local = config.layerKinds[layerIndex] === "local";
  const base = local ? config.ropeLocalBase : config.ropeGlobalBase;
  const ropeScale = local ? 1 : config.ropeGlobalScale;
  const heads = (flat: Float64Array, count: number, norm: Float64Array | undefined, t: number): Float64Array[] =>
    Array.from({ length: count }, (_, n) => {
      let head: Float64Array = flat.slice(n * H, (n + 1) * H);
      if (norm !== undefined) {
        head = rmsNormVector(head, norm, config.rmsNormEps);
        rotate(head, positions[t]!, base, ropeScale);
      }
      return head;
    });
  const normed = x.map((row) => rmsNormVector(row, layer.inputNorm, config.rmsNormEps));
  const queries = normed.map((row, t) => heads(matVec(layer.q, row, N * H), N, layer.qNorm, t));
  const keys = normed.map((row, t) => heads(matVec(layer.k, row, K * H), K, layer.kNorm, t));
  const values = normed.map((row, t) => heads(matVec(layer.v, row, K * H), K, undefined, t));
  const queryScale = 1 / Math.sqrt(config.queryPreAttnScalar);
  const out: Rows = [];
  for (let t = 0; t < T; t++) {
    const concatenated = new Float64Array(N * H);
    for (let n = 0; n < N; n++) {
      const kvHead = Math.floor(n / (N / K));
      const scores: number[] = [];
      const seen: number[] = [];
      for (let s = 0; s < T; s++) {
        const distance = positions[t]! - positions[s]!;
        if (!valid[s] || distance < 0 || (local && distance >= config.slidingWindow)) continue;
        let dot = 0;
        for (let h = 0; h < H; h++) dot += queries[t]![n]![h]! * queryScale * keys[s]![kvHead]![h]!;
        scores.push(dot);
        seen.push(s);
      }
      const top = Math.max(...scores);
      const weights = scores.map((score) => Math.exp(score - top));
      const total = weights.reduce((a, b) => a + b, 0);
      seen.forEach((s, j) => {
        for (let h = 0; h < H; h++) concatenated[n * H + h]! += (weights[j]! / total) * values[s]![kvHead]![h]!;
      });
    }
    const attended = rmsNormVector(matVec(layer.o, concatenated, D), layer.postAttnNorm, config.rmsNormEps);
    const h = x[t]!.map((value, i) => value + attended[i]!);
    const m = rmsNormVector(h, layer.preFfwNorm, config.rmsNormEps);
    const gate = matVec(layer.gate, m, F);
    const up = matVec(layer.up, m, F);
    const hidden = gate.map((g, i) => geluTanh(g) * up[i]!);
    const mlpOut = rmsNormVector(matVec(layer.down, hidden, D), layer.postFfwNorm, config.rmsNormEps);
    out.push(h.map((value, i) => value + mlpOut[i]!));
  }
  return out;
}

/** Logits [T][V] of one sequence: embeddings * sqrt(D), every block, final norm, tied projection. */
export function oracleLogits(config: Gemma3Config, model: HostModel, tokens: readonly number[], valid: readonly boolean[]): Float64Array[] {
  const D = config.dModel;
  let x: Rows = tokens.map((token) => model.embed.slice(token * D, (token + 1) * D).map((value) => value * Math.sqrt(D)));
  model.layers.forEach((layer, i) => {
    x = oracleBlock(config, layer, i, x, valid);
  });
  return x.map((row) => matVec(model.embed, rmsNormVector(row, model.finalNorm, config.rmsNormEps), config.vocabSize));
}
