// Bad input is a clear error naming what went wrong and where, raised when the mistake is made (at trace time),
// never a crash deep inside a backend or a silently wrong result.
import { describe, expect, it } from "vitest";
import { type ArrayBase, ShapeError, TraceError, grad, jit, lax, np, whileLoop } from "../../src/index.js";
import { hv, randomValue, readHost, toDevice } from "../helpers/arrays.js";

const f32 = (shape: number[]) => toDevice(randomValue("f32", shape, 1));
const i32 = (shape: number[]) => toDevice(randomValue("i32", shape, 2));

describe("argument count and structure", () => {
  // Casts: the typed API already rejects these calls; JavaScript callers and casts reach the runtime checks.
  const loose = (f: unknown) => f as (...args: unknown[]) => unknown;

  it("too few arguments to a jitted function name the parameters and what was given", () => {
    const f = jit((a: ArrayBase, b: ArrayBase) => np.add(a, b), { name: "pair" });
    expect(() => loose(f)(f32([2]))).toThrow(/jit\(pair\): expected 2 arguments \(a, b\), got 1: \(f32\[2\]\)/);
  });

  it("extra arguments to a jitted function are an error, not dropped (issue 6.4)", () => {
    const f = jit((a: ArrayBase) => np.exp(a), { name: "one" });
    expect(() => loose(f)(f32([2]), f32([3]))).toThrow(/jit\(one\): expected 1 argument \(a\), got 2: \(f32\[2\], f32\[3\]\)/);
    expect(() => loose(f.lower)(f32([2]), 7)).toThrow(/jit\(one\)\.lower: expected 1 argument \(a\), got 2: \(f32\[2\], 7\)/);
    expect(f.cacheSize).toBe(0);
  });

  it("default and rest parameters are counted from the function's source (fn.length is 0 for them)", async () => {
    const scaled = jit((x: ArrayBase = f32([1]), factor = 2) => np.multiply(x, factor), { staticArgnums: [1], name: "scaled" });
    expect(scaled.length).toBe(0);
    const x = toDevice(hv("f32", [2], [1, 2]));
    expect((await readHost(scaled(x))).data).toEqual([2, 4]);
    expect((await readHost(scaled(x, 3))).data).toEqual([3, 6]);
    expect(() => loose(scaled)(x, 3, x)).toThrow(/jit\(scaled\): expected 0 to 2 arguments \(x\?, factor\?\), got 3: \(f32\[2\], 3, f32\[2\]\)/);
    const total = jit((first: ArrayBase, ...rest: ArrayBase[]) => rest.reduce((acc, r) => np.add(acc, r), first), { name: "total" });
    expect((await readHost(total(x, x, x))).data).toEqual([3, 6]);
    expect(() => loose(total)()).toThrow(/jit\(total\): expected at least 1 argument \(first, \.\.\.rest\), got 0: \(\)/);
    // Parameters after a default one are optional to JavaScript too (fn.length counts up to the default).
    const middle = jit((a = f32([1]), b: ArrayBase = f32([1])) => np.add(a, b), { name: "middle" });
    expect(() => loose(middle)(x, x, x)).toThrow(/jit\(middle\): expected 0 to 2 arguments \(a\?, b\?\), got 3/);
    const unpacked = jit(({ w }: { w: ArrayBase }, [u]: ArrayBase[]) => np.add(w, u!), { name: "unpacked" });
    expect(() => loose(unpacked)({ w: x }, [x], { w: x })).toThrow(/expected 2 arguments \(\{…\}, \[…\]\), got 3: \(\{w: f32\[2\]\}, \[f32\[2\]\], \{w: f32\[2\]\}\)/);
  });

  it("method and static-method sources parse; a bound function (no source) falls back to fn.length", () => {
    const holder = {
      square(v: ArrayBase, _unused?: number) {
        return np.multiply(v, v);
      },
    };
    class Ops {
      static twice(v: ArrayBase) {
        return np.add(v, v);
      }
    }
    expect(() => loose(jit(holder.square))(f32([2]), 1, 2)).toThrow(/jit\(square\): expected 2 arguments \(v, _unused\), got 3/);
    expect(() => loose(jit(Ops.twice))(f32([2]), 1)).toThrow(/expected 1 argument \(v\), got 2/);
    const bound = jit(function (this: unknown, v: ArrayBase) {
      return np.exp(v);
    }.bind(null));
    expect(() => loose(bound)()).toThrow(/expected at least 1 argument \(arg0\), got 0/);
    expect(() => bound(f32([2]))).not.toThrow();
  });

  it("jit of grad checks against the differentiated function's parameters; so does a nested jit", () => {
    const loss = (w: ArrayBase, x: ArrayBase) => np.sum(np.multiply(w, x));
    expect(() => loose(jit(grad(loss)))(f32([2]), f32([2]), f32([2]))).toThrow(/expected 2 arguments \(w, x\), got 3/);
    const inner = jit((v: ArrayBase) => np.exp(v), { name: "inner" });
    const outer = jit((v: ArrayBase) => loose(inner)(v, v) as ArrayBase);
    expect(() => outer(f32([2]))).toThrow(/jit\(inner\): expected 1 argument \(v\), got 2: \(f32\[2\], f32\[2\]\)/);
  });

  it("a compiled program takes exactly its traced signature: count, structure, static values", async () => {
    const add = jit((a: ArrayBase, b: ArrayBase) => np.add(a, b), { name: "add" }).lower(f32([2]), f32([2])).compile();
    expect(() => loose(add.call.bind(add))(f32([2]))).toThrow(/compiled add: expected 2 arguments \(f32\[2\], f32\[2\]\), got 1: \(f32\[2\]\)/);
    expect(() => add.call(f32([2]), f32([2]), f32([2]))).toThrow(/compiled add: expected 2 arguments \(f32\[2\], f32\[2\]\), got 3/);
    const tree = jit((p: { w: ArrayBase }) => np.exp(p.w), { name: "tree" }).lower({ w: f32([2, 3]) }).compile();
    expect(() => tree.call([f32([2, 3])])).toThrow(/compiled tree: the argument structure differs, got \(\[f32\[2,3\]\]\); it was traced for \(\{w: f32\[2,3\]\}\)/);
    const scaled = jit((x: ArrayBase, k: number) => np.multiply(x, k), { staticArgnums: [1], name: "scaled" });
    const x = toDevice(hv("f32", [2], [1, 2]));
    const compiled = scaled.lower(x, 3).compile();
    expect((await readHost(compiled.call(x, 3) as ArrayBase)).data).toEqual([3, 6]);
    expect(() => compiled.call(x, 4)).toThrow(/compiled scaled: static arguments \[4\] differ from \[3\]; it was traced for \(f32\[2\], static 3\)/);
    const big = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`w${i}`, x]));
    const wide = jit((p: Record<string, ArrayBase>) => np.exp(p.w0!), { name: "wide" }).lower(big).compile();
    expect(() => wide.call(big, x)).toThrow(/^compiled wide: expected 1 argument \(\{w0: f32\[2\], .{250,}\.\.\., got 2: \(\{w0: f32\[2\], .{250,}\.\.\.$/);
  });

  it("a compiled program called with other shapes or dtypes names the argument and both types", () => {
    const compiled = jit((a: ArrayBase) => np.exp(a)).lower(f32([2, 3])).compile();
    expect(() => compiled.call(f32([3, 2]))).toThrow(/argument leaf 0: expected f32\[2,3\], got f32\[3,2\]/);
    expect(() => compiled.call(toDevice(hv("bf16", [2, 3], [1, 2, 3, 4, 5, 6])))).toThrow(/argument leaf 0: expected f32\[2,3\], got bf16\[2,3\]/);
    expect(() => compiled.runFlat([f32([2, 3]), f32([2, 3])])).toThrow(/takes 1 arrays, got 2/);
  });

  it("one array passed twice where one position is donated fails with the donation message", async () => {
    const f = jit((a: ArrayBase, b: ArrayBase) => np.add(a, b), { donateArgnums: [0] });
    const p = f32([2]);
    await expect(async () => readHost(f(p, p))).rejects.toThrow(/argument 1: array f32\[2\] on reference was donated to a computation/);
  });

  it("a disposed array fails the computation that reads it, naming the argument", async () => {
    const q = f32([2]);
    q.dispose();
    await expect(async () => readHost(jit((a: ArrayBase) => np.exp(a))(q))).rejects.toThrow(/argument 0: array f32\[2\] on reference was disposed/);
    await expect(async () => readHost(np.exp(q))).rejects.toThrow(/array f32\[2\] on reference was disposed/);
  });

  it("a trace that throws leaves no trace open behind it", async () => {
    expect(() => jit((_a: ArrayBase) => {
      throw new Error("boom");
    })(f32([1]))).toThrow("boom");
    expect((await readHost(np.add(toDevice(hv("f32", [1], [1])), 1))).data).toEqual([2]);
  });

  it("a jitted function retraces for new shapes instead of failing", async () => {
    const f = jit((a: ArrayBase) => np.sum(a));
    expect((await readHost(f(toDevice(hv("f32", [2], [1, 2]))))).data).toEqual([3]);
    expect((await readHost(f(toDevice(hv("f32", [3], [1, 2, 3]))))).data).toEqual([6]);
    expect(f.cacheSize).toBe(2);
  });
});

describe("shape and dtype mismatches at trace time name the op and the operands", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["np.add of non-broadcastable shapes", () => np.add(f32([2, 3]), f32([4])), /add: shapes \[2, 3\] and \[4\] do not broadcast/],
    ["lax.add of different shapes", () => lax.add(f32([2, 3]), f32([3, 2])), /add: operands must have equal shapes and dtypes, got f32\[2,3\], f32\[3,2\]/],
    ["np.add of different dtypes", () => np.add(f32([2]), i32([2])), /add: dtypes differ \(f32\[2\] and i32\[2\]\)/],
    ["lax.mul of different dtypes", () => lax.mul(f32([2]), i32([2])), /mul: operands must have equal shapes and dtypes, got f32\[2\], i32\[2\]/],
    ["np.matmul with mismatched inner dims", () => np.matmul(f32([2, 3]), f32([4, 5])), /matmul: contracting dims differ: f32\[2,3\] @ f32\[4,5\]/],
    [
      "dot_general with mismatched contracting dims",
      () => lax.dotGeneral(f32([2, 3]), f32([4, 5]), { lhsContracting: [1], rhsContracting: [0], lhsBatch: [], rhsBatch: [] }),
      /dot_general: contracting dims differ: f32\[2,3\] axis 1 vs f32\[4,5\] axis 0/,
    ],
    ["reshape to a different size", () => lax.reshape(f32([2, 3]), [4]), /reshape: cannot reshape f32\[2,3\] \(6 elements\) to \[4\] \(4 elements\)/],
    ["select with a float predicate", () => lax.select(f32([2]), f32([2]), f32([2])), /select: the predicate must be bool/],
    ["concatenate of mismatched operands", () => lax.concatenate([f32([2, 3]), f32([2, 4])], 0), /concatenate: operands f32\[2,3\], f32\[2,4\] do not agree outside axis 0/],
    ["slice out of bounds", () => lax.slice(f32([4]), [1], [6]), /slice: bounds \[1, 6\) stride 1 do not fit axis 0 of f32\[4\]/],
    ["transpose with a bad permutation", () => lax.transpose(f32([2, 3]), [0, 0]), /transpose: \[0, 0\] is not a permutation of the 2 axes of f32\[2,3\]/],
    ["reduce over an axis out of range", () => lax.reduce(f32([2, 3]), "sum", [2]), /reduce_sum: axes \[2\] must be distinct, sorted and within the rank of f32\[2,3\]/],
    ["np.sum over an axis out of range", () => np.sum(f32([2, 3]), { axis: 3 }), /sum: axis 3 is out of range for an array of rank 2/],
    ["argmax of an empty axis", () => lax.argmax(f32([2, 0]), 1), /argmax: axis 1 of f32\[2,0\] is empty/],
    ["gather with float indices", () => np.take(f32([4, 2]), f32([3])), /gather\(operand f32\[4,2\], indices f32\[3\]\): indices must be integers/],
    ["dynamic_slice with too few starts", () => lax.dynamicSlice(f32([4, 4]), [1], [2, 2]), /dynamic_slice: needs 2 start indices for operand f32\[4,4\], got 1/],
    ["dynamic_slice with start indices of different dtypes", () => lax.dynamicSlice(f32([4, 4]), [i32([]), toDevice(hv("u32", [], [1]))], [2, 2]), /dynamic_slice: start indices must share one integer dtype, got i32\[\], u32\[\]/],
    [
      "dynamic_update_slice with start indices of different dtypes",
      () => lax.dynamicUpdateSlice(f32([4, 4]), f32([2, 2]), [toDevice(hv("u32", [], [1])), i32([])]),
      /dynamic_update_slice: start indices must share one integer dtype, got u32\[\], i32\[\]/,
    ],
    ["abs of u32 (StableHLO's abs takes signed integers and floats)", () => lax.abs(toDevice(hv("u32", [2], [1, 2]))), /abs: needs a signed integer or float dtype \(i32, f32, bf16\), got u32\[2\]/],
    ["sign of u32", () => lax.sign(toDevice(hv("u32", [2], [1, 2]))), /sign: needs a signed integer or float dtype \(i32, f32, bf16\), got u32\[2\]/],
    [
      "gather with start_index_map outside the operand",
      () => lax.gather(f32([4, 2]), i32([3, 1]), { offsetDims: [1], collapsedSliceDims: [0], startIndexMap: [2], indexVectorDim: 1 }, [1, 2]),
      /gather\(operand f32\[4,2\], indices i32\[3,1\]\): start_index_map \[2\] must be distinct operand axes/,
    ],
    [
      "scatter_add with scatter_dims_to_operand_dims outside the operand",
      () => lax.scatterAdd(f32([4, 2]), i32([3, 1]), f32([3, 2]), { updateWindowDims: [1], insertedWindowDims: [0], scatterDimsToOperandDims: [3], indexVectorDim: 1 }),
      /scatter_add\(operand f32\[4,2\], indices i32\[3,1\], updates f32\[3,2\]\): scatter_dims_to_operand_dims \[3\] must be distinct operand axes/,
    ],
    ["bitcast between widths", () => lax.bitcastConvert(f32([2]), "bf16"), /bitcast_convert: f32 and bf16 differ in bit width/],
    ["np.einsum with mismatched axis sizes", () => np.einsum("ij,jk->ik", f32([2, 3]), f32([4, 5])), /einsum 'ij,jk->ik': axis 'j' has size 3 in f32\[2,3\] and 4 in f32\[4,5\]/],
  ];
  it.each(cases)("%s", (_what, fn, message) => {
    expect(fn).toThrow(message);
    // The same mistake inside jit fails while tracing (lower), before anything runs.
    expect(() => jit(() => fn()).lower()).toThrow(message);
  });

  it("the errors are ShapeErrors (a TypeError subclass) where they concern shapes and dtypes", () => {
    expect(() => lax.add(f32([2, 3]), f32([3, 2]))).toThrow(ShapeError);
    expect(() => np.add(f32([2, 3]), f32([4]))).toThrow(TypeError);
  });
});

