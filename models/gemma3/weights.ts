// Gemma3 weights in and out of Hugging Face model directories, and LoRA adapters on their own.
//
// A directory as users download it holds `config.json`, the weights in `model.safetensors` or in shards
// `model-0000N-of-0000M.safetensors` listed by `model.safetensors.index.json`, and usually `tokenizer.json`.
// Every tensor goes through the weight table (params.ts): its name is mapped to a place in the tree and its shape
// checked against the config before any data is read; tensors are then read one at a time, uploaded to the device
// and their host copy dropped, so at most one tensor is ever held on the host.
import { copyFile, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { DeviceArray } from "../../src/runtime/array.js";
import { type Device, type DeviceKind, getDevice } from "../../src/runtime/device.js";
import type { HostTensor } from "../../src/runtime/host.js";
import { type LoraConfig, type LoraParams, type LoraTarget, LORA_TARGETS, loraDims } from "../lora.js";
import {
  type FloatDType,
  SafetensorsReader,
  TensorFileError,
  type TensorToWrite,
  bf16ToF32,
  f32ToBf16,
  writeSafetensors,
} from "../safetensors.js";
import { ConfigError, type Gemma3Config, configFromHuggingFace, configToHuggingFace } from "./config.js";
import { type Gemma3Params, type WeightSpec, buildParams, paramEntries, weightTable } from "./params.js";

/** Element type of the frozen weights on the device. */
export type WeightsDType = "f32" | "bf16";

export const CONFIG_FILE = "config.json";
export const SINGLE_FILE = "model.safetensors";
export const INDEX_FILE = "model.safetensors.index.json";
export const TOKENIZER_FILE = "tokenizer.json";

/** A problem with a model directory or adapter: names the file and, where there is one, the tensor. */
export class WeightsError extends TensorFileError {}

const showShape = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

// Multimodal checkpoints carry an image encoder beside the text model; its tensors are skipped (and counted).
const VISION_PREFIXES = ["vision_tower.", "multi_modal_projector.", "model.vision_tower.", "model.multi_modal_projector."];

/** The output projection: Gemma3 ties it to the embedding, so a checkpoint that stores it must store a copy. */
export const TIED_HEAD = "lm_head.weight";

/**
 * The text-model name of a checkpoint key (`model.layers.0.mlp.up_proj.weight`), accepting the multimodal forms
 * `language_model.model.X`, `model.language_model.X` and a bare `language_model.` prefix. Returns "vision" for
 * the image encoder's tensors, "derived" for buffers computed from the config (RoPE `rotary_emb.inv_freq`, which
 * older exports saved), and TIED_HEAD for a stored output projection.
 */
export function canonicalWeightName(key: string): string {
  if (VISION_PREFIXES.some((prefix) => key.startsWith(prefix))) return "vision";
  if (/(^|\.)rotary_emb\./.test(key)) return "derived";
  let name = key;
  if (name.startsWith("language_model.")) name = name.slice("language_model.".length);
  if (name === TIED_HEAD) return TIED_HEAD;
  if (name.startsWith("model.language_model.")) name = `model.${name.slice("model.language_model.".length)}`;
  if (!name.startsWith("model.") && key !== name) name = `model.${name}`;
  return name;
}

export interface LoadOptions {
  /** Where the weights go (default: the default device). */
  device?: DeviceKind | Device;
  /** bf16 keeps frozen weights in bf16 on the device (half the memory); f32 (default) converts them. */
  weightsDtype?: WeightsDType;
}

export interface LoadedModel {
  config: Gemma3Config;
  params: Gemma3Params<DeviceArray>;
  /** The directory's `tokenizer.json`, when it has one. */
  tokenizerPath: string | undefined;
  /** The safetensors files read. */
  files: string[];
  /** Tensors of the image encoder of a multimodal checkpoint, which a text model does not use. */
  skippedVisionTensors: number;
  /** Other checkpoint keys not loaded: derived RoPE buffers, and a stored copy of the tied output projection. */
  skippedTensors: string[];
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new WeightsError(path, undefined, `cannot read: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new WeightsError(path, undefined, `not valid JSON: ${(error as Error).message}`);
  }
}

/** Reads a model directory's config.json. */
export async function readModelConfig(directory: string): Promise<Gemma3Config> {
  const path = join(directory, CONFIG_FILE);
  if (!(await exists(path))) throw new WeightsError(path, undefined, "no config.json in the model directory");
  const config = configFromHuggingFace(await readJson(path), path);
  config.name = basename(directory);
  return config;
}

/** The safetensors files of a directory and, for a sharded one, which file the index says holds each tensor. */
async function listWeightFiles(directory: string): Promise<{ files: string[]; index: Map<string, string> | undefined }> {
  const indexPath = join(directory, INDEX_FILE);
  if (await exists(indexPath)) {
    const json = await readJson(indexPath);
    const map = (json as { weight_map?: unknown } | null)?.weight_map;
    if (typeof map !== "object" || map === null || Array.isArray(map)) {
      throw new WeightsError(indexPath, undefined, "weight_map must be an object of tensor name to file name");
    }
    const index = new Map<string, string>();
    for (const [tensor, file] of Object.entries(map)) {
      if (typeof file !== "string" || file !== basename(file) || file === "." || file === ".." || file === "") {
        throw new WeightsError(indexPath, tensor, `file ${JSON.stringify(file)} must be a file name within the directory`);
      }
      index.set(tensor, join(directory, file));
    }
    const files = [...new Set(index.values())];
    for (const file of files) {
      if (!(await exists(file))) throw new WeightsError(indexPath, undefined, `lists ${basename(file)}, which is not in ${directory}`);
    }
    return { files, index };
  }
  const single = join(directory, SINGLE_FILE);
  if (await exists(single)) return { files: [single], index: undefined };
  throw new WeightsError(directory, undefined, `no weights: expected ${SINGLE_FILE}, or ${INDEX_FILE} with its shards`);
}

/**
 * Loads a Gemma3 model from a Hugging Face directory: config.json, model.safetensors or sharded files with their
 * index, and optional tokenizer.json.
 */
export async function loadModelDirectory(directory: string, options: LoadOptions = {}): Promise<LoadedModel> {
  if (!(await exists(directory))) throw new WeightsError(directory, undefined, "no such model directory");
  const config = await readModelConfig(directory);
  const { files, index } = await listWeightFiles(directory);
  const loaded = await loadWeights(files, config, { ...options, index });
  const tokenizer = join(directory, TOKENIZER_FILE);
  return { config, ...loaded, files, tokenizerPath: (await exists(tokenizer)) ? tokenizer : undefined };
}

/**
 * Reads the tensors of `config` from safetensors files (any number of shards) onto a device. Every tensor of the
 * weight table must appear exactly once with its exact shape; unknown tensors are errors, image-encoder tensors
 * are skipped. `index` (from a sharded checkpoint's index) must agree with where each tensor really is.
 */
export async function loadWeights(
  files: readonly string[],
  config: Gemma3Config,
  options: LoadOptions & { index?: Map<string, string> } = {},
): Promise<{ params: Gemma3Params<DeviceArray>; skippedVisionTensors: number; skippedTensors: string[] }> {
  const device = getDevice(options.device);
  const as = options.weightsDtype ?? "f32";
  if (as !== "f32" && as !== "bf16") throw new ConfigError(`weightsDtype must be "f32" or "bf16", got ${JSON.stringify(as)}`);
  const readers: SafetensorsReader[] = [];
  const uploaded: DeviceArray[] = [];
  try {
    for (const file of files) readers.push(await SafetensorsReader.open(file));
    const specs = new Map(weightTable(config).map((spec) => [spec.hfName, spec]));
    const found = new Map<string, { reader: SafetensorsReader; key: string }>();
    let skippedVisionTensors = 0;
    const skippedTensors: string[] = [];
    let head: { reader: SafetensorsReader; key: string } | undefined;
    for (const reader of readers) {
      for (const key of reader.names()) {
        const listed = options.index?.get(key);
        if (options.index !== undefined && listed !== reader.file) {
          throw new WeightsError(reader.file, key, listed === undefined ? "is not listed in the index" : `the index places it in ${basename(listed)}`);
        }
        const name = canonicalWeightName(key);
        if (name === "vision") {
          skippedVisionTensors++;
          continue;
        }
        if (name === "derived") {
          skippedTensors.push(key);
          continue;
        }
        if (name === TIED_HEAD) {
          if (head !== undefined) throw new WeightsError(reader.file, key, `duplicates ${JSON.stringify(head.key)} in ${head.reader.file}`);
          head = { reader, key };
          continue;
        }
        const spec = specs.get(name);
        if (spec === undefined) {
          throw new WeightsError(reader.file, key, `is not a weight of a ${config.numLayers}-layer Gemma3 text model`);
        }
        const previous = found.get(name);
        if (previous !== undefined) {
          throw new WeightsError(reader.file, key, `duplicates ${JSON.stringify(previous.key)} in ${previous.reader.file}`);
        }
        const info = reader.info(key);
        if (showShape(info.shape) !== showShape(spec.shape)) {
          throw new WeightsError(reader.file, key, `shape ${showShape(info.shape)} does not match the config's ${showShape(spec.shape)}`);
        }
        found.set(name, { reader, key });
      }
    }
    if (options.index !== undefined) {
      for (const [key, file] of options.index) {
        if (!readers.find((r) => r.file === file)?.tensors.has(key)) {
          throw new WeightsError(file, key, "is listed in the index but not in this file");
        }
      }
    }
    const missing = weightTable(config).filter((spec) => !found.has(spec.hfName));
    if (missing.length > 0) {
      const names = missing.slice(0, 5).map((s) => s.hfName).join(", ");
      throw new WeightsError(files.join(", "), missing[0]!.hfName, `${missing.length} weight(s) missing: ${names}${missing.length > 5 ? ", ..." : ""}`);
    }
    if (head !== undefined) {
      const embed = found.get("model.embed_tokens.weight")!;
      await expectSameTensor(head, embed);
      skippedTensors.push(head.key);
    }
    const params = await buildParamsAsync(config, async (spec) => {
      const { reader, key } = found.get(spec.hfName)!;
      const array = DeviceArray.fromHost(await reader.read(key, as), device);
      uploaded.push(array);
      // Waiting for the upload before the next read keeps one host tensor alive at a time.
      await array.ready();
      return array;
    });
    return { params, skippedVisionTensors, skippedTensors };
  } catch (error) {
    for (const array of uploaded) array.dispose();
    throw error;
  } finally {
    for (const reader of readers) await reader.close();
  }
}

