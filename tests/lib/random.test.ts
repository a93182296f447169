// random: threefry2x32 against the Random123 known-answer vectors, the key API against values published by JAX
// (its docs, docstrings and tests), and the distributions against their moments, all on every device; then the
// devices against each other on large samples (issue 6.10). Known answers are compared bit for bit.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ArrayBase, type DeviceArray, grad, jit, np, random, setDefaultDevice, tidy } from "../../src/index.js";
import { expectSameBits } from "../helpers/allclose.js";
import { readAndDispose, readTidy } from "../helpers/arrays.js";

// Each value is built inside tidy and disposed once read, so no array outlives its test on either device.
const read = async (fn: () => ArrayBase): Promise<number[]> => (await readTidy(fn)).data;
const readAll = async (arrays: readonly ArrayBase[]): Promise<number[][]> => (await readAndDispose(arrays)).map((x) => x.data);
const u32 = (v: number) => np.array(new Uint32Array([v]), { dtype: "u32", shape: [] });

/** zlib.adler32 of an ASCII string: how JAX's tests derive the seeds of their value cases. */
function adler32(text: string): number {
  let a = 1;
  let b = 0;
  for (const ch of text) {
    a = (a + ch.charCodeAt(0)) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

afterEach(() => random.setThreefryPartitionable(true));

// Every device runs every test (eager dispatch goes to the default device; jit follows its arguments).
describe.each(["reference", "cpu"] as const)("on %s", (device) => {
  beforeAll(() => setDefaultDevice(device));
  afterAll(() => setDefaultDevice("reference"));

  describe("threefry2x32", () => {
    // Random123's kat_vectors for threefry2x32 with 20 rounds: (key, counter) -> output.
    const vectors: [number[], number[], number[]][] = [
      [[0, 0], [0, 0], [0x6b200159, 0x99ba4efe]],
      [[0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x1cb996fc, 0xbb002be7]],
      [[0x13198a2e, 0x03707344], [0x243f6a88, 0x85a308d3], [0xc4923a9c, 0x483df7a0]],
    ];

    it("matches the Random123 known-answer vectors", async () => {
      for (const [key, counter, expected] of vectors) {
        const [a, b] = await readAll(tidy(() => random.threefry2x32(u32(key[0]!), u32(key[1]!), u32(counter[0]!), u32(counter[1]!))));
        expect([...a!, ...b!]).toEqual(expected);
      }
    });

    it("hashes arrays of counters elementwise, eagerly and under jit", async () => {
      const x0 = np.array(new Uint32Array([0, 0xffffffff, 0x243f6a88]), { dtype: "u32" });
      const x1 = np.array(new Uint32Array([0, 0xffffffff, 0x85a308d3]), { dtype: "u32" });
      const k0 = np.array(new Uint32Array([0, 0xffffffff, 0x13198a2e]), { dtype: "u32" });
      const k1 = np.array(new Uint32Array([0, 0xffffffff, 0x03707344]), { dtype: "u32" });
      const hash = jit((a: ArrayBase, b: ArrayBase, c: ArrayBase, d: ArrayBase) => random.threefry2x32(a, b, c, d));
      for (const [a, b] of [await readAll(tidy(() => random.threefry2x32(k0, k1, x0, x1))), await readAll(hash(k0, k1, x0, x1))]) {
        expect(a).toEqual(vectors.map((v) => v[2][0]));
        expect(b).toEqual(vectors.map((v) => v[2][1]));
      }
      for (const x of [x0, x1, k0, k1]) x.dispose();
    });
  });

  describe("keys, as JAX makes them", () => {
    it("key(seed) is [0, seed mod 2^32]", async () => {
      expect(await read(() => random.key(0))).toEqual([0, 0]);
      expect(await read(() => random.key(1701))).toEqual([0, 1701]);
      expect(await read(() => random.key(-1))).toEqual([0, 0xffffffff]);
      expect(await read(() => random.key(np.array(42, { dtype: "i32", shape: [] })))).toEqual([0, 42]);
    });

    it("split and foldIn match JAX's current default (jax_threefry_partitionable = True)", async () => {
      // jax.experimental.random.stateful_rng docstring: fold_in(key(0), 0) and fold_in(key(0), 1); with the
      // partitionable layout split(key, n)[i] == fold_in(key, i) (JAX's test_threefry_split_fold_in_symmetry).
      const expected = [
        [1797259609, 2579123966],
        [928981903, 3453687069],
      ];
      expect(await read(() => random.split(random.key(0)))).toEqual(expected.flat());
      expect(await read(() => random.foldIn(random.key(0), 0))).toEqual(expected[0]);
      expect(await read(() => random.foldIn(random.key(0), 1))).toEqual(expected[1]);
      const keys = tidy(() => random.split(random.key(72), 3));
      for (let i = 0; i < 3; i++) expect(await read(() => random.keyAt(keys, i))).toEqual(await read(() => random.foldIn(random.key(72), i)));
      (keys as DeviceArray).dispose();
    });

    it("split, randomBits and bernoulli match JAX's values with the original layout (partitionable = False)", async () => {
      random.setThreefryPartitionable(false);
      expect(await read(() => random.split(random.key(0)))).toEqual([4146024105, 967050713, 2718843009, 1272950319]);
      // tests/random_test.py testPRNGValues
      expect(await read(() => random.split(random.key(0), 4))).toEqual([2285895361, 1501764800, 1518642379, 4090693311, 433833334, 4221794875, 839183663, 3740430601]);
      // tests/random_test.py testRngRandomBits
      expect(await read(() => random.randomBits(random.key(1701), [3]))).toEqual([56197195, 4200222568, 961309823]);
      // tests/random_test.py _RANDOM_VALUES_CASES ("bits" and "bernoulli" with threefry2x32)
      expect(await read(() => random.randomBits(random.key(adler32("bitsthreefry2x32")), [5]))).toEqual([1978747883, 4134381225, 3628107870, 689687174, 2788938207]);
      expect(await read(() => random.bernoulli(random.key(adler32("bernoullithreefry2x32")), 0.5, [5]))).toEqual([0, 1, 1, 1, 0]);
    });

    it("foldIn is the same in both layouts", async () => {
      // tests/random_test.py testPRNGValues: fold_in(key(0), 4)
      for (const layout of [true, false]) {
        random.setThreefryPartitionable(layout);
        expect(await read(() => random.foldIn(random.key(0), 4))).toEqual([2285895361, 433833334]);
      }
    });

    it("rejects keys of the wrong shape or dtype", () => {
      expect(() => tidy(() => random.split(np.array([1, 2])))).toThrow(/u32\[2\]/);
      expect(() => tidy(() => random.uniform(np.array(new Uint32Array([1, 2, 3]), { dtype: "u32" })))).toThrow(/u32\[2\]/);
    });
  });

  /** How numpy prints an f32 in an array: the shortest decimal that reads back as the same f32, cut to 8 digits after
   * the point. */
  function numpyPrinted(f: number): number {
    for (let digits = 1; digits <= 9; digits++) {
      const shortest = Number(f.toPrecision(digits));
      if (Math.fround(shortest) === f) return Number(shortest.toFixed(8));
    }
    return Number(f.toFixed(8));
  }

  /** The one uniform sample (a multiple of 2^-23 in [0, 1)) that numpy prints as `printed`; throws unless unique. */
  function uniformFromPrinted(printed: number): number {
    const center = Math.round(printed * 2 ** 23);
    const matches: number[] = [];
    for (let k = center - 16; k <= center + 16; k++) if (numpyPrinted(k * 2 ** -23) === printed) matches.push(k * 2 ** -23);
    if (matches.length !== 1) throw new Error(`${printed} names ${matches.length} uniform samples: [${matches}]`);
    return matches[0]!;
  }

  describe("uniform", () => {
    it("matches values published by JAX, bit for bit", async () => {
      const same = async (fn: () => ArrayBase, printed: number[]) => expectSameBits(await read(fn), printed.map(uniformFromPrinted), "f32");
      // jax.random module docstring: uniform(key(0)) and uniform of split(key(0))[1]
      await same(() => random.uniform(random.key(0)), [0.947667]);
      await same(() => random.uniform(random.keyAt(random.split(random.key(0)), 1)), [0.00729382]);
      // JEP 9263: uniform(key(0), shape=(3,)) -> [0.947667, 0.9785799, 0.33229148]
      await same(() => random.uniform(random.key(0), [3]), [0.947667, 0.9785799, 0.33229148]);
      // JEP 28845: stateful_rng(1701).random((5,)) twice = uniform(fold_in(key(1701), i), (5,)) for i = 0, 1
      await same(() => random.uniform(random.foldIn(random.key(1701), 0), [5]), [0.09609699, 0.26730824, 0.5619041, 0.24421775, 0.7715055]);
      await same(() => random.uniform(random.foldIn(random.key(1701), 1), [5]), [0.8131045, 0.33873856, 0.88808906, 0.96005905, 0.7616446]);
    });

    it("is the mantissa construction on randomBits: ((bits >> 9) | 0x3f800000) as f32, minus 1", async () => {
      const key = tidy(() => random.key(5));
      const bits = await read(() => random.randomBits(key, [64]));
      const view = new DataView(new ArrayBuffer(4));
      const expected = bits.map((b) => {
        view.setUint32(0, ((b >>> 9) | 0x3f800000) >>> 0);
        return view.getFloat32(0) - 1;
      });
      expect(await read(() => random.uniform(key, [64]))).toEqual(expected);
      (key as DeviceArray).dispose();
    });

    it("lies in [0, 1) with mean 1/2 and variance 1/12 over 10k samples", async () => {
      const values = await read(() => random.uniform(random.key(1), [100, 100]));
      expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...values)).toBeLessThan(1);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
      expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
      expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.003);
    });

    it("scales to [minval, maxval), with numbers or arrays as bounds", async () => {
      const values = await read(() => random.uniform(random.key(2), [1000], { minval: -3, maxval: 5 }));
      expect(Math.min(...values)).toBeGreaterThanOrEqual(-3);
      expect(Math.max(...values)).toBeLessThan(5);
      const lo = np.array([[0], [10]]);
      const hi = np.array([[1], [20]]);
      const bounded = await read(() => random.uniform(random.key(2), [2, 50], { minval: lo, maxval: hi }));
      expect(bounded.slice(0, 50).every((v) => v >= 0 && v < 1)).toBe(true);
      expect(bounded.slice(50).every((v) => v >= 10 && v < 20)).toBe(true);
      lo.dispose();
      hi.dispose();
    });

    it("makes bf16 floats from 8 random bits, in [0, 1)", async () => {
      const out = await readTidy(() => random.uniform(random.key(3), [500], { dtype: "bf16" }));
      expect(out.dtype).toBe("bf16");
      const values = out.data;
      expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...values)).toBeLessThan(1);
      // 7 mantissa bits: every value is a multiple of 2^-7.
      expect(values.every((v) => Number.isInteger(v * 128))).toBe(true);
      const bytes = await read(() => np.bitwiseAnd(random.randomBits(random.key(3), [500]), 0xff));
      expect(values).toEqual(bytes.map((b) => (b >>> 1) / 128));
    });
  });

  // The inverse error function from its definition, independently of the polynomial under test: erf by its Taylor
  // series below 2 and erfc by its continued fraction (Laplace) above, both in float64; erfinv by bisection, on
  // erfc(y) = 1 - |u| for |u| > 1/2 so that the tail keeps its relative precision.
  const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

  function erfSeries(x: number): number {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const next = term / (2 * n + 1);
      sum += next;
      if (Math.abs(next) < 1e-17 * Math.abs(sum)) break;
    }
    return TWO_OVER_SQRT_PI * sum;
  }

  function erfc(x: number): number {
    if (x < 2) return 1 - erfSeries(x);
    let k = 0;
    for (let n = 80; n >= 1; n--) k = n / 2 / (x + k);
    return Math.exp(-x * x) / Math.sqrt(Math.PI) / (x + k);
  }

  function erfinvOracle(u: number): number {
    if (u === 0 || Math.abs(u) >= 1) return Math.abs(u) === 1 ? u * Infinity : u;
    const a = Math.abs(u);
    let lo = 0;
    let hi = 7;
    while (true) {
      const mid = (lo + hi) / 2;
      if (mid === lo || mid === hi) break;
      if (a <= 0.5 ? erfSeries(mid) < a : erfc(mid) > 1 - a) lo = mid;
      else hi = mid;
    }
    return Math.sign(u) * lo;
  }

  /** How far an f32 erfinv may be from the exact one: it must round u * u (relative 2^-24), which moves the result by
   * erfinv'(u) * 2^-24 |u| = (sqrt(pi) / 2) exp(y^2) 2^-24 |u|, plus a few ulps of its own arithmetic. */
  function erfinvTolerance(u: number, y: number): number {
    return (Math.sqrt(Math.PI) / 2) * Math.exp(y * y) * 2 ** -24 * Math.abs(u) + 8 * 2 ** -24 * Math.abs(y);
  }

  describe("normal", () => {
    it("erfinv matches the inverse error function", async () => {
      // The oracle against published values first (Abramowitz & Stegun table 7.1 inverted; erfinv(0.999999)).
      const published: [number, number][] = [[0.5, 0.4769362762044699], [-0.9, -1.1630871536766743], [0.99, 1.8213863677184496], [0.999999, 3.4589107372909473]];
      for (const [u, y] of published) expect(Math.abs(erfinvOracle(u) - y)).toBeLessThan(1e-10 * Math.abs(y));
      const inputs = [0, 0.5, -0.9, 0.99, 0.999999, -(1 - 2 ** -24), 1e-30, 1, -1].map(Math.fround);
      const got = await read(() => random.erfinv(np.array(inputs)));
      inputs.forEach((u, i) => {
        const y = erfinvOracle(u);
        if (!Number.isFinite(y)) expect(got[i]).toBe(y);
        else expect(Math.abs(got[i]! - y), `erfinv(${u}) = ${got[i]}, exact ${y}`).toBeLessThanOrEqual(erfinvTolerance(u, y));
      });
    });

    it("is sqrt(2) erfinv(u) with u uniform on (-1, 1), as JAX computes it", async () => {
      const key = tidy(() => random.key(9));
      const u = await read(() => random.uniform(key, [2000], { minval: -(1 - 2 ** -24), maxval: 1 }));
      const normal = await read(() => random.normal(key, [2000]));
      u.forEach((v, i) => {
        const y = erfinvOracle(v);
        expect(Math.abs(normal[i]! - Math.SQRT2 * y), `normal from u = ${v}`).toBeLessThanOrEqual(Math.SQRT2 * erfinvTolerance(v, y));
      });
      (key as DeviceArray).dispose();
    });

    it("has mean 0 and standard deviation 1 over 10k samples", async () => {
      const values = await read(() => random.normal(random.key(4), [10000]));
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
      expect(Math.abs(mean)).toBeLessThan(0.03);
      expect(Math.abs(std - 1)).toBeLessThan(0.03);
      expect(values.every(Number.isFinite)).toBe(true);
    });
  });

  describe("categorical, bernoulli, gumbel and permutation", () => {
    it("categorical frequencies follow softmax(logits)", async () => {
      const probabilities = [0.2, 0.5, 0.3];
      const logits = np.array(probabilities.map(Math.log));
      const samples = await read(() => random.categorical(random.key(6), logits, { shape: [10000] }));
      for (let c = 0; c < 3; c++) {
        const frequency = samples.filter((s) => s === c).length / samples.length;
        expect(Math.abs(frequency - probabilities[c]!)).toBeLessThan(0.02);
      }
      logits.dispose();
    });

    it("categorical is argmax(logits + gumbel) over the chosen axis, per batch row", async () => {
      const key = tidy(() => random.key(8));
      const logits = np.array([
        [0, 1, 2, 3],
        [3, 2, 1, 0],
        [0, 0, 0, 0],
      ]);
      const noise = await read(() => random.gumbel(key, [3, 4]));
      const rows = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => noise[r * 4 + c]! + (r === 0 ? c : r === 1 ? 3 - c : 0)));
      const expected = rows.map((row) => row.indexOf(Math.max(...row)));
      expect(await read(() => random.categorical(key, logits))).toEqual(expected);
      // Along axis 0 of the transposed logits: one sample per column.
      const alongAxis0 = await readTidy(() => random.categorical(key, np.transpose(logits), { axis: 0 }));
      expect(alongAxis0.shape).toEqual([3]);
      expect(alongAxis0.data.every((s) => s >= 0 && s < 4)).toBe(true);
      (key as DeviceArray).dispose();
      logits.dispose();
    });

    it("a logit of -inf is never sampled, a dominant logit always is", async () => {
      const samples = await read(() => random.categorical(random.key(10), np.array([-Infinity, 0, -Infinity, 1e30]), { shape: [200] }));
      expect(samples.every((s) => s === 3)).toBe(true);
    });

    it("bernoulli(p) is true with frequency p", async () => {
      const values = await read(() => random.bernoulli(random.key(11), 0.3, [10000]));
      expect(Math.abs(values.reduce((a, b) => a + b, 0) / values.length - 0.3)).toBeLessThan(0.02);
      const perElement = await read(() => random.bernoulli(random.key(12), np.array([0, 1, 0, 1])));
      expect(perElement).toEqual([0, 1, 0, 1]);
    });

    it("gumbel samples have mean Euler's gamma", async () => {
      const values = await read(() => random.gumbel(random.key(13), [10000]));
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      expect(Math.abs(mean - 0.5772156649)).toBeLessThan(0.04);
    });

    it("permutation of n contains each index once and depends on the key", async () => {
      const p = await read(() => random.permutation(random.key(0), 50));
      expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(p).not.toEqual(await read(() => random.permutation(random.key(1), 50)));
      // It orders 0..n-1 by the u32 keys of randomBits(split(key)[1]) (one round of a stable sort).
      const sortKeys = await read(() => random.randomBits(random.keyAt(random.split(random.key(0)), 1), [50]));
      const expected = Array.from({ length: 50 }, (_, i) => i).sort((a, b) => sortKeys[a]! - sortKeys[b]! || a - b);
      expect(p).toEqual(expected);
    });

    it("permutation of an array permutes rows along the axis", async () => {
      const x = np.array([
        [0, 0],
        [1, 10],
        [2, 20],
        [3, 30],
      ]);
      const order = await read(() => random.permutation(random.key(3), 4));
      const rows = await read(() => random.permutation(random.key(3), x));
      expect(rows).toEqual(order.flatMap((i) => [i, 10 * i]));
      x.dispose();
    });
  });

  describe("determinism", () => {
    it("the same key gives the same numbers, different keys different ones", async () => {
      const a = await read(() => random.normal(random.key(21), [16]));
      expect(await read(() => random.normal(random.key(21), [16]))).toEqual(a);
      expect(await read(() => random.normal(random.key(22), [16]))).not.toEqual(a);
    });

    it("jit gives the same bits as eager evaluation", async () => {
      const sample = (key: ArrayBase) => {
        const [k1, k2, k3, k4] = random.splitList(key, 4);
        return {
          bits: random.randomBits(k1!, [5, 3]),
          uniform: random.uniform(k2!, [7], { minval: -1, maxval: 2 }),
          normal: random.normal(k3!, [9]),
          categorical: random.categorical(k4!, np.array([[0.1, 2, -1, 0.5]]), { shape: [6, 1] }),
          folded: random.foldIn(key, 7),
          split: random.split(key, 3),
        };
      };
      const key = tidy(() => random.key(1234));
      const eager = tidy(() => sample(key));
      // Arrays made while tracing (the logits) are constants of this one-off jitted function: tidy frees them.
      const jitted = tidy(() => jit(sample)(key) as unknown as Record<string, DeviceArray>);
      for (const [name, value] of Object.entries(eager)) {
        const a = await read(() => value);
        const b = await read(() => jitted[name]!);
        expect(b, name).toEqual(a);
      }
      (key as DeviceArray).dispose();
    });

    it("works inside a differentiated function (a dropout-style mask), eagerly and under jit", async () => {
      const loss = (w: ArrayBase, key: ArrayBase) => np.sum(np.where(random.bernoulli(key, 0.5, w.shape), np.multiply(w, w), 0));
      const w = np.array([1, 2, 3, 4, 5, 6]);
      const keep = await read(() => random.bernoulli(random.key(3), 0.5, [6]));
      const expected = keep.map((k, i) => (k ? 2 * (i + 1) : 0));
      expect(await read(() => grad(loss)(w, random.key(3)) as ArrayBase)).toEqual(expected);
      expect(await read(() => jit((a: ArrayBase, k: ArrayBase) => grad(loss)(a, k) as ArrayBase)(w, random.key(3)))).toEqual(expected);
      w.dispose();
    });

    it("traced seeds and fold-in data work under jit", async () => {
      const f = jit((seed: ArrayBase, step: ArrayBase) => random.uniform(random.foldIn(random.key(seed), step), [4]));
      const expected = await read(() => random.uniform(random.foldIn(random.key(77), 3), [4]));
      expect(await read(() => f(np.array(77, { dtype: "i32", shape: [] }), np.array(3, { dtype: "u32", shape: [] })))).toEqual(expected);
    });
  });
});

