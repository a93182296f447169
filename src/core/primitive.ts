// The primitive set: small and close to StableHLO. Everything else (softmax, einsum, gelu, ...) is composed
// from these in src/lib, so transforms and backends only ever see this list.
import type { Precision } from "../transforms/precision.js";
import type { DType } from "./dtype.js";
import type { Program } from "./program.js";

export enum Primitive {
  // elementwise unary
  Neg = "neg",
  Exp = "exp",
  Log = "log",
  Log1p = "log1p",
  Tanh = "tanh",
  Logistic = "logistic",
  Sqrt = "sqrt",
  Rsqrt = "rsqrt",
  Abs = "abs",
  Sign = "sign",
  Floor = "floor",
  Sin = "sin",
  Cos = "cos",
  Not = "not",
  // elementwise binary
  Add = "add",
  Sub = "sub",
  Mul = "mul",
  Div = "div",
  Pow = "pow",
  Max = "max",
  Min = "min",
  Rem = "rem",
  And = "and",
  Or = "or",
  Xor = "xor",
  ShiftLeft = "shift_left",
  ShiftRightLogical = "shift_right_logical",
  // elementwise, other arities
  Compare = "compare",
  Select = "select",
  Clamp = "clamp",
  Convert = "convert",
  BitcastConvert = "bitcast_convert",
  // shape
  BroadcastInDim = "broadcast_in_dim",
  Reshape = "reshape",
  Transpose = "transpose",
  Slice = "slice",
  DynamicSlice = "dynamic_slice",
  DynamicUpdateSlice = "dynamic_update_slice",
  Concatenate = "concatenate",
  Pad = "pad",
  Iota = "iota",
  // reductions
  Reduce = "reduce",
  Argmax = "argmax",
  // contraction
  DotGeneral = "dot_general",
  // indexing
  Gather = "gather",
  ScatterAdd = "scatter_add",
  // control
  While = "while",
  // differentiation
  StopGradient = "stop_gradient",
}

export type ComparisonDirection = "EQ" | "NE" | "GE" | "GT" | "LE" | "LT";
export type ReduceOp = "sum" | "max" | "min" | "and" | "or";

export interface GatherDimensionNumbers {
  offsetDims: readonly number[];
  collapsedSliceDims: readonly number[];
  startIndexMap: readonly number[];
  indexVectorDim: number;
}

export interface ScatterDimensionNumbers {
  updateWindowDims: readonly number[];
  insertedWindowDims: readonly number[];
  scatterDimsToOperandDims: readonly number[];
  indexVectorDim: number;
}

export interface DotDimensionNumbers {
  lhsContracting: readonly number[];
  rhsContracting: readonly number[];
  lhsBatch: readonly number[];
  rhsBatch: readonly number[];
}

type NoParams = Record<string, never>;

/** The typed parameters of each primitive. */
export interface PrimitiveParams {
  [Primitive.Neg]: NoParams;
  [Primitive.Exp]: NoParams;
  [Primitive.Log]: NoParams;
  [Primitive.Log1p]: NoParams;
  [Primitive.Tanh]: NoParams;
  [Primitive.Logistic]: NoParams;
  [Primitive.Sqrt]: NoParams;
  [Primitive.Rsqrt]: NoParams;
  [Primitive.Abs]: NoParams;
  [Primitive.Sign]: NoParams;
  [Primitive.Floor]: NoParams;
  [Primitive.Sin]: NoParams;
  [Primitive.Cos]: NoParams;
  [Primitive.Not]: NoParams;
  [Primitive.Add]: NoParams;
  [Primitive.Sub]: NoParams;
  [Primitive.Mul]: NoParams;
  [Primitive.Div]: NoParams;
  [Primitive.Pow]: NoParams;
  [Primitive.Max]: NoParams;
  [Primitive.Min]: NoParams;
  [Primitive.Rem]: NoParams;
  [Primitive.And]: NoParams;
  [Primitive.Or]: NoParams;
  [Primitive.Xor]: NoParams;
  [Primitive.ShiftLeft]: NoParams;
  [Primitive.ShiftRightLogical]: NoParams;
  [Primitive.Compare]: { direction: ComparisonDirection };
  [Primitive.Select]: NoParams;
  [Primitive.Clamp]: NoParams;
  [Primitive.Convert]: { dtype: DType };
  [Primitive.BitcastConvert]: { dtype: DType };
  [Primitive.BroadcastInDim]: { shape: readonly number[]; broadcastDimensions: readonly number[] };
  [Primitive.Reshape]: { shape: readonly number[] };
  [Primitive.Transpose]: { permutation: readonly number[] };
  [Primitive.Slice]: { start: readonly number[]; limit: readonly number[]; strides: readonly number[] };
  /** Inputs: operand, then one scalar i32 start index per dimension. */
  [Primitive.DynamicSlice]: { sizes: readonly number[] };
  /** Inputs: operand, update, then one scalar i32 start index per dimension. */
  [Primitive.DynamicUpdateSlice]: NoParams;
  [Primitive.Concatenate]: { axis: number };
  /** Inputs: operand, scalar padding value. Negative low/high padding crops. */
  [Primitive.Pad]: { low: readonly number[]; high: readonly number[]; interior: readonly number[] };
  [Primitive.Iota]: { shape: readonly number[]; dtype: DType; dimension: number };
  [Primitive.Reduce]: { op: ReduceOp; axes: readonly number[] };
  /** Index of the first maximum along `axis` (NaN counts as the maximum, as in numpy). */
  [Primitive.Argmax]: { axis: number; indexDtype: DType };
  /** `precision` (when set) overrides the module's dot precision for this product and its gradients. */
  [Primitive.DotGeneral]: { dimensions: DotDimensionNumbers; precision?: Precision };
  [Primitive.Gather]: { dimensions: GatherDimensionNumbers; sliceSizes: readonly number[] };
  /** Inputs: operand, indices, updates. Out-of-bounds updates are dropped. */
  [Primitive.ScatterAdd]: { dimensions: ScatterDimensionNumbers };
  /** Inputs: cond consts, body consts, then the initial carry. `cond` takes (cond consts, carry) and returns a
   * scalar bool; `body` takes (body consts, carry) and returns the next carry. */
  [Primitive.While]: { cond: Program; body: Program; condConsts: number; bodyConsts: number };
  /** The identity on values; its cotangent is zero. */
  [Primitive.StopGradient]: NoParams;
}

export type Params<P extends Primitive> = PrimitiveParams[P];

export const ALL_PRIMITIVES: readonly Primitive[] = Object.values(Primitive);