describe("integers where floats are needed, and floats where integers are", () => {
  it("np.exp on i32", () => {
    expect(() => np.exp(i32([3]))).toThrow(/exp: needs a float dtype \(f32, bf16\), got i32\[3\]/);
    expect(() => jit((x: ArrayBase) => np.exp(x)).lower(i32([3]))).toThrow(/exp: needs a float dtype \(f32, bf16\), got i32\[3\]/);
  });

  it("np.sqrt, np.tanh and lax.pow on integers", () => {
    expect(() => np.sqrt(i32([2]))).toThrow(/sqrt: needs a float dtype/);
    expect(() => np.tanh(toDevice(hv("u32", [2], [1, 2])))).toThrow(/tanh: needs a float dtype \(f32, bf16\), got u32\[2\]/);
    expect(() => lax.pow(i32([2]), i32([2]))).toThrow(/pow: needs a float dtype/);
  });

  it("bit operations on floats", () => {
    expect(() => lax.shiftLeft(f32([2]), f32([2]))).toThrow(/shift_left: needs an integer dtype \(i32, u32\), got f32\[2\]/);
    expect(() => np.bitwiseXor(f32([2]), f32([2]))).toThrow(/xor: needs an integer or bool dtype, got f32\[2\]/);
  });

  it("a fractional JS number used as an integer operand is rejected, not truncated", () => {
    expect(() => np.add(i32([2]), 0.5)).toThrow(/0\.5.*i32|i32.*0\.5/);
    expect(() => lax.mul(toDevice(hv("u32", [2], [1, 2])), 1.25)).toThrow(/1\.25.*u32|u32.*1\.25/);
    expect(() => np.full([2], 2.5, "i32")).toThrow(/2\.5.*i32|i32.*2\.5/);
  });
});

