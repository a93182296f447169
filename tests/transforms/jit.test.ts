// jit: tracing once per signature, static arguments, pytrees in and out, captured constants, literals, nesting;
// the printed Program; module dumps to GRPO_XLA_DUMP_DIR.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ArrayBase, jit, lax, np } from "../../src/index.js";
import { interpret } from "../../src/transforms/interpret.js";
import { hv, readHost, toDevice } from "../helpers/arrays.js";

const vec = (data: number[]) => toDevice(hv("f32", [data.length], data));

describe("the trace cache", () => {
  it("traces once per shape/dtype/structure signature", async () => {
    let traces = 0;
    const f = jit((x: ArrayBase) => {
      traces++;
      return np.multiply(x, 2);
    });
    await readHost(f(vec([1, 2])));
    await readHost(f(vec([3, 4])));
    expect(traces).toBe(1);
    await readHost(f(vec([1, 2, 3])));
    await readHost(f(toDevice(hv("i32", [2], [1, 2]))));
    expect(traces).toBe(3);
    expect(f.cacheSize).toBe(3);
  });

  it("static arguments are part of the key and usable as plain values", async () => {
    let traces = 0;
    const f = jit(
      (x: ArrayBase, axis: number) => {
        traces++;
        return np.sum(x, { axis });
      },
      { staticArgnums: [1] },
    );
    const x = toDevice(hv("f32", [2, 3], [1, 2, 3, 4, 5, 6]));
    expect((await readHost(f(x, 0))).data).toEqual([5, 7, 9]);
    expect((await readHost(f(x, 1))).data).toEqual([6, 15]);
    expect((await readHost(f(x, 0))).data).toEqual([5, 7, 9]);
    expect(traces).toBe(2);
  });

  it("non-JSON static arguments are rejected with the reason", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const f = jit((x: ArrayBase, _opts: unknown) => x, { staticArgnums: [1], name: "withOpts" });
    expect(() => f(vec([1]), cyclic)).toThrow(/jit\(withOpts\): static arguments must be JSON-serialisable/);
  });
});

