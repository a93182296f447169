// Gemma3 text-model configuration: the published presets, small test configs of the same architecture, and the
// reader for a Hugging Face `config.json` (`gemma3_text`, or the `text_config` of a multimodal `gemma3` one).

/** Whether a layer attends within a sliding window ("local") or to the whole prefix ("global"). */
export type LayerKind = "local" | "global";

export interface Gemma3Config {
  /** Preset name, or where the config was read from. */
  name: string;
  /** Vocabulary size V (262144 for 270M/1B; 262208 for 4B and up, which reserve image tokens). */
  vocabSize: number;
  /** Model width d_model (HF `hidden_size`). */
  dModel: number;
  /** Number of transformer blocks L. */
  numLayers: number;
  /** Query heads N. */
  numHeads: number;
  /** Key/value heads K (1 = multi-query attention; N must be a multiple of K). */
  numKvHeads: number;
  /** Width of one head H. */
  headDim: number;
  /** Hidden width F of the gated MLP (HF `intermediate_size`). */
  ffnDim: number;
  /** Local layers see keys at distance 0 .. slidingWindow - 1 behind the query. */
  slidingWindow: number;
  /** Kind of each layer, length numLayers. */
  layerKinds: LayerKind[];
  /** RoPE base frequency of local layers (HF `rope_local_base_freq`). */
  ropeLocalBase: number;
  /** RoPE base frequency of global layers (HF `rope_theta`). */
  ropeGlobalBase: number;
  /** Linear RoPE scaling factor of global layers (positions divided by it); 1 means none. */
  ropeGlobalScale: number;
  /** Queries are scaled by queryPreAttnScalar^-0.5 before the dot with keys. */
  queryPreAttnScalar: number;
  /** Epsilon inside every RMSNorm. */
  rmsNormEps: number;
  /** Longest sequence the model was trained for. */
  maxPositions: number;
}

/** Gemma3's pattern: five local layers, then one global (layer i is global iff (i + 1) % 6 == 0). */
export function slidingPattern(numLayers: number, period = 6): LayerKind[] {
  return Array.from({ length: numLayers }, (_, i) => ((i + 1) % period === 0 ? "global" : "local"));
}

const GEMMA3_SHARED = {
  headDim: 256,
  queryPreAttnScalar: 256,
  rmsNormEps: 1e-6,
  ropeLocalBase: 10_000,
  ropeGlobalBase: 1_000_000,
} as const;

export const PRESETS = {
  "gemma3-270m": {
    ...GEMMA3_SHARED,
    name: "gemma3-270m",
    vocabSize: 262_144,
    dModel: 640,
    numLayers: 18,
    numHeads: 4,
    numKvHeads: 1,
    ffnDim: 2048,
    slidingWindow: 512,
    layerKinds: slidingPattern(18),
    ropeGlobalScale: 1,
    maxPositions: 32_768,
  },
  "gemma3-1b": {
    ...GEMMA3_SHARED,
    name: "gemma3-1b",
    vocabSize: 262_144,
    dModel: 1152,
    numLayers: 26,
    numHeads: 4,
    numKvHeads: 1,
    ffnDim: 6912,
    slidingWindow: 512,
    layerKinds: slidingPattern(26),
    ropeGlobalScale: 1,
    maxPositions: 32_768,
  },
  // The text tower of the multimodal 4B model (its published `text_config`, defaults filled in).
  "gemma3-4b": {
    ...GEMMA3_SHARED,
    name: "gemma3-4b",
    vocabSize: 262_208,
    dModel: 2560,
    numLayers: 34,
    numHeads: 8,
    numKvHeads: 4,
    ffnDim: 10_240,
    slidingWindow: 1024,
    layerKinds: slidingPattern(34),
    ropeGlobalScale: 8,
    maxPositions: 131_072,
  },
  // Same architecture, sized for tests and demos: two local layers and one global, grouped-query attention
  // (2 query heads per KV head) so head sharing is exercised, a window short enough to be crossed in tests.
  tiny: {
    name: "tiny",
    vocabSize: 512,
    dModel: 64,
    numLayers: 3,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 16,
    ffnDim: 128,
    slidingWindow: 8,
    layerKinds: slidingPattern(3, 3),
    ropeLocalBase: 10_000,
    ropeGlobalBase: 1_000_000,
    ropeGlobalScale: 1,
    queryPreAttnScalar: 16,
    rmsNormEps: 1e-6,
    maxPositions: 2048,
  },
} satisfies Record<string, Gemma3Config>;