describe("traced values used outside their trace", () => {
  it("a tracer stored during jit and used eagerly afterwards", () => {
    let leaked: ArrayBase | undefined;
    jit((x: ArrayBase) => {
      leaked = x;
      return np.exp(x);
    }, { name: "leaky" })(f32([2]));
    expect(() => np.exp(leaked!)).toThrow(TraceError);
    expect(() => np.exp(leaked!)).toThrow(/exp: a traced value \(f32\[2\]\) from a finished jit\(leaky\) trace was used outside it/);
  });

  it("a tracer stored during one jit and used inside another", () => {
    let leaked: ArrayBase | undefined;
    jit((x: ArrayBase) => {
      leaked = x;
      return x;
    }, { name: "first" }).lower(f32([2]));
    const second = jit((y: ArrayBase) => np.add(y, leaked!), { name: "second" });
    expect(() => second.lower(f32([2]))).toThrow(/add: a traced value \(f32\[2\]\) from a finished jit\(first\) trace was used outside it/);
  });

  it("a tracer stored during grad and used afterwards", () => {
    let leaked: ArrayBase | undefined;
    grad(function loss(x: ArrayBase) {
      leaked = np.multiply(x, 2);
      return np.sum(x);
    })(f32([3]));
    expect(() => np.sum(leaked!)).toThrow(/reduce: a traced value \(f32\[3\]\) from a finished grad\(loss\) trace was used outside it/);
  });

  it("a leaked tracer passed to a jitted function or a compiled program", () => {
    let leaked: ArrayBase | undefined;
    jit((x: ArrayBase) => {
      leaked = x;
      return x;
    }).lower(f32([2]));
    const f = jit((y: ArrayBase) => np.exp(y));
    expect(() => f(leaked!)).toThrow(/traced value \(f32\[2\]\) was passed to a compiled program outside its trace/);
    const compiled = f.lower(f32([2])).compile();
    expect(() => compiled.call(leaked!)).toThrow(/traced value \(f32\[2\]\) was passed to a compiled program outside its trace/);
  });

  it("a tracer returned out of a whileLoop body's closure", () => {
    let leaked: ArrayBase | undefined;
    whileLoop(
      (i: ArrayBase) => lax.compare(i, 3, "LT"),
      (i: ArrayBase) => {
        leaked = i;
        return lax.add(i, 1);
      },
      toDevice(hv("i32", [], [0])),
    );
    expect(() => lax.add(leaked!, 1)).toThrow(/a traced value \(i32\[\]\) from a finished whileLoop body trace was used outside it/);
  });
});

