// Elementwise primitives: unary math, binary arithmetic and bit ops, compare (all six directions), select,
// clamp, convert and bitcast_convert, over shapes (scalar, size 0, size 1, general), dtypes, numpy broadcasting
// and special values. Expected values come from the definitions written below, computed in float64 and then
// stored in the result dtype.
import { type ArrayBase, Primitive, lax, np } from "../../src/index.js";
import type { DType } from "../../src/core/dtype.js";
import type { ComparisonDirection } from "../../src/core/primitive.js";
import {
  type HostValue,
  type RandomOptions,
  castTo,
  f32Bits,
  f32FromBits,
  hv,
  isFloatDtype,
  mapBroadcast,
  randomValue,
} from "../helpers/arrays.js";
import { type OpCase, seedOf, shapeText } from "./case_types.js";

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const UINT32_MAX = 4294967295;

const UNARY_SHAPES: number[][] = [[], [0], [1, 1], [2, 3]];
const BINARY_SHAPES: number[][] = [[], [0], [2, 3]];
const BROADCAST_SHAPES: [number[], number[]][] = [
  [[2, 3], [3]],
  [[2, 1], [1, 3]],
  [[], [2, 3]],
  [[0, 3], [1, 3]],
];

// --- unary --------------------------------------------------------------------------------------------------

interface UnarySpec {
  primitive: Primitive;
  op: (x: ArrayBase) => ArrayBase;
  dtypes: DType[];
  domain?: RandomOptions;
  /** The exact result for one element (before storing in the dtype). */
  exact: (v: number, dtype: DType) => number;
  /** Float inputs whose results are fixed by IEEE semantics (infinities, NaN, signed zeros, subnormals,
   * overflow): compared bit for bit. */
  specials?: number[];
}

const logistic = (v: number) => 1 / (1 + Math.exp(-v));

const UNARY: UnarySpec[] = [
  { primitive: Primitive.Neg, op: lax.neg, dtypes: ["f32", "bf16", "i32", "u32"], exact: (v) => -v, specials: [0, -0, Infinity, NaN, 2 ** -149, -(2 ** -140)] },
  { primitive: Primitive.Exp, op: lax.exp, dtypes: ["f32", "bf16"], domain: { min: -3, max: 3 }, exact: Math.exp, specials: [-Infinity, Infinity, NaN, 0, -0, 89, -104] },
  { primitive: Primitive.Log, op: lax.log, dtypes: ["f32", "bf16"], domain: { min: 0.05, max: 5 }, exact: Math.log, specials: [0, -0, -1, Infinity, NaN, 1] },
  { primitive: Primitive.Log1p, op: lax.log1p, dtypes: ["f32", "bf16"], domain: { min: -0.9, max: 3 }, exact: Math.log1p, specials: [-1, -2, 0, -0, 1e-8, Infinity, 2 ** -149] },
  { primitive: Primitive.Tanh, op: lax.tanh, dtypes: ["f32", "bf16"], domain: { min: -4, max: 4 }, exact: Math.tanh, specials: [-Infinity, Infinity, 0, -0, 30, NaN] },
  { primitive: Primitive.Logistic, op: lax.logistic, dtypes: ["f32", "bf16"], domain: { min: -6, max: 6 }, exact: logistic, specials: [-Infinity, Infinity, 0, -0, -120, NaN] },
  { primitive: Primitive.Sqrt, op: lax.sqrt, dtypes: ["f32", "bf16"], domain: { min: 0, max: 5 }, exact: Math.sqrt, specials: [0, -0, -1, Infinity, NaN, 2 ** -149, 2 ** -130] },
  { primitive: Primitive.Rsqrt, op: lax.rsqrt, dtypes: ["f32", "bf16"], domain: { min: 0.05, max: 5 }, exact: (v) => 1 / Math.sqrt(v), specials: [0, -0, -1, Infinity, 4, NaN] },
  { primitive: Primitive.Abs, op: lax.abs, dtypes: ["f32", "bf16", "i32"], exact: Math.abs, specials: [-0, -Infinity, NaN, -3.5, -(2 ** -149)] },
  {
    primitive: Primitive.Sign,
    op: lax.sign,
    // Not u32: StableHLO's sign (like abs) takes signed integers and floats only.
    dtypes: ["f32", "bf16", "i32"],
    exact: (v) => Math.sign(v),
    specials: [0, -0, -Infinity, Infinity, NaN, -1e-30, -(2 ** -149)],
  },
  { primitive: Primitive.Floor, op: lax.floor, dtypes: ["f32", "bf16"], domain: { min: -5, max: 5 }, exact: Math.floor, specials: [-0.5, -0, 2, -Infinity, NaN, 2 ** -149, -(2 ** -149)] },
  { primitive: Primitive.Sin, op: lax.sin, dtypes: ["f32", "bf16"], domain: { min: -4, max: 4 }, exact: Math.sin, specials: [0, -0, Infinity, NaN] },
  { primitive: Primitive.Cos, op: lax.cos, dtypes: ["f32", "bf16"], domain: { min: -4, max: 4 }, exact: Math.cos, specials: [0, -Infinity, NaN] },
  {
    primitive: Primitive.Not,
    op: lax.not,
    dtypes: ["bool", "i32", "u32"],
    // Written from two's complement arithmetic rather than with JS's ~: not x = -x - 1 (signed), 2^32 - 1 - x
    // (unsigned), 1 - x (bool).
    exact: (v, dtype) => (dtype === "bool" ? 1 - v : dtype === "u32" ? UINT32_MAX - v : -v - 1),
  },
];

