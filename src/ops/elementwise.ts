// Elementwise primitives: unary math, binary arithmetic and bit ops, compare, select, clamp, conversions.
// Operands of a primitive have equal shapes and dtypes; the wrappers below broadcast rank-0 operands and turn JS
// numbers into scalars of the other operand's dtype, so rules read like the math.
import { ArrayBase, ScalarConst } from "../core/array_base.js";
import { Aval, sameShape, showShape } from "../core/aval.js";
import { type DType, byteSize, isFloat, isInteger, isSigned } from "../core/dtype.js";
import { ShapeError } from "../core/errors.js";
import { type ComparisonDirection, Primitive } from "../core/primitive.js";
import { type HostTensor, hostTensor, readNumber, writeNumber } from "../runtime/host.js";
import { attr } from "../../hlo/index.js";
import { onDeviceOf } from "../transforms/eager.js";
import { bind1 } from "./bind.js";
import { compareTypeOfElement, hloType } from "./lower_util.js";
import { broadcastInDim } from "./shape.js";
import { tf, withTf } from "./tf.js";
import type { PrimitiveDef } from "./types.js";

type Unary =
  | Primitive.Neg
  | Primitive.Exp
  | Primitive.Log
  | Primitive.Log1p
  | Primitive.Tanh
  | Primitive.Logistic
  | Primitive.Sqrt
  | Primitive.Rsqrt
  | Primitive.Abs
  | Primitive.Sign
  | Primitive.Floor
  | Primitive.Sin
  | Primitive.Cos
  | Primitive.Not;

type Binary =
  | Primitive.Add
  | Primitive.Sub
  | Primitive.Mul
  | Primitive.Div
  | Primitive.Pow
  | Primitive.Max
  | Primitive.Min
  | Primitive.Rem
  | Primitive.And
  | Primitive.Or
  | Primitive.Xor
  | Primitive.ShiftLeft
  | Primitive.ShiftRightLogical;

type DTypeClass = "float" | "signed-or-float" | "numeric" | "integer-or-bool" | "integer" | "any";

function accepts(cls: DTypeClass, dtype: DType): boolean {
  switch (cls) {
    case "float":
      return isFloat(dtype);
    case "signed-or-float":
      return isFloat(dtype) || isSigned(dtype);
    case "numeric":
      return dtype !== "bool";
    case "integer-or-bool":
      return isInteger(dtype) || dtype === "bool";
    case "integer":
      return isInteger(dtype);
    case "any":
      return true;
  }
}

const classText: Record<DTypeClass, string> = {
  float: "a float dtype (f32, bf16)",
  // StableHLO's abs and sign take no unsigned integers.
  "signed-or-float": "a signed integer or float dtype (i32, f32, bf16)",
  numeric: "a numeric dtype (not bool)",
  "integer-or-bool": "an integer or bool dtype",
  integer: "an integer dtype (i32, u32)",
  any: "any dtype",
};

function checkClass(op: string, cls: DTypeClass, avals: readonly Aval[]): void {
  for (const a of avals) {
    if (!accepts(cls, a.dtype)) throw new ShapeError(`${op}: needs ${classText[cls]}, got ${a}`);
  }
}

/** Checks that all operands share shape and dtype. */
export function checkSame(op: string, avals: readonly Aval[]): void {
  const first = avals[0]!;
  for (const a of avals.slice(1)) {
    if (!sameShape(a.shape, first.shape) || a.dtype !== first.dtype) {
      throw new ShapeError(`${op}: operands must have equal shapes and dtypes, got ${avals.map(String).join(", ")}`);
    }
  }
}

function mapUnary(x: HostTensor, outDtype: DType, fn: (v: number) => number): HostTensor {
  const out = hostTensor(outDtype, x.shape);
  for (let i = 0; i < x.data.length; i++) writeNumber(out, i, fn(readNumber(x, i)));
  return out;
}

function mapBinary(a: HostTensor, b: HostTensor, outDtype: DType, fn: (x: number, y: number) => number): HostTensor {
  const out = hostTensor(outDtype, a.shape);
  for (let i = 0; i < a.data.length; i++) writeNumber(out, i, fn(readNumber(a, i), readNumber(b, i)));
  return out;
}

