// The Gemma3 text model, bottom up as the paper describes it: RMSNorm with (1 + scale), rotary embeddings with a
// local and a global base, grouped-query attention with RMS-normalised queries and keys, sliding-window layers
// between global ones, a GeGLU (tanh GELU) MLP, four norms per block, and embeddings tied with the output
// projection and scaled by sqrt(d_model).
//
// Shapes: B batch, T new tokens, S keys (T in training, the cache length when decoding), D = dModel, N query heads,
// K key/value heads, H head width, F MLP width, V vocabulary. Weights keep Hugging Face's [out, in] layout and are
// contracted on their `in` axis. Activations are f32 whatever the weights' dtype: a bf16 weight is converted to f32
// inside the graph right before its matmul, which keeps activations and logits in f32; compilers fuse that convert
// into the matmul (the cpu engine reads the bf16 weight in place), so no f32 copy of a weight is made.
//
// Every function takes an optional LoRA adapter; without one it is the base model, read from the same weights.
import type { ArrayBase } from "../../src/core/array_base.js";
import { ShapeError } from "../../src/core/errors.js";
import * as lax from "../../src/ops/index.js";
import * as nn from "../../src/lib/nn.js";
import * as np from "../../src/lib/np.js";
import { type LayerCache, positionsFromMask, visibilityMask, writeCache } from "../../kernels/attention.js";
import { applyRope } from "../../kernels/rope.js";
import type { LoraApplication, LoraPair, LoraTarget } from "../lora.js";
import type { Gemma3Config, LayerKind } from "./config.js";
import type { Gemma3LayerParams, Gemma3Params } from "./params.js";

export type { LoraApplication };

/** Per-layer key/value caches, [B, S, K, H] each. */
export type KVCache<A = ArrayBase> = LayerCache<A>[];

// --- building blocks -----------------------------------------------------------------------------------------

/** x [..., in] times a weight stored [out, in]: [..., out] in f32. */
export function linear(x: ArrayBase, weight: ArrayBase): ArrayBase {
  const w = np.astype(weight, "f32"); //                                             [out, in]
  return lax.dotGeneral(x, w, { lhsContracting: [x.ndim - 1], rhsContracting: [1], lhsBatch: [], rhsBatch: [] }); // [..., out]
}

/** The low-rank update (x A) B * alpha / rank: x [..., in], A [in, r], B [r, out]. */
function loraUpdate(x: ArrayBase, pair: LoraPair<ArrayBase>, scale: number): ArrayBase {
  const xa = np.matmul(x, pair.a); //                                                 [..., r]
  return np.multiply(np.matmul(xa, pair.b), scale); //                                [..., out]
}

/** A projection with its optional LoRA update. */
function project(x: ArrayBase, weight: ArrayBase, pair: LoraPair<ArrayBase> | undefined, scale: number): ArrayBase {
  const y = linear(x, weight); //                                                     [..., out]
  return pair === undefined ? y : np.add(y, loraUpdate(x, pair, scale)); //          [..., out]
}

/** Gemma's RMSNorm: x / sqrt(mean(x^2) + eps) * (1 + scale), over the last axis. */
export function rmsNorm(x: ArrayBase, scale: ArrayBase, config: Gemma3Config): ArrayBase {
  return nn.rmsNorm(x, scale, config.rmsNormEps, { addOne: true });
}

/** The GeGLU MLP: down(gelu_tanh(gate(x)) * up(x)). x [B, T, D] -> [B, T, D]. */
export function mlp(layer: Gemma3LayerParams<ArrayBase>, x: ArrayBase, adapter?: LayerAdapter): ArrayBase {
  const gate = project(x, layer.gate, adapter?.pairs.gate, adapter?.scale ?? 0); //   [B, T, F]
  const up = project(x, layer.up, adapter?.pairs.up, adapter?.scale ?? 0); //         [B, T, F]
  const hidden = np.multiply(nn.gelu(gate), up); //                                   [B, T, F]
  return project(hidden, layer.down, adapter?.pairs.down, adapter?.scale ?? 0); //   [B, T, D]
}

/** One layer's LoRA pairs and their scale alpha / rank. */
export interface LayerAdapter {
  pairs: Partial<Record<LoraTarget, LoraPair<ArrayBase>>>;
  scale: number;
}