function unaryCases(): OpCase[] {
  const cases: OpCase[] = [];
  for (const spec of UNARY) {
    for (const dtype of spec.dtypes) {
      for (const shape of UNARY_SHAPES) {
        const name = `${spec.primitive} ${dtype} ${shapeText(shape)}`;
        cases.push({
          name,
          primitives: [spec.primitive],
          build: () => [randomValue(dtype, shape, seedOf(name), spec.domain)],
          fn: spec.op,
          expected: ([x]) => mapBroadcast(dtype, [x!], (v) => spec.exact(v, dtype)),
        });
      }
      if (isFloatDtype(dtype) && spec.specials !== undefined) {
        const specials = spec.specials;
        cases.push({
          name: `${spec.primitive} ${dtype} special values`,
          primitives: [spec.primitive],
          build: () => [hv(dtype, [specials.length], specials)],
          fn: spec.op,
          expected: ([x]) => mapBroadcast(dtype, [x!], (v) => spec.exact(v, dtype)),
          bitExact: true,
        });
      }
    }
  }
  // Integer edge: negation and abs wrap around at INT32_MIN; u32 negation is 2^32 - x.
  cases.push({
    name: "neg i32/u32 wrap-around",
    primitives: [Primitive.Neg],
    build: () => [hv("i32", [4], [INT32_MIN, INT32_MAX, -1, 0]), hv("u32", [3], [1, 0, UINT32_MAX])],
    fn: (a, b) => [lax.neg(a!), lax.neg(b!)],
    expected: ([a, b]) => [mapBroadcast("i32", [a!], (v) => -v), mapBroadcast("u32", [b!], (v) => -v)],
  });
  cases.push({
    name: "abs i32 INT32_MIN stays INT32_MIN",
    primitives: [Primitive.Abs],
    build: () => [hv("i32", [3], [INT32_MIN, -7, INT32_MAX])],
    fn: lax.abs,
    expected: () => hv("i32", [3], [INT32_MIN, 7, INT32_MAX]),
  });
  return cases;
}

// --- binary -------------------------------------------------------------------------------------------------

interface BinarySpec {
  primitive: Primitive;
  lax: (a: ArrayBase | number, b: ArrayBase | number) => ArrayBase;
  np: (a: ArrayBase | number, b: ArrayBase | number) => ArrayBase;
  dtypes: DType[];
  domainA?: RandomOptions;
  domainB?: RandomOptions;
  /** The exact result (before storing in the dtype). */
  exact: (a: number, b: number, dtype: DType) => number;
}

const wrapMul = (a: number, b: number, dtype: DType): number => {
  if (dtype === "bool") return a && b ? 1 : 0;
  if (isFloatDtype(dtype)) return a * b;
  const product = BigInt(a) * BigInt(b);
  return Number(dtype === "u32" ? BigInt.asUintN(32, product) : BigInt.asIntN(32, product));
};

