// Fuzzing the outside inputs of a model directory beyond the safetensors bytes: the shard index
// (model.safetensors.index.json) and a LoRA adapter's metadata. Every mutation must load or fail with one of the
// loader's own errors, naming a file.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, configToHuggingFace, preset } from "../../models/gemma3/config.js";
import { weightTable } from "../../models/gemma3/params.js";
import { WeightsError, loadLoraAdapter, loadModelDirectory, saveLoraAdapter } from "../../models/gemma3/weights.js";
import { loraDims } from "../../models/lora.js";
import { SafetensorsError, type TensorToWrite, writeSafetensors } from "../../models/safetensors.js";
import { makeRng } from "../helpers/arrays.js";

const root = mkdtempSync(join(tmpdir(), "weights-fuzz-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const config = { ...preset("tiny"), numLayers: 1, layerKinds: ["global" as const], vocabSize: 16 };
const SHARDS = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
const weightMap: Record<string, string> = {};
const dir = join(root, "model");

beforeAll(async () => {
  mkdirSync(dir);
  writeFileSync(join(dir, "config.json"), JSON.stringify(configToHuggingFace(config)));
  const specs = weightTable(config);
  for (let s = 0; s < 2; s++) {
    const part = specs.filter((_, i) => i % 2 === s);
    const tensors: TensorToWrite[] = part.map((spec) => ({
      name: spec.hfName,
      dtype: "BF16",
      shape: spec.shape,
      data: () => new Uint16Array(spec.shape.reduce((a, b) => a * b, 1)).fill(0x3f80),
    }));
    for (const t of tensors) weightMap[t.name] = SHARDS[s]!;
    await writeSafetensors(join(dir, SHARDS[s]!), tensors, { format: "pt" });
  }
});

const JUNK: unknown[] = [null, 0, "", "..", ".", "/etc/passwd", "config.json", "x/../y", SHARDS[0], SHARDS[1], "missing.safetensors", [], {}, 7.5, true];

function isOwnError(error: unknown): boolean {
  return (error instanceof WeightsError || error instanceof SafetensorsError || error instanceof ConfigError) && error.message.includes(root);
}

describe("model directory fuzz", () => {
  it("survives 300 mutated shard indexes", async () => {
    const random = makeRng(99);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const names = Object.keys(weightMap);
    const outcomes = { loaded: 0, refused: 0 };
    for (let i = 0; i < 300; i++) {
      const map: Record<string, unknown> = { ...weightMap };
      let index: unknown = { metadata: { total_size: 1 }, weight_map: map };
      const kind = Math.floor(random() * 6);
      if (kind === 0) map[pick(names)] = pick(JUNK);
      else if (kind === 1) delete map[pick(names)];
      else if (kind === 2) map[`${pick(names)}${pick(["", "x", ".bias"])}`] = pick(SHARDS);
      else if (kind === 3) index = pick([null, [], 3, "x", { weight_map: pick(JUNK) }, {}]);
      else if (kind === 4) for (const name of names) map[name] = SHARDS[random() < 0.5 ? 0 : 1];
      const text = kind === 5 ? JSON.stringify(index).slice(0, Math.floor(random() * 200)) : JSON.stringify(index);
      writeFileSync(join(dir, "model.safetensors.index.json"), text);
      try {
        await loadModelDirectory(dir, { device: "reference", weightsDtype: pick(["f32", "bf16"] as const) });
        outcomes.loaded++;
      } catch (error) {
        if (!isOwnError(error)) throw new Error(`index mutation ${i} crashed the loader: ${String(error)}\n${text.slice(0, 400)}`);
        outcomes.refused++;
      }
    }
    expect(outcomes.refused).toBeGreaterThan(150);
    expect(outcomes.loaded).toBeGreaterThan(10);
  });

  it("survives 300 adapters with mutated metadata", async () => {
    const lora = { rank: 2, alpha: 4, targets: ["q", "down"] };
    const random = makeRng(5);
    const host = (shape: number[]) => ({ dtype: "f32" as const, shape, data: new Float32Array(shape[0]! * shape[1]!).fill(0.5) });
    const pair = (target: "q" | "down") => ({ a: host([loraDims(config, target)[0], 2]), b: host([2, loraDims(config, target)[1]]) });
    const base = join(root, "adapter.safetensors");
    await saveLoraAdapter(base, config, lora, { layers: [{ q: pair("q"), down: pair("down") }] });
    const { SafetensorsReader } = await import("../../models/safetensors.js");
    const reader = await SafetensorsReader.open(base);
    const tensors: TensorToWrite[] = [];
    for (const name of reader.names()) {
      const t = await reader.read(name);
      tensors.push({ name, dtype: "F32", shape: t.shape, data: () => t.data as Float32Array });
    }
    const metadata = { ...reader.metadata };
    await reader.close();
    const values = ["", "0", "-2", "2", "2.5", "1e400", "NaN", "abc", "[]", '["q"]', '["q","down"]', '["*"]', '["layers.0.*"]', "[1]", "{", "grpo-xla-lora", "pt"];
    const outcomes = { loaded: 0, refused: 0 };
    for (let i = 0; i < 300; i++) {
      const mutated: Record<string, string> = { ...metadata };
      const key = ["format", "rank", "alpha", "targets"][Math.floor(random() * 4)]!;
      if (random() < 0.2) delete mutated[key];
      else mutated[key] = values[Math.floor(random() * values.length)]!;
      const path = join(root, `adapter-${i}.safetensors`);
      await writeSafetensors(path, tensors, mutated);
      try {
        const loaded = await loadLoraAdapter(path, config, { device: "reference" });
        expect(loaded.params.layers).toHaveLength(1);
        outcomes.loaded++;
      } catch (error) {
        if (!isOwnError(error)) throw new Error(`metadata mutation ${i} crashed the adapter loader: ${String(error)}\n${JSON.stringify(mutated)}`);
        outcomes.refused++;
      }
      rmSync(path);
    }
    expect(outcomes.refused).toBeGreaterThan(100);
    expect(outcomes.loaded).toBeGreaterThan(10);
  });
});

