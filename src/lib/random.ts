// Counter-based pseudo-random numbers: the threefry2x32 hash (Salmon et al., "Parallel random numbers: as easy as
// 1, 2, 3", SC 2011; the Random123 library) written with u32 primitives, and JAX's key API on top of it. Keys are
// raw u32[2] arrays (JAX's legacy `PRNGKey` layout). split / foldIn / randomBits / uniform follow JAX's
// definitions step by step, so the bits (and the uniform floats built from them) equal JAX's on every device.
//
// Which JAX? Since JAX 0.5.0 the flag `jax_threefry_partitionable` defaults to True, which changed how split and
// random_bits lay out their counters (fold_in is unaffected). That current default is ours too;
// `setThreefryPartitionable(false)` selects the older layout (JAX < 0.5.0, or the flag set to False).
//
// Transcendental functions (log, log1p, sqrt) differ in their last bits between backends, so normal(), gumbel()
// and categorical() match JAX closely but not bit for bit; bits, uniform and bernoulli do.
import { ArrayBase } from "../core/array_base.js";
import { normalizeAxis, showShape } from "../core/aval.js";
import { type DType, isFloat } from "../core/dtype.js";
import { ShapeError } from "../core/errors.js";
import * as lax from "../ops/index.js";
import * as np from "./np.js";

/** A threefry2x32 key: u32[2]. */
export type Key = ArrayBase;

let partitionable = true;

/** Chooses the counter layout of split and randomBits, as JAX's `jax_threefry_partitionable` flag does (default
 * true, JAX's default since 0.5.0). Functions already traced by jit keep the layout they were traced with. */
export function setThreefryPartitionable(enabled: boolean): void {
  partitionable = enabled;
}

export function threefryPartitionable(): boolean {
  return partitionable;
}

// --- the hash ------------------------------------------------------------------------------------------------

const ROTATIONS: readonly (readonly number[])[] = [
  [13, 15, 26, 6],
  [17, 29, 16, 24],
];
/** Skein's key-schedule parity constant. */
const KEY_PARITY = 0x1bd11bda;

function rotateLeft(x: ArrayBase, bits: number): ArrayBase {
  return lax.or(lax.shiftLeft(x, bits), lax.shiftRightLogical(x, 32 - bits));
}

/** Threefry-2x32 with 20 rounds on counter pairs (x0[i], x1[i]) under the key (k0, k1): all u32, x0 and x1 of
 * one shape, k0 and k1 scalars (or of the counters' shape). Returns the two output words. */
export function threefry2x32(k0: ArrayBase, k1: ArrayBase, x0: ArrayBase, x1: ArrayBase): [ArrayBase, ArrayBase] {
  for (const [name, a] of [["k0", k0], ["k1", k1], ["x0", x0], ["x1", x1]] as const) {
    if (a.dtype !== "u32") throw new TypeError(`threefry2x32: ${name} must be u32, got ${a.aval}`);
  }
  if (x0.shape.join(",") !== x1.shape.join(",")) throw new ShapeError(`threefry2x32: counters ${x0.aval} and ${x1.aval} differ in shape`);
  const ks = [k0, k1, lax.xor(lax.xor(k0, k1), KEY_PARITY)];
  let a = lax.add(x0, ks[0]!);
  let b = lax.add(x1, ks[1]!);
  // Five groups of four rounds; after each group the key schedule injects (ks[i], ks[i+1] + i) with i = 1..5.
  for (let group = 0; group < 5; group++) {
    for (const r of ROTATIONS[group % 2]!) {
      a = lax.add(a, b);
      b = lax.xor(rotateLeft(b, r), a);
    }
    const injection = group + 1;
    a = lax.add(a, ks[injection % 3]!);
    b = lax.add(lax.add(b, ks[(injection + 1) % 3]!), injection);
  }
  return [a, b];
}

