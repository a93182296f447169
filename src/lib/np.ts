// numpy-style operations with broadcasting, built from primitives. JS numbers act as scalars of the other
// operand's dtype; array operands of different dtypes are an error (convert with astype).
import { ArrayBase, ScalarConst } from "../core/array_base.js";
import { normalizeAxis, showShape } from "../core/aval.js";
import type { DType } from "../core/dtype.js";
import { ShapeError } from "../core/errors.js";
import type { ComparisonDirection } from "../core/primitive.js";
import { DeviceArray } from "../runtime/array.js";
import { type Device, type DeviceKind, defaultDevice, getDevice } from "../runtime/device.js";
import { toHostTensor } from "../runtime/host.js";
import { onDeviceOf } from "../transforms/eager.js";
import * as lax from "../ops/index.js";
import type { DotOptions } from "../ops/dot.js";

export type ArrayLike = ArrayBase | number;

export interface ArrayOptions {
  dtype?: DType;
  shape?: readonly number[];
  device?: DeviceKind | Device;
}

/** A new array from nested JS arrays, a typed array or a number (f32 unless `dtype` says otherwise). */
export function array(values: unknown, options: ArrayOptions = {}): DeviceArray {
  const dtype = options.dtype ?? inferDtype(values);
  const device = options.device === undefined ? defaultDevice() : getDevice(options.device);
  return DeviceArray.fromHost(toHostTensor(values, dtype, options.shape), device, options.device !== undefined);
}

function inferDtype(values: unknown): DType {
  if (values instanceof Int32Array) return "i32";
  if (values instanceof Uint32Array) return "u32";
  if (values instanceof Uint8Array) return "bool";
  let v: unknown = values;
  while (Array.isArray(v) && v.length > 0) v = v[0];
  return typeof v === "boolean" ? "bool" : "f32";
}

/** The array on `device` (copied there if it lives elsewhere; the same array if it is already there). */
export function asarray(x: ArrayLike, options: { device?: DeviceKind | Device; dtype?: DType } = {}): ArrayBase {
  if (!(x instanceof ArrayBase)) return array(x, options);
  let result: ArrayBase = x;
  if (options.dtype !== undefined) result = astype(result, options.dtype);
  if (options.device !== undefined && result instanceof DeviceArray) {
    const device = getDevice(options.device);
    if (result.device !== device) result = new DeviceArray(result.aval, device, device.transfer(result, "asarray"));
  }
  return result;
}

export function full(shape: readonly number[], value: number, dtype: DType = "f32"): ArrayBase {
  return lax.broadcastInDim(new ScalarConst(value, dtype), shape, []);
}

export const zeros = (shape: readonly number[], dtype: DType = "f32"): ArrayBase => full(shape, 0, dtype);
export const ones = (shape: readonly number[], dtype: DType = "f32"): ArrayBase => full(shape, 1, dtype);
export const zerosLike = (x: ArrayBase): ArrayBase => full(x.shape, 0, x.dtype);
export const onesLike = (x: ArrayBase): ArrayBase => full(x.shape, 1, x.dtype);

/** 0, 1, ..., n-1 (i32 unless dtype says otherwise). */
export function arange(n: number, dtype: DType = "i32"): ArrayBase {
  return lax.iota(dtype, [n], 0);
}

export function astype(x: ArrayBase, dtype: DType): ArrayBase {
  return lax.convert(x, dtype);
}

// --- broadcasting --------------------------------------------------------------------------------------------

export function broadcastShapes(where: string, ...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const d = s[s.length - 1 - i]!;
      const o = rank - 1 - i;
      if (out[o] === 1) out[o] = d;
      else if (d !== 1 && d !== out[o]) {
        throw new ShapeError(`${where}: shapes ${shapes.map(showShape).join(" and ")} do not broadcast`);
      }
    }
  }
  return out;
}

export function broadcastTo(x: ArrayBase, shape: readonly number[]): ArrayBase {
  const offset = shape.length - x.ndim;
  if (offset < 0) throw new ShapeError(`broadcastTo: cannot broadcast ${x.aval} to the lower rank ${showShape(shape)}`);
  broadcastShapes("broadcastTo", x.shape, shape);
  const dims = x.shape.map((_, i) => i + offset);
  return lax.broadcastInDim(x, shape, dims);
}

