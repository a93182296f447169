// Lowered modules for the constructs that need care in StableHLO text: while regions with captured values,
// argmax's variadic reduce, gather/scatter, bf16 and non-finite constants, integer literals at the edges of their
// types, and donation aliasing. Each module must pass mlir-opt-22's structural check (and, through the suite's
// setup, compile on the cpu plugin), and where a literal is involved the reference device must agree with what
// the text says.
import { describe, expect, it } from "vitest";
import { type ArrayBase, forLoop, grad, jit, lax, np, valueAndGrad } from "../../src/index.js";
import type { DType } from "../../src/core/dtype.js";
import { hv, readHost, toDevice } from "../helpers/arrays.js";
import { expectModulesVerify } from "../helpers/mlir.js";
import { whileLoop } from "../helpers/while.js";

function verifyOne(name: string, text: string): string {
  expectModulesVerify([{ name, text }]);
  return text;
}

describe("constructs that need care", () => {
  it("a while loop whose cond and body capture outer values and literals", async () => {
    const weights = toDevice(hv("f32", [3], [0.5, 1, 2])); // a concrete array captured by the body
    const f = (x: ArrayBase, n: ArrayBase) =>
      whileLoop(
        (i) => lax.compare(i!, n, "LT"), // n: a value of the enclosing jit trace
        (i, acc) => [lax.add(i!, 1), lax.add(lax.mul(acc!, weights), lax.mul(x, 0.25))],
        [lax.convert(lax.mul(n, 0), "i32"), x],
      );
    const x = toDevice(hv("f32", [3], [1, 2, 3]));
    const n = toDevice(hv("i32", [], [3]));
    const lowered = jit(f).lower(x, n);
    const text = verifyOne("while with captures", lowered.stablehlo());
    expect(text).toMatch(/= "stablehlo.while"\(/);
    // The captured weights become a function argument used inside the body region.
    expect(text).toMatch(/func\.func @main\(%arg0: tensor<3xf32>, %arg1: tensor<3xf32>, %arg2: tensor<i32>\)/);
    expect(text).toMatch(/\^bb0\([^)]*\):\n(.*\n)*.*"stablehlo.multiply"\(%\d+, %arg0\)/);
    const [count, acc] = await Promise.all((jit(f)(x, n) as ArrayBase[]).map(readHost));
    expect(count!.data).toEqual([3]);
    let expected = [1, 2, 3];
    for (let i = 0; i < 3; i++) expected = expected.map((a, k) => Math.fround(Math.fround(a * [0.5, 1, 2][k]!) + Math.fround([1, 2, 3][k]! * 0.25)));
    expect(acc!.data).toBeAllclose(expected);
  });

  it("argmax lowers to one variadic reduce over (values, iota) returning the index result", () => {
    const text = verifyOne("argmax", jit((x: ArrayBase) => np.argmax(x, 1)).lower(toDevice(hv("f32", [2, 3], [1, 2, 3, 4, 5, 6]))).stablehlo());
    const match = /(%\d+):2 = "stablehlo.reduce"\(%arg0, (%\d+), (%\d+), (%\d+)\)/.exec(text);
    expect(match).not.toBeNull();
    expect(text).toContain(`"func.return"(${match![1]}#1)`);
    expect(text).toContain('"stablehlo.iota"() {iota_dimension = 1 : i64} : () -> tensor<2x3xi32>');
    // -inf initial value as a hex pattern.
    expect(text).toContain("dense<0xFF800000> : tensor<f32>");
  });

  it("np.take and its gradient lower to gather and scatter", () => {
    const table = toDevice(hv("f32", [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]));
    const ids = toDevice(hv("i32", [3], [3, 0, 3]));
    const loss = (t: ArrayBase, i: ArrayBase) => np.sum(np.multiply(np.take(t, i, 0), np.take(t, i, 0)));
    const text = verifyOne("take and grad", jit(valueAndGrad(loss)).lower(table, ids).stablehlo());
    expect(text).toContain('"stablehlo.gather"');
    expect(text).toContain('"stablehlo.scatter"');
    expect(text).toContain("#stablehlo.gather<offset_dims = [1], collapsed_slice_dims = [0], start_index_map = [0], index_vector_dim = 1>");
  });

  it("bf16 constants, including non-finite ones, print as bf16", async () => {
    const f = (x: ArrayBase) => [lax.add(x, 0.1), lax.max(x, -Infinity), lax.min(x, Infinity), lax.add(x, NaN)];
    const x = toDevice(hv("bf16", [2], [1, -2]));
    const text = verifyOne("bf16 constants", jit(f).lower(x).stablehlo());
    expect(text).toMatch(/dense<1\.0000000149\d*e-0?1> : tensor<bf16>/);
    expect(text).toContain("dense<0xFF80> : tensor<bf16>");
    expect(text).toContain("dense<0x7F80> : tensor<bf16>");
    expect(text).toContain("dense<0x7FC0> : tensor<bf16>");
    const [sum] = await Promise.all((jit(f)(x) as ArrayBase[]).map(readHost));
    expect(sum!.data).toEqual([1.1015625, -1.8984375]);
  });

  it("f32 non-finite constants print as hex patterns and overflowing literals become infinities", async () => {
    const f = (x: ArrayBase) => [lax.max(x, -Infinity), lax.min(x, Infinity), lax.add(x, NaN), lax.add(x, 1e39), lax.mul(x, -0)];
    const x = toDevice(hv("f32", [2], [1, -2]));
    const text = verifyOne("f32 non-finite", jit(f).lower(x).stablehlo());
    for (const hex of ["0xFF800000", "0x7F800000", "0x7FC00000"]) expect(text).toContain(`dense<${hex}> : tensor<f32>`);
    expect(text).toContain("dense<-0.0e+00> : tensor<f32>");
    const results = await Promise.all((jit(f)(x) as ArrayBase[]).map(readHost));
    expect(results[3]!.data).toEqual([Infinity, Infinity]);
  });

  const literalCases: { what: string; dtype: DType; data: number[]; f: (x: ArrayBase) => ArrayBase; text: string; expected: number[] }[] = [
    { what: "u32 + -1 wraps to 4294967295", dtype: "u32", data: [1, 2], f: (x) => lax.add(x, -1), text: "dense<4294967295> : tensor<ui32>", expected: [0, 1] },
    { what: "u32 + 2^32 + 1 wraps to 1", dtype: "u32", data: [1, 2], f: (x) => lax.add(x, 2 ** 32 + 1), text: "dense<1> : tensor<ui32>", expected: [2, 3] },
    { what: "i32 xor 0xFFFFFFFF is xor -1", dtype: "i32", data: [0, 5], f: (x) => lax.xor(x, 0xffffffff), text: "dense<-1> : tensor<i32>", expected: [-1, -6] },
    { what: "bool or 2 is or true", dtype: "bool", data: [0, 1], f: (x) => lax.or(x, 2), text: "dense<true> : tensor<i1>", expected: [1, 1] },
  ];
  it.each(literalCases.map((c) => [c.what, c] as const))("integer literal: %s", async (_what, c) => {
    const x = toDevice(hv(c.dtype, [2], c.data));
    const text = verifyOne(c.what, jit(c.f).lower(x).stablehlo());
    expect(text).toContain(c.text);
    expect((await readHost(c.f(x) as ArrayBase)).data).toEqual(c.expected);
    expect((await readHost(jit(c.f)(x) as ArrayBase)).data).toEqual(c.expected);
  });
});

