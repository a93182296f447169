// Per-token log-probabilities and entropies of given tokens under a language-model head, without the model:
// from logits [S, T, V], or from final hidden states [S, T, D] and the (tied) embedding [V, D], chunk by chunk
// over the tokens so that only one [chunk, V] block of f32 logits exists at a time.
//
// Gradients: `while` has no VJP, so the loop form ("loop") is for forward-only uses (rollout, old and reference
// logprobs). The unrolled form ("split") differentiates with `grad` like any other code, but its backward keeps
// each chunk's softmax as a residual, so under `grad` the f32 [S*T, V] is held in pieces after all.
// `logprobsFromHiddenVjp` is the memory-bounded gradient path: given the cotangent of the logprobs it recomputes
// each chunk's softmax inside a loop and returns the cotangents of hidden (and of the embedding when asked),
// to be fed into the model trunk's own VJP.
import type { ArrayBase } from "../src/core/array_base.js";
import { showShape } from "../src/core/aval.js";
import { ShapeError } from "../src/core/errors.js";
import { forLoop } from "../src/lib/control.js";
import * as nn from "../src/lib/nn.js";
import * as np from "../src/lib/np.js";
import * as lax from "../src/ops/index.js";
import { maskedMean } from "./masked.js";

/** Where the head's matmul runs: in the embedding's dtype (with a bf16 embedding the hidden states are rounded to
 * bf16 and the logits come out in bf16, then are widened to f32 for the softmax; the model's own `forward` and the
 * sampler instead compute f32 logits from f32 hidden states), or in f32 (both operands widened; exact logits, but
 * an f32 copy of a bf16 embedding, V * D * 4 bytes, lives for the whole computation). */
export type LogitsDtype = "embed" | "f32";

/** "loop": one compiled while loop over the chunks (forward only). "split": the chunks unrolled statically and
 * concatenated (differentiable; see the file comment for its memory under `grad`). */
export type ChunkMethod = "loop" | "split";

export interface ChunkOptions {
  /** Token positions (rows of the flattened [S*T]) per chunk (default 1024). */
  chunk?: number;
  method?: ChunkMethod;
  logitsDtype?: LogitsDtype;
}

interface ChunkConfig {
  chunk: number;
  method: ChunkMethod;
  logitsDtype: LogitsDtype;
}

const CHUNK_METHODS: readonly ChunkMethod[] = ["loop", "split"];
const LOGITS_DTYPES: readonly LogitsDtype[] = ["embed", "f32"];

function chunkConfig(options: ChunkOptions, where: string): ChunkConfig {
  const chunk = options.chunk ?? 1024;
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`${where}: chunk must be a positive integer, got ${chunk}`);
  const method = options.method ?? "loop";
  if (!CHUNK_METHODS.includes(method)) throw new RangeError(`${where}: method must be one of ${CHUNK_METHODS.join(", ")}, got '${String(method)}'`);
  const logitsDtype = options.logitsDtype ?? "embed";
  if (!LOGITS_DTYPES.includes(logitsDtype)) {
    throw new RangeError(`${where}: logitsDtype must be one of ${LOGITS_DTYPES.join(", ")}, got '${String(logitsDtype)}'`);
  }
  return { chunk, method, logitsDtype };
}

function checkTemperature(temperature: number, where: string): void {
  if (!(Number.isFinite(temperature) && temperature > 0)) throw new RangeError(`${where}: temperature must be a positive number, got ${temperature}`);
}

function checkTokens(tokens: ArrayBase, shape: readonly number[], where: string): void {
  if (tokens.dtype !== "i32") throw new TypeError(`${where}: tokens must be i32, got ${tokens.aval}`);
  if (tokens.shape.join(",") !== shape.join(",")) throw new ShapeError(`${where}: tokens ${tokens.aval} must have shape ${showShape(shape)}`);
}

// --- from logits ---------------------------------------------------------------------------------------------

/** log_softmax(logits / temperature) at `tokens`: logits [..., V] (any float dtype), tokens [...] i32 ->
 * f32 [...]. Computed as z[token] - logsumexp(z), which is the same number without writing the full
 * log-softmax. Tokens outside [0, V) are clamped into range by the gather. */