function binaryDtype(where: string, a: ArrayLike, b: ArrayLike): DType {
  if (a instanceof ArrayBase && b instanceof ArrayBase && a.dtype !== b.dtype) {
    throw new TypeError(`${where}: dtypes differ (${a.aval} and ${b.aval}); convert one with np.astype`);
  }
  if (a instanceof ArrayBase) return a.dtype;
  if (b instanceof ArrayBase) return b.dtype;
  return "f32";
}

function toArray(x: ArrayLike, dtype: DType): ArrayBase {
  return x instanceof ArrayBase ? x : new ScalarConst(x, dtype);
}

/** Brings operands to a common broadcast shape and dtype. */
function broadcastAll(where: string, ...xs: ArrayLike[]): ArrayBase[] {
  let dtype: DType | undefined;
  for (const x of xs) {
    if (x instanceof ArrayBase) {
      if (dtype !== undefined && x.dtype !== dtype) throw new TypeError(`${where}: dtypes differ (${xs.filter((y) => y instanceof ArrayBase).map((y) => (y as ArrayBase).aval).join(", ")}); convert with np.astype`);
      dtype = x.dtype;
    }
  }
  const arrays = xs.map((x) => toArray(x, dtype ?? "f32"));
  const shape = broadcastShapes(where, ...arrays.map((a) => a.shape));
  return onDeviceOf(where, xs, () => arrays.map((a) => broadcastTo(a, shape)));
}

function binary(name: string, op: (a: ArrayBase, b: ArrayBase) => ArrayBase) {
  return (a: ArrayLike, b: ArrayLike): ArrayBase => {
    binaryDtype(name, a, b);
    const [x, y] = broadcastAll(name, a, b);
    return op(x!, y!);
  };
}

export const add = binary("add", lax.add);
export const subtract = binary("subtract", lax.sub);
export const multiply = binary("multiply", lax.mul);
export const divide = binary("divide", lax.div);
export const power = binary("power", lax.pow);
export const maximum = binary("maximum", lax.max);
export const minimum = binary("minimum", lax.min);
export const remainder = binary("remainder", lax.rem);
export const bitwiseAnd = binary("bitwiseAnd", lax.and);
export const bitwiseOr = binary("bitwiseOr", lax.or);
export const bitwiseXor = binary("bitwiseXor", lax.xor);
export const leftShift = binary("leftShift", lax.shiftLeft);
export const rightShift = binary("rightShift", lax.shiftRightLogical);
export { add as plus, subtract as sub, multiply as mul, divide as div };

export const negative = (x: ArrayBase): ArrayBase => lax.neg(x);
export const exp = (x: ArrayBase): ArrayBase => lax.exp(x);
export const log = (x: ArrayBase): ArrayBase => lax.log(x);
export const log1p = (x: ArrayBase): ArrayBase => lax.log1p(x);
export const tanh = (x: ArrayBase): ArrayBase => lax.tanh(x);
export const sqrt = (x: ArrayBase): ArrayBase => lax.sqrt(x);
export const rsqrt = (x: ArrayBase): ArrayBase => lax.rsqrt(x);
export const abs = (x: ArrayBase): ArrayBase => lax.abs(x);
export const sign = (x: ArrayBase): ArrayBase => lax.sign(x);
export const floor = (x: ArrayBase): ArrayBase => lax.floor(x);
export const sin = (x: ArrayBase): ArrayBase => lax.sin(x);
export const cos = (x: ArrayBase): ArrayBase => lax.cos(x);
export const logicalNot = (x: ArrayBase): ArrayBase => lax.not(x);
export const square = (x: ArrayBase): ArrayBase => lax.mul(x, x);
export const sigmoid = (x: ArrayBase): ArrayBase => lax.logistic(x);
export const expm1 = (x: ArrayBase): ArrayBase => lax.sub(lax.exp(x), 1);

function comparison(name: string, direction: ComparisonDirection) {
  return (a: ArrayLike, b: ArrayLike): ArrayBase => {
    binaryDtype(name, a, b);
    const [x, y] = broadcastAll(name, a, b);
    return lax.compare(x!, y!, direction);
  };
}

export const equal = comparison("equal", "EQ");
export const notEqual = comparison("notEqual", "NE");
export const less = comparison("less", "LT");
export const lessEqual = comparison("lessEqual", "LE");
export const greater = comparison("greater", "GT");
export const greaterEqual = comparison("greaterEqual", "GE");

