// Gemma3 model (issue 7.1): parameter counts of the presets, one block and the whole tiny model against the
// plain-JS oracle, cpu against reference, decoding with the KV cache against the full forward (left padding, past
// the sliding window), the sliding window itself, bf16 weights, and the seeded initialiser.
import { afterAll, describe, expect, it } from "vitest";
import { type ArrayBase, type DeviceArray, jit, np, tidy } from "../../src/index.js";
import type { DeviceKind } from "../../src/runtime/device.js";
import { type Gemma3Config, preset } from "../../models/gemma3/config.js";
import { initParams } from "../../models/gemma3/init.js";
import { type KVCache, block, decode, emptyCache, forward, layerContext } from "../../models/gemma3/model.js";
import { countParams, type Gemma3Params, weightTable } from "../../models/gemma3/params.js";
import { positionsFromMask, visibilityMask } from "../../kernels/attention.js";
import { oracleBlock, oracleLogits } from "./gemma3_oracle.js";
import { castTree, disposeTree, hostModel, maskArray, moveTree, splitRows, tokensArray, values, valuesOnce } from "./helpers.js";
import { makeRng } from "../helpers/arrays.js";

// Linear RoPE scaling on the global layer too, so that path is checked against the oracle.
const config: Gemma3Config = { ...preset("tiny"), ropeGlobalScale: 4 };
const T = 12; // longer than the window (8): local layers cut off the oldest keys
const PADDING = 3;

function randomTokens(seed: number, rows: number, length: number, vocab = config.vocabSize): number[][] {
  const rng = makeRng(seed);
  return Array.from({ length: rows }, () => Array.from({ length }, () => Math.floor(rng() * vocab)));
}

// Row 0 is left-padded (3 pad tokens, id 0), row 1 is full.
const tokens = randomTokens(7, 2, T).map((row, b) => row.map((t, i) => (b === 0 && i < PADDING ? 0 : t)));
const valid = tokens.map((row, b) => row.map((_, i) => !(b === 0 && i < PADDING)));

const forwardOn = (cfg: Gemma3Config, device: DeviceKind) =>
  jit((p: Gemma3Params<ArrayBase>, t: ArrayBase, m: ArrayBase) => forward(cfg, p, t, m), { device, name: "gemma3_forward" });

describe("presets", () => {
  it("have the published parameter counts", () => {
    expect(countParams(preset("gemma3-270m"))).toBe(268_098_176);
    expect(countParams(preset("gemma3-1b"))).toBe(999_885_952);
    const embedding = weightTable(preset("gemma3-1b")).find((spec) => spec.path === "embed")!;
    expect(embedding.shape[0]! * embedding.shape[1]!).toBe(301_989_888);
    expect(preset("gemma3-1b").layerKinds.flatMap((kind, i) => (kind === "global" ? [i] : []))).toEqual([5, 11, 17, 23]);
  });
});