export function logprobsFromLogits(logits: ArrayBase, tokens: ArrayBase, temperature = 1): ArrayBase {
  checkTemperature(temperature, "logprobsFromLogits");
  checkTokens(tokens, logits.shape.slice(0, -1), "logprobsFromLogits");
  const z = np.divide(np.astype(logits, "f32"), temperature); //                          [..., V]
  const picked = np.squeeze(np.takeAlongAxis(z, np.expandDims(tokens, -1), -1), -1); //  [...]
  return np.subtract(picked, nn.logsumexp(z, { axis: -1 })); //                          [...]
}

/** Entropy of softmax(logits / temperature) at each position: logits [..., V] -> f32 [...]. H = lse(z) - sum p z. */
export function tokenEntropy(logits: ArrayBase, temperature = 1): ArrayBase {
  checkTemperature(temperature, "tokenEntropy");
  return entropyOfScaled(np.divide(np.astype(logits, "f32"), temperature));
}

function entropyOfScaled(z: ArrayBase): ArrayBase {
  const p = nn.softmax(z, { axis: -1 }); //                                              [..., V]
  // Zero-probability entries contribute 0 even where z is -inf (0 * -inf would be NaN).
  const pz = np.where(np.greater(p, 0), np.multiply(p, z), 0);
  return np.subtract(nn.logsumexp(z, { axis: -1 }), np.sum(pz, { axis: -1 }));
}

/** Mean entropy over the positions where mask > 0 (0 when there are none): logits [S, T, V], mask [S, T]. */
export function maskedMeanEntropy(logits: ArrayBase, mask: ArrayBase, temperature = 1): ArrayBase {
  return maskedMean(tokenEntropy(logits, temperature), mask);
}

// --- from hidden states, chunked -----------------------------------------------------------------------------

interface HeadInputs {
  flatHidden: ArrayBase; // [chunks * chunk, D], zero rows past S*T
  flatTokens: ArrayBase; // [chunks * chunk] i32
  embed: ArrayBase; //      [V, D] in the matmul dtype
  chunks: number;
  rows: number; //          S * T
  shape: number[]; //       [S, T]
}

function headInputs(hidden: ArrayBase, embed: ArrayBase, tokens: ArrayBase, temperature: number, config: ChunkConfig, where: string): HeadInputs {
  checkTemperature(temperature, where);
  if (hidden.ndim !== 3) throw new ShapeError(`${where}: hidden must be [S, T, D], got ${hidden.aval}`);
  if (embed.ndim !== 2 || embed.shape[1] !== hidden.shape[2]) throw new ShapeError(`${where}: embed must be [V, D] with D = ${hidden.shape[2]}, got ${embed.aval}`);
  if (hidden.dtype !== "f32" && hidden.dtype !== "bf16") throw new TypeError(`${where}: hidden must be f32 or bf16, got ${hidden.aval}`);
  if (embed.dtype !== "f32" && embed.dtype !== "bf16") throw new TypeError(`${where}: embed must be f32 or bf16, got ${embed.aval}`);
  const [S, T, D] = hidden.shape as [number, number, number];
  checkTokens(tokens, [S, T], where);
  const matmulDtype = config.logitsDtype === "f32" ? "f32" : embed.dtype;
  const rows = S * T;
  const chunks = Math.max(1, Math.ceil(rows / config.chunk));
  const padRows = chunks * config.chunk - rows;
  const flatHidden = np.pad(np.reshape(np.astype(hidden, matmulDtype), [rows, D]), [[0, padRows], [0, 0]]); // [chunks*chunk, D]
  const flatTokens = np.pad(np.reshape(tokens, [rows]), [[0, padRows]]); //                                  [chunks*chunk]
  return { flatHidden, flatTokens, embed: np.astype(embed, matmulDtype), chunks, rows, shape: [S, T] };
}

/** z = (h E^T) / temperature for one chunk of rows h [c, D]: f32 [c, V]. */
function chunkLogits(h: ArrayBase, embed: ArrayBase, temperature: number): ArrayBase {
  const logits = lax.dotGeneral(h, embed, { lhsContracting: [1], rhsContracting: [1], lhsBatch: [], rhsBatch: [] }); // [c, V]
  return np.divide(np.astype(logits, "f32"), temperature);
}