/** The context of layer `index`: its weights, its kind, and its LoRA pairs when an adapter is applied. */
export function layerContext(config: Gemma3Config, layer: Gemma3LayerParams<ArrayBase>, index: number, application?: LoraApplication): LayerContext {
  const kind = config.layerKinds[index]!;
  if (application === undefined) return { config, layer, kind };
  const pairs = application.lora.layers[index];
  if (pairs === undefined) throw new ShapeError(`LoRA tree has ${application.lora.layers.length} layers; layer ${index} is missing`);
  return { config, layer, kind, adapter: { pairs, scale: application.config.alpha / application.config.rank } };
}

/** Where a layer's keys come from and what its queries may see. */
export interface AttentionInputs {
  /** Positions of the new tokens: [B, T] i32. */
  positions: ArrayBase;
  /** Visibility of every key for every query, per layer kind: [B, T, S] bool. */
  masks: Record<LayerKind, ArrayBase | undefined>;
  /** When decoding: the layer's cache (the new keys/values are written at `index` before attending). */
  cache?: { layer: LayerCache; index: ArrayBase | number };
}

/** One layer's weights, kind and optional LoRA pairs. */
export interface LayerContext {
  config: Gemma3Config;
  layer: Gemma3LayerParams<ArrayBase>;
  kind: LayerKind;
  adapter?: LayerAdapter;
}

/** Self-attention of one layer. x [B, T, D] (already normed) -> [B, T, D], and the updated cache when decoding. */
export function attention(context: LayerContext, x: ArrayBase, inputs: AttentionInputs): { out: ArrayBase; cache?: LayerCache } {
  const { config, layer, kind, adapter } = context;
  const [B, T] = x.shape as [number, number, number];
  const { numHeads: N, numKvHeads: K, headDim: H } = config;
  const scale = adapter?.scale ?? 0;
  let q = np.reshape(project(x, layer.q, adapter?.pairs.q, scale), [B, T, N, H]); //  [B, T, N, H]
  let k = np.reshape(linear(x, layer.k), [B, T, K, H]); //                            [B, T, K, H]
  let v = np.reshape(linear(x, layer.v), [B, T, K, H]); //                            [B, T, K, H]
  const kvPair = adapter?.pairs.kv;
  if (kvPair !== undefined) {
    // Keys and values share one A: x A is computed once, B's first K*H columns adapt k, the rest v.
    const kv = loraUpdate(x, kvPair, scale); //                                       [B, T, 2*K*H]
    k = np.add(k, np.reshape(lax.slice(kv, [0, 0, 0], [B, T, K * H]), [B, T, K, H])); //          [B, T, K, H]
    v = np.add(v, np.reshape(lax.slice(kv, [0, 0, K * H], [B, T, 2 * K * H]), [B, T, K, H])); //  [B, T, K, H]
  }
  q = rmsNorm(q, layer.qNorm, config); //                                             [B, T, N, H]
  k = rmsNorm(k, layer.kNorm, config); //                                             [B, T, K, H]
  const rope = kind === "local"
    ? { base: config.ropeLocalBase }
    : { base: config.ropeGlobalBase, scale: config.ropeGlobalScale };
  q = applyRope(q, inputs.positions, rope); //                                        [B, T, N, H]
  k = applyRope(k, inputs.positions, rope); //                                        [B, T, K, H]
  let keys = k; //                                                                     [B, S, K, H]
  let values = v; //                                                                   [B, S, K, H]
  let cache: LayerCache | undefined;
  if (inputs.cache !== undefined) {
    cache = writeCache(inputs.cache.layer, k, v, inputs.cache.index); //             [B, S, K, H] each
    keys = np.astype(cache.k, "f32");
    values = np.astype(cache.v, "f32");
  }
  const mask = inputs.masks[kind]!; //                                                 [B, T, S]
  const attended = nn.attention(q, keys, values, mask, { scale: config.queryPreAttnScalar ** -0.5 }); // [B, T, N, H]
  const merged = np.reshape(attended, [B, T, N * H]); //                              [B, T, N*H]
  const out = project(merged, layer.o, adapter?.pairs.o, scale); //                   [B, T, D]
  return cache === undefined ? { out } : { out, cache };
}

