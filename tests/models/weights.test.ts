// Model directories and LoRA adapters: random tiny weights saved in Hugging Face layout and loaded back are
// bit-identical on cpu and reference, in f32 and bf16; sharded and multimodal checkpoints load through their
// index and key forms; every broken directory is refused with an error naming the file and the tensor.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { configToHuggingFace, preset, type Gemma3Config } from "../../models/gemma3/config.js";
import { type Gemma3Params, buildParams, paramEntries, weightTable } from "../../models/gemma3/params.js";
import {
  WeightsError,
  canonicalWeightName,
  loadLoraAdapter,
  loadModelDirectory,
  saveLoraAdapter,
  saveModelDirectory,
} from "../../models/gemma3/weights.js";
import { type LoraConfig, type LoraParams, LORA_TARGETS, loraDims } from "../../models/lora.js";
import { SafetensorsReader, type TensorToWrite, writeSafetensors } from "../../models/safetensors.js";
import type { DeviceArray } from "../../src/runtime/array.js";
import { closeDevices } from "../../src/runtime/device.js";
import type { HostTensor } from "../../src/runtime/host.js";
import { bf16Round, makeRng } from "../helpers/arrays.js";

const root = mkdtempSync(join(tmpdir(), "weights-test-"));
afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
  await closeDevices();
});
let dirCount = 0;
const freshDir = (): string => join(root, `d${dirCount++}`);

const config = preset("tiny");

function randomHost(shape: readonly number[], random: () => number): HostTensor {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => random() * 2 - 1);
  return { dtype: "f32", shape: [...shape], data };
}

function randomParams(c: Gemma3Config, seed: number): Gemma3Params<HostTensor> {
  const random = makeRng(seed);
  return buildParams(c, (spec) => randomHost(spec.shape, random));
}

/** Bit patterns of a tensor's elements, for exact comparison (NaN payloads and -0 included). */
function bits(data: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }): number[] {
  return data instanceof Uint16Array ? [...data] : [...new Uint32Array(data.buffer, data.byteOffset, data.byteLength / 4)];
}

async function expectParamsBits(loaded: Gemma3Params<DeviceArray>, expected: Gemma3Params<HostTensor>, dtype: "f32" | "bf16"): Promise<void> {
  const want = [...paramEntries(config, expected)];
  const got = [...paramEntries(config, loaded)];
  expect(got.map(([spec]) => spec.path)).toEqual(want.map(([spec]) => spec.path));
  for (let i = 0; i < want.length; i++) {
    const [spec, host] = want[i]!;
    const array = got[i]![1];
    expect(array.shape, spec.path).toEqual(spec.shape);
    expect(array.dtype, spec.path).toBe(dtype);
    const data = await array.data();
    const expectedData =
      dtype === "f32" ? (host.data as Float32Array) : new Uint16Array(new Uint32Array(new Float32Array([...(host.data as Float32Array)].map((v) => bf16Round(v))).buffer).map((b) => b >>> 16));
    expect(bits(data as Float32Array), spec.path).toEqual(bits(expectedData));
  }
}

function disposeAll(params: Gemma3Params<DeviceArray>): void {
  for (const [, array] of paramEntries(config, params)) array.dispose();
}