/** Bytes compared per step when checking a stored output projection against the embedding. */
const COMPARE_CHUNK = 16 << 20;

/**
 * A stored output projection is accepted only as an exact copy of the embedding (same dtype, same bytes): loading
 * a different head into a tied model would silently change it. Compared piece by piece, never two whole copies.
 */
async function expectSameTensor(
  head: { reader: SafetensorsReader; key: string },
  embed: { reader: SafetensorsReader; key: string },
): Promise<void> {
  const headInfo = head.reader.info(head.key);
  const embedInfo = embed.reader.info(embed.key);
  const untied = (detail: string): WeightsError =>
    new WeightsError(head.reader.file, head.key, `Gemma3 ties the output projection to the embedding, but this one ${detail}`);
  if (showShape(headInfo.shape) !== showShape(embedInfo.shape)) {
    throw untied(`has shape ${showShape(headInfo.shape)} and ${embed.key} ${showShape(embedInfo.shape)}`);
  }
  if (headInfo.dtype !== embedInfo.dtype) throw untied(`is ${headInfo.dtype} and ${embed.key} ${embedInfo.dtype}`);
  const size = headInfo.end - headInfo.begin;
  for (let start = 0; start < size; start += COMPARE_CHUNK) {
    const end = Math.min(size, start + COMPARE_CHUNK);
    const a = await head.reader.readByteRange(head.key, start, end);
    const b = await embed.reader.readByteRange(embed.key, start, end);
    if (!Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))) {
      throw untied(`differs from ${embed.key} (first difference within bytes ${start}..${end})`);
    }
  }
}