/** Elementwise choice: `onTrue` where `condition` holds, else `onFalse` (all three broadcast together). */
export function where(condition: ArrayBase, onTrue: ArrayLike, onFalse: ArrayLike): ArrayBase {
  if (condition.dtype !== "bool") throw new TypeError(`where: the condition must be bool, got ${condition.aval}`);
  const dtype = binaryDtype("where", onTrue, onFalse);
  const t = toArray(onTrue, dtype);
  const f = toArray(onFalse, dtype);
  const shape = broadcastShapes("where", condition.shape, t.shape, f.shape);
  return lax.select(broadcastTo(condition, shape), broadcastTo(t, shape), broadcastTo(f, shape));
}

export function clip(x: ArrayBase, lo: ArrayLike, hi: ArrayLike): ArrayBase {
  return minimum(maximum(x, lo), hi);
}

// --- reductions ----------------------------------------------------------------------------------------------

export interface ReduceOptions {
  axis?: number | readonly number[];
  keepdims?: boolean;
}

function reductionAxes(x: ArrayBase, axis: number | readonly number[] | undefined, where: string): number[] {
  if (axis === undefined) return x.shape.map((_, i) => i);
  const list = typeof axis === "number" ? [axis] : [...axis];
  const normalized = list.map((a) => normalizeAxis(a, x.ndim, where));
  if (new Set(normalized).size !== normalized.length) throw new RangeError(`${where}: repeated axis in ${showShape(list)}`);
  return normalized.sort((a, b) => a - b);
}