function shiftAmountIsLarge(s: number, dtype: DType): boolean {
  // The shift amount is read as unsigned: negative i32 amounts are huge.
  const unsigned = dtype === "u32" ? s : s >>> 0;
  return unsigned >= 32;
}

const BINARY: BinarySpec[] = [
  { primitive: Primitive.Add, lax: lax.add, np: np.add, dtypes: ["f32", "bf16", "i32", "u32", "bool"], exact: (a, b, d) => (d === "bool" ? a | b : a + b) },
  { primitive: Primitive.Sub, lax: lax.sub, np: np.subtract, dtypes: ["f32", "bf16", "i32", "u32"], exact: (a, b) => a - b },
  { primitive: Primitive.Mul, lax: lax.mul, np: np.multiply, dtypes: ["f32", "bf16", "i32", "u32", "bool"], exact: wrapMul },
  {
    primitive: Primitive.Div,
    lax: lax.div,
    np: np.divide,
    dtypes: ["f32", "bf16", "i32", "u32"],
    domainB: { awayFromZero: 0.25, min: -6, max: 6 },
    exact: (a, b, d) => (isFloatDtype(d) ? a / b : Math.trunc(a / b)),
  },
  {
    primitive: Primitive.Pow,
    lax: lax.pow,
    np: np.power,
    dtypes: ["f32", "bf16"],
    domainA: { min: 0.1, max: 3 },
    domainB: { min: -2, max: 2 },
    exact: Math.pow,
  },
  { primitive: Primitive.Max, lax: lax.max, np: np.maximum, dtypes: ["f32", "bf16", "i32", "u32", "bool"], exact: (a, b) => Math.max(a, b) },
  { primitive: Primitive.Min, lax: lax.min, np: np.minimum, dtypes: ["f32", "bf16", "i32", "u32", "bool"], exact: (a, b) => Math.min(a, b) },
  {
    primitive: Primitive.Rem,
    lax: lax.rem,
    np: np.remainder,
    dtypes: ["f32", "bf16", "i32", "u32"],
    domainA: { min: -9, max: 9 },
    domainB: { awayFromZero: 0.5, min: -4, max: 4 },
    // C fmod / truncated remainder: the result has the sign of the dividend.
    exact: (a, b) => a % b,
  },
  { primitive: Primitive.And, lax: lax.and, np: np.bitwiseAnd, dtypes: ["bool", "i32", "u32"], exact: (a, b) => Number(BigInt(a) & BigInt(b)) },
  { primitive: Primitive.Or, lax: lax.or, np: np.bitwiseOr, dtypes: ["bool", "i32", "u32"], exact: (a, b) => Number(BigInt(a) | BigInt(b)) },
  { primitive: Primitive.Xor, lax: lax.xor, np: np.bitwiseXor, dtypes: ["bool", "i32", "u32"], exact: (a, b) => Number(BigInt(a) ^ BigInt(b)) },
  {
    primitive: Primitive.ShiftLeft,
    lax: lax.shiftLeft,
    np: np.leftShift,
    dtypes: ["i32", "u32"],
    domainA: { min: 0, max: 100000 },
    domainB: { min: 0, max: 35 },
    exact: (a, s, d) => (shiftAmountIsLarge(s, d) ? 0 : Number(BigInt(a) << BigInt(s))),
  },
  {
    primitive: Primitive.ShiftRightLogical,
    lax: lax.shiftRightLogical,
    np: np.rightShift,
    dtypes: ["i32", "u32"],
    domainA: { min: 0, max: 100000 },
    domainB: { min: 0, max: 35 },
    // Logical: the bits are shifted as an unsigned 32-bit pattern.
    exact: (a, s, d) => (shiftAmountIsLarge(s, d) ? 0 : Number(BigInt.asUintN(32, BigInt(a)) >> BigInt(s))),
  },
];

