// Host-side values for tests, independent of the library's own conversions: a seeded PRNG, bf16 rounding and
// dtype casts written here from their definitions, index arithmetic, and moving values to and from a device.
import { type ArrayBase, type DType, DeviceArray, np, tidy } from "../../src/index.js";
import type { DeviceKind } from "../../src/runtime/device.js";

/** A value on the host: numbers in row-major order (bf16 as the float it encodes, bool as 0/1). */
export interface HostValue {
  dtype: DType;
  shape: number[];
  data: number[];
}

export function hv(dtype: DType, shape: readonly number[], data: readonly number[]): HostValue {
  const size = sizeOf(shape);
  if (data.length !== size) throw new Error(`hv: shape [${shape}] needs ${size} values, got ${data.length}`);
  return { dtype, shape: [...shape], data: data.map((v) => castTo(dtype, v)) };
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

// --- PRNG --------------------------------------------------------------------------------------------------

/** mulberry32: small, seeded, good enough for test data. */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RandomOptions {
  min?: number;
  max?: number;
  /** Keep values at least this far from zero (for divisors, logs). */
  awayFromZero?: number;
}

/** Random values of a dtype: floats uniform in [min, max) and exactly representable in the dtype; integers
 * uniform in [min, max]; bools fair. */
export function randomValue(dtype: DType, shape: readonly number[], seed: number, options: RandomOptions = {}): HostValue {
  const rng = makeRng(seed);
  const size = sizeOf(shape);
  const data: number[] = [];
  for (let i = 0; i < size; i++) {
    let v: number;
    switch (dtype) {
      case "bool":
        v = rng() < 0.5 ? 1 : 0;
        break;
      case "i32":
      case "u32":
      case "i64": {
        const lo = options.min ?? (dtype === "u32" ? 0 : -20);
        const hi = options.max ?? 20;
        v = lo + Math.floor(rng() * (hi - lo + 1));
        const away = options.awayFromZero === undefined ? undefined : Math.max(1, Math.ceil(options.awayFromZero));
        if (away !== undefined && Math.abs(v) < away) v = v < 0 ? -away : away;
        break;
      }
      default: {
        const lo = options.min ?? -2;
        const hi = options.max ?? 2;
        v = lo + rng() * (hi - lo);
        const away = options.awayFromZero;
        if (away !== undefined && Math.abs(v) < away) v = v < 0 ? v - away : v + away;
      }
    }
    data.push(castTo(dtype, v));
  }
  return { dtype, shape: [...shape], data };
}

// --- dtype semantics, written from their definitions ----------------------------------------------------------

const f32Box = new Float32Array(1);
const u32Box = new Uint32Array(f32Box.buffer);

/** The f32 bit pattern of a number (after rounding it to f32). */
export function f32Bits(v: number): number {
  f32Box[0] = v;
  return u32Box[0]!;
}

export function f32FromBits(bits: number): number {
  u32Box[0] = bits >>> 0;
  return f32Box[0]!;
}

/** Rounds a number to bf16 (8 significant bits) with round-to-nearest-even, computed on the f32 pattern:
 * keep the top 16 bits, and round up when the dropped 16 bits exceed half, or equal half with an odd kept part. */
export function bf16Round(v: number): number {
  if (Number.isNaN(v)) return NaN;
  const bits = f32Bits(v);
  const kept = bits >>> 16;
  const dropped = bits & 0xffff;
  let top = kept;
  if (dropped > 0x8000 || (dropped === 0x8000 && (kept & 1) === 1)) top = kept + 1;
  return f32FromBits((top << 16) >>> 0);
}

/** Rounds a number to bf16 by arithmetic on its magnitude, without looking at bits (a second, independent
 * oracle for bf16Round): bf16 numbers in [2^e, 2^(e+1)) are spaced 2^(e-7) apart, and 2^-133 apart below 2^-126
 * (subnormals); scale by the spacing (exact in float64), round half to even, scale back, overflow to infinity
 * at 2^128. The input is first stored as f32, as a conversion from f32 sees it. */
export function bf16Arithmetic(v: number): number {
  const x = Math.fround(v);
  if (!Number.isFinite(x) || x === 0) return x;
  const magnitude = Math.abs(x);
  let e = Math.floor(Math.log2(magnitude));
  if (2 ** e > magnitude) e--;
  if (2 ** (e + 1) <= magnitude) e++;
  const spacing = 2 ** Math.max(e - 7, -133);
  const q = magnitude / spacing;
  const below = Math.floor(q);
  const rest = q - below;
  const n = rest > 0.5 || (rest === 0.5 && below % 2 === 1) ? below + 1 : below;
  const rounded = n * spacing;
  return Math.sign(x) * (rounded >= 2 ** 128 ? Infinity : rounded);
}

/** The value `v` takes when stored in `dtype`: f32/bf16 rounding, integer wrap-around, bool = nonzero. */
export function castTo(dtype: DType, v: number): number {
  switch (dtype) {
    case "f32":
      return Math.fround(v);
    case "bf16":
      return bf16Round(v);
    case "i32":
      return Number(BigInt.asIntN(32, BigInt(Math.trunc(v))));
    case "u32":
      return Number(BigInt.asUintN(32, BigInt(Math.trunc(v))));
    case "i64":
      return Math.trunc(v);
    case "bool":
      return v !== 0 ? 1 : 0;
  }
}

export function isFloatDtype(dtype: DType): boolean {
  return dtype === "f32" || dtype === "bf16";
}

// --- indices ----------------------------------------------------------------------------------------------

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d]!;
  }
  return s;
}