function keyWords(key: Key, where: string): [ArrayBase, ArrayBase] {
  if (key.dtype !== "u32" || key.shape.length !== 1 || key.shape[0] !== 2) {
    throw new TypeError(`${where}: a key is u32[2] (from random.key or random.split), got ${key.aval}`);
  }
  return [lax.reshape(lax.slice(key, [0], [1]), []), lax.reshape(lax.slice(key, [1], [2]), [])];
}

/** JAX's `threefry_2x32(key, count)`: hashes a flat counter array by pairing its first half with its second half
 * (padding odd lengths with one zero), and concatenating the two output words back. */
function hashCounts(key: Key, count: ArrayBase): ArrayBase {
  const [k0, k1] = keyWords(key, "threefry_2x32");
  const n = count.size;
  let flat = lax.reshape(count, [n]);
  const odd = n % 2;
  if (odd) flat = lax.concatenate([flat, np.zeros([1], "u32")], 0);
  const half = (n + odd) / 2;
  const [a, b] = threefry2x32(k0, k1, lax.slice(flat, [0], [half]), lax.slice(flat, [half], [2 * half]));
  let out = lax.concatenate([a, b], 0);
  if (odd) out = lax.slice(out, [0], [n]);
  return lax.reshape(out, count.shape);
}

/** The row-major index of every element of `shape`, as u32 (JAX's iota_2x32_shape low word; the high word is 0
 * below 2^32 elements). */
function flatIota(shape: readonly number[]): ArrayBase {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n > 2 ** 32) throw new RangeError(`random: ${showShape(shape)} has more than 2^32 elements`);
  return lax.reshape(lax.iota("u32", [n], 0), shape);
}

// --- keys ----------------------------------------------------------------------------------------------------

/** A key from an integer seed, as `jax.random.PRNGKey(seed)` / `key_data(jax.random.key(seed))` with JAX's default
 * 32-bit mode: [0, seed mod 2^32]. A traced integer scalar seed (i32 or u32) works too. */
export function key(seed: number | ArrayBase): Key {
  if (typeof seed === "number") {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`random.key: the seed must be an integer, got ${seed}`);
    // Built from operations, not uploaded: inside jit the key is then part of the program, on its device.
    return lax.concatenate([np.zeros([1], "u32"), np.full([1], Number(BigInt.asUintN(32, BigInt(seed))), "u32")], 0);
  }
  if (seed.ndim !== 0 || (seed.dtype !== "i32" && seed.dtype !== "u32")) {
    throw new TypeError(`random.key: a seed array must be an i32 or u32 scalar, got ${seed.aval}`);
  }
  return lax.concatenate([np.zeros([1], "u32"), lax.reshape(toU32(seed), [1])], 0);
}

function toU32(x: ArrayBase): ArrayBase {
  // i32 -> u32 keeps the bits (two's complement), as a C cast does.
  return x.dtype === "u32" ? x : lax.bitcastConvert(x, "u32");
}

/** `num` new keys: u32[num, 2]. */
export function split(key: Key, num = 2): ArrayBase {
  if (!Number.isInteger(num) || num < 0) throw new RangeError(`random.split: num must be a non-negative integer, got ${num}`);
  if (!partitionable) return lax.reshape(hashCounts(key, lax.iota("u32", [num * 2], 0)), [num, 2]);
  const [k0, k1] = keyWords(key, "random.split");
  const [a, b] = threefry2x32(k0, k1, np.zeros([num], "u32"), lax.iota("u32", [num], 0));
  return np.stack([a, b], 1); // [num, 2]
}

/** Row `i` of a split result (or of any u32[n, 2] stack of keys) as a key. */
export function keyAt(keys: ArrayBase, i: number): Key {
  if (keys.dtype !== "u32" || keys.ndim !== 2 || keys.shape[1] !== 2) throw new TypeError(`random.keyAt: expected u32[n, 2] keys, got ${keys.aval}`);
  return lax.reshape(lax.slice(keys, [i, 0], [i + 1, 2]), [2]);
}

/** `split(key, num)` as a list of keys. */
export function splitList(key: Key, num = 2): Key[] {
  const keys = split(key, num);
  return Array.from({ length: num }, (_, i) => keyAt(keys, i));
}

