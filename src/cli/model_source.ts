// Where a command's model comes from: a preset with seeded random weights, or a Hugging Face model directory, with
// an optional LoRA adapter on top; on which device; and which tokenizer turns text into the model's ids.
import { stat } from "node:fs/promises";
import { PRESETS, type Gemma3Config, isPresetName, preset } from "../../models/gemma3/config.js";
import { initParams } from "../../models/gemma3/init.js";
import { type Gemma3Params, paramEntries } from "../../models/gemma3/params.js";
import { loadLoraAdapter, loadModelDirectory } from "../../models/gemma3/weights.js";
import type { LoraApplication } from "../../models/lora.js";
import { CharTokenizer } from "../data/char_tokenizer.js";
import { type Tokenizer, loadGemmaTokenizer, loadTokenizerFile } from "../data/tokenizer.js";
import type { DeviceArray } from "../runtime/array.js";
import { DEVICE_KINDS, type Device, bestDevice, getDevice } from "../runtime/device.js";
import { type OptionTable, type ParsedOptions, UsageError, choiceOption, integerOption } from "./options.js";

const PRESET_NAMES = Object.keys(PRESETS);
const WEIGHTS_DTYPES = ["f32", "bf16"] as const;
const GEMMA_VOCAB = 262_144;

export const MODEL_OPTIONS = {
  model: { type: "string", value: "DIR", help: "a Hugging Face Gemma3 model directory: config.json, model.safetensors (or shards with their index), optional tokenizer.json" },
  preset: { type: "string", value: "NAME", help: `random weights of a preset instead of --model: ${PRESET_NAMES.join(", ")}` },
  adapter: { type: "string", value: "FILE", help: "a LoRA adapter (.safetensors with rank, alpha and targets in its metadata) applied on top of the weights" },
  seed: { type: "string", value: "N", help: "seed of a preset's random weights (and of sampling, for generate)", default: "0" },
  "weights-dtype": { type: "string", value: "f32|bf16", help: "element type of the weights on the device (bf16: half the memory)", default: "f32" },
  device: { type: "string", value: "KIND", help: `where the model runs: ${DEVICE_KINDS.join(", ")}`, default: "the best present: tpu, gpu, then cpu" },
  tokenizer: {
    type: "string",
    value: "gemma3|char|FILE",
    help: "tokenizer for text: the built-in Gemma3 one, the character tokenizer, or a tokenizer.json",
    default: "the model directory's tokenizer.json, else gemma3 for a 262k vocabulary, else char",
  },
} as const satisfies OptionTable;

export type ModelOptions = ParsedOptions<typeof MODEL_OPTIONS>;

export interface LoadedSource {
  config: Gemma3Config;
  params: Gemma3Params<DeviceArray>;
  lora: LoraApplication<DeviceArray> | undefined;
  device: Device;
  /** The directory's tokenizer.json, when --model has one. */
  tokenizerPath: string | undefined;
  /** "tiny (random weights, seed 0)" or the directory, for messages. */
  description: string;
}

/** The device asked for, or the best one present (tpu, then gpu, then cpu; reference when none opens). */
export function chooseDevice(kind: string | undefined): Device {
  const chosen = choiceOption("device", kind, DEVICE_KINDS);
  return chosen === undefined ? bestDevice() : getDevice(chosen);
}

export function seedOption(raw: string | undefined): number {
  return integerOption("seed", raw, 0, { min: 0, max: 2 ** 32 - 1 });
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** Loads the weights (and adapter) the options name. */
export async function loadSource(options: ModelOptions): Promise<LoadedSource> {
  if ((options.model === undefined) === (options.preset === undefined)) {
    throw new UsageError("give exactly one of --model DIR (a checkpoint) or --preset NAME (random weights)");
  }
  const weightsDtype = choiceOption("weights-dtype", options["weights-dtype"], WEIGHTS_DTYPES, "f32");
  const seed = seedOption(options.seed);
  const device = chooseDevice(options.device);
  let config: Gemma3Config;
  let params: Gemma3Params<DeviceArray>;
  let tokenizerPath: string | undefined;
  let description: string;
  if (options.model !== undefined) {
    if (!(await isDirectory(options.model))) throw new UsageError(`--model ${options.model}: no such directory`);
    const loaded = await loadModelDirectory(options.model, { device, weightsDtype });
    ({ config, params, tokenizerPath } = loaded);
    description = options.model;
  } else {
    const name = options.preset!;
    if (!isPresetName(name)) throw new UsageError(`--preset must be one of ${PRESET_NAMES.join(", ")}, got ${JSON.stringify(name)}`);
    config = preset(name);
    params = initParams(config, { seed, weightsDtype, device });
    // The draws run asynchronously; waiting here makes a failure or the time they take belong to loading.
    for (const [, array] of paramEntries(config, params)) await array.ready();
    description = `${name} (random weights, seed ${seed})`;
  }
  let lora: LoraApplication<DeviceArray> | undefined;
  if (options.adapter !== undefined) {
    const adapter = await loadLoraAdapter(options.adapter, config, { device });
    lora = { lora: adapter.params, config: adapter.lora };
  }
  return { config, params, lora, device, tokenizerPath, description };
}

/**
 * The tokenizer for text input and output: --tokenizer when given, else the model directory's tokenizer.json, else
 * the built-in one that fits the vocabulary (gemma3 for 262k ids, the 203-id character tokenizer for the tiny
 * preset). Undefined when neither fits (a small custom config): ids only then.
 */
export async function chooseTokenizer(options: ModelOptions, source: LoadedSource): Promise<Tokenizer | undefined> {
  const vocab = source.config.vocabSize;
  const choice = options.tokenizer ?? source.tokenizerPath ?? (vocab >= GEMMA_VOCAB ? "gemma3" : vocab >= new CharTokenizer().vocabSize ? "char" : undefined);
  if (choice === undefined) return undefined;
  // The tokenizer's vocabulary may be larger than the model's (Gemma3's has 262,145 ids for 262,144 embedding
  // rows): encoded ids are checked against the model where they are used.
  return choice === "gemma3" ? loadGemmaTokenizer() : choice === "char" ? new CharTokenizer() : loadTokenizerFile(choice);
}
