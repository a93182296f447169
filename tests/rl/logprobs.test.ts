// Token logprobs and entropies (kernels/logprobs.ts): the gather and the temperature by hand on a tiny vocabulary,
// the chunked forms (loop and split, chunks that do and do not divide S*T, bf16 embeddings) against the unchunked
// one, the chunked VJP against grad and finite differences, eager versus jit on cpu.
import { describe, expect, it } from "vitest";
import { type ArrayBase, type DeviceArray, grad, jit, np, rl, tidy } from "../../src/index.js";
import { checkGrad } from "../helpers/grad_check.js";
import { bf16Round, disposeTree, randomValue, readAndDispose, readTidy } from "../helpers/arrays.js";

// Each value is built inside tidy and disposed once read, so no array outlives its test.
const read = async (fn: () => ArrayBase): Promise<number[]> => (await readTidy(fn)).data;
const ln = Math.log;

describe("logprobsFromLogits", () => {
  // Rows over V = 3: [0, ln 2, ln 3] has softmax [1/6, 2/6, 3/6]; [5, 5, 5] is uniform.
  const logits = () => np.array([[[0, ln(2), ln(3)], [5, 5, 5]]]);

  it("picks log_softmax at each token", async () => {
    const tokens = () => np.array([[2, 1]], { dtype: "i32" });
    expect(await read(() => rl.logprobsFromLogits(logits(), tokens()))).toBeAllclose([ln(3 / 6), ln(1 / 3)], { rtol: 1e-6 });
    const first = () => np.array([[0, 0]], { dtype: "i32" });
    expect(await read(() => rl.logprobsFromLogits(logits(), first()))).toBeAllclose([ln(1 / 6), ln(1 / 3)], { rtol: 1e-6 });
  });

  it("divides the logits by the temperature first", async () => {
    // T = 2: z = [0, ln 2 / 2, ln 3 / 2], exp z = [1, sqrt 2, sqrt 3].
    const tokens = () => np.array([[1, 0]], { dtype: "i32" });
    const expected = [ln(Math.SQRT2 / (1 + Math.SQRT2 + Math.sqrt(3))), ln(1 / 3)];
    expect(await read(() => rl.logprobsFromLogits(logits(), tokens(), 2))).toBeAllclose(expected, { rtol: 1e-6 });
  });

  it("entropy by hand, finite with -inf logits, and its masked mean", async () => {
    // H([1/6, 1/3, 1/2]) = (1/6) ln 6 + (1/3) ln 3 + (1/2) ln 2; uniform over 3: ln 3.
    const h0 = ln(6) / 6 + ln(3) / 3 + ln(2) / 2;
    expect(await read(() => rl.tokenEntropy(logits()))).toBeAllclose([h0, ln(3)], { rtol: 1e-6 });
    expect(await read(() => rl.tokenEntropy(np.array([[0, -Infinity, 0]])))).toBeAllclose([ln(2)], { rtol: 1e-6 });
    expect(await read(() => rl.maskedMeanEntropy(logits(), np.array([[1, 0]])))).toBeAllclose([h0], { rtol: 1e-6 });
    expect(await read(() => rl.maskedMeanEntropy(logits(), np.array([[1, 1]])))).toBeAllclose([(h0 + ln(3)) / 2], { rtol: 1e-6 });
  });

  it("rejects bad tokens and temperatures", () => {
    expect(() => tidy(() => rl.logprobsFromLogits(logits(), np.array([[1, 2]])))).toThrow(/tokens must be i32/);
    expect(() => tidy(() => rl.logprobsFromLogits(logits(), np.array([[1]], { dtype: "i32" })))).toThrow(/must have shape \[1, 2\]/);
    expect(() => tidy(() => rl.logprobsFromLogits(logits(), np.array([[1, 2]], { dtype: "i32" }), 0))).toThrow(/temperature must be a positive number/);
  });
});

