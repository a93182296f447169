// Sampling kernels and the compiled sampler (issue 7.5): greedy decoding equals the argmax of step-by-step full
// forwards (left-padded prompts), draws follow softmax(logits / T) (chi-square at a fixed seed), top-k and top-p
// never leave their allowed sets, image tokens are never drawn, the same seed gives the same tokens on cpu and
// reference, stop tokens end rows, the key advances every call, and nothing recompiles between calls.
import { afterAll, describe, expect, it } from "vitest";
import { type ArrayBase, jit, liveArrays, nn, np, random } from "../../src/index.js";
import { preset } from "../../models/gemma3/config.js";
import { initParams } from "../../models/gemma3/init.js";
import { forward } from "../../models/gemma3/model.js";
import type { Gemma3Params } from "../../models/gemma3/params.js";
import { Sampler } from "../../models/gemma3/sampler.js";
import { initLora } from "../../models/lora.js";
import { type SamplingOptions, disallowTokens, sampleTokens, topK, topP } from "../../kernels/sampling.js";
import { makeRng } from "../helpers/arrays.js";
import { dataOnce, disposeTree, maskArray, moveTree, tokensArray, valuesOnce } from "./helpers.js";

// --- kernels ---------------------------------------------------------------------------------------------------

const LOGITS = [1.2, -0.4, 2.0, 0.3, -1.5, 0.9, 1.7, -0.2];
const V = LOGITS.length;
const DRAWS = 20_000;

function softmax(xs: readonly number[]): number[] {
  const top = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - top));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / total);
}

/** DRAWS rows of the same logits, one draw per row (independent noise per row), counted per token. */
async function drawCounts(options: SamplingOptions, seed: number, logits: readonly number[] = LOGITS): Promise<number[]> {
  const rows = np.array(Float32Array.from({ length: DRAWS * logits.length }, (_, i) => logits[i % logits.length]!), { shape: [DRAWS, logits.length], device: "cpu" });
  const draw = jit((key: ArrayBase, x: ArrayBase) => sampleTokens(key, x, options).tokens, { device: "cpu" });
  const tokens = await dataOnce(() => draw(random.key(seed), rows));
  const counts = new Array<number>(logits.length).fill(0);
  for (const t of tokens) counts[Number(t)]!++;
  rows.dispose();
  return counts;
}

/** Pearson's chi-square statistic of counts against probabilities (cells with probability 0 must be empty). */
function chiSquare(counts: readonly number[], probabilities: readonly number[]): number {
  return counts.reduce((sum, count, i) => {
    const expected = probabilities[i]! * DRAWS;
    if (expected === 0) {
      expect(count, `token ${i} has probability 0`).toBe(0);
      return sum;
    }
    return sum + (count - expected) ** 2 / expected;
  }, 0);
}

// Upper 0.1% points of the chi-square distribution: df 7 and df 2.
const CHI2_999 = { 7: 24.32, 2: 13.82 } as const;