describe("nested regions", () => {
  it("a greedy decode loop: embedding gather, matmul, argmax and a cache write inside a while", async () => {
    // tokens[t + 1] = argmax(embed[tokens[t]] @ w), written into a [steps + 1] cache at position t + 1.
    const decode = (embed: ArrayBase, w: ArrayBase, first: ArrayBase) => {
      const cache = lax.dynamicUpdateSlice(np.zeros([5], "i32"), lax.reshape(first, [1]), [0]);
      return forLoop(0, 4, (t, tokens: ArrayBase) => {
        const current = lax.dynamicSlice(tokens, [t], [1]); // [1]
        const logits = np.matmul(np.take(embed, current, 0), w); // [1, V]
        const next = lax.reshape(np.argmax(logits, -1), [1]); // [1]
        return lax.dynamicUpdateSlice(tokens, next, [lax.add(t, 1)]);
      }, cache);
    };
    const embed = toDevice(hv("f32", [3, 2], [1, 0, 0, 1, 1, 1]));
    const w = toDevice(hv("f32", [2, 3], [0, 0, 1, 1, 0, 0])); // token 0 -> 2, 1 -> 0, 2 -> 0 (tie 0/2: first)
    const first = toDevice(hv("i32", [], [1]));
    const text = verifyOne("decode loop", jit(decode).lower(embed, w, first).stablehlo());
    expect(text.match(/"stablehlo.while"/g)).toHaveLength(1);
    expect(text.match(/"stablehlo.reduce"/g)).toHaveLength(1);
    expect((await readHost(jit(decode)(embed, w, first) as ArrayBase)).data).toEqual([1, 0, 2, 0, 2]);
  });

  it("a while inside a while body, each with its own reduce", async () => {
    const f = (x: ArrayBase) =>
      forLoop(0, 3, (_i, outer: ArrayBase) => forLoop(0, 2, (_j, inner: ArrayBase) => np.add(inner, np.max(inner)), outer), x);
    const x = toDevice(hv("f32", [2], [1, 2]));
    const text = verifyOne("nested while", jit(f).lower(x).stablehlo());
    expect(text.match(/"stablehlo.while"/g)).toHaveLength(2);
    let v = [1, 2];
    for (let k = 0; k < 6; k++) v = v.map((e) => e + Math.max(...v));
    expect((await readHost(jit(f)(x) as ArrayBase)).data).toEqual(v);
  });
});