/** Runs `perChunk` on every chunk of rows (h [c, D], tokens [c]) and reassembles its [c] outputs as [S, T]. */
function overChunks(
  inputs: HeadInputs,
  config: ChunkConfig,
  outputs: number,
  perChunk: (h: ArrayBase, tokens: ArrayBase) => ArrayBase[],
): ArrayBase[] {
  const { flatHidden, flatTokens, chunks, rows, shape } = inputs;
  const c = config.chunk;
  const D = flatHidden.shape[1]!;
  let flat: ArrayBase[];
  if (config.method === "split") {
    const pieces = Array.from({ length: chunks }, (_, k) =>
      perChunk(np.sliceAxis(flatHidden, 0, k * c, (k + 1) * c), np.sliceAxis(flatTokens, 0, k * c, (k + 1) * c)),
    );
    flat = Array.from({ length: outputs }, (_, j) => np.concatenate(pieces.map((p) => p[j]!), 0)); // [chunks*c]
  } else {
    const blocks = np.reshape(flatHidden, [chunks, c, D]);
    const blockTokens = np.reshape(flatTokens, [chunks, c]);
    const init = Array.from({ length: outputs }, () => np.zeros([chunks, c]));
    const final = forLoop(0, chunks, (k, acc: ArrayBase[]) => {
      const h = np.reshape(lax.dynamicSlice(blocks, [k, 0, 0], [1, c, D]), [c, D]); // [c, D]
      const t = np.reshape(lax.dynamicSlice(blockTokens, [k, 0], [1, c]), [c]); //   [c]
      const values = perChunk(h, t);
      return acc.map((a, j) => lax.dynamicUpdateSlice(a, np.reshape(values[j]!, [1, c]), [k, 0]));
    }, init);
    flat = final.map((f) => np.reshape(f, [chunks * c]));
  }
  return flat.map((f) => np.reshape(np.sliceAxis(f, 0, 0, rows), shape));
}

function logprobsOfChunk(z: ArrayBase, tokens: ArrayBase): ArrayBase {
  const picked = np.squeeze(np.takeAlongAxis(z, np.expandDims(tokens, -1), -1), -1); // [c]
  return np.subtract(picked, nn.logsumexp(z, { axis: -1 }));
}

/** log_softmax((hidden E^T) / temperature) at `tokens`, chunked over the S*T token positions:
 * hidden [S, T, D], embed [V, D] (f32 or bf16), tokens [S, T] i32 -> f32 [S, T]. */
export function logprobsFromHidden(hidden: ArrayBase, embed: ArrayBase, tokens: ArrayBase, temperature = 1, options: ChunkOptions = {}): ArrayBase {
  const config = chunkConfig(options, "logprobsFromHidden");
  const inputs = headInputs(hidden, embed, tokens, temperature, config, "logprobsFromHidden");
  const [logprobs] = overChunks(inputs, config, 1, (h, t) => [logprobsOfChunk(chunkLogits(h, inputs.embed, temperature), t)]);
  return logprobs!;
}

/** As logprobsFromHidden, plus the entropy of each position's distribution (for the entropy metric) from the
 * same chunk of logits. */
export function logprobsAndEntropyFromHidden(
  hidden: ArrayBase,
  embed: ArrayBase,
  tokens: ArrayBase,
  temperature = 1,
  options: ChunkOptions = {},
): { logprobs: ArrayBase; entropy: ArrayBase } {
  const config = chunkConfig(options, "logprobsAndEntropyFromHidden");
  const inputs = headInputs(hidden, embed, tokens, temperature, config, "logprobsAndEntropyFromHidden");
  const [logprobs, entropy] = overChunks(inputs, config, 2, (h, t) => {
    const z = chunkLogits(h, inputs.embed, temperature);
    return [logprobsOfChunk(z, t), entropyOfScaled(z)];
  });
  return { logprobs: logprobs!, entropy: entropy! };
}