describe("sampling kernels", () => {
  it("draws with temperature follow softmax(logits / T) (chi-square at a fixed seed)", async () => {
    const T = 0.7;
    const counts = await drawCounts({ greedy: false, temperature: T }, 17);
    expect(chiSquare(counts, softmax(LOGITS.map((x) => x / T)))).toBeLessThan(CHI2_999[7]);
    // A wrong temperature is rejected by the same test: the statistic has the power to tell.
    expect(chiSquare(counts, softmax(LOGITS))).toBeGreaterThan(CHI2_999[7]);
  });

  it("top-k draws only the k largest, in proportion", async () => {
    const counts = await drawCounts({ greedy: false, temperature: 1, topK: 3 }, 5);
    const allowed = [2, 6, 0]; // logits 2.0, 1.7, 1.2
    const probabilities = softmax(LOGITS.map((x, i) => (allowed.includes(i) ? x : -Infinity)));
    expect(counts.filter((_, i) => !allowed.includes(i)).every((c) => c === 0)).toBe(true);
    expect(chiSquare(counts, probabilities)).toBeLessThan(CHI2_999[2]);
  });

  it("top-p draws only the nucleus, in proportion", async () => {
    const p = softmax(LOGITS);
    const order = p.map((_, i) => i).sort((a, b) => p[b]! - p[a]!);
    // The nucleus for 0.6: most probable tokens until their mass reaches 0.6.
    const nucleus: number[] = [];
    let mass = 0;
    for (const i of order) {
      if (mass >= 0.6) break;
      nucleus.push(i);
      mass += p[i]!;
    }
    expect(nucleus.length).toBe(3);
    const counts = await drawCounts({ greedy: false, temperature: 1, topP: 0.6 }, 8);
    expect(counts.filter((_, i) => !nucleus.includes(i)).every((c) => c === 0)).toBe(true);
    expect(chiSquare(counts, softmax(LOGITS.map((x, i) => (nucleus.includes(i) ? x : -Infinity))))).toBeLessThan(CHI2_999[2]);
  });

  it("top-k and top-p thresholds are exact on random rows (bisection over float keys)", async () => {
    const rng = makeRng(4);
    const rows = 6;
    const width = 50;
    const data = Float32Array.from({ length: rows * width }, () => (rng() - 0.5) * 8);
    const x = np.array(data, { shape: [rows, width], device: "cpu" });
    const keptK = await dataOnce(() => jit((a: ArrayBase) => topK(a, 7), { device: "cpu" })(x));
    const keptP = await dataOnce(() => jit((a: ArrayBase) => topP(a, 0.9), { device: "cpu" })(x));
    for (let r = 0; r < rows; r++) {
      const row = Array.from(data.subarray(r * width, (r + 1) * width));
      const sorted = [...row].sort((a, b) => b - a);
      row.forEach((v, i) => expect(Number.isFinite(keptK[r * width + i]!)).toBe(v >= sorted[6]!));
      const p = softmax(row);
      const ps = [...p].sort((a, b) => b - a);
      let mass = 0;
      let cut = 0;
      for (const q of ps) {
        mass += q;
        cut = q;
        if (mass >= 0.9) break;
      }
      p.forEach((q, i) => expect(Number.isFinite(keptP[r * width + i]!), `row ${r} token ${i}`).toBe(q >= cut));
    }
    x.dispose();
  });

  it("never draws the image tokens 255999 and 256000, even when they dominate", async () => {
    const vocab = 256_001;
    const rows = 4;
    const data = new Float32Array(rows * vocab);
    for (let r = 0; r < rows; r++) {
      data[r * vocab + 255_999] = 50;
      data[r * vocab + 256_000] = 50;
      data[r * vocab + 17] = 1;
    }
    const x = np.array(data, { shape: [rows, vocab], device: "cpu" });
    for (const options of [{ greedy: true }, { greedy: false, temperature: 1 }] as SamplingOptions[]) {
      const tokens = await dataOnce(() => jit((key: ArrayBase, a: ArrayBase) => sampleTokens(key, a, options).tokens, { device: "cpu" })(random.key(1), x));
      for (const t of tokens) expect([255_999, 256_000]).not.toContain(Number(t));
    }
    x.dispose();
  });

  it("disallowTokens puts -inf at exactly the listed ids in the vocabulary (runs, repeats, unsorted, outside)", async () => {
    const [B, vocab] = [3, 40];
    const ids = [39, 5, 6, 7, 20, 6, -1, 40, 1000, 0];
    const banned = new Set([0, 5, 6, 7, 20, 39]);
    const data = Float32Array.from({ length: B * vocab }, (_, i) => (i % 13) - 6.5);
    const x = np.array(data, { shape: [B, vocab], device: "cpu" });
    const got = await dataOnce(() => jit((a: ArrayBase) => disallowTokens(a, ids), { device: "cpu" })(x));
    expect(Array.from(got, Number)).toEqual(Array.from(data, (v, i) => (banned.has(i % vocab) ? -Infinity : v)));
    x.dispose();
  });
});