describe("logprobsFromHidden", () => {
  const S = 2;
  const T = 5;
  const D = 4;
  const V = 7;
  const hiddenValue = randomValue("f32", [S, T, D], 11, { min: -1.5, max: 1.5 });
  const embedValue = randomValue("f32", [V, D], 12, { min: -1, max: 1 });
  const tokenValues = [0, 6, 3, 3, 1, 5, 2, 6, 0, 4];
  const hidden = () => np.array(hiddenValue.data, { shape: [S, T, D] });
  const embed = () => np.array(embedValue.data, { shape: [V, D] });
  const tokens = () => np.array(tokenValues, { dtype: "i32", shape: [S, T] });
  /** The unchunked computation: full logits, then logprobsFromLogits. */
  const unchunked = (h: ArrayBase, e: ArrayBase, temperature: number) => rl.logprobsFromLogits(np.einsum("std,vd->stv", h, e), tokens(), temperature);

  it("matches the unchunked logprobs for every chunk size and both methods", async () => {
    const expected = await read(() => unchunked(hidden(), embed(), 0.7));
    for (const method of ["loop", "split"] as const) {
      for (const chunk of [1, 3, 4, 10, 64]) {
        const got = await read(() => rl.logprobsFromHidden(hidden(), embed(), tokens(), 0.7, { chunk, method }));
        expect(got, `${method} chunk ${chunk}`).toBeAllclose(expected, { rtol: 1e-5, atol: 1e-6 });
      }
    }
  });

  it("returns the entropy of the same logits alongside", async () => {
    const { logprobs, entropy } = tidy(() => rl.logprobsAndEntropyFromHidden(hidden(), embed(), tokens(), 1.3, { chunk: 3 }));
    const [gotLogprobs, gotEntropy] = await readAndDispose([logprobs, entropy]);
    expect(gotLogprobs!.data).toBeAllclose(await read(() => unchunked(hidden(), embed(), 1.3)), { rtol: 1e-5, atol: 1e-6 });
    expect(gotEntropy!.data).toBeAllclose(await read(() => rl.tokenEntropy(np.einsum("std,vd->stv", hidden(), embed()), 1.3)), { rtol: 1e-5, atol: 1e-6 });
  });

  it("works with a bf16 embedding: exactly in f32, or with the matmul in bf16", async () => {
    const embedBf16 = tidy(() => np.astype(embed(), "bf16"));
    // f32 logits from the bf16-rounded weights are the oracle.
    const rounded = () => np.array(embedValue.data.map(bf16Round), { shape: [V, D] });
    const expected = await read(() => unchunked(hidden(), rounded(), 1));
    const exact = await read(() => rl.logprobsFromHidden(hidden(), embedBf16, tokens(), 1, { chunk: 4, logitsDtype: "f32" }));
    expect(exact).toBeAllclose(expected, { rtol: 1e-5, atol: 1e-6 });
    // bf16 logits: hidden rounded to bf16 and the product rounded to 8 bits of mantissa (|logits| < 6 here).
    const approx = await read(() => rl.logprobsFromHidden(np.astype(hidden(), "bf16"), embedBf16, tokens(), 1, { chunk: 4 }));
    expect(approx).toBeAllclose(expected, { rtol: 0, atol: 0.1 });
    (embedBf16 as DeviceArray).dispose();
  });

  it("gives the same values under jit on cpu (one while loop or the unrolled split)", async () => {
    for (const method of ["loop", "split"] as const) {
      const eager = await read(() => rl.logprobsFromHidden(hidden(), embed(), tokens(), 0.9, { chunk: 3, method }));
      const f = jit((h: ArrayBase, e: ArrayBase, t: ArrayBase) => rl.logprobsFromHidden(h, e, t, 0.9, { chunk: 3, method }), { device: "cpu" });
      const got = await read(() => f(np.array(hiddenValue.data, { shape: [S, T, D], device: "cpu" }), np.array(embedValue.data, { shape: [V, D], device: "cpu" }), np.array(tokenValues, { dtype: "i32", shape: [S, T], device: "cpu" })));
      expect(got, method).toBeAllclose(eager, { rtol: 1e-5, atol: 1e-6 });
    }
  });

  it("split differentiates like the unchunked form; the loop form is forward only", async () => {
    const w = np.array(randomValue("f32", [S, T], 13).data, { shape: [S, T] });
    const weighted = (f: (h: ArrayBase) => ArrayBase) => (h: ArrayBase) => np.sum(np.multiply(f(h), w));
    const gSplit = () => grad(weighted((h) => rl.logprobsFromHidden(h, embed(), tokens(), 0.8, { chunk: 3, method: "split" })))(hidden()) as ArrayBase;
    const gFull = () => grad(weighted((h) => unchunked(h, embed(), 0.8)))(hidden()) as ArrayBase;
    // The forward runs before grad meets the loop: tidy frees what it made, once it finishes (the reads below).
    expect(() => tidy(() => grad(weighted((h) => rl.logprobsFromHidden(h, embed(), tokens(), 0.8, { chunk: 3 })))(hidden()))).toThrow(/while/);
    expect(await read(gSplit)).toBeAllclose(await read(gFull), { rtol: 1e-5, atol: 1e-6 });
    w.dispose();
  });

  it("logprobsFromHiddenVjp gives the gradient chunk by chunk (hidden and embedding)", async () => {
    const cot = randomValue("f32", [S, T], 14);
    const w = np.array(cot.data, { shape: [S, T] });
    const objective = (h: ArrayBase, e: ArrayBase) => np.sum(np.multiply(unchunked(h, e, 0.8), w));
    const [gh, ge] = await readAndDispose(tidy(() => grad(objective, { argnums: [0, 1] })(hidden(), embed()) as ArrayBase[]));
    for (const chunk of [3, 10]) {
      const vjp = tidy(() => rl.logprobsFromHiddenVjp(hidden(), embed(), tokens(), 0.8, w, { chunk, embedGrad: true }));
      const [vjpHidden, vjpEmbed] = await readAndDispose([vjp.hidden, vjp.embed!]);
      expect(vjpHidden!.data, `chunk ${chunk}`).toBeAllclose(gh!.data, { rtol: 1e-5, atol: 1e-6 });
      expect(vjpEmbed!.data, `chunk ${chunk}`).toBeAllclose(ge!.data, { rtol: 1e-5, atol: 1e-6 });
    }
    const withoutEmbed = tidy(() => rl.logprobsFromHiddenVjp(hidden(), embed(), tokens(), 0.8, w, { chunk: 4 }));
    expect(withoutEmbed.embed).toBeUndefined();
    disposeTree(withoutEmbed);
    // And against finite differences of the chunked forward itself.
    // The embedding and tokens are made once, outside the function: made inside, each trace of it would leave its own.
    const [e, t] = [embed(), tokens()];
    await checkGrad((h) => np.sum(np.multiply(rl.logprobsFromHidden(h, e, t, 0.8, { chunk: 3, method: "split" }), w)), [hiddenValue]);
    disposeTree([e, t]);
    // Under jit on cpu.
    const f = jit((h: ArrayBase, e: ArrayBase, t: ArrayBase, c: ArrayBase) => rl.logprobsFromHiddenVjp(h, e, t, 0.8, c, { chunk: 3 }).hidden, { device: "cpu" });
    const got = await read(() => f(np.array(hiddenValue.data, { shape: [S, T, D], device: "cpu" }), np.array(embedValue.data, { shape: [V, D], device: "cpu" }), np.array(tokenValues, { dtype: "i32", shape: [S, T], device: "cpu" }), np.array(cot.data, { shape: [S, T], device: "cpu" })));
    expect(got).toBeAllclose(gh!.data, { rtol: 1e-5, atol: 1e-6 });
    w.dispose();
  });

  it("rejects bad shapes and options", async () => {
    // The inputs have arrived before the calls fail, so dispose() frees them at once, not when their uploads land.
    const inputs = [hidden(), embed(), tokens(), np.zeros([2, 5]), np.zeros([V, 3]), np.zeros([S])] as DeviceArray[];
    const [h, e, t, flat, narrow, cot] = await Promise.all(inputs.map((a) => a.ready()));
    expect(() => rl.logprobsFromHidden(flat!, e!, t!)).toThrow(/hidden must be \[S, T, D\]/);
    expect(() => rl.logprobsFromHidden(h!, narrow!, t!)).toThrow(/embed must be \[V, D\] with D = 4/);
    expect(() => rl.logprobsFromHidden(h!, e!, t!, 1, { chunk: 0 })).toThrow(/chunk must be a positive integer/);
    expect(() => rl.logprobsFromHidden(h!, e!, t!, 1, { method: "scan" as rl.ChunkMethod })).toThrow(/method must be one of loop, split/);
    expect(() => rl.logprobsFromHidden(h!, e!, t!, 1, { logitsDtype: "f16" as rl.LogitsDtype })).toThrow(/logitsDtype must be one of embed, f32/);
    // Traced, so that nothing runs before the check fails (eagerly the forward would start first).
    const vjpOnCpu = jit((...xs: ArrayBase[]) => rl.logprobsFromHiddenVjp(xs[0]!, xs[1]!, xs[2]!, 1, xs[3]!), { device: "cpu" });
    expect(() => vjpOnCpu(h!, e!, t!, cot!)).toThrow(/cotangent f32\[2\] must be \[S, T\]/);
    disposeTree(inputs);
  });
});