export type PresetName = keyof typeof PRESETS;

export function isPresetName(name: string): name is PresetName {
  return Object.prototype.hasOwnProperty.call(PRESETS, name);
}

/** A copy of a preset (callers may modify it). */
export function preset(name: PresetName): Gemma3Config {
  const p: Gemma3Config = PRESETS[name];
  return { ...p, layerKinds: [...p.layerKinds] };
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Checks a config's internal consistency; throws a ConfigError naming the field. */
export function validateConfig(config: Gemma3Config, where = config.name): Gemma3Config {
  const positiveIntegers: (keyof Gemma3Config)[] = [
    "vocabSize", "dModel", "numLayers", "numHeads", "numKvHeads", "headDim", "ffnDim", "slidingWindow",
    "maxPositions",
  ];
  for (const field of positiveIntegers) {
    const value = config[field];
    if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
      throw new ConfigError(`${where}: ${field} must be a positive integer, got ${JSON.stringify(value)}`);
    }
  }
  const positiveNumbers: (keyof Gemma3Config)[] = [
    "ropeLocalBase", "ropeGlobalBase", "ropeGlobalScale", "queryPreAttnScalar", "rmsNormEps",
  ];
  for (const field of positiveNumbers) {
    const value = config[field];
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw new ConfigError(`${where}: ${field} must be a positive number, got ${JSON.stringify(value)}`);
    }
  }
  if (config.numHeads % config.numKvHeads !== 0) {
    throw new ConfigError(
      `${where}: numHeads (${config.numHeads}) must be a multiple of numKvHeads (${config.numKvHeads})`,
    );
  }
  if (config.headDim % 2 !== 0) throw new ConfigError(`${where}: headDim must be even for RoPE, got ${config.headDim}`);
  if (!Array.isArray(config.layerKinds) || config.layerKinds.length !== config.numLayers) {
    throw new ConfigError(
      `${where}: layerKinds must list ${config.numLayers} layers, got ${Array.isArray(config.layerKinds) ? config.layerKinds.length : typeof config.layerKinds}`,
    );
  }
  config.layerKinds.forEach((kind, i) => {
    if (kind !== "local" && kind !== "global") {
      throw new ConfigError(`${where}: layerKinds[${i}] must be "local" or "global", got ${JSON.stringify(kind)}`);
    }
  });
  return config;
}

// Defaults of the Hugging Face Gemma3 text config, used for fields a `config.json` leaves out (the multimodal
// checkpoints list only what differs from them in `text_config`).
const HF_TEXT_DEFAULTS = {
  vocab_size: 262_208,
  hidden_size: 2304,
  intermediate_size: 9216,
  num_hidden_layers: 26,
  num_attention_heads: 8,
  num_key_value_heads: 4,
  head_dim: 256,
  max_position_embeddings: 131_072,
  rms_norm_eps: 1e-6,
  rope_theta: 1_000_000,
  rope_local_base_freq: 10_000,
  query_pre_attn_scalar: 256,
  sliding_window: 4096,
  sliding_window_pattern: 6,
} as const;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Reads a Hugging Face config (`model_type` "gemma3_text", or "gemma3" with a `text_config`). `source` names the
 * file in errors. Softcapping (a Gemma2 feature) and activations other than tanh-GELU are refused, not ignored.
 */