describe("model directory round trip", () => {
  const params = randomParams(config, 7);

  for (const device of ["cpu", "reference"] as const) {
    it(`f32 weights saved and loaded on ${device} are bit-identical, tokenizer copied`, async () => {
      const dir = freshDir();
      const tokenizer = join(root, "tok.json");
      writeFileSync(tokenizer, '{"fake": "tokenizer"}');
      await saveModelDirectory(dir, config, params, { dtype: "f32", tokenizerPath: tokenizer });
      const model = await loadModelDirectory(dir, { device });
      expect(model.config).toEqual({ ...config, name: `d${dirCount - 1}` });
      expect(model.tokenizerPath).toBe(join(dir, "tokenizer.json"));
      expect(readFileSync(model.tokenizerPath!, "utf8")).toBe('{"fake": "tokenizer"}');
      expect(model.skippedVisionTensors).toBe(0);
      expect(model.params.embed.device.kind).toBe(device);
      await expectParamsBits(model.params, params, "f32");
      disposeAll(model.params);
    });
  }

  it("bf16 export holds the HF names, format metadata and round-to-nearest-even values", async () => {
    const dir = freshDir();
    await saveModelDirectory(dir, config, params);
    const reader = await SafetensorsReader.open(join(dir, "model.safetensors"));
    expect(reader.metadata).toEqual({ format: "pt" });
    expect(reader.names()).toEqual(weightTable(config).map((s) => s.hfName));
    expect(reader.names()).toContain("model.layers.2.self_attn.o_proj.weight");
    expect(new Set([...reader.tensors.values()].map((t) => t.dtype))).toEqual(new Set(["BF16"]));
    await reader.close();
    const hf = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(hf).toMatchObject({ model_type: "gemma3_text", torch_dtype: "bfloat16", hidden_size: 64, num_hidden_layers: 3 });
    const bf16 = await loadModelDirectory(dir, { device: "cpu", weightsDtype: "bf16" });
    await expectParamsBits(bf16.params, params, "bf16");
    disposeAll(bf16.params);
    // Loaded as f32, the bf16 file gives the rounded values exactly.
    const f32 = await loadModelDirectory(dir, { device: "reference" });
    const embed = (await f32.params.embed.data()) as Float32Array;
    expect([...embed.slice(0, 64)]).toEqual([...(params.embed.data as Float32Array).slice(0, 64)].map(bf16Round));
    disposeAll(f32.params);
  });

  it("an f32 checkpoint loads as bf16 on request", async () => {
    const dir = freshDir();
    await saveModelDirectory(dir, config, params, { dtype: "f32" });
    const model = await loadModelDirectory(dir, { device: "reference", weightsDtype: "bf16" });
    await expectParamsBits(model.params, params, "bf16");
  });

  it("device arrays are saved from the device", async () => {
    const first = freshDir();
    await saveModelDirectory(first, config, params, { dtype: "f32" });
    const loaded = await loadModelDirectory(first, { device: "cpu" });
    const second = freshDir();
    await saveModelDirectory(second, config, loaded.params, { dtype: "f32" });
    expect(readFileSync(join(second, "model.safetensors")).equals(readFileSync(join(first, "model.safetensors")))).toBe(true);
    disposeAll(loaded.params);
  });
});

/** Writes config.json and the given tensors as a checkpoint (sharded when `shards` > 1, with an index). */
async function writeCheckpoint(dir: string, hfConfig: unknown, tensors: TensorToWrite[], shards = 1, index?: Record<string, string>): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(hfConfig));
  if (shards === 1) {
    await writeSafetensors(join(dir, "model.safetensors"), tensors, { format: "pt" });
    return;
  }
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < shards; s++) {
    const file = `model-${String(s + 1).padStart(5, "0")}-of-${String(shards).padStart(5, "0")}.safetensors`;
    const part = tensors.filter((_, i) => i % shards === s);
    for (const t of part) weightMap[t.name] = file;
    await writeSafetensors(join(dir, file), part, { format: "pt" });
  }
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: index ?? weightMap }));
}

function tensorsOf(params: Gemma3Params<HostTensor>, rename: (hfName: string) => string = (n) => n): TensorToWrite[] {
  return [...paramEntries(config, params)].map(([spec, host]) => ({
    name: rename(spec.hfName),
    dtype: "F32" as const,
    shape: spec.shape,
    data: () => host.data as Float32Array,
  }));
}