describe("arguments and results", () => {
  it("pytrees in and out keep their structure (object keys, lists, nulls)", async () => {
    const f = jit((p: { w: ArrayBase; b: ArrayBase; extra: null }, xs: ArrayBase[]) => ({
      sum: np.add(np.add(p.w, p.b), xs[1]!),
      parts: [xs[0]!, null, np.negative(p.b)],
    }));
    const out = f({ w: vec([1, 2]), b: vec([10, 20]), extra: null }, [vec([0, 0]), vec([100, 200])]) as unknown as {
      sum: ArrayBase;
      parts: [ArrayBase, null, ArrayBase];
    };
    expect((await readHost(out.sum)).data).toEqual([111, 222]);
    expect(out.parts[1]).toBeNull();
    expect((await readHost(out.parts[0])).data).toEqual([0, 0]);
    expect((await readHost(out.parts[2])).data).toEqual([-10, -20]);
  });

  it("JS numbers and booleans are f32 and bool scalars", async () => {
    const f = jit((x: ArrayBase, s: ArrayBase, flag: ArrayBase) => lax.select(flag, np.multiply(x, s), x));
    const out = f(vec([1, 2]), 3 as unknown as ArrayBase, true as unknown as ArrayBase);
    expect((await readHost(out)).data).toEqual([3, 6]);
    expect(f.lower(vec([1, 2]), 3 as unknown as ArrayBase, true as unknown as ArrayBase).programText()).toMatch(/lambda a:f32\[2\] b:f32\[\] c:bool\[\]/);
  });

  it("captured concrete arrays become program inputs before the arguments", async () => {
    const w = vec([1, 10]);
    const f = jit((x: ArrayBase) => np.multiply(x, w));
    expect(f.lower(vec([2, 3])).programText()).toMatch(/^\{ lambda a:f32\[2\] b:f32\[2\] \. let\n\s+c:f32\[2\] = mul b a/);
    expect((await readHost(f(vec([2, 3])))).data).toEqual([2, 30]);
    expect(f.lower(vec([2, 3])).stablehlo()).toMatch(/func\.func @main\(%arg0: tensor<2xf32>, %arg1: tensor<2xf32>\)/);
  });

  it("outputs may be inputs, captured arrays or literals", async () => {
    const c = vec([7, 8]);
    const f = jit((x: ArrayBase) => [x, c, 3.5]);
    const [a, b, lit] = f(vec([1, 2])) as unknown as ArrayBase[];
    expect((await readHost(a!)).data).toEqual([1, 2]);
    expect((await readHost(b!)).data).toEqual([7, 8]);
    expect(await readHost(lit!)).toEqual({ dtype: "f32", shape: [], data: [3.5] });
    expect(f.lower(vec([1, 2])).stablehlo()).toContain("dense<3.5e+0> : tensor<f32>");
  });

  it("a jitted function called inside another trace is inlined", () => {
    const inner = jit((x: ArrayBase) => np.exp(x));
    const outer = jit((x: ArrayBase) => np.add(inner(x), 1));
    const text = outer.lower(vec([1])).programText();
    expect(text).toContain("exp a");
    expect(inner.cacheSize).toBe(0);
  });

  it("jit and eager give identical results on the reference device", async () => {
    const f = (x: ArrayBase, y: ArrayBase) => np.sum(np.multiply(np.tanh(x), np.exp(y)), { axis: 0 });
    const x = toDevice(hv("f32", [3, 2], [0.1, -0.2, 0.3, 0.4, -0.5, 0.6]));
    const y = toDevice(hv("f32", [3, 2], [1, 0.5, -1, 2, 0, -0.5]));
    expect((await readHost(jit(f)(x, y))).data).toEqual((await readHost(f(x, y))).data);
  });

  it("Lowered.compile() runs on the reference device and returns the output structure", async () => {
    const compiled = jit((x: ArrayBase) => ({ double: np.multiply(x, 2), half: np.divide(x, 2) })).lower(vec([4])).compile();
    const out = compiled.call(vec([6])) as { double: ArrayBase; half: ArrayBase };
    expect((await readHost(out.double)).data).toEqual([12]);
    expect((await readHost(out.half)).data).toEqual([3]);
  });
});

describe("the printed Program", () => {
  it("names variables in order of appearance and prints params, literals and sub-programs", () => {
    const text = jit((x: ArrayBase) => [lax.add(x, -Infinity), lax.max(x, NaN), lax.slice(x, [1], [3], [1])]).lower(vec([1, 2, 3])).programText();
    expect(text).toBe(
      [
        "{ lambda a:f32[3] . let",
        "    b:f32[3] = broadcast_in_dim[shape=(3) broadcastDimensions=()] -inf:f32",
        "    c:f32[3] = add a b",
        "    d:f32[3] = broadcast_in_dim[shape=(3) broadcastDimensions=()] nan:f32",
        "    e:f32[3] = max a d",
        "    f:f32[2] = slice[start=(1) limit=(3) strides=(1)] a",
        "  in (c, e, f) }",
      ].join("\n"),
    );
  });

  it("runs through the interpreter with the right number of inputs, and says so otherwise", () => {
    const program = jit((x: ArrayBase) => np.exp(x)).lower(vec([1])).program;
    expect(() => interpret(program, [])).toThrow(/reference: program takes 1 inputs, got 0/);
  });
});

describe("GRPO_XLA_DUMP_DIR", () => {
  it("writes each lowered module there under a sanitised name", () => {
    const previous = process.env.GRPO_XLA_DUMP_DIR;
    const dir = mkdtempSync(join(tmpdir(), "grpo-xla-dump-test-"));
    try {
      process.env.GRPO_XLA_DUMP_DIR = dir;
      const text = jit((x: ArrayBase) => np.exp(x), { name: "my model/step 1" }).lower(vec([1])).stablehlo();
      const files = readdirSync(dir);
      expect(files).toHaveLength(1);
      expect(files[0]).toMatch(/^\d+-\d{5}-my_model_step_1\.mlir$/);
      expect(readFileSync(join(dir, files[0]!), "utf8")).toBe(text);
    } finally {
      process.env.GRPO_XLA_DUMP_DIR = previous;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