export function configFromHuggingFace(json: unknown, source = "config.json"): Gemma3Config {
  if (!isObject(json)) throw new ConfigError(`${source}: expected a JSON object`);
  let text: Json = json;
  let where = source;
  if (json.model_type === "gemma3") {
    if (json.text_config !== undefined && !isObject(json.text_config)) {
      throw new ConfigError(`${source}: text_config must be an object`);
    }
    text = (json.text_config as Json | undefined) ?? {};
    where = `${source} (text_config)`;
  } else if (json.model_type !== "gemma3_text") {
    throw new ConfigError(
      `${source}: model_type must be "gemma3_text" or "gemma3", got ${JSON.stringify(json.model_type)}`,
    );
  }
  const field = (name: keyof typeof HF_TEXT_DEFAULTS): number => {
    const value = text[name] ?? HF_TEXT_DEFAULTS[name];
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new ConfigError(`${where}: ${name} must be a number, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  for (const name of ["attn_logit_softcapping", "final_logit_softcapping"]) {
    if (text[name] !== undefined && text[name] !== null) {
      throw new ConfigError(`${where}: ${name} is set (${JSON.stringify(text[name])}); Gemma3 has no softcapping`);
    }
  }
  const activation = text.hidden_activation ?? text.hidden_act ?? "gelu_pytorch_tanh";
  if (activation !== "gelu_pytorch_tanh") {
    throw new ConfigError(`${where}: hidden_activation ${JSON.stringify(activation)} is not supported (gelu_pytorch_tanh)`);
  }
  const numLayers = field("num_hidden_layers");
  let layerKinds: LayerKind[];
  if (text.layer_types !== undefined) {
    if (!Array.isArray(text.layer_types)) throw new ConfigError(`${where}: layer_types must be an array`);
    layerKinds = text.layer_types.map((t, i) => {
      if (t === "sliding_attention") return "local";
      if (t === "full_attention") return "global";
      throw new ConfigError(`${where}: layer_types[${i}] ${JSON.stringify(t)} is not sliding_attention or full_attention`);
    });
  } else {
    layerKinds = slidingPattern(numLayers, field("sliding_window_pattern"));
  }
  let ropeGlobalScale = 1;
  const scaling = text.rope_scaling;
  if (scaling !== undefined && scaling !== null) {
    if (!isObject(scaling)) throw new ConfigError(`${where}: rope_scaling must be an object or null`);
    const kind = scaling.rope_type ?? scaling.type;
    if (kind === "default") {
      ropeGlobalScale = 1;
    } else if (kind === "linear") {
      if (typeof scaling.factor !== "number") throw new ConfigError(`${where}: rope_scaling.factor must be a number`);
      ropeGlobalScale = scaling.factor;
    } else {
      throw new ConfigError(`${where}: rope_scaling.rope_type ${JSON.stringify(kind)} is not supported (linear)`);
    }
  }
  const config: Gemma3Config = {
    name: source,
    vocabSize: field("vocab_size"),
    dModel: field("hidden_size"),
    numLayers,
    numHeads: field("num_attention_heads"),
    numKvHeads: field("num_key_value_heads"),
    headDim: field("head_dim"),
    ffnDim: field("intermediate_size"),
    slidingWindow: field("sliding_window"),
    layerKinds,
    ropeLocalBase: field("rope_local_base_freq"),
    ropeGlobalBase: field("rope_theta"),
    ropeGlobalScale,
    queryPreAttnScalar: field("query_pre_attn_scalar"),
    rmsNormEps: field("rms_norm_eps"),
    maxPositions: field("max_position_embeddings"),
  };
  return validateConfig(config, where);
}

/** The config as a Hugging Face `gemma3_text` config.json object (for exports). */
export function configToHuggingFace(config: Gemma3Config): Json {
  return {
    architectures: ["Gemma3ForCausalLM"],
    model_type: "gemma3_text",
    vocab_size: config.vocabSize,
    hidden_size: config.dModel,
    intermediate_size: config.ffnDim,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKvHeads,
    head_dim: config.headDim,
    hidden_activation: "gelu_pytorch_tanh",
    max_position_embeddings: config.maxPositions,
    rms_norm_eps: config.rmsNormEps,
    rope_theta: config.ropeGlobalBase,
    rope_local_base_freq: config.ropeLocalBase,
    rope_scaling: config.ropeGlobalScale === 1 ? null : { rope_type: "linear", factor: config.ropeGlobalScale },
    query_pre_attn_scalar: config.queryPreAttnScalar,
    sliding_window: config.slidingWindow,
    layer_types: config.layerKinds.map((k) => (k === "local" ? "sliding_attention" : "full_attention")),
    attn_logit_softcapping: null,
    final_logit_softcapping: null,
    tie_word_embeddings: true,
    pad_token_id: 0,
    eos_token_id: [1, 106],
    bos_token_id: 2,
    torch_dtype: "bfloat16",
  };
}