describe("gemma3 tiny", () => {
  const params = initParams(config, { seed: 11, device: "cpu", normScale: 0.5 });
  afterAll(() => disposeTree(params));

  it("one block of each kind matches the plain-JS oracle", async () => {
    const host = await hostModel(params);
    const rng = makeRng(3);
    const x = Float32Array.from({ length: 2 * T * config.dModel }, () => rng() * 2 - 1);
    const run = jit(
      (p: Gemma3Params<ArrayBase>, xs: ArrayBase, mask: ArrayBase, layerIndex: number) => {
        const positions = positionsFromMask(mask);
        const masks = {
          local: visibilityMask(positions, positions, mask, config.slidingWindow),
          global: visibilityMask(positions, positions, mask),
        };
        return block(layerContext(config, p.layers[layerIndex]!, layerIndex), xs, { positions, masks }).out;
      },
      { device: "cpu", staticArgnums: [3] },
    );
    const xArray = np.array(x, { shape: [2, T, config.dModel], device: "cpu" });
    const mask = maskArray(valid, "cpu");
    const inputRows = splitRows(x, 2, T);
    for (const layerIndex of [0, 2]) {
      expect(config.layerKinds[layerIndex]).toBe(layerIndex === 0 ? "local" : "global");
      const out = splitRows(await valuesOnce(() => run(params, xArray, mask, layerIndex)), 2, T);
      for (let b = 0; b < 2; b++) {
        const expected = oracleBlock(config, host.layers[layerIndex]!, layerIndex, inputRows[b]!, valid[b]!);
        for (let t = 0; t < T; t++) {
          if (!valid[b]![t]) continue;
          expect(out[b]![t], `layer ${layerIndex} row ${b} token ${t}`).toBeAllclose(expected[t], { rtol: 1e-4, atol: 1e-4 });
        }
      }
    }
    disposeTree([xArray, mask]);
  });

  it("logits match the oracle on cpu, and cpu matches reference", async () => {
    const host = await hostModel(params);
    const logits = await valuesOnce(() => forwardOn(config, "cpu")(params, tokensArray(tokens, "cpu"), maskArray(valid, "cpu")));
    const rows = splitRows(logits, 2, T);
    for (let b = 0; b < 2; b++) {
      const expected = oracleLogits(config, host, tokens[b]!, valid[b]!);
      for (let t = 0; t < T; t++) {
        if (valid[b]![t]) expect(rows[b]![t], `row ${b} token ${t}`).toBeAllclose(expected[t], { rtol: 1e-4, atol: 1e-4 });
      }
    }
    const onReference = moveTree(params, "reference");
    const reference = await valuesOnce(() => forwardOn(config, "reference")(onReference, tokensArray(tokens, "reference"), maskArray(valid, "reference")));
    expect(logits).toBeAllclose(reference, { rtol: 1e-4, atol: 1e-4 });
    disposeTree(onReference);
  });

  it("decoding with the KV cache gives the full forward's logits position by position (left padding, past the window)", async () => {
    const S = 16; // more slots than tokens: unwritten slots must stay invisible
    const full = splitRows(await valuesOnce(() => forwardOn(config, "cpu")(params, tokensArray(tokens, "cpu"), maskArray(valid, "cpu"))), 2, T);
    const step = jit(
      (p: Gemma3Params<ArrayBase>, t: ArrayBase, cache: KVCache, index: ArrayBase, mask: ArrayBase) => decode(config, p, t, { cache, index, cacheMask: mask }),
      { device: "cpu", donateArgnums: [2], name: "gemma3_decode" },
    );
    let cache = jit(() => emptyCache(config, 2, S), { device: "cpu" })() as unknown as KVCache<DeviceArray>;
    const prefill = 5;
    // The step's inputs are made inside tidy (the cache, donated, becomes the result's), its logits freed once checked.
    const check = async (logits: DeviceArray, from: number, count: number) => {
      const rows = splitRows(await values(logits), 2, count);
      logits.dispose();
      for (let b = 0; b < 2; b++) {
        for (let t = 0; t < count; t++) {
          if (valid[b]![from + t]) expect(rows[b]![t], `row ${b} position ${from + t}`).toBeAllclose(full[b]![from + t], { rtol: 1e-4, atol: 1e-4 });
        }
      }
    };
    const slotMask = (written: number) => maskArray(valid.map((row) => Array.from({ length: S }, (_, s) => s < written && row[s]!)), "cpu");
    const index = (i: number) => np.array(i, { dtype: "i32", shape: [], device: "cpu" });
    let result = tidy(() => step(params, tokensArray(tokens.map((row) => row.slice(0, prefill)), "cpu"), cache, index(0), slotMask(prefill)));
    await check(result.logits, 0, prefill);
    cache = result.cache;
    for (let i = prefill; i < T; i++) {
      result = tidy(() => step(params, tokensArray(tokens.map((row) => [row[i]!]), "cpu"), cache, index(i), slotMask(i + 1)));
      await check(result.logits, i, 1);
      cache = result.cache;
    }
    expect(step.cacheSize).toBe(2); // one prefill signature, one step signature
    disposeTree(cache);
  });

  it("bf16 weights run in the forward: the same logits as their exact f32 values, on cpu and reference", async () => {
    // A vocabulary above one projection chunk (16384 rows), not a multiple of it: the chunked bf16 projection.
    const wide: Gemma3Config = { ...config, vocabSize: 20_000 };
    const bf16 = initParams(wide, { seed: 11, device: "cpu", normScale: 0.5, weightsDtype: "bf16" });
    expect(bf16.layers[0]!.q.dtype).toBe("bf16");
    const widened = tidy(() => castTree(bf16, "f32"));
    const t = tokensArray(tokens, "cpu");
    const m = maskArray(valid, "cpu");
    const fromBf16 = await valuesOnce(() => forwardOn(wide, "cpu")(bf16, t, m));
    expect(widened.layers[0]!.q.dtype).toBe("f32");
    const fromF32 = await valuesOnce(() => forwardOn(wide, "cpu")(widened, t, m));
    expect(fromBf16.length).toBe(2 * T * 20_000);
    expect(fromBf16).toBeAllclose(fromF32, { rtol: 1e-5, atol: 1e-5 });
    const onReference = moveTree(bf16, "reference");
    const reference = await valuesOnce(() => forwardOn(wide, "reference")(onReference, tokensArray(tokens, "reference"), maskArray(valid, "reference")));
    expect(fromBf16).toBeAllclose(reference, { rtol: 1e-4, atol: 1e-4 });
    disposeTree([bf16, widened, onReference, t, m]);
  });
});