function binaryCases(): OpCase[] {
  const cases: OpCase[] = [];
  for (const spec of BINARY) {
    const expectedFor = (dtype: DType) => (inputs: readonly HostValue[]) =>
      mapBroadcast(dtype, inputs, (a, b) => spec.exact(a, b, dtype));
    for (const dtype of spec.dtypes) {
      for (const shape of BINARY_SHAPES) {
        const name = `${spec.primitive} ${dtype} ${shapeText(shape)}`;
        cases.push({
          name,
          primitives: [spec.primitive],
          build: () => [randomValue(dtype, shape, seedOf(name), spec.domainA), randomValue(dtype, shape, seedOf(`${name}/b`), spec.domainB)],
          fn: (a, b) => spec.lax(a!, b!),
          expected: expectedFor(dtype),
        });
      }
      // A JS number operand becomes a scalar of the array's dtype.
      const scalar = dtype === "bool" ? 1 : spec.primitive === Primitive.ShiftLeft || spec.primitive === Primitive.ShiftRightLogical ? 3 : 2;
      const name = `${spec.primitive} ${dtype} [2,3] with JS number ${scalar}`;
      cases.push({
        name,
        primitives: [spec.primitive],
        build: () => [randomValue(dtype, [2, 3], seedOf(name), spec.domainA)],
        fn: (a) => spec.lax(a!, scalar),
        expected: ([a]) => mapBroadcast(dtype, [a!], (x) => spec.exact(x, scalar, dtype)),
      });
    }
    // numpy broadcasting through np: the first dtype, plus i32 where allowed.
    const broadcastDtypes = [...new Set([spec.dtypes[0]!, ...spec.dtypes.filter((d) => d === "i32")])];
    for (const dtype of broadcastDtypes) {
      for (const [sa, sb] of BROADCAST_SHAPES) {
        const name = `${spec.primitive} ${dtype} np broadcast ${shapeText(sa)} ${shapeText(sb)}`;
        cases.push({
          name,
          primitives: [spec.primitive, Primitive.BroadcastInDim],
          build: () => [randomValue(dtype, sa, seedOf(name), spec.domainA), randomValue(dtype, sb, seedOf(`${name}/b`), spec.domainB)],
          fn: (a, b) => spec.np(a!, b!),
          expected: expectedFor(dtype),
        });
      }
    }
  }

  // Edges of the integer semantics, with hand-written answers.
  cases.push({
    name: "add/mul i32 and u32 wrap around",
    primitives: [Primitive.Add, Primitive.Mul],
    build: () => [hv("i32", [3], [INT32_MAX, 65536, 46341]), hv("u32", [3], [UINT32_MAX, 65536, 3000000000])],
    fn: (a, b) => [lax.add(a!, 1), lax.mul(a!, a!), lax.add(b!, 1), lax.mul(b!, b!)],
    expected: () => [
      hv("i32", [3], [INT32_MIN, 65537, 46342]),
      hv("i32", [3], [1, 0, -2147479015]),
      hv("u32", [3], [0, 65537, 3000000001]),
      hv("u32", [3], [1, 0, Number(BigInt.asUintN(32, 3000000000n * 3000000000n))]),
    ],
  });
  cases.push({
    name: "div/rem i32 truncate toward zero, u32 read unsigned",
    primitives: [Primitive.Div, Primitive.Rem],
    build: () => [hv("i32", [4], [7, -7, 7, -7]), hv("i32", [4], [2, 2, -2, -2]), hv("u32", [2], [UINT32_MAX, 3000000000]), hv("u32", [2], [2, 7])],
    fn: (a, b, c, d) => [lax.div(a!, b!), lax.rem(a!, b!), lax.div(c!, d!), lax.rem(c!, d!)],
    expected: () => [
      hv("i32", [4], [3, -3, -3, 3]),
      hv("i32", [4], [1, -1, 1, -1]),
      hv("u32", [2], [2147483647, 428571428]),
      hv("u32", [2], [1, 4]),
    ],
  });
  // StableHLO leaves these implementation-defined; XLA's answers, which every device here must share.
  cases.push({
    name: "div/rem by zero and INT32_MIN / -1 follow XLA",
    primitives: [Primitive.Div, Primitive.Rem],
    build: () => [hv("i32", [4], [INT32_MIN, 7, -7, 5]), hv("i32", [4], [-1, 0, 0, -1]), hv("u32", [2], [7, 0]), hv("u32", [2], [0, 0])],
    fn: (a, b, c, d) => [lax.div(a!, b!), lax.rem(a!, b!), lax.div(c!, d!), lax.rem(c!, d!)],
    expected: () => [hv("i32", [4], [INT32_MIN, -1, -1, -5]), hv("i32", [4], [0, 7, -7, 0]), hv("u32", [2], [UINT32_MAX, UINT32_MAX]), hv("u32", [2], [7, 0])],
  });
  cases.push({
    name: "rem f32 keeps the dividend's sign (fmod)",
    primitives: [Primitive.Rem],
    build: () => [hv("f32", [4], [5.5, -5.5, 5.5, -0.75]), hv("f32", [4], [2, 2, -2, 0.5])],
    fn: (a, b) => lax.rem(a!, b!),
    expected: () => hv("f32", [4], [1.5, -1.5, 1.5, -0.25]),
  });
  cases.push({
    name: "max/min f32 propagate NaN and order infinities",
    primitives: [Primitive.Max, Primitive.Min],
    build: () => [hv("f32", [4], [NaN, 1, -Infinity, 2]), hv("f32", [4], [1, NaN, 5, Infinity])],
    fn: (a, b) => [lax.max(a!, b!), lax.min(a!, b!)],
    expected: () => [hv("f32", [4], [NaN, NaN, 5, Infinity]), hv("f32", [4], [NaN, NaN, -Infinity, 2])],
  });
  cases.push({
    name: "shift i32/u32 by 0, 31, 32 and a negative amount",
    primitives: [Primitive.ShiftLeft, Primitive.ShiftRightLogical],
    build: () => [hv("i32", [4], [-8, 1, 5, 5]), hv("i32", [4], [1, 31, 32, -1]), hv("u32", [3], [UINT32_MAX, 1, 0x80000000]), hv("u32", [3], [0, 31, 32])],
    fn: (a, s, b, t) => [lax.shiftLeft(a!, s!), lax.shiftRightLogical(a!, s!), lax.shiftLeft(b!, t!), lax.shiftRightLogical(b!, t!)],
    expected: () => [
      hv("i32", [4], [-16, INT32_MIN, 0, 0]),
      hv("i32", [4], [2147483644, 0, 0, 0]),
      hv("u32", [3], [UINT32_MAX, 0x80000000, 0]),
      hv("u32", [3], [UINT32_MAX, 0, 0]),
    ],
  });
  cases.push({
    name: "xor/or/and u32 on full 32-bit patterns (threefry style rotate)",
    primitives: [Primitive.Xor, Primitive.Or, Primitive.And, Primitive.ShiftLeft, Primitive.ShiftRightLogical],
    build: () => [hv("u32", [3], [0x12345678, 0xdeadbeef, 0xffffffff])],
    fn: (k) => {
      const rotated = lax.or(lax.shiftLeft(k!, 13), lax.shiftRightLogical(k!, 19));
      return [lax.xor(rotated, k!), lax.and(k!, 0x0000ffff)];
    },
    expected: ([k]) => [
      mapBroadcast("u32", [k!], (v) => (((v << 13) | (v >>> 19)) ^ v) >>> 0),
      mapBroadcast("u32", [k!], (v) => v & 0xffff),
    ],
  });
  return cases;
}