describe("donation (jit donateArgnums)", () => {
  it("a donated argument aliases the first output of its type", () => {
    const step = (p: ArrayBase, g: ArrayBase) => [np.sum(g), np.subtract(p, np.multiply(g, 0.1))];
    const p = toDevice(hv("f32", [2, 3], [1, 2, 3, 4, 5, 6]));
    const g = toDevice(hv("f32", [2, 3], [1, 1, 1, 1, 1, 1]));
    const text = verifyOne("donation", jit(step, { donateArgnums: [0] }).lower(p, g).stablehlo());
    expect(text).toContain("%arg0: tensor<2x3xf32> {tf.aliasing_output = 1 : i32}, %arg1: tensor<2x3xf32>)");
  });

  it("two donated arguments of one type take distinct outputs; one without a matching output is not aliased", () => {
    const f = (a: ArrayBase, b: ArrayBase, c: ArrayBase) => [np.add(a, b), np.subtract(a, b), np.sum(c)];
    const a = toDevice(hv("f32", [2], [1, 2]));
    const c = toDevice(hv("f32", [3], [1, 2, 3]));
    const text = verifyOne("donation 3", jit(f, { donateArgnums: [0, 1, 2] }).lower(a, a, c).stablehlo());
    expect(text).toContain(
      "func.func @main(%arg0: tensor<2xf32> {tf.aliasing_output = 0 : i32}, %arg1: tensor<2xf32> {tf.aliasing_output = 1 : i32}, %arg2: tensor<3xf32>)",
    );
  });

  it("a donated array is consumed by the call and its output is correct", async () => {
    const f = jit((p: ArrayBase, g: ArrayBase) => np.subtract(p, g), { donateArgnums: [0], device: "reference" });
    const p = toDevice(hv("f32", [2], [5, 6]));
    const g = toDevice(hv("f32", [2], [1, 2]));
    const out = f(p, g);
    expect((await readHost(out)).data).toEqual([4, 4]);
    expect(p.isDisposed).toBe(true);
    await expect(async () => p.data()).rejects.toThrow(/donated/);
    expect((await readHost(g)).data).toEqual([1, 2]);
  });

  it("grad of a loss under jit with a donated parameter passes the structural check", () => {
    const loss = (w: ArrayBase, x: ArrayBase) => np.sum(np.tanh(np.matmul(x, w)));
    const update = (w: ArrayBase, x: ArrayBase) => np.subtract(w, np.multiply(grad(loss)(w, x) as ArrayBase, 0.5));
    const w = toDevice(hv("f32", [3, 2], [1, 0, 0, 1, 1, 1]));
    const x = toDevice(hv("f32", [2, 3], [1, 2, 3, 4, 5, 6]));
    const text = verifyOne("sgd step", jit(update, { donateArgnums: [0] }).lower(w, x).stablehlo());
    expect(text).toContain("{tf.aliasing_output = 0 : i32}");
  });
});
