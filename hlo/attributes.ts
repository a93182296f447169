// Attribute values of the ops the emitter writes, and their MLIR text. Every attribute goes through
// printAttribute, so the syntax lives in one place (generic form, `array<i64: ...>` integer lists).
import { type ElementType, type TensorType, printType } from "./types.js";

export type ComparisonDirection = "EQ" | "NE" | "GE" | "GT" | "LE" | "LT";
export type ComparisonType = "FLOAT" | "TOTALORDER" | "SIGNED" | "UNSIGNED";
/** StableHLO's `precision` enum: how exactly a device must multiply (see docs/DECISIONS.md). */
export type DotPrecision = "DEFAULT" | "HIGH" | "HIGHEST";

export interface DotDimensions {
  lhsBatching: readonly number[];
  rhsBatching: readonly number[];
  lhsContracting: readonly number[];
  rhsContracting: readonly number[];
}

export interface GatherDimensions {
  offsetDims: readonly number[];
  collapsedSliceDims: readonly number[];
  startIndexMap: readonly number[];
  indexVectorDim: number;
}

export interface ScatterDimensions {
  updateWindowDims: readonly number[];
  insertedWindowDims: readonly number[];
  scatterDimsToOperandDims: readonly number[];
  indexVectorDim: number;
}

/** Data of a dense constant: one value repeated (splat) or every element in row-major order.
 * Float data are numbers; i64 may be bigint; bool data are 0/1 or booleans. */
export type DenseData =
  | { splat: number | bigint | boolean }
  | { values: ArrayLike<number> | ArrayLike<bigint> | readonly boolean[] };

export type Attribute =
  | { kind: "i64_array"; values: readonly number[] }
  | { kind: "integer"; value: number; type: "i32" | "i64" }
  | { kind: "bool"; value: boolean }
  | { kind: "string"; value: string }
  | { kind: "comparison_direction"; value: ComparisonDirection }
  | { kind: "comparison_type"; value: ComparisonType }
  | { kind: "dot"; dims: DotDimensions }
  | { kind: "precision_config"; lhs: DotPrecision; rhs: DotPrecision }
  | { kind: "gather"; dims: GatherDimensions }
  | { kind: "scatter"; dims: ScatterDimensions }
  | { kind: "dense"; type: TensorType; data: DenseData };

export const attr = {
  i64Array: (values: readonly number[]): Attribute => ({ kind: "i64_array", values }),
  i64: (value: number): Attribute => ({ kind: "integer", value, type: "i64" }),
  i32: (value: number): Attribute => ({ kind: "integer", value, type: "i32" }),
  bool: (value: boolean): Attribute => ({ kind: "bool", value }),
  string: (value: string): Attribute => ({ kind: "string", value }),
  comparisonDirection: (value: ComparisonDirection): Attribute => ({ kind: "comparison_direction", value }),
  comparisonType: (value: ComparisonType): Attribute => ({ kind: "comparison_type", value }),
  dot: (dims: DotDimensions): Attribute => ({ kind: "dot", dims }),
  /** dot_general's `precision_config`: one precision per operand. */
  precisionConfig: (lhs: DotPrecision, rhs: DotPrecision = lhs): Attribute => ({ kind: "precision_config", lhs, rhs }),
  gather: (dims: GatherDimensions): Attribute => ({ kind: "gather", dims }),
  scatter: (dims: ScatterDimensions): Attribute => ({ kind: "scatter", dims }),
  dense: (type: TensorType, data: DenseData): Attribute => ({ kind: "dense", type, data }),
};

function list(values: readonly number[]): string {
  return `[${values.join(", ")}]`;
}

export function printAttribute(attribute: Attribute): string {
  switch (attribute.kind) {
    case "i64_array":
      return attribute.values.length === 0 ? "array<i64>" : `array<i64: ${attribute.values.join(", ")}>`;
    case "integer":
      return `${attribute.value} : ${attribute.type}`;
    case "bool":
      return attribute.value ? "true" : "false";
    case "string":
      return JSON.stringify(attribute.value);
    case "comparison_direction":
      return `#stablehlo<comparison_direction ${attribute.value}>`;
    case "comparison_type":
      return `#stablehlo<comparison_type ${attribute.value}>`;
    case "dot": {
      const d = attribute.dims;
      const parts: string[] = [];
      if (d.lhsBatching.length > 0) parts.push(`lhs_batching_dimensions = ${list(d.lhsBatching)}`);
      if (d.rhsBatching.length > 0) parts.push(`rhs_batching_dimensions = ${list(d.rhsBatching)}`);
      parts.push(`lhs_contracting_dimensions = ${list(d.lhsContracting)}`);
      parts.push(`rhs_contracting_dimensions = ${list(d.rhsContracting)}`);
      return `#stablehlo.dot<${parts.join(", ")}>`;
    }
    case "precision_config":
      return `[#stablehlo<precision ${attribute.lhs}>, #stablehlo<precision ${attribute.rhs}>]`;
    case "gather": {
      const d = attribute.dims;
      return (
        `#stablehlo.gather<offset_dims = ${list(d.offsetDims)}, collapsed_slice_dims = ${list(d.collapsedSliceDims)}, ` +
        `start_index_map = ${list(d.startIndexMap)}, index_vector_dim = ${d.indexVectorDim}>`
      );
    }
    case "scatter": {
      const d = attribute.dims;
      return (
        `#stablehlo.scatter<update_window_dims = ${list(d.updateWindowDims)}, ` +
        `inserted_window_dims = ${list(d.insertedWindowDims)}, ` +
        `scatter_dims_to_operand_dims = ${list(d.scatterDimsToOperandDims)}, index_vector_dim = ${d.indexVectorDim}>`
      );
    }
    case "dense":
      return `dense<${printDenseBody(attribute.type, attribute.data)}> : ${printType(attribute.type)}`;
  }
}