/** buildParams with an asynchronous maker, called one tensor at a time in weight-table order. */
async function buildParamsAsync<A>(config: Gemma3Config, make: (spec: WeightSpec) => Promise<A>): Promise<Gemma3Params<A>> {
  const made = new Map<string, A>();
  for (const spec of weightTable(config)) made.set(spec.path, await make(spec));
  return buildParams(config, (spec) => made.get(spec.path)!);
}

/** Host copy of an array or host tensor. */
async function hostOf(value: DeviceArray | HostTensor): Promise<HostTensor> {
  return value instanceof DeviceArray ? value.tensor() : value;
}

/** The elements of `tensor` in the file dtype, converting f32 <-> bf16 when they differ. */
function encodeAs(tensor: HostTensor, dtype: FloatDType, file: string, name: string): Float32Array | Uint16Array {
  if (tensor.dtype === "f32") return dtype === "F32" ? (tensor.data as Float32Array) : f32ToBf16(tensor.data as Float32Array);
  if (tensor.dtype === "bf16") return dtype === "BF16" ? (tensor.data as Uint16Array) : bf16ToF32(tensor.data as Uint16Array);
  throw new WeightsError(file, name, `dtype ${tensor.dtype} cannot be written (f32 or bf16)`);
}

function tensorToWrite(file: string, name: string, shape: readonly number[], dtype: FloatDType, value: DeviceArray | HostTensor): TensorToWrite {
  if (showShape(value.shape) !== showShape(shape)) {
    throw new WeightsError(file, name, `shape ${showShape(value.shape)} does not match the config's ${showShape(shape)}`);
  }
  return { name, dtype, shape, data: async () => encodeAs(await hostOf(value), dtype, file, name) };
}