interface UnarySpec {
  hlo: string;
  cls: DTypeClass;
  /** tfjs op for float (and, if `tfInt`, i32) inputs. */
  tf?: (x: tf.Tensor) => tf.Tensor;
  tfInt?: boolean;
  /** Scalar semantics for every other dtype (and the oracle's definition of the op). */
  js: (v: number, dtype: DType) => number;
  vjp: PrimitiveDef<Unary>["vjp"];
}

function unary<P extends Unary>(name: P, spec: UnarySpec): PrimitiveDef<P> {
  return {
    abstractEval([x], _params) {
      checkClass(name, spec.cls, [x!]);
      return [x!];
    },
    vjp: spec.vjp as PrimitiveDef<P>["vjp"],
    lower(ctx, [x], _params, [out]) {
      return [ctx.block.op1(spec.hlo, [x!], hloType(out!))];
    },
    reference([x], _params, [out]) {
      const useTf = spec.tf !== undefined && (isFloat(x!.dtype) || (spec.tfInt === true && x!.dtype === "i32"));
      if (useTf) return [withTf([x!], out!.dtype, spec.tf!)];
      return [mapUnary(x!, out!.dtype, (v) => spec.js(v, x!.dtype))];
    },
  };
}

interface BinarySpec {
  hlo: string;
  cls: DTypeClass;
  tf?: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
  /** tfjs handles i32 with the same semantics. */
  tfInt?: boolean;
  js: (a: number, b: number, dtype: DType) => number;
  vjp: PrimitiveDef<Binary>["vjp"];
}