/** One transformer block: h = x + post_attn_norm(attn(pre_attn_norm(x))); out = h + post_ffw_norm(mlp(pre_ffw_norm(h))). */
export function block(context: LayerContext, x: ArrayBase, inputs: AttentionInputs): { out: ArrayBase; cache?: LayerCache } {
  const { config, layer, adapter } = context;
  const attended = attention(context, rmsNorm(x, layer.inputNorm, config), inputs); //                   [B, T, D]
  const h = np.add(x, rmsNorm(attended.out, layer.postAttnNorm, config)); //                              [B, T, D]
  const m = mlp(layer, rmsNorm(h, layer.preFfwNorm, config), adapter); //                                   [B, T, D]
  const out = np.add(h, rmsNorm(m, layer.postFfwNorm, config)); //                                          [B, T, D]
  return attended.cache === undefined ? { out } : { out, cache: attended.cache };
}

/** Masks for the layer kinds the config uses: [B, T, S] bool each. */
function layerMasks(config: Gemma3Config, queryPositions: ArrayBase, keyPositions: ArrayBase, keyValid: ArrayBase): Record<LayerKind, ArrayBase | undefined> {
  const kinds = new Set(config.layerKinds);
  return {
    local: kinds.has("local") ? visibilityMask(queryPositions, keyPositions, keyValid, config.slidingWindow) : undefined,
    global: kinds.has("global") ? visibilityMask(queryPositions, keyPositions, keyValid) : undefined,
  };
}

/** Token embeddings scaled by sqrt(d_model): tokens [B, T] i32 -> [B, T, D] f32. */
export function embed(config: Gemma3Config, params: Gemma3Params<ArrayBase>, tokens: ArrayBase): ArrayBase {
  if (tokens.dtype !== "i32" || tokens.ndim !== 2) throw new ShapeError(`gemma3: tokens must be i32 [B, T], got ${tokens.aval}`);
  const rows = np.astype(np.take(params.embed, tokens, 0), "f32"); //                [B, T, D]
  // The scale is rounded to the activation dtype (f32) as the reference implementations do.
  return np.multiply(rows, Math.sqrt(config.dModel)); //                             [B, T, D]
}

/** Logits of the tied output projection: hidden [..., D] -> [..., V] f32. A bf16 embedding is converted right
 * before the dot, as every weight is: the cpu engine fuses that convert into the dot (the bf16 table is read in
 * place, widened in registers or in cache-sized panels), as XLA does, so no f32 copy of the table exists (1.2 GB
 * for a 262k x 1152 vocabulary) and the table is read once per step. */
export function logitsFromHidden(params: Gemma3Params<ArrayBase>, hidden: ArrayBase): ArrayBase {
  return linear(np.astype(hidden, "f32"), params.embed); //                          [..., V]
}

function checkLayers(config: Gemma3Config, params: Gemma3Params<ArrayBase>): void {
  if (params.layers.length !== config.numLayers) {
    throw new ShapeError(`gemma3 ${config.name}: the parameters have ${params.layers.length} layers, the config ${config.numLayers}`);
  }
}

// --- training forward over full sequences ---------------------------------------------------------------------

/**
 * Final hidden states (after the final norm) of full sequences: tokens [B, T] i32, mask [B, T] bool (false on
 * padding, left or right). Positions count real tokens only. Returns [B, T, D] f32; pair it with
 * logitsFromHidden, or project the vocabulary in chunks.
 */
export function forwardHidden(
  config: Gemma3Config,
  params: Gemma3Params<ArrayBase>,
  tokens: ArrayBase,
  mask: ArrayBase,
  lora?: LoraApplication,
): ArrayBase {
  checkLayers(config, params);
  if (mask.dtype !== "bool" || mask.shape.join(",") !== tokens.shape.join(",")) {
    throw new ShapeError(`gemma3: the mask must be bool of the tokens' shape ${tokens.aval}, got ${mask.aval}`);
  }
  const positions = positionsFromMask(mask); //                                       [B, T]
  const inputs: AttentionInputs = { positions, masks: layerMasks(config, positions, positions, mask) };
  let x = embed(config, params, tokens); //                                           [B, T, D]
  params.layers.forEach((layer, i) => {
    x = block(layerContext(config, layer, i, lora), x, inputs).out; //                 [B, T, D]
  });
  return rmsNorm(x, params.finalNorm, config); //                                     [B, T, D]
}