describe("cpu and reference give the same samples (issue 6.10)", () => {

  /** `sample(key)` on each device, read back. */
  async function onBoth(sample: (key: ArrayBase) => ArrayBase): Promise<{ reference: number[]; cpu: number[] }> {
    const out: Record<string, number[]> = {};
    for (const device of ["reference", "cpu"] as const) {
      setDefaultDevice(device);
      try {
        out[device] = await read(() => sample(random.key(2024)));
      } finally {
        setDefaultDevice("reference");
      }
    }
    return { reference: out.reference!, cpu: out.cpu! };
  }

  it("randomBits, split, foldIn and uniform, bit for bit", async () => {
    for (const sample of [
      (k: ArrayBase) => random.randomBits(k, [4096]),
      (k: ArrayBase) => random.split(k, 256),
      (k: ArrayBase) => np.concatenate(Array.from({ length: 8 }, (_, i) => random.foldIn(k, i * 7919))),
    ]) {
      const { reference, cpu } = await onBoth(sample);
      expectSameBits(cpu, reference, "u32");
    }
    for (const dtype of ["f32", "bf16"] as const) {
      const { reference, cpu } = await onBoth((k) => random.uniform(k, [4096], { minval: -3, maxval: 5, dtype }));
      expectSameBits(cpu, reference, dtype, `uniform ${dtype}`);
    }
  });

  it("normal, bit for bit (both devices' log1p round the float64 log1p once)", async () => {
    const { reference, cpu } = await onBoth((k) => random.normal(k, [8192]));
    expectSameBits(cpu, reference, "f32");
  });

  it("gumbel within the ulps of two logs, and categorical identical where the winner is clear", async () => {
    // -log(-log u): each log may differ by an ulp or two between devices (libm's logf and a rounded float64 log);
    // the outer log's argument then differs by its relative error, so the result by about 2^-22 absolute plus
    // 2^-22 relative.
    const { reference, cpu } = await onBoth((k) => random.gumbel(k, [4096]));
    reference.forEach((r, i) => expect(Math.abs(cpu[i]! - r), `gumbel sample ${i}`).toBeLessThanOrEqual(2 ** -22 * (1 + Math.abs(r))));
    const logits = np.array([0.5, -1, 2, 0, 1.5, -0.5, 1, 0.25]);
    const { reference: rc, cpu: cc } = await onBoth((k) => random.categorical(k, logits, { shape: [1000] }));
    const { reference: noise } = await onBoth((k) => random.gumbel(k, [1000, 8]));
    const logitValues = await read(() => logits);
    let differing = 0;
    rc.forEach((r, i) => {
      if (r === cc[i]) return;
      // A different choice is allowed only where the top two scores are within the gumbel tolerance.
      const scores = logitValues.map((l, c) => l + noise[i * 8 + c]!).sort((a, b) => b - a);
      expect(scores[0]! - scores[1]!, `categorical sample ${i}: ${r} on reference, ${cc[i]} on cpu`).toBeLessThanOrEqual(2 ** -20 * (1 + Math.abs(scores[0]!)));
      differing++;
    });
    expect(differing).toBeLessThanOrEqual(2);
  });
});