export function unravelIndex(flat: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length).fill(0);
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = rest % shape[d]!;
    rest = Math.floor(rest / shape[d]!);
  }
  return out;
}

export function ravelIndex(index: readonly number[], shape: readonly number[]): number {
  let flat = 0;
  for (let d = 0; d < shape.length; d++) flat = flat * shape[d]! + index[d]!;
  return flat;
}

/** Element of `x` at a multi-index. */
export function at(x: HostValue, index: readonly number[]): number {
  return x.data[ravelIndex(index, x.shape)]!;
}

/** numpy broadcasting of shapes (throws on a mismatch). */
export function broadcastShape(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 1; i <= s.length; i++) {
      const d = s[s.length - i]!;
      const o = out[rank - i]!;
      if (o === 1) out[rank - i] = d;
      else if (d !== 1 && d !== o) throw new Error(`shapes do not broadcast: ${shapes.map((x) => `[${x}]`).join(" ")}`);
    }
  }
  return out;
}

/** The element of `x` that numpy broadcasting maps to `index` of the broadcast result. */
export function broadcastAt(x: HostValue, index: readonly number[]): number {
  const offset = index.length - x.shape.length;
  const own = x.shape.map((d, i) => (d === 1 ? 0 : index[i + offset]!));
  return at(x, own);
}

/** Builds a HostValue of `shape` from a function of the multi-index. */
export function fromIndex(dtype: DType, shape: readonly number[], fn: (index: number[]) => number): HostValue {
  const size = sizeOf(shape);
  const data: number[] = [];
  for (let flat = 0; flat < size; flat++) data.push(castTo(dtype, fn(unravelIndex(flat, shape))));
  return { dtype, shape: [...shape], data };
}

/** Elementwise map with numpy broadcasting; `fn` sees the operands' values and returns the exact result, which is
 * then stored in `dtype`. */
export function mapBroadcast(dtype: DType, inputs: readonly HostValue[], fn: (...values: number[]) => number): HostValue {
  const shape = broadcastShape(...inputs.map((x) => x.shape));
  return fromIndex(dtype, shape, (index) => fn(...inputs.map((x) => broadcastAt(x, index))));
}

// --- devices ----------------------------------------------------------------------------------------------

/** Places a host value on a device (bf16 data are already representable, so nothing is rounded again). */
export function toDevice(x: HostValue, device: DeviceKind = "reference"): DeviceArray {
  return np.array(x.data, { dtype: x.dtype, shape: x.shape, device });
}

/** Reads an array back as a HostValue (bf16 bit patterns decoded here, independently of the library). */
export async function readHost(x: ArrayBase): Promise<HostValue> {
  const array = x as DeviceArray;
  if (typeof array.data !== "function") throw new Error(`readHost: ${String(x)} is not a concrete array`);
  const raw = await array.data();
  const data: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const v = Number(raw[i]!);
    data.push(array.dtype === "bf16" ? f32FromBits((v << 16) >>> 0) : v);
  }
  return { dtype: array.dtype, shape: [...array.shape], data };
}

/** Reads arrays back as HostValues, then disposes them (whether or not a read failed). */
export async function readAndDispose(arrays: readonly ArrayBase[]): Promise<HostValue[]> {
  try {
    return await Promise.all(arrays.map(readHost));
  } finally {
    for (const a of arrays) if (a instanceof DeviceArray) a.dispose();
  }
}

/** Builds one array inside tidy (so every array made on the way is freed), reads it back and disposes it. */
export async function readTidy(fn: () => ArrayBase): Promise<HostValue> {
  const [value] = await readAndDispose([tidy(fn)]);
  return value!;
}

/** Disposes every DeviceArray in the given values, looking inside arrays and plain objects (pytrees). */
export function disposeTree(...trees: unknown[]): void {
  const visit = (value: unknown): void => {
    if (value instanceof DeviceArray) value.dispose();
    else if (Array.isArray(value)) value.forEach(visit);
    else if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) Object.values(value).forEach(visit);
  };
  trees.forEach(visit);
}