// --- compare, select, clamp -----------------------------------------------------------------------------------

const DIRECTIONS: ComparisonDirection[] = ["EQ", "NE", "GE", "GT", "LE", "LT"];

const compareExact: Record<ComparisonDirection, (a: number, b: number) => boolean> = {
  EQ: (a, b) => a === b,
  NE: (a, b) => a !== b,
  GE: (a, b) => a >= b,
  GT: (a, b) => a > b,
  LE: (a, b) => a <= b,
  LT: (a, b) => a < b,
};

/** Values chosen so ties, signed zeros, infinities, NaN and the unsigned top bit all occur. */
const TIE_VALUES: Record<"f32" | "bf16" | "i32" | "u32" | "bool", number[]> = {
  f32: [-Infinity, -1, -0, 0, 0.5, 1, Infinity, NaN],
  bf16: [-Infinity, -1.5, -0, 0, 0.5, 1, Infinity, NaN],
  i32: [INT32_MIN, -1, 0, 1, INT32_MAX],
  u32: [0, 1, 0x7fffffff, 0x80000000, UINT32_MAX],
  bool: [0, 1],
};

function pick(values: readonly number[], count: number, seed: number): number[] {
  let state = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out.push(values[state % values.length]!);
  }
  return out;
}

function compareCases(): OpCase[] {
  const cases: OpCase[] = [];
  for (const direction of DIRECTIONS) {
    for (const dtype of ["f32", "bf16", "i32", "u32", "bool"] as const) {
      const name = `compare ${direction} ${dtype} [3,4]`;
      cases.push({
        name,
        primitives: [Primitive.Compare],
        build: () => [hv(dtype, [3, 4], pick(TIE_VALUES[dtype], 12, seedOf(name))), hv(dtype, [3, 4], pick(TIE_VALUES[dtype], 12, seedOf(`${name}/b`)))],
        fn: (a, b) => lax.compare(a!, b!, direction),
        expected: (inputs) => mapBroadcast("bool", inputs, (a, b) => (compareExact[direction](a, b) ? 1 : 0)),
      });
    }
    const name = `compare ${direction} f32 np broadcast [3,1] [4]`;
    cases.push({
      name,
      primitives: [Primitive.Compare],
      build: () => [hv("f32", [3, 1], pick(TIE_VALUES.f32, 3, seedOf(name))), hv("f32", [4], pick(TIE_VALUES.f32, 4, seedOf(`${name}/b`)))],
      fn: (a, b) =>
        ({ EQ: np.equal, NE: np.notEqual, GE: np.greaterEqual, GT: np.greater, LE: np.lessEqual, LT: np.less })[direction](a!, b!),
      expected: (inputs) => mapBroadcast("bool", inputs, (a, b) => (compareExact[direction](a, b) ? 1 : 0)),
    });
  }
  for (const shape of [[], [0]]) {
    const name = `compare LT f32 ${shapeText(shape)}`;
    cases.push({
      name,
      primitives: [Primitive.Compare],
      build: () => [randomValue("f32", shape, seedOf(name)), randomValue("f32", shape, seedOf(`${name}/b`))],
      fn: (a, b) => lax.compare(a!, b!, "LT"),
      expected: (inputs) => mapBroadcast("bool", inputs, (a, b) => (a < b ? 1 : 0)),
    });
  }
  return cases;
}