function keepDims(x: ArrayBase, reduced: ArrayBase, axes: readonly number[], keep: boolean | undefined): ArrayBase {
  if (!keep) return reduced;
  return lax.reshape(reduced, x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
}

function reduction(name: string, op: "sum" | "max" | "min" | "and" | "or") {
  return (x: ArrayBase, options: ReduceOptions = {}): ArrayBase => {
    const axes = reductionAxes(x, options.axis, name);
    return keepDims(x, lax.reduce(x, op, axes), axes, options.keepdims);
  };
}

export const sum = reduction("sum", "sum");
export const max = reduction("max", "max");
export const min = reduction("min", "min");
// numpy's all/any test truth values; lax's and/or reductions are bitwise on integers.
const truth = (x: ArrayBase): ArrayBase => (x.dtype === "bool" ? x : lax.compare(x, 0, "NE"));
const reduceAll = reduction("all", "and");
const reduceAny = reduction("any", "or");
export const all = (x: ArrayBase, options: ReduceOptions = {}): ArrayBase => reduceAll(truth(x), options);
export const any = (x: ArrayBase, options: ReduceOptions = {}): ArrayBase => reduceAny(truth(x), options);

export function mean(x: ArrayBase, options: ReduceOptions = {}): ArrayBase {
  const axes = reductionAxes(x, options.axis, "mean");
  const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
  return divide(sum(x, options), count);
}

/** Population variance (ddof 0) unless `ddof` says otherwise. */
export function variance(x: ArrayBase, options: ReduceOptions & { ddof?: number } = {}): ArrayBase {
  const axes = reductionAxes(x, options.axis, "variance");
  const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
  const centered = subtract(x, mean(x, { axis: axes, keepdims: true }));
  return divide(sum(square(centered), { axis: axes, keepdims: options.keepdims ?? false }), count - (options.ddof ?? 0));
}

export function std(x: ArrayBase, options: ReduceOptions & { ddof?: number } = {}): ArrayBase {
  return sqrt(variance(x, options));
}

export function argmax(x: ArrayBase, axis = -1): ArrayBase {
  return lax.argmax(x, normalizeAxis(axis, x.ndim, "argmax"));
}

export function argmin(x: ArrayBase, axis = -1): ArrayBase {
  // Reverse the order without overflow: negation for floats (NaN stays first), bitwise not for integers and
  // bools (~x is decreasing for i32 and u32, where -x wraps at INT32_MIN and for every nonzero u32).
  const reversed = x.dtype === "f32" || x.dtype === "bf16" ? negative(x) : lax.not(x);
  return lax.argmax(reversed, normalizeAxis(axis, x.ndim, "argmin"));
}

/** Inclusive cumulative sum along `axis`, as a matmul with a triangular mask (exact for small sizes, and
 * differentiable through dot_general). */
export function cumsum(x: ArrayBase, axis = -1): ArrayBase {
  const a = normalizeAxis(axis, x.ndim, "cumsum");
  const n = x.shape[a]!;
  const rows = lax.iota("i32", [n, n], 0);
  const cols = lax.iota("i32", [n, n], 1);
  const mask = lax.convert(lax.compare(rows, cols, "LE"), x.dtype); // mask[j, i] = 1 when j <= i
  const moved = moveAxisToEnd(x, a);
  const summed = lax.dotGeneral(moved, mask, { lhsContracting: [moved.ndim - 1], rhsContracting: [0], lhsBatch: [], rhsBatch: [] });
  return moveAxisFromEnd(summed, a);
}

function moveAxisToEnd(x: ArrayBase, axis: number): ArrayBase {
  const perm = x.shape.map((_, i) => i).filter((i) => i !== axis);
  perm.push(axis);
  return lax.transpose(x, perm);
}

function moveAxisFromEnd(x: ArrayBase, axis: number): ArrayBase {
  const last = x.ndim - 1;
  const perm: number[] = [];
  for (let i = 0, k = 0; i < x.ndim; i++) perm.push(i === axis ? last : k++);
  return lax.transpose(x, perm);
}

// --- shapes --------------------------------------------------------------------------------------------------

export function reshape(x: ArrayBase, shape: readonly number[]): ArrayBase {
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const holes = shape.filter((d) => d === -1).length;
  if (holes > 1) throw new ShapeError(`reshape: at most one -1 allowed in ${showShape(shape)}`);
  const resolved = shape.map((d) => (d === -1 ? (known === 0 ? 0 : x.size / known) : d));
  if (resolved.some((d) => !Number.isInteger(d))) throw new ShapeError(`reshape: cannot reshape ${x.aval} to ${showShape(shape)}`);
  return lax.reshape(x, resolved);
}

export function transpose(x: ArrayBase, axes?: readonly number[]): ArrayBase {
  const perm = axes === undefined ? x.shape.map((_, i) => x.ndim - 1 - i) : axes.map((a) => normalizeAxis(a, x.ndim, "transpose"));
  return lax.transpose(x, perm);
}

export function swapaxes(x: ArrayBase, a: number, b: number): ArrayBase {
  const perm = x.shape.map((_, i) => i);
  const i = normalizeAxis(a, x.ndim, "swapaxes");
  const j = normalizeAxis(b, x.ndim, "swapaxes");
  [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  return lax.transpose(x, perm);
}

export function expandDims(x: ArrayBase, axis: number): ArrayBase {
  const a = normalizeAxis(axis, x.ndim + 1, "expandDims");
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return lax.reshape(x, shape);
}

export function squeeze(x: ArrayBase, axis?: number | readonly number[]): ArrayBase {
  const axes = axis === undefined ? x.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : reductionAxes(x, axis, "squeeze");
  for (const a of axes) if (x.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${a} of ${x.aval} is not 1`);
  return lax.reshape(x, x.shape.filter((_, i) => !axes.includes(i)));
}

export function concatenate(xs: readonly ArrayBase[], axis = 0): ArrayBase {
  if (xs.length === 0) throw new ShapeError("concatenate: needs at least one array");
  return lax.concatenate(xs, normalizeAxis(axis, xs[0]!.ndim, "concatenate"));
}

export function stack(xs: readonly ArrayBase[], axis = 0): ArrayBase {
  if (xs.length === 0) throw new ShapeError("stack: needs at least one array");
  const a = normalizeAxis(axis, xs[0]!.ndim + 1, "stack");
  return lax.concatenate(xs.map((x) => expandDims(x, a)), a);
}

/** x[start:stop] along one axis. */
export function sliceAxis(x: ArrayBase, axis: number, start: number, stop: number, step = 1): ArrayBase {
  const a = normalizeAxis(axis, x.ndim, "sliceAxis");
  const begin = x.shape.map((_, i) => (i === a ? start : 0));
  const end = x.shape.map((d, i) => (i === a ? stop : d));
  const strides = x.shape.map((_, i) => (i === a ? step : 1));
  return lax.slice(x, begin, end, strides);
}

export function pad(x: ArrayBase, widths: readonly (readonly [number, number])[], value = 0): ArrayBase {
  if (widths.length !== x.ndim) throw new ShapeError(`pad: needs ${x.ndim} (before, after) pairs for ${x.aval}`);
  return lax.pad(x, value, widths.map((w) => w[0]), widths.map((w) => w[1]));
}

// --- contraction ---------------------------------------------------------------------------------------------

/** Matrix product with numpy semantics: batch dims broadcast, 1-D operands are promoted and squeezed. */
export function matmul(a: ArrayBase, b: ArrayBase, options: DotOptions = {}): ArrayBase {
  binaryDtype("matmul", a, b);
  if (a.ndim === 0 || b.ndim === 0) throw new ShapeError(`matmul: operands must have rank >= 1, got ${a.aval} and ${b.aval}`);
  const x = a.ndim === 1 ? lax.reshape(a, [1, a.shape[0]!]) : a;
  const y = b.ndim === 1 ? lax.reshape(b, [b.shape[0]!, 1]) : b;
  const batch = broadcastShapes("matmul", x.shape.slice(0, -2), y.shape.slice(0, -2));
  const [m, k] = x.shape.slice(-2) as [number, number];
  const [k2, n] = y.shape.slice(-2) as [number, number];
  if (k !== k2) throw new ShapeError(`matmul: contracting dims differ: ${a.aval} @ ${b.aval}`);
  if (y.ndim === 2 && b.ndim === 2) {
    // A matrix on the right (a weight, a LoRA factor): one product over all of x's leading axes. Broadcasting the
    // matrix to x's batch would materialise a copy per batch index, run one small product per index, and make the
    // gradient sum the copies back.
    const out = lax.dotGeneral(x, y, { lhsContracting: [x.ndim - 1], rhsContracting: [0], lhsBatch: [], rhsBatch: [] }, options);
    return a.ndim === 1 ? lax.reshape(out, [n]) : out;
  }
  const xb = broadcastTo(x, [...batch, m, k]);
  const yb = broadcastTo(y, [...batch, k, n]);
  const nb = batch.length;
  const batchDims = batch.map((_, i) => i);
  let out = lax.dotGeneral(xb, yb, { lhsContracting: [nb + 1], rhsContracting: [nb], lhsBatch: batchDims, rhsBatch: batchDims }, options);
  if (a.ndim === 1) out = lax.reshape(out, [...batch, n]);
  if (b.ndim === 1) out = lax.reshape(out, out.shape.slice(0, -1));
  return out;
}

export function dot(a: ArrayBase, b: ArrayBase): ArrayBase {
  return matmul(a, b);
}

/** Einstein summation over named axes, e.g. "btnh,bsnh->bnts". Lowers to one dot_general (plus transposes and
 * reductions); every output letter must appear in an input. */
export function einsum(spec: string, a: ArrayBase, b?: ArrayBase, options: DotOptions = {}): ArrayBase {
  const [lhs, out] = spec.replace(/\s+/g, "").split("->") as [string, string | undefined];
  if (out === undefined) throw new ShapeError(`einsum: '${spec}' needs an explicit '->output'`);
  const inputs = lhs.split(",");
  if (inputs.length !== (b === undefined ? 1 : 2)) throw new ShapeError(`einsum: '${spec}' names ${inputs.length} operands`);
  const check = (letters: string, x: ArrayBase) => {
    if (letters.length !== x.ndim) throw new ShapeError(`einsum: '${letters}' has ${letters.length} axes, operand ${x.aval} has ${x.ndim}`);
    if (new Set(letters).size !== letters.length) throw new ShapeError(`einsum: repeated axis in '${letters}' (traces are not supported)`);
  };
  const sa = inputs[0]!;
  check(sa, a);
  if (b === undefined) {
    const summed = [...sa].flatMap((c, i) => (out.includes(c) ? [] : [i]));
    const reduced = summed.length > 0 ? lax.reduce(a, "sum", summed) : a;
    const remaining = [...sa].filter((c) => out.includes(c)).join("");
    return lax.transpose(reduced, [...out].map((c) => remaining.indexOf(c)));
  }
  const sb = inputs[1]!;
  check(sb, b);
  binaryDtype("einsum", a, b);
  for (const c of out) if (!sa.includes(c) && !sb.includes(c)) throw new ShapeError(`einsum: output axis '${c}' appears in no input`);
  // Letters only in one operand and not in the output are summed there first.
  const sumAway = (letters: string, other: string, x: ArrayBase): [string, ArrayBase] => {
    const axes = [...letters].flatMap((c, i) => (!out.includes(c) && !other.includes(c) ? [i] : []));
    if (axes.length === 0) return [letters, x];
    return [[...letters].filter((_, i) => !axes.includes(i)).join(""), lax.reduce(x, "sum", axes)];
  };
  const [la, xa] = sumAway(sa, sb, a);
  const [lb, xb] = sumAway(sb, sa, b);
  const batch = [...la].filter((c) => lb.includes(c) && out.includes(c));
  const contract = [...la].filter((c) => lb.includes(c) && !out.includes(c));
  for (const c of [...batch, ...contract]) {
    if (xa.shape[la.indexOf(c)] !== xb.shape[lb.indexOf(c)]) {
      throw new ShapeError(`einsum '${spec}': axis '${c}' has size ${xa.shape[la.indexOf(c)]} in ${a.aval} and ${xb.shape[lb.indexOf(c)]} in ${b.aval}`);
    }
  }
  const result = lax.dotGeneral(xa, xb, {
    lhsBatch: batch.map((c) => la.indexOf(c)),
    rhsBatch: batch.map((c) => lb.indexOf(c)),
    lhsContracting: contract.map((c) => la.indexOf(c)),
    rhsContracting: contract.map((c) => lb.indexOf(c)),
  }, options);
  const resultLetters = [...batch, ...[...la].filter((c) => !lb.includes(c)), ...[...lb].filter((c) => !la.includes(c))].join("");
  return lax.transpose(result, [...out].map((c) => resultLetters.indexOf(c)));
}

// --- indexing ------------------------------------------------------------------------------------------------

/** Elements of `x` at integer `indices` along `axis` (numpy `take`; indices are clamped into range). */
export function take(x: ArrayBase, indices: ArrayBase, axis = 0): ArrayBase {
  const a = normalizeAxis(axis, x.ndim, "take");
  const sliceSizes = x.shape.map((d, i) => (i === a ? 1 : d));
  const offsetDims: number[] = [];
  for (let i = 0, k = 0; i < x.ndim; i++) {
    if (i === a) continue;
    offsetDims.push(i < a ? i : indices.ndim + i - 1);
    k++;
  }
  return lax.gather(x, indices, { offsetDims, collapsedSliceDims: [a], startIndexMap: [a], indexVectorDim: indices.ndim }, sliceSizes);
}

/** numpy `take_along_axis`: `indices` has x's rank; picks x[..., indices[..., j, ...], ...] along `axis`
 * (other axes broadcast). One gather with a full index per element; its gradient is a scatter-add. */
export function takeAlongAxis(x: ArrayBase, indices: ArrayBase, axis = -1): ArrayBase {
  const a = normalizeAxis(axis, x.ndim, "takeAlongAxis");
  if (indices.ndim !== x.ndim) throw new ShapeError(`takeAlongAxis: indices ${indices.aval} must have the rank of ${x.aval}`);
  const outShape = broadcastShapes(
    "takeAlongAxis",
    x.shape.map((d, i) => (i === a ? 1 : d)),
    indices.shape.map((d, i) => (i === a ? 1 : d)),
  );
  outShape[a] = indices.shape[a]!;
  const columns = x.shape.map((_, i) => {
    const column = i === a ? broadcastTo(lax.convert(indices, "i32"), outShape) : lax.iota("i32", outShape, i);
    return lax.reshape(column, [...outShape, 1]);
  });
  const full = lax.concatenate(columns, outShape.length);
  const all = x.shape.map((_, i) => i);
  return lax.gather(x, full, { offsetDims: [], collapsedSliceDims: all, startIndexMap: all, indexVectorDim: outShape.length }, x.shape.map(() => 1));
}

/** One-hot encoding: [..., depth] with 1 at each index (0 where the index is out of range). */
export function oneHot(indices: ArrayBase, depth: number, dtype: DType = "f32"): ArrayBase {
  const shape = [...indices.shape, depth];
  const positions = lax.iota(indices.dtype, shape, indices.ndim);
  const expanded = lax.broadcastInDim(indices, shape, indices.shape.map((_, i) => i));
  return lax.convert(lax.compare(expanded, positions, "EQ"), dtype);
}