/** A new key that mixes `data` (an integer, or an i32/u32 scalar array) into `key`: JAX's fold_in, which hashes
 * the counter pair (0, data). */
export function foldIn(key: Key, data: number | ArrayBase): Key {
  const [k0, k1] = keyWords(key, "random.foldIn");
  let d: ArrayBase;
  if (typeof data === "number") {
    if (!Number.isSafeInteger(data)) throw new RangeError(`random.foldIn: data must be an integer, got ${data}`);
    d = np.full([], Number(BigInt.asUintN(32, BigInt(data))), "u32");
  } else {
    if (data.ndim !== 0 || (data.dtype !== "i32" && data.dtype !== "u32")) {
      throw new TypeError(`random.foldIn: data must be an i32 or u32 scalar, got ${data.aval}`);
    }
    d = toU32(data);
  }
  const [a, b] = threefry2x32(k0, k1, np.zeros([], "u32"), d);
  return lax.concatenate([lax.reshape(a, [1]), lax.reshape(b, [1])], 0);
}

// --- bits and distributions ------------------------------------------------------------------------------------

/** Uniformly random u32 words of `shape` (JAX's `random.bits(key, shape, uint32)`). */
export function randomBits(key: Key, shape: readonly number[]): ArrayBase {
  if (!partitionable) return hashCounts(key, flatIota(shape));
  const [k0, k1] = keyWords(key, "random.randomBits");
  const [a, b] = threefry2x32(k0, k1, np.zeros(shape, "u32"), flatIota(shape));
  return lax.xor(a, b);
}

/** JAX's 8-bit random bits (used for 16-bit floats), widened to u32. */
function randomBytes(key: Key, shape: readonly number[]): ArrayBase {
  if (partitionable) return lax.and(randomBits(key, shape), 0xff);
  // The original layout draws ceil(n/4) words and reads their bytes, lowest byte first.
  const n = shape.reduce((a, b) => a * b, 1);
  const words = Math.ceil(n / 4);
  const bits = hashCounts(key, lax.iota("u32", [words], 0));
  const shifts = lax.mul(lax.iota("u32", [words, 4], 1), 8);
  const bytes = lax.and(lax.shiftRightLogical(lax.broadcastInDim(bits, [words, 4], [0]), shifts), 0xff);
  return lax.reshape(lax.slice(lax.reshape(bytes, [words * 4]), [0], [n]), shape);
}

export interface UniformOptions {
  /** Inclusive lower bound (default 0), a number or an array broadcastable to `shape`. */
  minval?: number | ArrayBase;
  /** Exclusive upper bound (default 1). */
  maxval?: number | ArrayBase;
  dtype?: DType;
}

/** Floats in [1, 2) from random mantissa bits, minus one: JAX's construction, one float per draw. */
function unitFloats(key: Key, shape: readonly number[], dtype: DType): ArrayBase {
  if (dtype === "f32") {
    const mantissa = lax.shiftRightLogical(randomBits(key, shape), 32 - 23);
    return lax.sub(lax.bitcastConvert(lax.or(mantissa, 0x3f800000), "f32"), 1);
  }
  if (dtype === "bf16") {
    // JAX draws 8 bits for bf16 (7 mantissa bits): bf16 bits = (byte >> 1) | bits(1.0). We build the same value as
    // the top half of an f32, which bf16 represents exactly.
    const mantissa = lax.shiftRightLogical(randomBytes(key, shape), 8 - 7);
    const one = lax.convert(lax.bitcastConvert(lax.shiftLeft(lax.or(mantissa, 0x3f80), 16), "f32"), "bf16");
    return lax.sub(one, 1);
  }
  throw new TypeError(`random: needs a float dtype (f32 or bf16), got ${dtype}`);
}

function asFloat(x: number | ArrayBase, dtype: DType): ArrayBase | number {
  if (typeof x === "number") return x;
  return lax.convert(x, dtype);
}