function selectClampCases(): OpCase[] {
  const cases: OpCase[] = [];
  for (const dtype of ["f32", "bf16", "i32", "u32", "bool"] as const) {
    for (const shape of [[], [0], [2, 3]]) {
      const name = `select ${dtype} ${shapeText(shape)}`;
      cases.push({
        name,
        primitives: [Primitive.Select],
        build: () => [randomValue("bool", shape, seedOf(name)), randomValue(dtype, shape, seedOf(`${name}/t`)), randomValue(dtype, shape, seedOf(`${name}/f`))],
        fn: (p, t, f) => lax.select(p!, t!, f!),
        expected: (inputs) => mapBroadcast(dtype, inputs, (p, t, f) => (p ? t : f)),
      });
    }
  }
  cases.push({
    name: "select with a scalar predicate broadcasts it",
    primitives: [Primitive.Select, Primitive.BroadcastInDim],
    build: () => [hv("bool", [], [0]), randomValue("f32", [2, 2], 1), randomValue("f32", [2, 2], 2)],
    fn: (p, t, f) => lax.select(p!, t!, f!),
    expected: ([, , f]) => f!,
  });
  cases.push({
    name: "select via np.where broadcasting [2,1] [3] scalar",
    primitives: [Primitive.Select, Primitive.BroadcastInDim],
    build: () => [hv("bool", [2, 1], [1, 0]), hv("i32", [3], [1, 2, 3])],
    fn: (c, x) => np.where(c!, x!, -5),
    expected: () => hv("i32", [2, 3], [1, 2, 3, -5, -5, -5]),
  });

  const clampExact = (lo: number, x: number, hi: number) => (Number.isNaN(x) ? NaN : Math.min(Math.max(x, lo), hi));
  for (const dtype of ["f32", "bf16", "i32", "u32"] as const) {
    const name = `clamp ${dtype} [2,3] array bounds`;
    cases.push({
      name,
      primitives: [Primitive.Clamp],
      build: () => [
        randomValue(dtype, [2, 3], seedOf(name), { min: 0, max: 3 }),
        randomValue(dtype, [2, 3], seedOf(`${name}/x`), { min: 0, max: 12 }),
        randomValue(dtype, [2, 3], seedOf(`${name}/hi`), { min: 6, max: 9 }),
      ],
      fn: (lo, x, hi) => lax.clamp(lo!, x!, hi!),
      expected: (inputs) => mapBroadcast(dtype, inputs, clampExact),
    });
  }
  cases.push({
    name: "clamp f32 scalar bounds, NaN and infinities",
    primitives: [Primitive.Clamp],
    build: () => [hv("f32", [6], [-Infinity, -2, 0.5, 2, Infinity, NaN])],
    fn: (x) => lax.clamp(-1, x!, 1),
    expected: () => hv("f32", [6], [-1, -1, 0.5, 1, 1, NaN]),
  });
  cases.push({
    name: "clamp i32 scalar [] operand",
    primitives: [Primitive.Clamp],
    build: () => [hv("i32", [], [17])],
    fn: (x) => lax.clamp(-3, x!, 9),
    expected: () => hv("i32", [], [9]),
  });
  return cases;
}