function binary<P extends Binary>(name: P, spec: BinarySpec): PrimitiveDef<P> {
  return {
    abstractEval([a, b], _params) {
      checkSame(name, [a!, b!]);
      checkClass(name, spec.cls, [a!]);
      return [a!];
    },
    vjp: spec.vjp as PrimitiveDef<P>["vjp"],
    lower(ctx, [a, b], _params, [out]) {
      return [ctx.block.op1(spec.hlo, [a!, b!], hloType(out!))];
    },
    reference([a, b], _params, [out]) {
      const useTf = spec.tf !== undefined && (isFloat(a!.dtype) || (spec.tfInt === true && a!.dtype === "i32"));
      if (useTf) return [withTf([a!, b!], out!.dtype, spec.tf!)];
      return [mapBinary(a!, b!, out!.dtype, (x, y) => spec.js(x, y, a!.dtype))];
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Wrappers used by rules and by the library. They accept JS numbers and rank-0 arrays where a full operand goes.

type Operand = ArrayBase | number;

/** Brings operands to a common shape: numbers become scalars of the array operand's dtype, rank-0 arrays
 * broadcast to the other operands' shape. Anything else must already match. */
function unify(op: string, operands: readonly Operand[]): ArrayBase[] {
  const arrays = operands.filter((x): x is ArrayBase => x instanceof ArrayBase);
  if (arrays.length === 0) throw new ShapeError(`${op}: at least one operand must be an array`);
  const full = arrays.find((x) => x.ndim > 0) ?? arrays[0]!;
  const dtype = arrays[0]!.dtype;
  const broadcast = (): ArrayBase[] =>
    operands.map((x) => {
      const a = x instanceof ArrayBase ? x : new ScalarConst(x, dtype);
      if (a.ndim === 0 && full.ndim > 0) return broadcastInDim(a, full.shape, []);
      return a;
    });
  // Only a broadcast makes new arrays; operands that already match need no device scope (this runs on every op).
  const needsBroadcast = full.ndim > 0 && operands.some((x) => !(x instanceof ArrayBase) || x.ndim === 0);
  return needsBroadcast ? onDeviceOf(op, arrays, broadcast) : broadcast();
}

function unaryWrapper(p: Unary) {
  return (x: ArrayBase): ArrayBase => bind1(p, [x], {});
}
function binaryWrapper(p: Binary) {
  return (a: Operand, b: Operand): ArrayBase => {
    const [x, y] = unify(p, [a, b]);
    return bind1(p, [x!, y!], {});
  };
}

export const neg = unaryWrapper(Primitive.Neg);
export const exp = unaryWrapper(Primitive.Exp);
export const log = unaryWrapper(Primitive.Log);
export const log1p = unaryWrapper(Primitive.Log1p);
export const tanh = unaryWrapper(Primitive.Tanh);
export const logistic = unaryWrapper(Primitive.Logistic);
export const sqrt = unaryWrapper(Primitive.Sqrt);
export const rsqrt = unaryWrapper(Primitive.Rsqrt);
export const abs = unaryWrapper(Primitive.Abs);
export const sign = unaryWrapper(Primitive.Sign);
export const floor = unaryWrapper(Primitive.Floor);
export const sin = unaryWrapper(Primitive.Sin);
export const cos = unaryWrapper(Primitive.Cos);
export const not = unaryWrapper(Primitive.Not);
export const add = binaryWrapper(Primitive.Add);
export const sub = binaryWrapper(Primitive.Sub);
export const mul = binaryWrapper(Primitive.Mul);
export const div = binaryWrapper(Primitive.Div);
export const pow = binaryWrapper(Primitive.Pow);
export const max = binaryWrapper(Primitive.Max);
export const min = binaryWrapper(Primitive.Min);
export const rem = binaryWrapper(Primitive.Rem);
export const and = binaryWrapper(Primitive.And);
export const or = binaryWrapper(Primitive.Or);
export const xor = binaryWrapper(Primitive.Xor);
export const shiftLeft = binaryWrapper(Primitive.ShiftLeft);
export const shiftRightLogical = binaryWrapper(Primitive.ShiftRightLogical);

export function compare(a: Operand, b: Operand, direction: ComparisonDirection): ArrayBase {
  const [x, y] = unify("compare", [a, b]);
  return bind1(Primitive.Compare, [x!, y!], { direction });
}

export function select(pred: ArrayBase, onTrue: Operand, onFalse: Operand): ArrayBase {
  const [t, f] = unify("select", [onTrue, onFalse]);
  let p = pred;
  if (p.ndim === 0 && t!.ndim > 0) p = broadcastInDim(p, t!.shape, []);
  return bind1(Primitive.Select, [p, t!, f!], {});
}

export function clamp(lo: Operand, x: ArrayBase, hi: Operand): ArrayBase {
  const [l, v, h] = unify("clamp", [lo, x, hi]);
  return bind1(Primitive.Clamp, [l!, v!, h!], {});
}

export function convert(x: ArrayBase, dtype: DType): ArrayBase {
  if (x.dtype === dtype) return x;
  return bind1(Primitive.Convert, [x], { dtype });
}

export function bitcastConvert(x: ArrayBase, dtype: DType): ArrayBase {
  return bind1(Primitive.BitcastConvert, [x], { dtype });
}

/** Zero of the same shape and dtype. */
export function zerosLike(x: ArrayBase): ArrayBase {
  return broadcastInDim(new ScalarConst(0, x.dtype), x.shape, []);
}

// ---------------------------------------------------------------------------------------------------------------
// Scalar semantics, as StableHLO defines them (and as the engine implements them).

function f32(v: number): number {
  return Math.fround(v);
}

function intDiv(a: number, b: number, dtype: DType): number {
  if (b === 0) return dtype === "u32" ? 0xffffffff : -1;
  return Math.trunc(a / b);
}

function intRem(a: number, b: number): number {
  if (b === 0) return a;
  return a % b;
}

function shift(a: number, s: number, dtype: DType, left: boolean): number {
  const amount = dtype === "u32" ? s >>> 0 : s;
  if (amount < 0 || amount >= 32) return 0;
  if (left) return dtype === "u32" ? (a << amount) >>> 0 : a << amount;
  const bits = (a >>> amount) >>> 0;
  return dtype === "u32" ? bits : bits | 0;
}

function bitwise(a: number, b: number, dtype: DType, fn: (x: number, y: number) => number): number {
  const r = fn(a, b);
  return dtype === "u32" ? r >>> 0 : dtype === "bool" ? r & 1 : r | 0;
}

function intMul(a: number, b: number, dtype: DType): number {
  if (dtype === "bool") return a & b;
  const r = Math.imul(a, b);
  return dtype === "u32" ? r >>> 0 : r;
}

function maxOf(a: number, b: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b);
}

function minOf(a: number, b: number): number {
  return Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b);
}

/** 1 where a > b, 0.5 where equal, 0 elsewhere: how a max/min shares its cotangent between tied operands. */
function tieWeights(a: ArrayBase, b: ArrayBase, direction: "GT" | "LT"): ArrayBase {
  const strictly = convert(compare(a, b, direction), a.dtype);
  const tied = convert(compare(a, b, "EQ"), a.dtype);
  return add(strictly, mul(tied, 0.5));
}

/** Rounds toward zero, from primitives. */
function trunc(x: ArrayBase): ArrayBase {
  return mul(sign(x), floor(abs(x)));
}

// ---------------------------------------------------------------------------------------------------------------
// The definitions.

export const elementwiseDefs = {
  [Primitive.Neg]: unary(Primitive.Neg, {
    hlo: "stablehlo.negate",
    cls: "numeric",
    tf: (x) => tf.neg(x),
    tfInt: true,
    js: (v) => -v,
    vjp: ({ cotangents: [ct] }) => [neg(ct!)],
  }),
  [Primitive.Exp]: unary(Primitive.Exp, {
    hlo: "stablehlo.exponential",
    cls: "float",
    tf: (x) => tf.exp(x),
    js: (v) => f32(Math.exp(v)),
    vjp: ({ outputs: [y], cotangents: [ct] }) => [mul(ct!, y!)],
  }),
  [Primitive.Log]: unary(Primitive.Log, {
    hlo: "stablehlo.log",
    cls: "float",
    tf: (x) => tf.log(x),
    js: (v) => f32(Math.log(v)),
    vjp: ({ inputs: [x], cotangents: [ct] }) => [div(ct!, x!)],
  }),
  [Primitive.Log1p]: unary(Primitive.Log1p, {
    hlo: "stablehlo.log_plus_one",
    cls: "float",
    tf: (x) => tf.log1p(x),
    js: (v) => f32(Math.log1p(v)),
    vjp: ({ inputs: [x], cotangents: [ct] }) => [div(ct!, add(x!, 1))],
  }),
  [Primitive.Tanh]: unary(Primitive.Tanh, {
    hlo: "stablehlo.tanh",
    cls: "float",
    tf: (x) => tf.tanh(x),
    js: (v) => f32(Math.tanh(v)),
    vjp: ({ outputs: [y], cotangents: [ct] }) => [mul(ct!, sub(1, mul(y!, y!)))],
  }),
  [Primitive.Logistic]: unary(Primitive.Logistic, {
    hlo: "stablehlo.logistic",
    cls: "float",
    tf: (x) => tf.sigmoid(x),
    js: (v) => f32(1 / (1 + Math.exp(-v))),
    vjp: ({ outputs: [y], cotangents: [ct] }) => [mul(ct!, mul(y!, sub(1, y!)))],
  }),
  [Primitive.Sqrt]: unary(Primitive.Sqrt, {
    hlo: "stablehlo.sqrt",
    cls: "float",
    tf: (x) => tf.sqrt(x),
    js: (v) => f32(Math.sqrt(v)),
    vjp: ({ outputs: [y], cotangents: [ct] }) => [div(mul(ct!, 0.5), y!)],
  }),
  [Primitive.Rsqrt]: unary(Primitive.Rsqrt, {
    hlo: "stablehlo.rsqrt",
    cls: "float",
    tf: (x) => tf.rsqrt(x),
    js: (v) => f32(1 / Math.sqrt(v)),
    // d/dx x^{-1/2} = -1/2 x^{-3/2} = -1/2 * y / x
    vjp: ({ inputs: [x], outputs: [y], cotangents: [ct] }) => [mul(ct!, div(mul(y!, -0.5), x!))],
  }),
  [Primitive.Abs]: unary(Primitive.Abs, {
    hlo: "stablehlo.abs",
    cls: "signed-or-float",
    // Floats only: tfjs's abs kernel writes a Float32Array, which rounds i32 magnitudes above 2^24.
    tf: (x) => tf.abs(x),
    js: (v) => Math.abs(v),
    vjp: ({ inputs: [x], cotangents: [ct] }) => [mul(ct!, sign(x!))],
  }),
  [Primitive.Sign]: unary(Primitive.Sign, {
    hlo: "stablehlo.sign",
    cls: "signed-or-float",
    js: (v) => Math.sign(v),
    vjp: () => [null],
  }),
  [Primitive.Floor]: unary(Primitive.Floor, {
    hlo: "stablehlo.floor",
    cls: "float",
    tf: (x) => tf.floor(x),
    js: (v) => Math.floor(v),
    vjp: () => [null],
  }),
  [Primitive.Sin]: unary(Primitive.Sin, {
    hlo: "stablehlo.sine",
    cls: "float",
    tf: (x) => tf.sin(x),
    js: (v) => f32(Math.sin(v)),
    vjp: ({ inputs: [x], cotangents: [ct] }) => [mul(ct!, cos(x!))],
  }),
  [Primitive.Cos]: unary(Primitive.Cos, {
    hlo: "stablehlo.cosine",
    cls: "float",
    tf: (x) => tf.cos(x),
    js: (v) => f32(Math.cos(v)),
    vjp: ({ inputs: [x], cotangents: [ct] }) => [neg(mul(ct!, sin(x!)))],
  }),
  [Primitive.Not]: unary(Primitive.Not, {
    hlo: "stablehlo.not",
    cls: "integer-or-bool",
    js: (v, dtype) => (dtype === "bool" ? (v ? 0 : 1) : dtype === "u32" ? ~v >>> 0 : ~v),
    vjp: undefined,
  }),
  [Primitive.Add]: binary(Primitive.Add, {
    hlo: "stablehlo.add",
    cls: "any",
    tf: (a, b) => tf.add(a, b),
    tfInt: true,
    js: (a, b, dtype) => (dtype === "bool" ? a | b : a + b),
    vjp: ({ cotangents: [ct] }) => [ct!, ct!],
  }),
  [Primitive.Sub]: binary(Primitive.Sub, {
    hlo: "stablehlo.subtract",
    cls: "numeric",
    tf: (a, b) => tf.sub(a, b),
    tfInt: true,
    js: (a, b) => a - b,
    vjp: ({ cotangents: [ct], needs }) => [ct!, needs[1] ? neg(ct!) : null],
  }),
  [Primitive.Mul]: binary(Primitive.Mul, {
    hlo: "stablehlo.multiply",
    cls: "any",
    tf: (a, b) => tf.mul(a, b),
    js: (a, b, dtype) => (isFloat(dtype) ? a * b : intMul(a, b, dtype)),
    vjp: ({ inputs: [a, b], cotangents: [ct], needs }) => [needs[0] ? mul(ct!, b!) : null, needs[1] ? mul(ct!, a!) : null],
  }),
  [Primitive.Div]: binary(Primitive.Div, {
    hlo: "stablehlo.divide",
    cls: "numeric",
    tf: (a, b) => tf.div(a, b),
    js: (a, b, dtype) => (isFloat(dtype) ? a / b : intDiv(a, b, dtype)),
    vjp: ({ inputs: [, b], outputs: [y], cotangents: [ct], needs }) => [
      needs[0] ? div(ct!, b!) : null,
      needs[1] ? neg(div(mul(ct!, y!), b!)) : null,
    ],
  }),
  [Primitive.Pow]: binary(Primitive.Pow, {
    hlo: "stablehlo.power",
    cls: "float",
    tf: (a, b) => tf.pow(a, b),
    js: (a, b) => f32(Math.pow(a, b)),
    vjp: ({ inputs: [a, b], outputs: [y], cotangents: [ct], needs }) => {
      // d/da a^b = b a^(b-1); d/db a^b = a^b log a, taken as 0 where a = 0 (the limit used by JAX).
      const da = needs[0] ? mul(ct!, mul(b!, pow(a!, sub(b!, 1)))) : null;
      let db: ArrayBase | null = null;
      if (needs[1]) {
        const isZero = compare(a!, 0, "EQ");
        const safeLog = log(select(isZero, 1, a!));
        db = mul(ct!, select(isZero, 0, mul(y!, safeLog)));
      }
      return [da, db];
    },
  }),
  [Primitive.Max]: binary(Primitive.Max, {
    hlo: "stablehlo.maximum",
    cls: "any",
    tf: (a, b) => tf.maximum(a, b),
    js: (a, b) => maxOf(a, b),
    vjp: ({ inputs: [a, b], cotangents: [ct], needs }) => [
      needs[0] ? mul(ct!, tieWeights(a!, b!, "GT")) : null,
      needs[1] ? mul(ct!, tieWeights(b!, a!, "GT")) : null,
    ],
  }),
  [Primitive.Min]: binary(Primitive.Min, {
    hlo: "stablehlo.minimum",
    cls: "any",
    tf: (a, b) => tf.minimum(a, b),
    js: (a, b) => minOf(a, b),
    vjp: ({ inputs: [a, b], cotangents: [ct], needs }) => [
      needs[0] ? mul(ct!, tieWeights(a!, b!, "LT")) : null,
      needs[1] ? mul(ct!, tieWeights(b!, a!, "LT")) : null,
    ],
  }),
  [Primitive.Rem]: binary(Primitive.Rem, {
    hlo: "stablehlo.remainder",
    cls: "numeric",
    js: (a, b, dtype) => (isFloat(dtype) ? f32(a % b) : intRem(a, b)),
    vjp: ({ inputs: [a, b], cotangents: [ct], needs }) => [
      needs[0] ? ct! : null,
      needs[1] ? neg(mul(ct!, trunc(div(a!, b!)))) : null,
    ],
  }),
  [Primitive.And]: binary(Primitive.And, {
    hlo: "stablehlo.and",
    cls: "integer-or-bool",
    js: (a, b, dtype) => bitwise(a, b, dtype, (x, y) => x & y),
    vjp: undefined,
  }),
  [Primitive.Or]: binary(Primitive.Or, {
    hlo: "stablehlo.or",
    cls: "integer-or-bool",
    js: (a, b, dtype) => bitwise(a, b, dtype, (x, y) => x | y),
    vjp: undefined,
  }),
  [Primitive.Xor]: binary(Primitive.Xor, {
    hlo: "stablehlo.xor",
    cls: "integer-or-bool",
    js: (a, b, dtype) => bitwise(a, b, dtype, (x, y) => x ^ y),
    vjp: undefined,
  }),
  [Primitive.ShiftLeft]: binary(Primitive.ShiftLeft, {
    hlo: "stablehlo.shift_left",
    cls: "integer",
    js: (a, b, dtype) => shift(a, b, dtype, true),
    vjp: undefined,
  }),
  [Primitive.ShiftRightLogical]: binary(Primitive.ShiftRightLogical, {
    hlo: "stablehlo.shift_right_logical",
    cls: "integer",
    js: (a, b, dtype) => shift(a, b, dtype, false),
    vjp: undefined,
  }),

  [Primitive.Compare]: {
    abstractEval([a, b], { direction }) {
      checkSame(`compare ${direction}`, [a!, b!]);
      return [new Aval(a!.shape, "bool")];
    },
    vjp: () => [null, null],
    lower(ctx, [a, b], { direction }, [out]) {
      return [
        ctx.block.op1("stablehlo.compare", [a!, b!], hloType(out!), {
          comparison_direction: attr.comparisonDirection(direction),
          compare_type: attr.comparisonType(compareTypeOfElement(a!.type.element)),
        }),
      ];
    },
    reference([a, b], { direction }) {
      const test: Record<ComparisonDirection, (x: number, y: number) => boolean> = {
        EQ: (x, y) => x === y,
        NE: (x, y) => x !== y,
        GE: (x, y) => x >= y,
        GT: (x, y) => x > y,
        LE: (x, y) => x <= y,
        LT: (x, y) => x < y,
      };
      return [mapBinary(a!, b!, "bool", (x, y) => (test[direction](x, y) ? 1 : 0))];
    },
  },

  [Primitive.Select]: {
    abstractEval([p, t, f]) {
      checkSame("select", [t!, f!]);
      if (p!.dtype !== "bool" || !sameShape(p!.shape, t!.shape)) {
        throw new ShapeError(`select: the predicate must be bool with the branches' shape ${showShape(t!.shape)}, got ${p}`);
      }
      return [t!];
    },
    vjp: ({ inputs: [p], cotangents: [ct], needs }) => [
      null,
      needs[1] ? select(p!, ct!, 0) : null,
      needs[2] ? select(p!, 0, ct!) : null,
    ],
    lower(ctx, [p, t, f], _params, [out]) {
      return [ctx.block.op1("stablehlo.select", [p!, t!, f!], hloType(out!))];
    },
    reference([p, t, f], _params, [out]) {
      if (isFloat(t!.dtype) || t!.dtype === "i32") {
        return [withTf([p!, t!, f!], out!.dtype, (pp, tt, ff) => tf.where(pp as tf.Tensor, tt, ff))];
      }
      const result = hostTensor(out!.dtype, out!.shape);
      for (let i = 0; i < result.data.length; i++) result.data[i] = (p!.data[i] ? t!.data[i] : f!.data[i])!;
      return [result];
    },
  },

  [Primitive.Clamp]: {
    abstractEval([lo, x, hi]) {
      checkSame("clamp", [lo!, x!, hi!]);
      checkClass("clamp", "numeric", [x!]);
      return [x!];
    },
    vjp: ({ inputs: [lo, x, hi], cotangents: [ct], needs }) => {
      const below = compare(x!, lo!, "LT");
      const above = compare(x!, hi!, "GT");
      return [
        needs[0] ? select(below, ct!, 0) : null,
        needs[1] ? select(or(below, above), 0, ct!) : null,
        needs[2] ? select(above, ct!, 0) : null,
      ];
    },
    lower(ctx, [lo, x, hi], _params, [out]) {
      return [ctx.block.op1("stablehlo.clamp", [lo!, x!, hi!], hloType(out!))];
    },
    reference([lo, x, hi], _params, [out]) {
      const result = hostTensor(out!.dtype, out!.shape);
      for (let i = 0; i < result.data.length; i++) {
        writeNumber(result, i, minOf(maxOf(readNumber(x!, i), readNumber(lo!, i)), readNumber(hi!, i)));
      }
      return [result];
    },
  },

  [Primitive.Convert]: {
    abstractEval([x], { dtype }) {
      return [new Aval(x!.shape, dtype)];
    },
    vjp: ({ inputs: [x], outputs: [y], cotangents: [ct] }) => [
      isFloat(x!.dtype) && isFloat(y!.dtype) ? convert(ct!, x!.dtype) : null,
    ],
    lower(ctx, [x], _params, [out]) {
      return [ctx.block.op1("stablehlo.convert", [x!], hloType(out!))];
    },
    reference([x], { dtype }) {
      return [mapUnary(x!, dtype, (v) => convertScalar(v, x!.dtype, dtype))];
    },
  },

  [Primitive.BitcastConvert]: {
    abstractEval([x], { dtype }) {
      if (byteSize(x!.dtype) !== byteSize(dtype) || x!.dtype === "bool" || dtype === "bool") {
        throw new ShapeError(`bitcast_convert: ${x!.dtype} and ${dtype} differ in bit width (operand ${x})`);
      }
      return [new Aval(x!.shape, dtype)];
    },
    vjp: undefined,
    lower(ctx, [x], _params, [out]) {
      return [ctx.block.op1("stablehlo.bitcast_convert", [x!], hloType(out!))];
    },
    reference([x], { dtype }, [out]) {
      const result = hostTensor(dtype, out!.shape);
      new Uint8Array(result.data.buffer, result.data.byteOffset, result.data.byteLength).set(
        new Uint8Array(x!.data.buffer, x!.data.byteOffset, x!.data.byteLength),
      );
      return [result];
    },
  },
} satisfies { [P in Unary | Binary | Primitive.Compare | Primitive.Select | Primitive.Clamp | Primitive.Convert | Primitive.BitcastConvert]: PrimitiveDef<P> };

/** StableHLO's convert on one value: floats to integers truncate toward zero (saturating, NaN to 0); integers
 * wrap between widths; anything to bool is "not zero". */
export function convertScalar(v: number, from: DType, to: DType): number {
  if (to === "bool") return v !== 0 ? 1 : 0;
  if (isFloat(to)) return to === "f32" ? f32(v) : v; // bf16 rounding happens in writeNumber
  if (isFloat(from)) {
    if (Number.isNaN(v)) return 0;
    const t = Math.trunc(v);
    if (to === "i32") return Math.min(Math.max(t, -2147483648), 2147483647);
    if (to === "u32") return Math.min(Math.max(t, 0), 4294967295);
    return t;
  }
  if (to === "i32") return v | 0;
  if (to === "u32") return v >>> 0;
  return v;
}