// --- the sampler -------------------------------------------------------------------------------------------------

const config = preset("tiny");
const prompts = [
  [2, 17, 301, 44, 9],
  [2, 88],
];

describe("sampler", () => {
  const params = initParams(config, { seed: 6, device: "cpu", normScale: 0.5 });
  afterAll(() => disposeTree(params));

  it("greedy equals the argmax of step-by-step full forwards (left-padded prompts), with matching logprobs", async () => {
    const sampler = new Sampler(config, params, { device: "cpu" });
    const N = 6;
    const out = await sampler.generate(prompts, { maxNewTokens: N, stopTokens: [] });
    expect(out.tokens.map((row) => row.length)).toEqual([N, N]);
    const full = jit((p: Gemma3Params<ArrayBase>, t: ArrayBase, m: ArrayBase) => nn.logSoftmax(forward(config, p, t, m), { axis: -1 }), { device: "cpu" });
    for (let i = 0; i < N; i++) {
      const sequences = prompts.map((prompt, b) => [...prompt, ...out.tokens[b]!.slice(0, i)]);
      const length = Math.max(...sequences.map((s) => s.length));
      const padded = sequences.map((s) => [...new Array<number>(length - s.length).fill(0), ...s]);
      const valid = sequences.map((s) => Array.from({ length }, (_, j) => j >= length - s.length));
      const logprobs = await valuesOnce(() => full(params, tokensArray(padded, "cpu"), maskArray(valid, "cpu")));
      for (let b = 0; b < prompts.length; b++) {
        const last = Array.from(logprobs.subarray((b * length + length - 1) * config.vocabSize, (b * length + length) * config.vocabSize));
        const argmax = last.indexOf(Math.max(...last));
        expect(out.tokens[b]![i], `row ${b} step ${i}`).toBe(argmax);
        expect(out.logprobs[b]![i]).toBeCloseTo(last[argmax]!, 4);
      }
    }
  });

  it("the same seed gives the same tokens on cpu and reference; the key advances every call", async () => {
    const options = { maxNewTokens: 4, temperature: 1.3, topK: 40, topP: 0.95, samplesPerPrompt: 2, stopTokens: [] };
    const onCpu = new Sampler(config, params, { device: "cpu", seed: 12 });
    const first = await onCpu.generate(prompts, options);
    const second = await onCpu.generate(prompts, options);
    expect(second.tokens).not.toEqual(first.tokens);
    expect(first.tokens.length).toBe(prompts.length * 2);
    expect(first.tokens[0]).not.toEqual(first.tokens[1]); // G samples of one prompt differ
    const referenceParams = moveTree(params, "reference");
    const onReference = new Sampler(config, referenceParams, { device: "reference", seed: 12 });
    const again = await onReference.generate(prompts, options);
    expect(again.tokens).toEqual(first.tokens);
    expect(again.logprobs.flat()).toBeAllclose(first.logprobs.flat(), { rtol: 1e-4, atol: 1e-4 });
    disposeTree(referenceParams);
    expect(onCpu.compiledSignatures).toBe(2); // one prefill, one decode loop, reused by the second call
  });

  it("applies a LoRA adapter: the first greedy token is the argmax of the adapted forward", async () => {
    const loraConfig = { rank: 2, alpha: 4, targets: ["q", "down"] };
    const fresh = initLora(config, loraConfig, { seed: 1, device: "cpu" });
    const draw = makeRng(2);
    const lora = {
      layers: fresh.layers.map((pairs) =>
        Object.fromEntries(Object.entries(pairs).map(([t, pair]) => [t, { a: pair.a, b: np.array(Float32Array.from({ length: pair.b.size }, () => draw() - 0.5), { shape: pair.b.shape, device: "cpu" }) }])),
      ),
    };
    const adapted = new Sampler(config, params, { device: "cpu", lora: { lora, config: loraConfig } });
    const out = await adapted.generate(prompts, { maxNewTokens: 1, stopTokens: [] });
    const length = Math.max(...prompts.map((p) => p.length));
    const padded = prompts.map((p) => [...new Array<number>(length - p.length).fill(0), ...p]);
    const valid = prompts.map((p) => Array.from({ length }, (_, j) => j >= length - p.length));
    const logits = await valuesOnce(() => jit((p: Gemma3Params<ArrayBase>, l: typeof lora, t: ArrayBase, m: ArrayBase) => forward(config, p, t, m, { lora: l, config: loraConfig }), { device: "cpu" })(params, lora, tokensArray(padded, "cpu"), maskArray(valid, "cpu")));
    const baseOut = await new Sampler(config, params, { device: "cpu" }).generate(prompts, { maxNewTokens: 1, stopTokens: [] });
    let differs = false;
    prompts.forEach((_, b) => {
      const last = Array.from(logits.subarray((b * length + length - 1) * config.vocabSize, (b * length + length) * config.vocabSize));
      expect(out.tokens[b]![0]).toBe(last.indexOf(Math.max(...last)));
      differs ||= out.tokens[b]![0] !== baseOut.tokens[b]![0];
    });
    expect(differs).toBe(true); // the adapter changed the model
    disposeTree([fresh, lora]);
  });

  it("a bf16 KV cache decodes close to the f32 one", async () => {
    const options = { maxNewTokens: 4, stopTokens: [] };
    const f32 = await new Sampler(config, params, { device: "cpu" }).generate(prompts, options);
    const bf16 = await new Sampler(config, params, { device: "cpu", cacheDtype: "bf16" }).generate(prompts, options);
    expect(bf16.tokens.map((row) => row[0])).toEqual(f32.tokens.map((row) => row[0]));
    expect(bf16.logprobs.map((row) => row[0]!)).toBeAllclose(f32.logprobs.map((row) => row[0]!), { atol: 2e-2 });
  });

  it("top-k 1 with any temperature is greedy", async () => {
    const sampler = new Sampler(config, params, { device: "cpu", seed: 3 });
    const greedy = await sampler.generate(prompts, { maxNewTokens: 5, stopTokens: [] });
    const k1 = await sampler.generate(prompts, { maxNewTokens: 5, temperature: 2, topK: 1, stopTokens: [] });
    expect(k1.tokens).toEqual(greedy.tokens);
  });

  it("stop tokens end rows (the stop token is kept), and the loop ends when every row has stopped", async () => {
    const sampler = new Sampler(config, params, { device: "cpu" });
    const before = liveArrays();
    const free = await sampler.generate(prompts, { maxNewTokens: 6, stopTokens: [] });
    expect(free.steps).toBe(5);
    const stop = free.tokens[0]![2]!;
    const firstIndex = free.tokens[0]!.indexOf(stop);
    const stopped = await sampler.generate(prompts, { maxNewTokens: 6, stopTokens: [stop] });
    expect(stopped.tokens[0]).toEqual(free.tokens[0]!.slice(0, firstIndex + 1));
    expect(stopped.logprobs[0]!.length).toBe(firstIndex + 1);
    expect(stopped.finished[0]).toBe(true);
    const otherStop = free.tokens[1]!.indexOf(stop);
    expect(stopped.tokens[1]).toEqual(otherStop < 0 ? free.tokens[1] : free.tokens[1]!.slice(0, otherStop + 1));
    expect(stopped.finished[1]).toBe(otherStop >= 0);
    const allStop = await sampler.generate(prompts, { maxNewTokens: 6, stopTokens: [free.tokens[0]![0]!, free.tokens[1]![0]!] });
    expect(allStop.steps).toBe(0);
    expect(allStop.tokens).toEqual([[free.tokens[0]![0]], [free.tokens[1]![0]]]);
    expect(liveArrays(), "arrays left behind").toBe(before);
  });
});