/** Uniform floats in [minval, maxval) (JAX's `random.uniform`). */
export function uniform(key: Key, shape: readonly number[] = [], options: UniformOptions = {}): ArrayBase {
  const dtype = options.dtype ?? "f32";
  const minval = asFloat(options.minval ?? 0, dtype);
  const maxval = asFloat(options.maxval ?? 1, dtype);
  const floats = unitFloats(key, shape, dtype);
  // The span is computed in the target dtype, as JAX does on device.
  const span = typeof minval === "number" && typeof maxval === "number" ? roundTo(roundTo(maxval, dtype) - roundTo(minval, dtype), dtype) : np.subtract(maxval, minval);
  const scaled = np.add(np.multiply(floats, span), minval);
  return np.broadcastTo(np.maximum(scaled, minval), shape);
}

function roundTo(x: number, dtype: DType): number {
  if (dtype === "f32") return Math.fround(x);
  if (dtype === "bf16") {
    // round-to-nearest-even on the top 16 bits of the f32
    const f = new Float32Array([x]);
    const u = new Uint32Array(f.buffer);
    const lsb = (u[0]! >>> 16) & 1;
    u[0] = ((u[0]! + 0x7fff + lsb) >>> 16) << 16;
    return f[0]!;
  }
  return x;
}

/** nextafter(-1, 0) per dtype: the float just above -1, so that erfinv never sees -1. */
const NEXT_AFTER_MINUS_ONE: Record<string, number> = { f32: -(1 - 2 ** -24), bf16: -(1 - 2 ** -8) };

/** Standard normal samples: sqrt(2) * erfinv(u) with u uniform in (-1, 1), as JAX does. */
export function normal(key: Key, shape: readonly number[] = [], options: { dtype?: DType } = {}): ArrayBase {
  const dtype = options.dtype ?? "f32";
  if (!isFloat(dtype)) throw new TypeError(`random.normal: needs a float dtype, got ${dtype}`);
  const u = uniform(key, shape, { minval: NEXT_AFTER_MINUS_ONE[dtype]!, maxval: 1, dtype });
  return lax.mul(erfinv(u), Math.SQRT2);
}

// Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011): the single-precision branch-free form
// that XLA uses for f32 (`ErfInv32`), with w = -log(1 - x^2) and two degree-8 polynomials.
const ERFINV_W_LT_5 = [
  2.81022636e-8, 3.43273939e-7, -3.5233877e-6, -4.39150654e-6, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941,
];
const ERFINV_W_GE_5 = [
  -0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682,
];

/** The inverse error function on (-1, 1) (±inf at ±1), computed in f32 (bf16 inputs are upcast). */
export function erfinv(x: ArrayBase): ArrayBase {
  if (x.dtype === "bf16") return lax.convert(erfinv(lax.convert(x, "f32")), "bf16");
  if (x.dtype !== "f32") throw new TypeError(`erfinv: needs f32 or bf16, got ${x.aval}`);
  let w = lax.neg(lax.log1p(lax.mul(x, lax.neg(x))));
  const small = lax.compare(w, 5, "LT");
  const coefficient = (i: number) => lax.select(small, np.full(x.shape, ERFINV_W_LT_5[i]!), np.full(x.shape, ERFINV_W_GE_5[i]!));
  w = lax.select(small, lax.sub(w, 2.5), lax.sub(lax.sqrt(w), 3));
  let p = coefficient(0);
  for (let i = 1; i < ERFINV_W_LT_5.length; i++) p = lax.add(coefficient(i), lax.mul(p, w));
  const result = lax.mul(p, x);
  return lax.select(lax.compare(lax.abs(x), 1, "EQ"), lax.mul(x, Infinity), result);
}

/** The smallest positive normal f32. */
const F32_TINY = 2 ** -126;

/** Standard Gumbel samples: -log(-log(u)) with u uniform in [tiny, 1) (JAX's default "low" mode). */
export function gumbel(key: Key, shape: readonly number[] = [], options: { dtype?: DType } = {}): ArrayBase {
  const dtype = options.dtype ?? "f32";
  const u = uniform(key, shape, { minval: F32_TINY, maxval: 1, dtype });
  return lax.neg(lax.log(lax.neg(lax.log(u))));
}