const HEX_BLOB_THRESHOLD = 16;

function printDenseBody(type: TensorType, data: DenseData): string {
  if ("splat" in data) return printScalar(type.element, data.splat);
  const count = type.shape.reduce((a, b) => a * b, 1);
  if (data.values.length !== count) {
    throw new Error(`dense constant of type ${printType(type)} needs ${count} values, got ${data.values.length}`);
  }
  if (count > HEX_BLOB_THRESHOLD && type.element !== "i1") return `"0x${hexBlob(type.element, data.values)}"`;
  return nestedList(type.element, type.shape, data.values, 0, 0);
}

function nestedList(
  element: ElementType,
  shape: readonly number[],
  values: ArrayLike<number | bigint | boolean>,
  axis: number,
  offset: number,
): string {
  if (shape.length === 0) return printScalar(element, values[0]!);
  const stride = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const items: string[] = [];
  for (let i = 0; i < shape[axis]!; i++) {
    items.push(
      axis === shape.length - 1
        ? printScalar(element, values[offset + i]!)
        : nestedList(element, shape, values, axis + 1, offset + i * stride),
    );
  }
  return `[${items.join(", ")}]`;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Prints one element in a form MLIR parses back to the same bits. */
export function printScalar(element: ElementType, value: number | bigint | boolean): string {
  switch (element) {
    case "i1":
      // Any nonzero value is true, as when storing into a bool array.
      return value === true || (typeof value !== "boolean" && Number(value) !== 0) ? "true" : "false";
    case "i32":
    case "i64":
    case "ui32":
      return integerLiteral(element, value);
    case "f32":
    case "bf16": {
      // Round first: a finite double can overflow f32 (e.g. 1e39 becomes +inf).
      const v = Math.fround(Number(value));
      if (!Number.isFinite(v)) return element === "f32" ? f32NonFiniteHex(v) : bf16NonFiniteHex(v);
      return floatLiteral(v);
    }
  }
}

/** The value as the element type stores it: wrapped to its width (-1 as ui32 is 4294967295) and truncated toward
 * zero, so a literal always parses and means what a typed array of that type would hold. */
function integerLiteral(element: "i32" | "i64" | "ui32", value: number | bigint | boolean): string {
  let big: bigint;
  if (typeof value === "boolean") big = value ? 1n : 0n;
  else if (typeof value === "bigint") big = value;
  else big = Number.isFinite(value) ? BigInt(Math.trunc(value)) : 0n;
  const wrapped = element === "ui32" ? BigInt.asUintN(32, big) : element === "i32" ? BigInt.asIntN(32, big) : BigInt.asIntN(64, big);
  return wrapped.toString();
}

/** A float literal with a mantissa dot and an exponent, e.g. 1.0e+00, -2.5e-07. */
function floatLiteral(value: number): string {
  if (Object.is(value, -0)) return "-0.0e+00";
  const [mantissa, exponent] = value.toExponential().split("e") as [string, string];
  const withDot = mantissa.includes(".") ? mantissa : `${mantissa}.0`;
  return `${withDot}e${exponent.startsWith("-") ? exponent : `+${exponent.replace("+", "")}`}`;
}

function f32NonFiniteHex(value: number): string {
  if (Number.isNaN(value)) return "0x7FC00000";
  return value > 0 ? "0x7F800000" : "0xFF800000";
}

function bf16NonFiniteHex(value: number): string {
  if (Number.isNaN(value)) return "0x7FC0";
  return value > 0 ? "0x7F80" : "0xFF80";
}

function hexBlob(element: ElementType, values: ArrayLike<number | bigint | boolean>): string {
  const size = values.length;
  let bytes: Uint8Array;
  switch (element) {
    case "f32": {
      const a = new Float32Array(size);
      for (let i = 0; i < size; i++) a[i] = Number(values[i]);
      bytes = new Uint8Array(a.buffer);
      break;
    }
    case "bf16": {
      // bf16 data arrive as numbers; round each to bf16 (ties to even) and keep the upper 16 bits.
      const a = new Uint16Array(size);
      for (let i = 0; i < size; i++) {
        f32Scratch[0] = Number(values[i]);
        const bits = u32Scratch[0]!;
        const isNaN = (bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0;
        a[i] = isNaN ? ((bits >>> 16) | 0x40) & 0xffff : ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
      }
      bytes = new Uint8Array(a.buffer);
      break;
    }
    case "i32": {
      const a = new Int32Array(size);
      for (let i = 0; i < size; i++) a[i] = Number(values[i]);
      bytes = new Uint8Array(a.buffer);
      break;
    }
    case "ui32": {
      const a = new Uint32Array(size);
      for (let i = 0; i < size; i++) a[i] = Number(values[i]);
      bytes = new Uint8Array(a.buffer);
      break;
    }
    case "i64": {
      const a = new BigInt64Array(size);
      for (let i = 0; i < size; i++) a[i] = BigInt(values[i] as number | bigint);
      bytes = new Uint8Array(a.buffer);
      break;
    }
    case "i1":
      throw new Error("i1 constants are printed as lists, not hex blobs");
  }
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0").toUpperCase();
  return hex;
}