describe("checkpoint layouts users download", () => {
  const params = randomParams(config, 11);
  const textConfig = configToHuggingFace(config);
  const multimodalConfig = { model_type: "gemma3", architectures: ["Gemma3ForConditionalGeneration"], text_config: { ...textConfig, model_type: "gemma3_text" }, vision_config: { hidden_size: 8 } };
  const vision: TensorToWrite[] = [
    { name: "vision_tower.vision_model.embeddings.patch_embedding.weight", dtype: "F32", shape: [2, 2], data: () => new Float32Array(4) },
    { name: "multi_modal_projector.mm_input_projection_weight", dtype: "BF16", shape: [3], data: () => new Uint16Array(3) },
  ];

  it("maps the multimodal key forms to the text model's names", () => {
    expect(canonicalWeightName("model.norm.weight")).toBe("model.norm.weight");
    expect(canonicalWeightName("language_model.model.norm.weight")).toBe("model.norm.weight");
    expect(canonicalWeightName("model.language_model.norm.weight")).toBe("model.norm.weight");
    expect(canonicalWeightName("language_model.norm.weight")).toBe("model.norm.weight");
    expect(canonicalWeightName("model.vision_tower.x")).toBe("vision");
    expect(canonicalWeightName("multi_modal_projector.y")).toBe("vision");
    expect(canonicalWeightName("lm_head.weight")).toBe("lm_head.weight");
    expect(canonicalWeightName("language_model.lm_head.weight")).toBe("lm_head.weight");
    expect(canonicalWeightName("model.layers.0.self_attn.rotary_emb.inv_freq")).toBe("derived");
  });

  for (const [form, rename] of [
    ["language_model.model.", (n: string) => `language_model.${n}`],
    ["model.language_model.", (n: string) => n.replace(/^model\./, "model.language_model.")],
  ] as const) {
    it(`a sharded multimodal checkpoint with ${form} keys loads its text model and counts the vision tensors`, async () => {
      const dir = freshDir();
      await writeCheckpoint(dir, multimodalConfig, [...tensorsOf(params, rename), ...vision], 3);
      const model = await loadModelDirectory(dir, { device: "reference" });
      expect(model.files.map((f) => f.slice(dir.length + 1))).toEqual([
        "model-00001-of-00003.safetensors",
        "model-00002-of-00003.safetensors",
        "model-00003-of-00003.safetensors",
      ]);
      expect(model.skippedVisionTensors).toBe(2);
      expect(model.tokenizerPath).toBeUndefined();
      await expectParamsBits(model.params, params, "f32");
    });
  }

  it("a tied copy of the embedding and derived RoPE buffers are skipped and listed", async () => {
    const dir = freshDir();
    const extras: TensorToWrite[] = [
      { name: "lm_head.weight", dtype: "F32", shape: [512, 64], data: () => (params.embed.data as Float32Array).slice() },
      { name: "model.layers.1.self_attn.rotary_emb.inv_freq", dtype: "F32", shape: [8], data: () => new Float32Array(8) },
    ];
    await writeCheckpoint(dir, textConfig, [...tensorsOf(params), ...extras]);
    const model = await loadModelDirectory(dir, { device: "reference" });
    expect(model.skippedTensors.sort()).toEqual(["lm_head.weight", "model.layers.1.self_attn.rotary_emb.inv_freq"]);
    await expectParamsBits(model.params, params, "f32");
  });

  it("an f16 checkpoint loads converted to f32", async () => {
    const dir = freshDir();
    const table = [0x3c00, 0xb800, 0x4100, 0x0000]; // 1, -0.5, 2.5, 0
    const tensors = weightTable(config).map((spec): TensorToWrite => ({
      name: spec.hfName,
      dtype: "F16",
      shape: spec.shape,
      data: () => new Uint16Array(spec.shape.reduce((a, b) => a * b, 1)).map((_, i) => table[i % 4]!),
    }));
    await writeCheckpoint(dir, textConfig, tensors);
    const model = await loadModelDirectory(dir, { device: "reference" });
    expect([...((await model.params.layers[1]!.down.data()) as Float32Array).slice(0, 6)]).toEqual([1, -0.5, 2.5, 0, 1, -0.5]);
  });
});