export interface HeadVjpOptions {
  chunk?: number;
  logitsDtype?: LogitsDtype;
  /** Also accumulate the embedding's cotangent (default false: the tied embedding is frozen under LoRA). */
  embedGrad?: boolean;
}

/** The VJP of logprobsFromHidden, computed in a loop over chunks so that only one [chunk, V] block exists at a
 * time. For each row, d logp / d z = onehot(token) - softmax(z), z = h E^T / temperature, so with cotangent g:
 *   dz = g (onehot - p);  d hidden = dz E / temperature;  d embed = sum over rows of dz^T h / temperature.
 * Returns cotangents in the dtypes of hidden and embed. */
export function logprobsFromHiddenVjp(
  hidden: ArrayBase,
  embed: ArrayBase,
  tokens: ArrayBase,
  temperature: number,
  cotangent: ArrayBase,
  options: HeadVjpOptions = {},
): { hidden: ArrayBase; embed?: ArrayBase } {
  const where = "logprobsFromHiddenVjp";
  const config = chunkConfig({ chunk: options.chunk, logitsDtype: options.logitsDtype, method: "loop" }, where);
  const inputs = headInputs(hidden, embed, tokens, temperature, config, where);
  const [S, T, D] = hidden.shape as [number, number, number];
  const V = embed.shape[0]!;
  if (cotangent.shape.join(",") !== [S, T].join(",")) throw new ShapeError(`${where}: cotangent ${cotangent.aval} must be [S, T] = ${showShape([S, T])}`);
  const c = config.chunk;
  const { chunks, rows } = inputs;
  const matmulDtype = inputs.embed.dtype;
  const flatCotangent = np.pad(np.reshape(np.astype(cotangent, "f32"), [rows]), [[0, chunks * c - rows]]); // zero past S*T
  const blocks = np.reshape(inputs.flatHidden, [chunks, c, D]);
  const blockTokens = np.reshape(inputs.flatTokens, [chunks, c]);
  const blockCotangent = np.reshape(flatCotangent, [chunks, c]);
  const withEmbed = options.embedGrad ?? false;
  const init = [np.zeros([chunks, c, D], matmulDtype), np.zeros(withEmbed ? [V, D] : [1, 1], "f32")];
  const [dHiddenBlocks, dEmbed] = forLoop(0, chunks, (k, [dh, de]: ArrayBase[]) => {
    const h = np.reshape(lax.dynamicSlice(blocks, [k, 0, 0], [1, c, D]), [c, D]); //  [c, D]
    const t = np.reshape(lax.dynamicSlice(blockTokens, [k, 0], [1, c]), [c]); //    [c]
    const g = lax.dynamicSlice(blockCotangent, [k, 0], [1, c]); //                   [1, c]
    const p = nn.softmax(chunkLogits(h, inputs.embed, temperature), { axis: -1 }); // [c, V]
    const dz = np.divide(np.multiply(np.transpose(g), np.subtract(np.oneHot(t, V), p)), temperature); // [c, V], already / temperature
    const dzm = np.astype(dz, matmulDtype);
    const dhChunk = lax.dotGeneral(dzm, inputs.embed, { lhsContracting: [1], rhsContracting: [0], lhsBatch: [], rhsBatch: [] }); // [c, D]
    const nextDh = lax.dynamicUpdateSlice(dh!, np.reshape(dhChunk, [1, c, D]), [k, 0, 0]);
    if (!withEmbed) return [nextDh, de!];
    const deChunk = lax.dotGeneral(dzm, h, { lhsContracting: [0], rhsContracting: [0], lhsBatch: [], rhsBatch: [] }); // [V, D]
    return [nextDh, np.add(de!, np.astype(deChunk, "f32"))];
  }, init);
  const dHidden = np.reshape(np.sliceAxis(np.reshape(dHiddenBlocks!, [chunks * c, D]), 0, 0, rows), [S, T, D]);
  const result: { hidden: ArrayBase; embed?: ArrayBase } = { hidden: np.astype(dHidden, hidden.dtype) };
  if (withEmbed) result.embed = np.astype(dEmbed!, embed.dtype);
  return result;
}