/** Samples category indices (i32) from unnormalised log-probabilities along `axis`, by the Gumbel-max trick:
 * argmax(logits + gumbel). `shape` (default: logits' shape without `axis`) may add leading sample dimensions. */
export function categorical(key: Key, logits: ArrayBase, options: { axis?: number; shape?: readonly number[] } = {}): ArrayBase {
  const axis = normalizeAxis(options.axis ?? -1, logits.ndim, "random.categorical");
  const batchShape = logits.shape.filter((_, i) => i !== axis);
  const shape = options.shape ?? batchShape;
  if (shape.length < batchShape.length || shape.slice(shape.length - batchShape.length).join(",") !== batchShape.join(",")) {
    throw new ShapeError(`random.categorical: shape ${showShape(shape)} must end with the batch shape ${showShape(batchShape)} of logits ${logits.aval}`);
  }
  const prefix = shape.slice(0, shape.length - batchShape.length);
  const noiseShape = [...prefix, ...logits.shape];
  const noise = gumbel(key, noiseShape, { dtype: logits.dtype });
  const expanded = lax.broadcastInDim(logits, noiseShape, logits.shape.map((_, i) => i + prefix.length));
  return np.argmax(lax.add(noise, expanded), axis + prefix.length);
}

/** Booleans that are true with probability `p` (JAX's `random.bernoulli`, "low" mode: uniform < p). */
export function bernoulli(key: Key, p: number | ArrayBase = 0.5, shape?: readonly number[]): ArrayBase {
  const outShape = shape ?? (typeof p === "number" ? [] : p.shape);
  const dtype = typeof p === "number" ? "f32" : p.dtype;
  return np.less(uniform(key, outShape, { dtype }), p);
}

/** A random permutation of 0..n-1 (i32), or of `x` along `axis` (JAX's `random.permutation`, bit for bit: one or
 * more rounds of a stable sort by random u32 keys). The sort is written as ranking with an n x n comparison, so
 * it suits n up to a few thousand. */
export function permutation(key: Key, x: number | ArrayBase, options: { axis?: number } = {}): ArrayBase {
  const n = typeof x === "number" ? x : x.shape[normalizeAxis(options.axis ?? 0, x.ndim, "random.permutation")]!;
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`random.permutation: needs a non-negative size, got ${n}`);
  const rounds = Math.ceil((3 * Math.log(Math.max(1, n))) / Math.log(0xffffffff));
  let order = lax.iota("i32", [n], 0);
  let k = key;
  for (let r = 0; r < rounds; r++) {
    const keys = split(k);
    k = keyAt(keys, 0);
    const sortKeys = randomBits(keyAt(keys, 1), [n]);
    order = np.take(order, stableArgsort(sortKeys));
  }
  if (typeof x === "number") return order;
  return np.take(x, order, options.axis ?? 0);
}

/** Indices that sort u32 `keys` ascending, ties kept in index order. */
function stableArgsort(keys: ArrayBase): ArrayBase {
  const n = keys.shape[0]!;
  const ki = lax.broadcastInDim(keys, [n, n], [0]); // [i, j] -> keys[i]
  const kj = lax.broadcastInDim(keys, [n, n], [1]); // [i, j] -> keys[j]
  const i = lax.iota("i32", [n, n], 0);
  const j = lax.iota("i32", [n, n], 1);
  const before = lax.or(lax.compare(kj, ki, "LT"), lax.and(lax.compare(kj, ki, "EQ"), lax.compare(j, i, "LT")));
  const rank = lax.reduce(lax.convert(before, "i32"), "sum", [1]); // [n]: the sorted position of element i
  // order[r] = the i whose rank is r
  const hits = lax.compare(lax.broadcastInDim(rank, [n, n], [1]), lax.iota("i32", [n, n], 0), "EQ"); // [r, i]
  return lax.reduce(lax.select(hits, lax.iota("i32", [n, n], 1), 0), "sum", [1]);
}