describe("broken model directories are refused with the file and tensor named", () => {
  const params = randomParams(config, 3);
  const textConfig = configToHuggingFace(config);

  async function loadError(dir: string): Promise<string> {
    try {
      await loadModelDirectory(dir, { device: "reference" });
    } catch (error) {
      expect(error).toBeInstanceOf(Error);
      return (error as Error).message;
    }
    throw new Error("the directory loaded");
  }

  it("a missing directory, config or weights", async () => {
    expect(await loadError(join(root, "nowhere"))).toMatch(/nowhere: no such model directory/);
    const dir = freshDir();
    mkdirSync(dir);
    expect(await loadError(dir)).toMatch(/config\.json: no config\.json in the model directory/);
    writeFileSync(join(dir, "config.json"), "{not json");
    expect(await loadError(dir)).toMatch(/config\.json: not valid JSON/);
    writeFileSync(join(dir, "config.json"), JSON.stringify({ model_type: "llama" }));
    expect(await loadError(dir)).toMatch(/config\.json: model_type must be "gemma3_text" or "gemma3"/);
    writeFileSync(join(dir, "config.json"), JSON.stringify(textConfig));
    expect(await loadError(dir)).toMatch(/no weights: expected model\.safetensors, or model\.safetensors\.index\.json/);
  });

  it("a missing tensor", async () => {
    const dir = freshDir();
    await writeCheckpoint(dir, textConfig, tensorsOf(params).filter((t) => t.name !== "model.layers.1.mlp.up_proj.weight"));
    expect(await loadError(dir)).toMatch(/model\.safetensors: tensor "model\.layers\.1\.mlp\.up_proj\.weight": 1 weight\(s\) missing/);
  });

  it("an extra tensor", async () => {
    for (const extra of ["model.layers.3.self_attn.q_proj.weight", "model.lm_head.weight", "model.layers.0.mlp.bias", "vision.x"]) {
      const dir = freshDir();
      await writeCheckpoint(dir, textConfig, [...tensorsOf(params), { name: extra, dtype: "F32", shape: [1], data: () => new Float32Array(1) }]);
      const message = await loadError(dir);
      expect(message).toContain(`model.safetensors: tensor ${JSON.stringify(extra)}: is not a weight of a 3-layer Gemma3 text model`);
    }
  });

  it("a stored output projection that is not a copy of the embedding", async () => {
    const embed = params.embed.data as Float32Array;
    const head = (data: () => Float32Array, shape = [512, 64]): TensorToWrite => ({ name: "lm_head.weight", dtype: "F32", shape, data });
    const different = freshDir();
    await writeCheckpoint(different, textConfig, [...tensorsOf(params), head(() => embed.map((v, i) => (i === 20_000 ? v + 1 : v)))]);
    expect(await loadError(different)).toMatch(/model\.safetensors: tensor "lm_head\.weight": Gemma3 ties the output projection to the embedding, but this one differs from model\.embed_tokens\.weight/);
    const wrongShape = freshDir();
    await writeCheckpoint(wrongShape, textConfig, [...tensorsOf(params), head(() => embed.slice(0, 64 * 511), [511, 64])]);
    expect(await loadError(wrongShape)).toMatch(/tensor "lm_head\.weight": .* has shape \[511, 64\] and model\.embed_tokens\.weight \[512, 64\]/);
  });

  it("a shape that does not match the config", async () => {
    const dir = freshDir();
    const tensors = tensorsOf(params).map((t) =>
      t.name === "model.layers.2.self_attn.k_proj.weight" ? { ...t, shape: [64, 32] } : t,
    );
    await writeCheckpoint(dir, textConfig, tensors);
    expect(await loadError(dir)).toMatch(/model\.safetensors: tensor "model\.layers\.2\.self_attn\.k_proj\.weight": shape \[64, 32\] does not match the config's \[32, 64\]/);
  });

  it("the same tensor under two key forms", async () => {
    const dir = freshDir();
    await writeCheckpoint(dir, textConfig, [...tensorsOf(params), { name: "language_model.model.norm.weight", dtype: "F32", shape: [64], data: () => new Float32Array(64) }]);
    expect(await loadError(dir)).toMatch(/tensor "language_model\.model\.norm\.weight": duplicates "model\.norm\.weight"/);
  });

  it("an index that disagrees with its shards", async () => {
    const names = tensorsOf(params).map((t) => t.name);
    const shardOf = (i: number): string => `model-0000${(i % 2) + 1}-of-00002.safetensors`;
    const map = Object.fromEntries(names.map((n, i) => [n, shardOf(i)]));
    // model.norm.weight is tensor 1, so it lives in the second shard.
    const swapped = freshDir();
    await writeCheckpoint(swapped, textConfig, tensorsOf(params), 2, { ...map, "model.norm.weight": shardOf(0) });
    expect(await loadError(swapped)).toMatch(/model-00002-of-00002\.safetensors: tensor "model\.norm\.weight": the index places it in model-00001-of-00002\.safetensors/);
    const unlisted = freshDir();
    const { ["model.norm.weight"]: _, ...withoutNorm } = map;
    await writeCheckpoint(unlisted, textConfig, tensorsOf(params), 2, withoutNorm);
    expect(await loadError(unlisted)).toMatch(/model-00002-of-00002\.safetensors: tensor "model\.norm\.weight": is not listed in the index/);
    const oneFile = freshDir();
    await writeCheckpoint(oneFile, textConfig, tensorsOf(params), 2, Object.fromEntries(names.map((n) => [n, shardOf(0)])));
    expect(await loadError(oneFile)).toMatch(/model-00001-of-00002\.safetensors: tensor "model\.norm\.weight": is listed in the index but not in this file/);
    const missingFile = freshDir();
    await writeCheckpoint(missingFile, textConfig, tensorsOf(params), 2, { ...map, "model.norm.weight": "model-00009-of-00009.safetensors" });
    expect(await loadError(missingFile)).toMatch(/model\.safetensors\.index\.json: lists model-00009-of-00009\.safetensors, which is not in/);
    const escape = freshDir();
    await writeCheckpoint(escape, textConfig, tensorsOf(params), 2, { ...map, "model.norm.weight": "../x.safetensors" });
    expect(await loadError(escape)).toMatch(/index\.json: tensor "model\.norm\.weight": file "\.\.\/x\.safetensors" must be a file name within the directory/);
    const ghost = freshDir();
    await writeCheckpoint(ghost, textConfig, tensorsOf(params), 2, { ...map, "model.extra": shardOf(0) });
    expect(await loadError(ghost)).toMatch(/model-00001-of-00002\.safetensors: tensor "model\.extra": is listed in the index but not in this file/);
  });

  it("a corrupt safetensors file names the file", async () => {
    const dir = freshDir();
    await writeCheckpoint(dir, textConfig, tensorsOf(params));
    const path = join(dir, "model.safetensors");
    writeFileSync(path, readFileSync(path).subarray(0, 1000));
    expect(await loadError(dir)).toMatch(/model\.safetensors: header length \d+ is larger than the 992 bytes after it/);
  });

  it("a parameter tree that does not match the config is not saved", async () => {
    const wrong = { ...params, finalNorm: randomHost([63], makeRng(1)) };
    await expect(saveModelDirectory(freshDir(), config, wrong)).rejects.toThrow(/model\.safetensors: tensor "model\.norm\.weight": shape \[63\] does not match the config's \[64\]/);
  });
});

describe("LoRA adapters", () => {
  const lora: LoraConfig = { rank: 4, alpha: 8, targets: ["q", "kv", "layers.2.down", "layers.*.o"] };
  const selected = (layer: number, target: string): boolean =>
    target === "q" || target === "kv" || target === "o" || (layer === 2 && target === "down");

  function randomAdapter(c: Gemma3Config, seed: number): LoraParams<HostTensor> {
    const random = makeRng(seed);
    return {
      layers: Array.from({ length: c.numLayers }, (_, layer) =>
        Object.fromEntries(
          LORA_TARGETS.filter((t) => selected(layer, t)).map((t) => {
            const [fanIn, fanOut] = loraDims(c, t);
            return [t, { a: randomHost([fanIn, lora.rank], random), b: randomHost([lora.rank, fanOut], random) }];
          }),
        ),
      ),
    };
  }

  it("saves and loads bit-identically with its rank, alpha and targets", async () => {
    const adapter = randomAdapter(config, 5);
    const path = join(root, "adapter.safetensors");
    await saveLoraAdapter(path, config, lora, adapter);
    const reader = await SafetensorsReader.open(path);
    expect(reader.metadata).toEqual({ format: "grpo-xla-lora", rank: "4", alpha: "8", targets: JSON.stringify(lora.targets) });
    expect(reader.names()).toContain("layers.2.down.b");
    expect(reader.info("layers.0.kv.b").shape).toEqual([4, 2 * 2 * 16]);
    await reader.close();
    const loaded = await loadLoraAdapter(path, config, { device: "cpu" });
    expect(loaded.lora).toEqual(lora);
    for (let layer = 0; layer < config.numLayers; layer++) {
      expect(Object.keys(loaded.params.layers[layer]!).sort()).toEqual(Object.keys(adapter.layers[layer]!).sort());
      for (const [target, pair] of Object.entries(adapter.layers[layer]!)) {
        const got = loaded.params.layers[layer]![target as "q"]!;
        expect(bits((await got.a.data()) as Float32Array)).toEqual(bits(pair.a.data as Float32Array));
        expect(bits((await got.b.data()) as Float32Array)).toEqual(bits(pair.b.data as Float32Array));
        got.a.dispose();
        got.b.dispose();
      }
    }
  });

  it("refuses to save an adapter its own metadata would not load", async () => {
    const adapter = randomAdapter(config, 8);
    const path = join(root, "unsaved.safetensors");
    await expect(saveLoraAdapter(path, config, { ...lora, targets: ["q", "kv"] }, adapter)).rejects.toThrow(/tensor "layers\.0\.o": is adapted but the targets do not select it/);
    await expect(saveLoraAdapter(path, config, { ...lora, targets: [...lora.targets, "up"] }, adapter)).rejects.toThrow(/tensor "layers\.0\.up": is selected by the targets but the adapter has no such pair/);
    await expect(saveLoraAdapter(path, config, { ...lora, rank: 0 }, adapter)).rejects.toThrow(/rank 0 is not a positive integer/);
    await expect(saveLoraAdapter(path, { ...config, numLayers: 4 }, lora, adapter)).rejects.toThrow(/adapter has 3 layers, the model 4/);
  });

  async function adapterError(tensors: TensorToWrite[], metadata: Record<string, string>, c = config): Promise<string> {
    const path = join(root, `bad-adapter-${dirCount++}.safetensors`);
    await writeSafetensors(path, tensors, metadata);
    try {
      await loadLoraAdapter(path, c, { device: "reference" });
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error("the adapter loaded");
  }

  it("refuses adapters that do not fit the model or their own metadata", async () => {
    const path = join(root, "adapter2.safetensors");
    await saveLoraAdapter(path, config, lora, randomAdapter(config, 6));
    const reader = await SafetensorsReader.open(path);
    const tensors: TensorToWrite[] = [];
    for (const name of reader.names()) {
      const host = await reader.read(name);
      tensors.push({ name, dtype: "F32", shape: host.shape, data: () => host.data as Float32Array });
    }
    const metadata = { ...reader.metadata };
    await reader.close();
    const wider = { ...config, dModel: 96 };
    expect(await adapterError(tensors, metadata, wider)).toMatch(/tensor "layers\.0\.q\.a": shape \[64, 4\] does not match \[96, 4\] \(rank 4 on this model\)/);
    expect(await adapterError(tensors, { ...metadata, rank: "8" })).toMatch(/tensor "layers\.0\.q\.a": shape \[64, 4\] does not match \[64, 8\]/);
    expect(await adapterError(tensors.filter((t) => t.name !== "layers.1.kv.b"), metadata)).toMatch(/tensor "layers\.1\.kv\.b": is missing \(the metadata targets/);
    expect(await adapterError(tensors, { ...metadata, targets: '["q","kv"]' })).toMatch(/tensor "layers\.0\.o\.a": is present but the metadata targets \["q","kv"\] do not select it/);
    expect(await adapterError([...tensors, { name: "layers.0.q.c", dtype: "F32", shape: [1], data: () => new Float32Array(1) }], metadata)).toMatch(/tensor "layers\.0\.q\.c": is not an adapter tensor/);
    expect(await adapterError([...tensors, { name: "layers.7.q.a", dtype: "F32", shape: [1], data: () => new Float32Array(1) }], metadata)).toMatch(/tensor "layers\.7\.q\.a": layer 7 is past the model's 3 layers/);
    expect(await adapterError(tensors, { format: "pt" })).toMatch(/metadata format is "pt", not "grpo-xla-lora": not a LoRA adapter/);
    expect(await adapterError(tensors, { ...metadata, rank: "-1" })).toMatch(/metadata rank "-1" is not a positive integer/);
    expect(await adapterError(tensors, { ...metadata, alpha: "" })).toMatch(/metadata alpha "" is not a number/);
    expect(await adapterError(tensors, { ...metadata, targets: "q" })).toMatch(/metadata targets "q" is not a JSON list of strings/);
  });
});
