// Weights through files, checked at the logits (issue 7.3): a random tiny model saved in Hugging Face names and
// loaded back gives bit-identical logits on cpu (f32 and bf16 weights); a merged LoRA export written and loaded
// back gives base + LoRA's logits to the export dtype's tolerance (exactly the in-memory merge's logits in f32,
// and exactly the bf16-rounded merge's in bf16); an adapter saved and loaded gives bit-identical adapted logits.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type ArrayBase, type DeviceArray, jit, tidy } from "../../src/index.js";
import { type Gemma3Config, preset } from "../../models/gemma3/config.js";
import { initParams } from "../../models/gemma3/init.js";
import { forward } from "../../models/gemma3/model.js";
import type { Gemma3Params } from "../../models/gemma3/params.js";
import { loadLoraAdapter, loadModelDirectory, saveLoraAdapter, saveModelDirectory } from "../../models/gemma3/weights.js";
import { type LoraConfig, type LoraParams, mergeLora } from "../../models/lora.js";
import { makeRng } from "../helpers/arrays.js";
import { adapterWithRandomB, castTree, disposeTree, maskArray, tokensArray, valuesOnce } from "./helpers.js";

const root = mkdtempSync(join(tmpdir(), "weights-model-"));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  disposeTree([tokens, mask]);
});
let dirCount = 0;
const freshDir = (): string => join(root, `m${dirCount++}`);

const config: Gemma3Config = preset("tiny");
const loraConfig: LoraConfig = { rank: 4, alpha: 8, targets: ["q", "kv", "o", "layers.*.gate", "layers.2.down"] };
const rng = makeRng(31);
// Two rows, the second left-padded; long enough to cross the tiny preset's sliding window of 8.
const tokenRows = [Array.from({ length: 12 }, () => Math.floor(rng() * config.vocabSize)), [0, 0, 0, ...Array.from({ length: 9 }, (_, i) => 5 + i)]];
const tokens = tokensArray(tokenRows, "cpu");
const mask = maskArray(tokenRows.map((row, b) => row.map((_, i) => b === 0 || i >= 3)), "cpu");

const base = jit((p: Gemma3Params<ArrayBase>, t: ArrayBase, m: ArrayBase) => forward(config, p, t, m), { device: "cpu" });
const adapted = jit(
  (p: Gemma3Params<ArrayBase>, l: LoraParams<ArrayBase>, t: ArrayBase, m: ArrayBase) => forward(config, p, t, m, { lora: l, config: loraConfig }),
  { device: "cpu" },
);

const bitsOf = (data: Float32Array): Uint32Array => new Uint32Array(data.buffer, data.byteOffset, data.length);

describe("weights through files, at the logits", () => {
  for (const dtype of ["f32", "bf16"] as const) {
    it(`a random tiny model saved in HF names and loaded back gives bit-identical logits (${dtype} weights)`, async () => {
      const params = initParams(config, { seed: 9, normScale: 0.3, weightsDtype: dtype, device: "cpu" });
      const dir = freshDir();
      await saveModelDirectory(dir, config, params, { dtype });
      const loaded = await loadModelDirectory(dir, { device: "cpu", weightsDtype: dtype });
      const expected = await valuesOnce(() => base(params, tokens, mask));
      const actual = await valuesOnce(() => base(loaded.params, tokens, mask));
      expect(bitsOf(actual)).toEqual(bitsOf(expected));
      disposeTree([params, loaded.params]);
    });
  }

  it("a merged LoRA export loaded back gives base + LoRA's logits (f32 exactly the merge's; bf16 to its rounding)", async () => {
    const params = initParams(config, { seed: 2, normScale: 0.3, device: "cpu" });
    const lora = adapterWithRandomB(config, loraConfig, 6);
    const expected = await valuesOnce(() => adapted(params, lora, tokens, mask));
    const baseline = await valuesOnce(() => base(params, tokens, mask));
    const merged = tidy(() => mergeLora(config, params, { lora, config: loraConfig }));
    for (const dtype of ["f32", "bf16"] as const) {
      const dir = freshDir();
      await saveModelDirectory(dir, config, merged as Gemma3Params<DeviceArray>, { dtype });
      const loaded = await loadModelDirectory(dir, { device: "cpu", weightsDtype: dtype });
      const actual = await valuesOnce(() => base(loaded.params, tokens, mask));
      // The file holds the merge rounded to the export dtype, nothing else: its logits are those of that rounding.
      const rounded = dtype === "f32" ? merged : tidy(() => castTree(merged, "bf16"));
      expect(bitsOf(actual)).toEqual(bitsOf(await valuesOnce(() => base(rounded, tokens, mask))));
      // bf16 rounds each merged weight once (2^-9 relative); the adapter's own effect is far larger.
      const tolerance = dtype === "f32" ? { rtol: 1e-4, atol: 1e-4 } : { rtol: 2e-2, atol: 5e-2 };
      expect(actual).toBeAllclose(expected, tolerance);
      expect(baseline).not.toBeAllclose(expected, tolerance);
      if (dtype === "bf16") disposeTree(rounded);
      disposeTree(loaded.params);
    }
    // The merge's own arrays are those that differ from the base's (untouched weights are shared).
    disposeTree(merged.layers.map((layer, i) => Object.values(layer).filter((array) => !Object.values(params.layers[i]!).includes(array))));
    disposeTree([params, lora]);
  });

  it("an adapter saved and loaded gives bit-identical logits with the base model", async () => {
    const params = initParams(config, { seed: 4, normScale: 0.3, weightsDtype: "bf16", device: "cpu" });
    const lora = adapterWithRandomB(config, loraConfig, 8);
    const path = join(root, "adapter.safetensors");
    await saveLoraAdapter(path, config, loraConfig, lora);
    const loaded = await loadLoraAdapter(path, config, { device: "cpu" });
    expect(loaded.lora).toEqual(loraConfig);
    const expected = await valuesOnce(() => adapted(params, lora, tokens, mask));
    const actual = await valuesOnce(() => adapted(params, loaded.params, tokens, mask));
    expect(bitsOf(actual)).toEqual(bitsOf(expected));
    expect(await valuesOnce(() => base(params, tokens, mask))).not.toBeAllclose(expected, { rtol: 1e-3, atol: 1e-3 });
    disposeTree([params, lora, loaded.params]);
  });
});