// --- conversions -------------------------------------------------------------------------------------------

function convertCases(): OpCase[] {
  const convert = (to: DType) => (x: ArrayBase) => lax.convert(x, to);
  const one = 1;
  const cases: OpCase[] = [
    {
      name: "convert f32->bf16 rounds to nearest, ties to even",
      primitives: [Primitive.Convert],
      build: () =>
        [
          hv("f32", [12], [
            1,
            one + 2 ** -8, // exactly halfway between 1 and 1 + 2^-7: even is 1
            one + 3 * 2 ** -8, // halfway between 1 + 2^-7 (odd) and 1 + 2^-6: even is 1 + 2^-6
            one + 2 ** -8 + 2 ** -20, // just above halfway: up
            -(one + 3 * 2 ** -8),
            3.4e38, // above the largest bf16 (2^128 - 2^120) by more than half an ulp: +inf
            -0,
            Infinity,
            NaN,
            1e-40, // f32 subnormal
            0.1,
            65504,
          ]),
        ],
      fn: convert("bf16"),
      expected: () =>
        hv("bf16", [12], [1, 1, one + 2 ** -6, one + 2 ** -7, -(one + 2 ** -6), Infinity, -0, Infinity, NaN, 1e-40, 0.10009765625, 65536]),
    },
    {
      name: "convert f32->i32 truncates toward zero",
      primitives: [Primitive.Convert],
      build: () => [hv("f32", [8], [-2.7, -2.5, -0.5, -0, 0.5, 2.5, 2.7, 1000000.75])],
      fn: convert("i32"),
      expected: () => hv("i32", [8], [-2, -2, 0, 0, 0, 2, 2, 1000000]),
    },
    {
      name: "convert f32->i32 saturates out of range and maps NaN to 0 (XLA)",
      primitives: [Primitive.Convert],
      build: () => [hv("f32", [5], [3e9, -3e9, NaN, Infinity, -Infinity])],
      fn: convert("i32"),
      expected: () => hv("i32", [5], [INT32_MAX, INT32_MIN, 0, INT32_MAX, INT32_MIN]),
    },
    {
      name: "convert f32->u32 truncates toward zero",
      primitives: [Primitive.Convert],
      build: () => [hv("f32", [4], [0, 0.5, 2.7, 3e9])],
      fn: convert("u32"),
      expected: () => hv("u32", [4], [0, 0, 2, 3e9]),
    },
    {
      name: "convert bf16->i32 and bf16->f32",
      primitives: [Primitive.Convert],
      build: () => [hv("bf16", [4], [-3.5, 0.75, 256, -0.0078125])],
      fn: (x) => [lax.convert(x!, "i32"), lax.convert(x!, "f32")],
      expected: ([x]) => [hv("i32", [4], [-3, 0, 256, 0]), hv("f32", [4], x!.data)],
    },
    {
      name: "convert i32->f32 rounds to nearest",
      primitives: [Primitive.Convert],
      build: () => [hv("i32", [5], [0, -1, 16777217, INT32_MAX, INT32_MIN])],
      fn: convert("f32"),
      expected: () => hv("f32", [5], [0, -1, 16777216, 2147483648, -2147483648]),
    },
    {
      name: "convert u32->f32 reads unsigned",
      primitives: [Primitive.Convert],
      build: () => [hv("u32", [3], [0, UINT32_MAX, 0x80000000])],
      fn: convert("f32"),
      expected: () => hv("f32", [3], [0, 4294967296, 2147483648]),
    },
    {
      name: "convert i32<->u32 keeps the bits",
      primitives: [Primitive.Convert],
      build: () => [hv("i32", [3], [-1, INT32_MIN, 5]), hv("u32", [2], [UINT32_MAX, 0x80000000])],
      fn: (a, b) => [lax.convert(a!, "u32"), lax.convert(b!, "i32")],
      expected: () => [hv("u32", [3], [UINT32_MAX, 0x80000000, 5]), hv("i32", [2], [-1, INT32_MIN])],
    },
    {
      name: "convert to bool is 'not zero'",
      primitives: [Primitive.Convert],
      build: () => [hv("f32", [5], [0, -0, 0.5, NaN, -3]), hv("i32", [3], [0, -1, 2])],
      fn: (a, b) => [lax.convert(a!, "bool"), lax.convert(b!, "bool")],
      expected: () => [hv("bool", [5], [0, 0, 1, 1, 1]), hv("bool", [3], [0, 1, 1])],
    },
    {
      name: "convert bool->f32/i32/bf16",
      primitives: [Primitive.Convert],
      build: () => [hv("bool", [2, 2], [1, 0, 0, 1])],
      fn: (b) => [lax.convert(b!, "f32"), lax.convert(b!, "i32"), lax.convert(b!, "bf16")],
      expected: ([b]) => [hv("f32", [2, 2], b!.data), hv("i32", [2, 2], b!.data), hv("bf16", [2, 2], b!.data)],
    },
    {
      name: "convert i32->bf16 small integers exact",
      primitives: [Primitive.Convert],
      build: () => [hv("i32", [4], [0, -7, 255, 257])],
      fn: convert("bf16"),
      expected: () => hv("bf16", [4], [0, -7, 255, 256]),
    },
    {
      name: "convert f32->bf16 random [3,5] and back",
      primitives: [Primitive.Convert],
      build: () => [randomValue("f32", [3, 5], 77, { min: -100, max: 100 })],
      fn: (x) => [lax.convert(x!, "bf16"), lax.convert(lax.convert(x!, "bf16"), "f32")],
      expected: ([x]) => [mapBroadcast("bf16", [x!], (v) => v), mapBroadcast("f32", [x!], (v) => castTo("bf16", v))],
    },
    {
      name: "convert size-0 and scalar",
      primitives: [Primitive.Convert],
      build: () => [hv("f32", [0, 2], []), hv("f32", [], [-1.5])],
      fn: (a, b) => [lax.convert(a!, "i32"), lax.convert(b!, "i32")],
      expected: () => [hv("i32", [0, 2], []), hv("i32", [], [-1])],
    },
  ];
  cases.push(
    {
      name: "bitcast_convert f32<->i32/u32",
      primitives: [Primitive.BitcastConvert],
      build: () => [hv("f32", [4], [1, -2, 0.1, -0]), hv("i32", [3], [0x3f800000, -1073741824, 0x7fc00000])],
      fn: (f, i) => [lax.bitcastConvert(f!, "i32"), lax.bitcastConvert(f!, "u32"), lax.bitcastConvert(i!, "f32")],
      expected: ([f]) => [
        hv("i32", [4], f!.data.map((v) => f32Bits(v) | 0)),
        hv("u32", [4], f!.data.map((v) => f32Bits(v))),
        hv("f32", [3], [1, -2, f32FromBits(0x7fc00000)]),
      ],
    },
    {
      name: "bitcast_convert u32->f32 and i32->u32 [2,2]",
      primitives: [Primitive.BitcastConvert],
      build: () => [hv("u32", [2, 2], [0x7f800000, 0xff800000, 0x00000001, 0x3f000000]), hv("i32", [2, 2], [-1, 0, INT32_MIN, 7])],
      fn: (u, i) => [lax.bitcastConvert(u!, "f32"), lax.bitcastConvert(i!, "u32")],
      expected: ([u, i]) => [hv("f32", [2, 2], u!.data.map(f32FromBits)), hv("u32", [2, 2], i!.data.map((v) => v >>> 0))],
    },
  );
  return cases;
}

export function elementwiseCases(): OpCase[] {
  return [...unaryCases(), ...binaryCases(), ...compareCases(), ...selectClampCases(), ...convertCases()];
}