/** Logits [B, T, V] f32 of full sequences (see forwardHidden). */
export function forward(
  config: Gemma3Config,
  params: Gemma3Params<ArrayBase>,
  tokens: ArrayBase,
  mask: ArrayBase,
  lora?: LoraApplication,
): ArrayBase {
  return logitsFromHidden(params, forwardHidden(config, params, tokens, mask, lora)); // [B, T, V]
}

// --- decoding with a key/value cache -----------------------------------------------------------------------------

/** An empty cache: per layer k, v zeros [B, S, K, H] (f32 unless `dtype` says otherwise). Use under jit or eagerly. */
export function emptyCache(config: Gemma3Config, batch: number, length: number, dtype: "f32" | "bf16" = "f32"): KVCache {
  const shape = [batch, length, config.numKvHeads, config.headDim];
  return config.layerKinds.map(() => ({ k: np.zeros(shape, dtype), v: np.zeros(shape, dtype) }));
}

/** The cache and where the next tokens go. */
export interface DecodeState {
  /** Per-layer keys and values [B, S, K, H]. */
  cache: KVCache;
  /** First slot the new tokens are written to (i32 scalar, or a number). */
  index: ArrayBase | number;
  /** [B, S] bool: the valid slots including the new ones (false on left padding and on slots not written yet). */
  cacheMask: ArrayBase;
}

/**
 * Runs T new tokens [B, T] i32 through the model with a cache: their keys and values are written at slots
 * index .. index + T - 1, and each attends to every valid slot it may see. Positions are counted over the cache
 * mask, so a left-padded prompt decodes as if it had no padding. Returns the final hidden states [B, T, D] f32
 * and the updated cache.
 */
export function decodeHidden(
  config: Gemma3Config,
  params: Gemma3Params<ArrayBase>,
  tokens: ArrayBase,
  state: DecodeState,
  lora?: LoraApplication,
): { hidden: ArrayBase; cache: KVCache } {
  checkLayers(config, params);
  const { cache, index, cacheMask } = state;
  if (cache.length !== config.numLayers) throw new ShapeError(`gemma3 decode: the cache has ${cache.length} layers, the model ${config.numLayers}`);
  const [B, T] = tokens.shape as [number, number];
  const S = cache[0]!.k.shape[1]!;
  if (cacheMask.dtype !== "bool" || cacheMask.shape.join(",") !== `${B},${S}`) {
    throw new ShapeError(`gemma3 decode: cacheMask must be bool [${B}, ${S}], got ${cacheMask.aval}`);
  }
  const keyPositions = positionsFromMask(cacheMask); //                                [B, S]
  const positions = lax.dynamicSlice(keyPositions, [0, index], [B, T]); //            [B, T]
  const masks = layerMasks(config, positions, keyPositions, cacheMask); //            [B, T, S] per kind
  let x = embed(config, params, tokens); //                                           [B, T, D]
  const next: KVCache = [];
  params.layers.forEach((layer, i) => {
    const inputs: AttentionInputs = { positions, masks, cache: { layer: cache[i]!, index } };
    const result = block(layerContext(config, layer, i, lora), x, inputs);
    x = result.out; //                                                                [B, T, D]
    next.push(result.cache!);
  });
  return { hidden: rmsNorm(x, params.finalNorm, config), cache: next }; //           [B, T, D]
}

/** decodeHidden followed by the output projection: logits [B, T, V] f32 and the updated cache. */
export function decode(
  config: Gemma3Config,
  params: Gemma3Params<ArrayBase>,
  tokens: ArrayBase,
  state: DecodeState,
  lora?: LoraApplication,
): { logits: ArrayBase; cache: KVCache } {
  const { hidden, cache } = decodeHidden(config, params, tokens, state, lora);
  return { logits: logitsFromHidden(params, hidden), cache }; //                      [B, T, V]
}