describe("differentiation errors", () => {
  it("grad with respect to an integer input names the leaf and dtype", () => {
    const f = (x: ArrayBase) => np.sum(lax.convert(x, "f32"));
    expect(() => grad(f)(i32([3]))).toThrow(/grad\(f\): differentiated input leaf 0 has dtype i32 \(i32\[3\]\); only f32 and bf16 arrays can be differentiated/);
    expect(() => grad(f, { argnums: [0] })({ a: f32([2]), b: i32([2]) } as unknown as ArrayBase)).toThrow(/leaf 1 has dtype i32/);
  });

  it("grad of a non-scalar or integer output", () => {
    expect(() => grad((x: ArrayBase) => np.exp(x))(f32([3]))).toThrow(/must return a float scalar to take its gradient, got f32\[3\]/);
    expect(() => grad((x: ArrayBase) => np.argmax(x, 0))(f32([3]))).toThrow(/must return a float scalar to take its gradient, got i32\[\]/);
  });

  it("grad with respect to a JS number or an argnum out of range", () => {
    const f = (x: ArrayBase, y: ArrayBase) => np.sum(np.multiply(x, y));
    expect(() => grad(f)(3 as unknown as ArrayBase, f32([]))).toThrow(/differentiated input leaf 0 is a number, not an array; wrap numbers with np.array/);
    expect(() => grad(f, { argnums: 2 })(f32([]), f32([]))).toThrow(/argnums 2 is out of range for 2 arguments/);
  });

  it("grad through a while loop is refused with the reason", () => {
    const f = (x: ArrayBase) => np.sum(whileLoop((s: ArrayBase) => lax.compare(np.sum(s), 10, "LT"), (s: ArrayBase) => np.multiply(s, 2), x));
    expect(() => grad(f)(toDevice(hv("f32", [2], [1, 1])))).toThrow(/cannot differentiate through while/);
  });

  it("a path through integers (bitcast, xor) carries no gradient: zero, as in JAX", () => {
    const f = (x: ArrayBase) => np.sum(lax.bitcastConvert(lax.xor(lax.bitcastConvert(x, "u32"), 1), "f32"));
    // No float path connects the input to the output: the gradient is zero, not an error.
    return readHost(grad(f)(f32([2])) as ArrayBase).then((g) => expect(g.data).toEqual([0, 0]));
  });
});
