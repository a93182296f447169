// The parameter tree of a Gemma3 text model and its one weight table: every tensor's place in the tree, its
// shape, and its Hugging Face name. Matrices keep Hugging Face's [out, in] layout, so a checkpoint loads and
// exports without transposing gigabytes; the model contracts the `in` axis directly.
import type { Gemma3Config } from "./config.js";

/** Per-block weights. D = dModel, N = numHeads, K = numKvHeads, H = headDim, F = ffnDim. */
export interface Gemma3LayerParams<A> {
  inputNorm: A; //    [D]      pre-attention RMSNorm scale (stored as an offset from 1)
  postAttnNorm: A; // [D]      applied to the attention output before the residual add
  preFfwNorm: A; //   [D]      pre-MLP RMSNorm scale
  postFfwNorm: A; //  [D]      applied to the MLP output before the residual add
  q: A; //            [N*H, D] query projection, rows head-major
  k: A; //            [K*H, D]
  v: A; //            [K*H, D]
  o: A; //            [D, N*H] attention output projection
  qNorm: A; //        [H]      per-head RMSNorm on queries
  kNorm: A; //        [H]      per-head RMSNorm on keys
  gate: A; //         [F, D]   GeGLU gate projection
  up: A; //           [F, D]
  down: A; //         [D, F]
}

export interface Gemma3Params<A> {
  embed: A; //     [V, D] token embeddings, tied with the output projection
  finalNorm: A; // [D]
  layers: Gemma3LayerParams<A>[];
}

export type LayerWeightName = keyof Gemma3LayerParams<unknown>;

/** One row of the weight table. `path` is the tensor's place in the tree ("embed", "layers.3.q"). */
export interface WeightSpec {
  path: string;
  shape: number[];
  /** Hugging Face name (without a `language_model.` prefix). */
  hfName: string;
  /** RMSNorm scales are zero at init (the norm multiplies by 1 + scale); matrices are random. */
  kind: "norm" | "matrix" | "embedding";
}

const LAYER_TABLE: { name: LayerWeightName; hf: string; shape: (c: Gemma3Config) => number[] }[] = [
  { name: "inputNorm", hf: "input_layernorm.weight", shape: (c) => [c.dModel] },
  { name: "postAttnNorm", hf: "post_attention_layernorm.weight", shape: (c) => [c.dModel] },
  { name: "preFfwNorm", hf: "pre_feedforward_layernorm.weight", shape: (c) => [c.dModel] },
  { name: "postFfwNorm", hf: "post_feedforward_layernorm.weight", shape: (c) => [c.dModel] },
  { name: "q", hf: "self_attn.q_proj.weight", shape: (c) => [c.numHeads * c.headDim, c.dModel] },
  { name: "k", hf: "self_attn.k_proj.weight", shape: (c) => [c.numKvHeads * c.headDim, c.dModel] },
  { name: "v", hf: "self_attn.v_proj.weight", shape: (c) => [c.numKvHeads * c.headDim, c.dModel] },
  { name: "o", hf: "self_attn.o_proj.weight", shape: (c) => [c.dModel, c.numHeads * c.headDim] },
  { name: "qNorm", hf: "self_attn.q_norm.weight", shape: (c) => [c.headDim] },
  { name: "kNorm", hf: "self_attn.k_norm.weight", shape: (c) => [c.headDim] },
  { name: "gate", hf: "mlp.gate_proj.weight", shape: (c) => [c.ffnDim, c.dModel] },
  { name: "up", hf: "mlp.up_proj.weight", shape: (c) => [c.ffnDim, c.dModel] },
  { name: "down", hf: "mlp.down_proj.weight", shape: (c) => [c.dModel, c.ffnDim] },
];

export const LAYER_WEIGHT_NAMES: readonly LayerWeightName[] = LAYER_TABLE.map((row) => row.name);

/** Every tensor of the model, in a fixed order (embedding, final norm, then layer by layer). */
export function weightTable(config: Gemma3Config): WeightSpec[] {
  const table: WeightSpec[] = [
    { path: "embed", shape: [config.vocabSize, config.dModel], hfName: "model.embed_tokens.weight", kind: "embedding" },
    { path: "finalNorm", shape: [config.dModel], hfName: "model.norm.weight", kind: "norm" },
  ];
  for (let layer = 0; layer < config.numLayers; layer++) {
    for (const row of LAYER_TABLE) {
      const shape = row.shape(config);
      table.push({
        path: `layers.${layer}.${row.name}`,
        shape,
        hfName: `model.layers.${layer}.${row.hf}`,
        kind: shape.length === 1 ? "norm" : "matrix",
      });
    }
  }
  return table;
}

/** Total number of parameters (tied embeddings counted once). */
export function countParams(config: Gemma3Config): number {
  return weightTable(config).reduce((sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1), 0);
}

/** Builds a parameter tree from a function of each weight's spec (for loaders and initialisers). */
export function buildParams<A>(config: Gemma3Config, make: (spec: WeightSpec) => A): Gemma3Params<A> {
  const byPath = new Map(weightTable(config).map((spec) => [spec.path, spec]));
  const get = (path: string): A => make(byPath.get(path)!);
  return {
    embed: get("embed"),
    finalNorm: get("finalNorm"),
    layers: Array.from({ length: config.numLayers }, (_, layer) => {
      const entries = LAYER_WEIGHT_NAMES.map((name) => [name, get(`layers.${layer}.${name}`)] as const);
      return Object.fromEntries(entries) as unknown as Gemma3LayerParams<A>;
    }),
  };
}

/** The tensor at `path` ("embed", "finalNorm", "layers.N.<name>"), or undefined. */
export function paramAt<A>(params: Gemma3Params<A>, path: string): A | undefined {
  if (path === "embed") return params.embed;
  if (path === "finalNorm") return params.finalNorm;
  const match = /^layers\.(\d+)\.(\w+)$/.exec(path);
  if (!match) return undefined;
  const layer = params.layers[Number(match[1])];
  return layer?.[match[2] as LayerWeightName];
}

/** Every tensor with its spec, in weightTable order. */
export function* paramEntries<A>(config: Gemma3Config, params: Gemma3Params<A>): Generator<[WeightSpec, A]> {
  for (const spec of weightTable(config)) yield [spec, paramAt(params, spec.path) as A];
}