describe("sliding window", () => {
  // One layer, so nothing reaches a position except through that layer's own attention.
  const oneLayer = (kind: "local" | "global"): Gemma3Config => ({ ...preset("tiny"), numLayers: 1, layerKinds: [kind], slidingWindow: 4 });

  it("a local layer ignores tokens at distance >= window; a global layer does not", async () => {
    const length = 10;
    const base = randomTokens(5, 1, length)[0]!;
    const changed = [(base[0]! + 1) % 512, ...base.slice(1)]; // only token 0 differs
    const mask = maskArray([Array.from({ length }, () => true)], "cpu");
    for (const kind of ["local", "global"] as const) {
      const cfg = oneLayer(kind);
      const params = initParams(cfg, { seed: 2, device: "cpu", normScale: 0.5 });
      const run = forwardOn(cfg, "cpu");
      const a = splitRows(await valuesOnce(() => run(params, tokensArray([base], "cpu"), mask)), 1, length)[0]!;
      const b = splitRows(await valuesOnce(() => run(params, tokensArray([changed], "cpu"), mask)), 1, length)[0]!;
      const differs = (t: number) => a[t]!.some((value, i) => value !== b[t]![i]);
      // Position 3 is within the window of token 0; positions 4.. are at distance >= 4.
      expect(differs(3), `${kind} position 3`).toBe(true);
      for (let t = 4; t < length; t++) expect(differs(t), `${kind} position ${t}`).toBe(kind === "global");
      disposeTree(params);
    }
    mask.dispose();
  });
});

describe("initParams", () => {
  it("is seeded, bounded by sqrt(3 / fan_in), and fills every row when drawn in chunks", async () => {
    const small: Gemma3Config = { ...preset("tiny"), numLayers: 1, layerKinds: ["global"] };
    const read = (p: Gemma3Params<DeviceArray>) => values(p.embed);
    const a = initParams(small, { seed: 4, device: "cpu" });
    const b = initParams(small, { seed: 4, device: "cpu" });
    const c = initParams(small, { seed: 5, device: "cpu" });
    const chunked = initParams(small, { seed: 4, device: "cpu", chunkElements: 1000 }); // 15 rows of 64 per draw
    const [ea, eb, ec, ed] = await Promise.all([a, b, c, chunked].map(read));
    expect(ea).toEqual(eb);
    expect(ea).not.toEqual(ec);
    const bound = Math.sqrt(3 / small.dModel);
    for (const values of [ea!, ed!]) {
      expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(bound);
      const variance = values.reduce((s, v) => s + v * v, 0) / values.length;
      expect(variance).toBeCloseTo(1 / small.dModel, 3);
      for (let row = 0; row < small.vocabSize; row++) {
        expect(values.subarray(row * small.dModel, (row + 1) * small.dModel).some((v) => v !== 0), `row ${row}`).toBe(true);
      }
    }
    expect((await values(a.finalNorm)).every((v) => v === 0)).toBe(true);
    disposeTree([a, b, c, chunked]);
  });
});