export interface SaveOptions {
  /** Element type of the written weights (default bf16, as published checkpoints are). */
  dtype?: WeightsDType;
  /** A tokenizer.json to copy into the directory. */
  tokenizerPath?: string;
}

/**
 * Writes a model directory in Hugging Face layout and names: config.json and model.safetensors (plus the
 * tokenizer when given). Merged LoRA weights are written like any others. Tensors are fetched from the device one
 * at a time.
 */
export async function saveModelDirectory(
  directory: string,
  config: Gemma3Config,
  params: Gemma3Params<DeviceArray | HostTensor>,
  options: SaveOptions = {},
): Promise<void> {
  const dtype = options.dtype ?? "bf16";
  const fileDtype: FloatDType = dtype === "bf16" ? "BF16" : "F32";
  const weightsPath = join(directory, SINGLE_FILE);
  const tensors: TensorToWrite[] = [];
  for (const [spec, value] of paramEntries(config, params)) {
    if (value === undefined) throw new WeightsError(weightsPath, spec.hfName, `no ${spec.path} in the parameter tree`);
    tensors.push(tensorToWrite(weightsPath, spec.hfName, spec.shape, fileDtype, value));
  }
  await mkdir(directory, { recursive: true });
  // transformers refuses safetensors files whose metadata does not say which framework wrote them.
  await writeSafetensors(weightsPath, tensors, { format: "pt" });
  // config.json last: a directory whose weights failed to write does not look like a model.
  const hfConfig = { ...configToHuggingFace(config), torch_dtype: dtype === "bf16" ? "bfloat16" : "float32" };
  await writeFile(join(directory, CONFIG_FILE), `${JSON.stringify(hfConfig, null, 2)}\n`);
  if (options.tokenizerPath !== undefined) await copyFile(options.tokenizerPath, join(directory, TOKENIZER_FILE));
}

// ---------------------------------------------------------------------------------------------------------------
// LoRA adapters: one safetensors file, tensors `layers.<i>.<target>.a|b` in f32, rank/alpha/targets in metadata.

export const ADAPTER_FORMAT = "grpo-xla-lora";

/** Whether `layers.<layer>.<target>` is adapted under `targets` (target names, or `*` patterns over paths). */
export function loraTargetSelected(targets: readonly string[], layer: number, target: LoraTarget): boolean {
  const path = `layers.${layer}.${target}`;
  return targets.some((pattern) => {
    if (pattern === target) return true;
    const regex = new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
    return regex.test(path);
  });
}

/** Writes an adapter alone. Its tensors must have the shapes `config` and `lora.rank` give. */
export async function saveLoraAdapter(
  path: string,
  config: Gemma3Config,
  lora: LoraConfig,
  params: LoraParams<DeviceArray | HostTensor>,
): Promise<void> {
  const tensors: TensorToWrite[] = [];
  if (!Number.isSafeInteger(lora.rank) || lora.rank <= 0) throw new WeightsError(path, undefined, `rank ${lora.rank} is not a positive integer`);
  if (!Number.isFinite(lora.alpha)) throw new WeightsError(path, undefined, `alpha ${lora.alpha} is not a finite number`);
  if (params.layers.length !== config.numLayers) {
    throw new WeightsError(path, undefined, `adapter has ${params.layers.length} layers, the model ${config.numLayers}`);
  }
  params.layers.forEach((layer, i) => {
    for (const target of LORA_TARGETS) {
      const pair = layer[target];
      // The file must be readable back: exactly the projections the targets select are adapted.
      if (loraTargetSelected(lora.targets, i, target) !== (pair !== undefined)) {
        const problem = pair === undefined ? "is selected by the targets but the adapter has no such pair" : "is adapted but the targets do not select it";
        throw new WeightsError(path, `layers.${i}.${target}`, `${problem} (targets ${JSON.stringify(lora.targets)})`);
      }
      if (pair === undefined) continue;
      const [fanIn, fanOut] = loraDims(config, target);
      tensors.push(tensorToWrite(path, `layers.${i}.${target}.a`, [fanIn, lora.rank], "F32", pair.a));
      tensors.push(tensorToWrite(path, `layers.${i}.${target}.b`, [lora.rank, fanOut], "F32", pair.b));
    }
  });
  await writeSafetensors(path, tensors, {
    format: ADAPTER_FORMAT,
    rank: String(lora.rank),
    alpha: String(lora.alpha),
    targets: JSON.stringify(lora.targets),
  });
}

