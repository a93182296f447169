// nn: values against plain-JS loops over the same inputs, and gradients against finite differences, on every
// device (issue 6.10).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ArrayBase, type DeviceArray, grad, jit, nn, np, setDefaultDevice, tidy } from "../../src/index.js";
import { type HostValue, randomValue, readTidy } from "../helpers/arrays.js";
import { checkGrad } from "../helpers/grad_check.js";

const arr = (x: HostValue): DeviceArray => np.array(x.data, { dtype: x.dtype, shape: x.shape });
// Each value is built inside tidy and disposed once read, so no array outlives its test on either device.
const read = async (fn: () => ArrayBase): Promise<number[]> => (await readTidy(fn)).data;

/** Rows of a row-major [rows, n] array. */
function rows(data: readonly number[], n: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < data.length; i += n) out.push(data.slice(i, i + n));
  return out;
}

function jsLogsumexp(row: readonly number[]): number {
  const m = Math.max(...row);
  if (!Number.isFinite(m)) return m;
  return m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
}

const jsGelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

// Every test on every device: eager operations run on the default device, jit follows its arguments.
describe.each(["reference", "cpu"] as const)("on %s", (device) => {
  beforeAll(() => setDefaultDevice(device));
  afterAll(() => setDefaultDevice("reference"));

  describe("softmax family", () => {
    const x = randomValue("f32", [4, 7], 1, { min: -5, max: 5 });

    it("logsumexp, softmax and logSoftmax match JS over the last axis", async () => {
      const expectedLse = rows(x.data, 7).map(jsLogsumexp);
      expect(await read(() => nn.logsumexp(arr(x)))).toBeAllclose(expectedLse, { rtol: 1e-6, atol: 1e-6 });
      expect(await read(() => nn.logsumexp(arr(x), { keepdims: true }))).toBeAllclose(expectedLse, { rtol: 1e-6, atol: 1e-6 });
      const expectedSoftmax = rows(x.data, 7).flatMap((r, i) => r.map((v) => Math.exp(v - expectedLse[i]!)));
      expect(await read(() => nn.softmax(arr(x)))).toBeAllclose(expectedSoftmax, { rtol: 1e-5, atol: 1e-7 });
      const expectedLogSoftmax = rows(x.data, 7).flatMap((r, i) => r.map((v) => v - expectedLse[i]!));
      expect(await read(() => nn.logSoftmax(arr(x)))).toBeAllclose(expectedLogSoftmax, { rtol: 1e-5, atol: 1e-5 });
    });

    it("logSoftmaxAt equals logSoftmax taken at the indices, bit for bit (the sampler's log-probabilities)", async () => {
      const indices = [6, 0, 3, 3];
      const expected = rows(x.data, 7).map((r, i) => r[indices[i]!]! - jsLogsumexp(r));
      const at = await read(() => nn.logSoftmaxAt(arr(x), np.array(indices, { dtype: "i32" })));
      expect(at).toBeAllclose(expected, { rtol: 1e-5, atol: 1e-5 });
      const full = await read(() => nn.logSoftmax(arr(x)));
      expect(at).toEqual(indices.map((t, i) => full[i * 7 + t]));
    });

    it("logSoftmaxPrepared picks from any array equal to x at the indices, bit for bit (the sampler's in-place masking)", async () => {
      const indices = [6, 0, 3, 3];
      const full = await read(() => nn.logSoftmax(arr(x)));
      // The source has -inf everywhere but at the picked entries, as the sampler's masked logits have at
      // disallowed tokens: the normaliser still comes from x, the picked value from the source.
      const masked = x.data.map((v, i) => (indices[Math.floor(i / 7)] === i % 7 ? v : -Infinity));
      const prepared = await read(() => nn.logSoftmaxPrepared(arr(x)).at(np.array(indices, { dtype: "i32" }), np.array(masked, { shape: [4, 7] })));
      expect(prepared).toEqual(indices.map((t, i) => full[i * 7 + t]));
      const plain = await read(() => nn.logSoftmaxPrepared(arr(x)).at(np.array(indices, { dtype: "i32" })));
      expect(plain).toEqual(prepared);
    });

    it("reduces over another axis when asked", async () => {
      const columns = Array.from({ length: 7 }, (_, j) => Array.from({ length: 4 }, (_, i) => x.data[i * 7 + j]!));
      expect(await read(() => nn.logsumexp(arr(x), { axis: 0 }))).toBeAllclose(columns.map(jsLogsumexp), { rtol: 1e-6, atol: 1e-6 });
      const softmax0 = await read(() => nn.softmax(arr(x), { axis: 0 }));
      for (let j = 0; j < 7; j++) {
        const sum = [0, 1, 2, 3].reduce((s, i) => s + softmax0[i * 7 + j]!, 0);
        expect(sum).toBeCloseTo(1, 5);
      }
    });

    it("stays finite for large logits and gives -inf for rows that are all -inf", async () => {
      const big = np.array([[1000, 1000, 0], [-1000, -1001, -1002], [-Infinity, -Infinity, -Infinity]]);
      expect(await read(() => nn.logsumexp(big))).toBeAllclose([1000 + Math.log(2), -1000 + Math.log(1 + Math.exp(-1) + Math.exp(-2)), -Infinity], { rtol: 1e-6 });
      expect((await read(() => nn.softmax(big))).slice(0, 6)).toBeAllclose([0.5, 0.5, 0, ...[0, -1, -2].map((v) => Math.exp(v) / (1 + Math.exp(-1) + Math.exp(-2)))], { rtol: 1e-6 });
      // One -inf entry among finite ones is just a zero probability.
      expect(await read(() => nn.softmax(np.array([0, -Infinity, 0])))).toBeAllclose([0.5, 0, 0.5]);
      big.dispose();
    });

    it("has exact, finite gradients with tied maxima and -inf entries (the max shift cancels)", async () => {
      const x2 = np.array([
        [1000, 1000, 0],
        [2, -Infinity, 2],
      ]);
      // d logsumexp / dx = softmax(x)
      expect(await read(() => grad((a: ArrayBase) => np.sum(nn.logsumexp(a)))(x2) as ArrayBase)).toEqual([0.5, 0.5, 0, 0.5, 0, 0.5]);
      // d sum(logSoftmax(x)) / dx = 1 - n softmax(x)
      expect(await read(() => grad((a: ArrayBase) => np.sum(nn.logSoftmax(a)))(x2) as ArrayBase)).toEqual([-0.5, -0.5, 1, -0.5, 1, -0.5]);
      // d sum(softmax(x) w) / dx_j = p_j (w_j - sum p w): p = [0.5, 0.5, 0], w = [1, 2, 3]
      const g = () => grad((a: ArrayBase) => np.sum(np.multiply(nn.softmax(a), np.array([1, 2, 3]))))(np.array([1, 1, -Infinity])) as ArrayBase;
      expect(await read(g)).toEqual([-0.25, 0.25, 0]);
      x2.dispose();
    });

    it("has gradients that match finite differences", async () => {
      const weights = randomValue("f32", [4, 7], 2);
      const w = arr(weights);
      await checkGrad((a) => np.sum(nn.logsumexp(a)), [x], { device });
      await checkGrad((a) => np.sum(np.multiply(nn.softmax(a), w)), [x], { device });
      await checkGrad((a) => np.sum(np.multiply(nn.logSoftmax(a, { axis: 0 }), w)), [x], { device });
      w.dispose();
    });
  });

  describe("activations", () => {
    const x = randomValue("f32", [3, 5], 3, { min: -4, max: 4 });

    it("gelu (tanh approximation), silu and relu match JS", async () => {
      expect(await read(() => nn.gelu(arr(x)))).toBeAllclose(x.data.map(jsGelu), { rtol: 1e-5, atol: 1e-6 });
      expect(await read(() => nn.silu(arr(x)))).toBeAllclose(x.data.map((v) => v / (1 + Math.exp(-v))), { rtol: 1e-5, atol: 1e-6 });
      expect(await read(() => nn.relu(arr(x)))).toBeAllclose(x.data.map((v) => Math.max(v, 0)), { rtol: 0, atol: 0 });
    });

    it("gelu, silu and relu have gradients that match finite differences", async () => {
      await checkGrad((a) => np.sum(np.multiply(nn.gelu(a), a)), [x], { device });
      await checkGrad((a) => np.sum(nn.silu(a)), [x], { device });
      await checkGrad((a) => np.sum(np.square(nn.relu(a))), [x], { device });
    });
  });

  describe("rmsNorm", () => {
    const x = randomValue("f32", [2, 3, 8], 4);
    const weight = randomValue("f32", [8], 5, { min: -0.5, max: 0.5 });

    function jsRmsNorm(addOne: boolean): number[] {
      return rows(x.data, 8).flatMap((row) => {
        const ms = row.reduce((s, v) => s + v * v, 0) / row.length;
        return row.map((v, j) => (v / Math.sqrt(ms + 1e-6)) * (addOne ? 1 + weight.data[j]! : weight.data[j]!));
      });
    }

    it("matches JS, with and without Gemma's (1 + weight)", async () => {
      expect(await read(() => nn.rmsNorm(arr(x), arr(weight)))).toBeAllclose(jsRmsNorm(false), { rtol: 1e-5, atol: 1e-6 });
      expect(await read(() => nn.rmsNorm(arr(x), arr(weight), 1e-6, { addOne: true }))).toBeAllclose(jsRmsNorm(true), { rtol: 1e-5, atol: 1e-6 });
    });

    it("normalises bf16 in f32 and returns bf16", async () => {
      const out = await readTidy(() => nn.rmsNorm(np.astype(arr(x), "bf16"), np.astype(arr(weight), "bf16"), 1e-6, { addOne: true }));
      expect(out.dtype).toBe("bf16");
      expect(out.data).toBeAllclose(jsRmsNorm(true), { rtol: 2e-2, atol: 2e-2 });
    });

    it("has gradients (in x and in weight) that match finite differences", async () => {
      const w = arr(randomValue("f32", [2, 3, 8], 6));
      await checkGrad((a, b) => np.sum(np.multiply(nn.rmsNorm(a, b, 1e-6, { addOne: true }), w)), [x, weight], { device, argnums: [0, 1] });
      await checkGrad((a, b) => np.sum(np.multiply(nn.rmsNorm(a, b), w)), [x, weight], { device, argnums: [0, 1] });
      w.dispose();
    });
  });

  describe("cross-entropy", () => {
    const logits = randomValue("f32", [2, 3, 5], 7, { min: -3, max: 3 });
    const labels = [0, 4, 2, 1, 3, 3];
    const labelsArray = () => np.array(labels, { dtype: "i32", shape: [2, 3] });
    const perExample = rows(logits.data, 5).map((row, i) => jsLogsumexp(row) - row[labels[i]!]!);

    it("per example, mean, sum and weighted mean match JS", async () => {
      expect(await read(() => nn.softmaxCrossEntropyWithIntegerLabels(arr(logits), labelsArray()))).toBeAllclose(perExample, { rtol: 1e-5, atol: 1e-6 });
      expect(await read(() => nn.crossEntropy(arr(logits), labelsArray(), { reduction: "none" }))).toBeAllclose(perExample, { rtol: 1e-5, atol: 1e-6 });
      const mean = perExample.reduce((a, b) => a + b, 0) / perExample.length;
      expect(await read(() => nn.crossEntropy(arr(logits), labelsArray()))).toBeAllclose([mean], { rtol: 1e-5 });
      expect(await read(() => nn.crossEntropy(arr(logits), labelsArray(), { reduction: "sum" }))).toBeAllclose([mean * 6], { rtol: 1e-5 });
      const weights = [1, 0, 1, 0, 0, 2];
      const weighted = perExample.reduce((s, l, i) => s + l * weights[i]!, 0) / 4;
      const got = () => nn.crossEntropy(arr(logits), labelsArray(), { weights: np.array(weights, { shape: [2, 3] }) });
      expect(await read(got)).toBeAllclose([weighted], { rtol: 1e-5 });
    });

    it("has a gradient of softmax minus one-hot, and matches finite differences", async () => {
      const g = () => grad((a: ArrayBase) => nn.crossEntropy(a, labelsArray(), { reduction: "sum" }))(arr(logits)) as ArrayBase;
      const expected = rows(logits.data, 5).flatMap((row, i) => {
        const lse = jsLogsumexp(row);
        return row.map((v, j) => Math.exp(v - lse) - (j === labels[i] ? 1 : 0));
      });
      expect(await read(g)).toBeAllclose(expected, { rtol: 1e-5, atol: 1e-6 });
      // Arrays made inside a traced function would live on as constants of checkGrad's jitted evaluation.
      const labelsOnce = labelsArray();
      await checkGrad((a) => nn.crossEntropy(a, labelsOnce), [logits], { device });
      labelsOnce.dispose();
    });
  });

  describe("attention", () => {
    const [B, T, N, H, S, K] = [2, 3, 4, 5, 4, 2];
    const q = randomValue("f32", [B, T, N, H], 11);
    const k = randomValue("f32", [B, S, K, H], 12);
    const v = randomValue("f32", [B, S, K, H], 13);
    const maskValues = Array.from({ length: B * T * S }, (_, i) => (i % 5 === 3 ? 0 : 1)); // [B, T, S]
    const mask = () => np.array(maskValues.map((m) => m === 1), { dtype: "bool", shape: [B, T, S] });

    /** Plain loops: query head n uses key/value head floor(n / (N / K)). */
    function jsAttention(allowed: (b: number, t: number, s: number) => boolean): number[] {
      const at = (x: HostValue, ...index: number[]) => x.data[index.reduce((flat, i, d) => flat * x.shape[d]! + i, 0)]!;
      const out: number[] = [];
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++)
          for (let n = 0; n < N; n++) {
            const kv = Math.floor(n / (N / K));
            const logits = Array.from({ length: S }, (_, s) => {
              if (!allowed(b, t, s)) return -Infinity;
              let dot = 0;
              for (let h = 0; h < H; h++) dot += at(q, b, t, n, h) * at(k, b, s, kv, h);
              return dot / Math.sqrt(H);
            });
            const lse = jsLogsumexp(logits);
            const p = logits.map((l) => Math.exp(l - lse));
            for (let h = 0; h < H; h++) out.push(p.reduce((acc, ps, s) => acc + ps * at(v, b, s, kv, h), 0));
          }
      return out;
    }

    it("matches plain loops, without a mask, with a [B, T, S] mask and with a causal mask", async () => {
      expect(await read(() => nn.attention(arr(q), arr(k), arr(v)))).toBeAllclose(jsAttention(() => true), { rtol: 1e-5, atol: 1e-5 });
      const masked = jsAttention((b, t, s) => maskValues[(b * T + t) * S + s] === 1);
      expect(await read(() => nn.attention(arr(q), arr(k), arr(v), mask()))).toBeAllclose(masked, { rtol: 1e-5, atol: 1e-5 });
      // T = 3 queries at the last positions of S = 4 keys: query t sees keys s <= t + 1.
      const causal = jsAttention((_b, t, s) => s <= t + 1);
      expect(await read(() => nn.attention(arr(q), arr(k), arr(v), nn.causalMask(T, S)))).toBeAllclose(causal, { rtol: 1e-5, atol: 1e-5 });
    });

    it("causalMask marks s <= offset + t", async () => {
      expect(await read(() => nn.causalMask(2, 3))).toEqual([1, 1, 0, 1, 1, 1]);
      expect(await read(() => nn.causalMask(3))).toEqual([1, 0, 0, 1, 1, 0, 1, 1, 1]);
    });

    it("rejects shapes that do not fit", () => {
      // tidy frees the inputs when the call throws.
      expect(() => tidy(() => nn.attention(arr(q), arr(randomValue("f32", [B, S, 3, H], 1)), arr(randomValue("f32", [B, S, 3, H], 1))))).toThrow(/K dividing N/);
    });

    it("has gradients in q, k and v that match finite differences", async () => {
      const w = arr(randomValue("f32", [B, T, N, H], 14));
      const m = mask();
      await checkGrad((a, b, c) => np.sum(np.multiply(nn.attention(a, b, c, m), w)), [q, k, v], { device, argnums: [0, 1, 2] });
      w.dispose();
      m.dispose();
    });

    it("gives the same result under jit", async () => {
      const f = jit((a: ArrayBase, b: ArrayBase, c: ArrayBase) => nn.attention(a, b, c, nn.causalMask(T, S)));
      expect(await read(() => f(arr(q), arr(k), arr(v)))).toBeAllclose(await read(() => nn.attention(arr(q), arr(k), arr(v), nn.causalMask(T, S))), { rtol: 1e-6, atol: 1e-6 });
    });
  });

  describe("a small MLP loss", () => {
    it("has gradients in every parameter that match finite differences", async () => {
      const x = arr(randomValue("f32", [6, 4], 21));
      const labels = np.array([0, 2, 1, 1, 0, 2], { dtype: "i32" });
      const w1 = randomValue("f32", [4, 8], 22, { min: -0.7, max: 0.7 });
      const b1 = randomValue("f32", [8], 23, { min: -0.1, max: 0.1 });
      const scale = randomValue("f32", [8], 24, { min: -0.2, max: 0.2 });
      const w2 = randomValue("f32", [8, 3], 25, { min: -0.7, max: 0.7 });
      const loss = (a: ArrayBase, b: ArrayBase, s: ArrayBase, c: ArrayBase) => {
        const hidden = nn.gelu(np.add(np.matmul(x, a), b)); //          [6, 8]
        const normed = nn.rmsNorm(hidden, s, 1e-6, { addOne: true }); // [6, 8]
        return nn.crossEntropy(np.matmul(normed, c), labels); //          scalar
      };
      await checkGrad(loss, [w1, b1, scale, w2], { device, argnums: [0, 1, 2, 3] });
      // One parameter at a time too, so that a small derivative in one cannot hide behind the others.
      const params = [w1, b1, scale, w2];
      for (let i = 0; i < params.length; i++) {
        const others = params.map(arr);
        const only = (p: ArrayBase) => loss(...(others.map((o, j) => (j === i ? p : o)) as [ArrayBase, ArrayBase, ArrayBase, ArrayBase]));
        await checkGrad(only, [params[i]!], { device, seed: 30 + i });
        for (const o of others) o.dispose();
      }
      x.dispose();
      labels.dispose();
    });
  });
});