function adapterConfig(reader: SafetensorsReader): LoraConfig {
  const { metadata, file } = reader;
  if (metadata.format !== ADAPTER_FORMAT) {
    throw new WeightsError(file, undefined, `metadata format is ${JSON.stringify(metadata.format)}, not ${JSON.stringify(ADAPTER_FORMAT)}: not a LoRA adapter`);
  }
  const rank = Number(metadata.rank);
  if (!Number.isSafeInteger(rank) || rank <= 0) throw new WeightsError(file, undefined, `metadata rank ${JSON.stringify(metadata.rank)} is not a positive integer`);
  const alpha = Number(metadata.alpha);
  if (metadata.alpha === undefined || metadata.alpha.trim() === "" || !Number.isFinite(alpha)) {
    throw new WeightsError(file, undefined, `metadata alpha ${JSON.stringify(metadata.alpha)} is not a number`);
  }
  let targets: unknown;
  try {
    targets = JSON.parse(metadata.targets ?? "");
  } catch {
    targets = undefined;
  }
  if (!Array.isArray(targets) || !targets.every((t) => typeof t === "string")) {
    throw new WeightsError(file, undefined, `metadata targets ${JSON.stringify(metadata.targets)} is not a JSON list of strings`);
  }
  return { rank, alpha, targets };
}

/**
 * Reads an adapter and checks it against the model: every tensor named `layers.<i>.<target>.a|b` with the shape
 * the config and rank give, both halves of each pair present, and exactly the projections its targets select.
 */
export async function loadLoraAdapter(
  path: string,
  config: Gemma3Config,
  options: { device?: DeviceKind | Device } = {},
): Promise<{ lora: LoraConfig; params: LoraParams<DeviceArray> }> {
  const device = getDevice(options.device);
  const reader = await SafetensorsReader.open(path);
  const uploaded: DeviceArray[] = [];
  try {
    const lora = adapterConfig(reader);
    const present = new Set<string>();
    for (const key of reader.names()) {
      const match = /^layers\.(0|[1-9]\d*)\.(\w+)\.(a|b)$/.exec(key);
      const target = match?.[2] as LoraTarget | undefined;
      if (match === null || !LORA_TARGETS.includes(target!)) {
        throw new WeightsError(path, key, `is not an adapter tensor (layers.<i>.<${LORA_TARGETS.join("|")}>.<a|b>)`);
      }
      const layer = Number(match[1]);
      if (layer >= config.numLayers) throw new WeightsError(path, key, `layer ${layer} is past the model's ${config.numLayers} layers`);
      const [fanIn, fanOut] = loraDims(config, target!);
      const expected = match[3] === "a" ? [fanIn, lora.rank] : [lora.rank, fanOut];
      const shape = reader.info(key).shape;
      if (showShape(shape) !== showShape(expected)) {
        throw new WeightsError(path, key, `shape ${showShape(shape)} does not match ${showShape(expected)} (rank ${lora.rank} on this model)`);
      }
      present.add(key);
    }
    const layers: LoraParams<DeviceArray>["layers"] = [];
    for (let i = 0; i < config.numLayers; i++) {
      const layer: LoraParams<DeviceArray>["layers"][number] = {};
      for (const target of LORA_TARGETS) {
        const selected = loraTargetSelected(lora.targets, i, target);
        const names = [`layers.${i}.${target}.a`, `layers.${i}.${target}.b`];
        const has = names.filter((n) => present.has(n));
        if (selected && has.length < 2) {
          throw new WeightsError(path, names.find((n) => !present.has(n)), `is missing (the metadata targets ${JSON.stringify(lora.targets)} select it)`);
        }
        if (!selected && has.length > 0) {
          throw new WeightsError(path, has[0], `is present but the metadata targets ${JSON.stringify(lora.targets)} do not select it`);
        }
        if (!selected) continue;
        const pair: DeviceArray[] = [];
        for (const name of names) {
          const array = DeviceArray.fromHost(await reader.read(name, "f32"), device);
          uploaded.push(array);
          pair.push(await array.ready());
        }
        layer[target] = { a: pair[0]!, b: pair[1]! };
      }
      layers.push(layer);
    }
    return { lora, params: { layers } };
  } catch (error) {
    for (const array of uploaded) array.dispose();
    throw error;
  } finally {
    await reader.close();
  }
}
