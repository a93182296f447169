// Shape primitives: broadcast_in_dim, reshape, transpose, slice (strides), dynamic_slice (start clamping),
// dynamic_update_slice, concatenate, pad (interior and negative) and iota, over every dtype they move.
// Expected values are index arithmetic written here from the StableHLO definitions.
import { Primitive, lax } from "../../src/index.js";
import type { DType } from "../../src/core/dtype.js";
import { type HostValue, at, fromIndex, hv, randomValue, sizeOf, unravelIndex } from "../helpers/arrays.js";
import { type OpCase, seedOf, shapeText } from "./case_types.js";

const MOVE_DTYPES: DType[] = ["f32", "bf16", "i32", "u32", "bool"];

/** out[i] = x[j] where j[k] = i[dims[k]] (or 0 along size-1 axes of x that broadcast). */
function broadcastInDimOf(x: HostValue, shape: readonly number[], dims: readonly number[]): HostValue {
  return fromIndex(x.dtype, shape, (index) => at(x, dims.map((d, k) => (x.shape[k] === 1 ? 0 : index[d]!))));
}

function transposeOf(x: HostValue, permutation: readonly number[]): HostValue {
  const shape = permutation.map((p) => x.shape[p]!);
  return fromIndex(x.dtype, shape, (index) => {
    const source = new Array<number>(x.shape.length);
    permutation.forEach((p, i) => (source[p] = index[i]!));
    return at(x, source);
  });
}

function sliceOf(x: HostValue, start: readonly number[], limit: readonly number[], strides: readonly number[]): HostValue {
  const shape = start.map((s, d) => Math.max(0, Math.ceil((limit[d]! - s) / strides[d]!)));
  return fromIndex(x.dtype, shape, (index) => at(x, index.map((i, d) => start[d]! + i * strides[d]!)));
}

/** StableHLO clamps each start so the whole window fits: min(max(start, 0), dim - size). */
function clampedStarts(starts: readonly number[], dims: readonly number[], sizes: readonly number[]): number[] {
  return starts.map((s, d) => Math.min(Math.max(s, 0), dims[d]! - sizes[d]!));
}

function dynamicSliceOf(x: HostValue, starts: readonly number[], sizes: readonly number[]): HostValue {
  const begin = clampedStarts(starts, x.shape, sizes);
  return fromIndex(x.dtype, sizes, (index) => at(x, index.map((i, d) => begin[d]! + i)));
}

function dynamicUpdateSliceOf(x: HostValue, update: HostValue, starts: readonly number[]): HostValue {
  const begin = clampedStarts(starts, x.shape, update.shape);
  return fromIndex(x.dtype, x.shape, (index) => {
    const inside = index.every((i, d) => i >= begin[d]! && i < begin[d]! + update.shape[d]!);
    return inside ? at(update, index.map((i, d) => i - begin[d]!)) : at(x, index);
  });
}

function concatenateOf(xs: readonly HostValue[], axis: number): HostValue {
  const shape = [...xs[0]!.shape];
  shape[axis] = xs.reduce((n, x) => n + x.shape[axis]!, 0);
  return fromIndex(xs[0]!.dtype, shape, (index) => {
    let position = index[axis]!;
    for (const x of xs) {
      if (position < x.shape[axis]!) {
        const local = [...index];
        local[axis] = position;
        return at(x, local);
      }
      position -= x.shape[axis]!;
    }
    throw new Error("unreachable");
  });
}

function padOf(x: HostValue, value: number, low: readonly number[], high: readonly number[], interior: readonly number[]): HostValue {
  const shape = x.shape.map((d, i) => low[i]! + high[i]! + d + Math.max(d - 1, 0) * interior[i]!);
  const out = fromIndex(x.dtype, shape, () => value);
  for (let flat = 0; flat < sizeOf(x.shape); flat++) {
    const index = unravelIndex(flat, x.shape);
    const position = index.map((i, d) => low[d]! + i * (interior[d]! + 1));
    if (position.some((p, d) => p < 0 || p >= shape[d]!)) continue;
    let target = 0;
    for (let d = 0; d < shape.length; d++) target = target * shape[d]! + position[d]!;
    out.data[target] = x.data[flat]!;
  }
  return out;
}

function broadcastCases(): OpCase[] {
  const layouts: { from: number[]; to: number[]; dims: number[] }[] = [
    { from: [3], to: [2, 3], dims: [1] },
    { from: [3], to: [3, 2], dims: [0] },
    { from: [2, 1], to: [2, 4], dims: [0, 1] },
    { from: [], to: [2, 2], dims: [] },
    { from: [1], to: [3], dims: [0] },
    { from: [2, 3], to: [2, 4, 3], dims: [0, 2] },
    { from: [0], to: [2, 0], dims: [1] },
    { from: [3], to: [0, 3], dims: [1] },
    { from: [], to: [], dims: [] },
  ];
  const cases: OpCase[] = [];
  for (const { from, to, dims } of layouts) {
    for (const dtype of MOVE_DTYPES) {
      if (dtype !== "f32" && dtype !== "bool" && from.length !== 1) continue; // every dtype on the 1-D layouts
      const name = `broadcast_in_dim ${dtype} ${shapeText(from)} -> ${shapeText(to)} dims ${shapeText(dims)}`;
      cases.push({
        name,
        primitives: [Primitive.BroadcastInDim],
        build: () => [randomValue(dtype, from, seedOf(name))],
        // broadcastInDim returns its operand when nothing changes; bind the primitive itself for the identity.
        fn: (x) => lax.bind1(Primitive.BroadcastInDim, [x!], { shape: to, broadcastDimensions: dims }),
        expected: ([x]) => broadcastInDimOf(x!, to, dims),
      });
    }
  }
  return cases;
}

function reshapeTransposeCases(): OpCase[] {
  const cases: OpCase[] = [];
  const reshapes: [number[], number[]][] = [
    [[2, 3], [3, 2]],
    [[6], [1, 6, 1]],
    [[], [1, 1]],
    [[1, 1], []],
    [[0, 3], [3, 0]],
    [[2, 3, 4], [4, 6]],
  ];
  for (const [from, to] of reshapes) {
    for (const dtype of from.length === 2 && to.length === 2 && from[0] === 2 ? MOVE_DTYPES : (["f32"] as DType[])) {
      const name = `reshape ${dtype} ${shapeText(from)} -> ${shapeText(to)}`;
      cases.push({
        name,
        primitives: [Primitive.Reshape],
        build: () => [randomValue(dtype, from, seedOf(name))],
        fn: (x) => lax.reshape(x!, to),
        expected: ([x]) => hv(dtype, to, x!.data),
      });
    }
  }
  const transposes: [number[], number[]][] = [
    [[2, 3], [1, 0]],
    [[2, 3, 4], [2, 0, 1]],
    [[2, 3, 4], [1, 2, 0]],
    [[0, 2], [1, 0]],
    [[1, 4, 1], [2, 1, 0]],
  ];
  for (const [shape, permutation] of transposes) {
    for (const dtype of shape.length === 2 && shape[0] === 2 ? MOVE_DTYPES : (["f32", "i32"] as DType[])) {
      const name = `transpose ${dtype} ${shapeText(shape)} perm ${shapeText(permutation)}`;
      cases.push({
        name,
        primitives: [Primitive.Transpose],
        build: () => [randomValue(dtype, shape, seedOf(name))],
        fn: (x) => lax.transpose(x!, permutation),
        expected: ([x]) => transposeOf(x!, permutation),
      });
    }
  }
  return cases;
}

function sliceCases(): OpCase[] {
  const cases: OpCase[] = [];
  const slices: { shape: number[]; start: number[]; limit: number[]; strides: number[] }[] = [
    { shape: [5, 6], start: [1, 0], limit: [5, 6], strides: [2, 3] },
    { shape: [5, 6], start: [0, 2], limit: [5, 4], strides: [1, 1] },
    { shape: [7], start: [1], limit: [7], strides: [4] },
    { shape: [4, 3], start: [2, 1], limit: [2, 3], strides: [1, 1] }, // size-0 result
    { shape: [2, 0], start: [0, 0], limit: [2, 0], strides: [1, 1] },
    { shape: [3, 4, 5], start: [1, 0, 1], limit: [3, 4, 5], strides: [1, 2, 3] },
  ];
  for (const { shape, start, limit, strides } of slices) {
    for (const dtype of shape[0] === 5 && strides[0] === 2 ? MOVE_DTYPES : (["f32"] as DType[])) {
      const name = `slice ${dtype} ${shapeText(shape)} [${start}:${limit}:${strides}]`;
      cases.push({
        name,
        primitives: [Primitive.Slice],
        build: () => [randomValue(dtype, shape, seedOf(name))],
        fn: (x) => lax.slice(x!, start, limit, strides),
        expected: ([x]) => sliceOf(x!, start, limit, strides),
      });
    }
  }

  const dynamic: { shape: number[]; starts: number[]; sizes: number[]; what: string }[] = [
    { shape: [5, 6], starts: [1, 2], sizes: [2, 3], what: "in range" },
    { shape: [5, 6], starts: [4, 5], sizes: [2, 3], what: "past the end clamps back" },
    { shape: [5, 6], starts: [-3, 100], sizes: [2, 3], what: "negative and huge clamp" },
    { shape: [4], starts: [2], sizes: [0], what: "size 0" },
    { shape: [3, 4], starts: [1, 1], sizes: [3, 4], what: "whole operand (start forced to 0)" },
  ];
  for (const { shape, starts, sizes, what } of dynamic) {
    for (const indexDtype of ["i32", "u32"] as const) {
      if (indexDtype === "u32" && starts.some((s) => s < 0)) continue;
      const dtypes: DType[] = what === "in range" && indexDtype === "i32" ? MOVE_DTYPES : ["f32"];
      for (const dtype of dtypes) {
        const name = `dynamic_slice ${dtype} ${shapeText(shape)} starts ${shapeText(starts)}:${indexDtype} sizes ${shapeText(sizes)} (${what})`;
        cases.push({
          name,
          primitives: [Primitive.DynamicSlice],
          build: () => [randomValue(dtype, shape, seedOf(name)), ...starts.map((s) => hv(indexDtype, [], [s]))],
          fn: (x, ...s) => lax.dynamicSlice(x!, s, sizes),
          expected: ([x, ...s]) => dynamicSliceOf(x!, s.map((v) => v.data[0]!), sizes),
        });
      }
    }
    if (starts.every((s) => s >= 0)) {
      // A JS number start beside a u32 array start takes its dtype: StableHLO needs one start index type.
      const mixedName = `dynamic_slice f32 ${shapeText(shape)} u32 array start with JS number starts ${shapeText(starts)} (${what})`;
      cases.push({
        name: mixedName,
        primitives: [Primitive.DynamicSlice],
        build: () => [randomValue("f32", shape, seedOf(mixedName)), hv("u32", [], [starts[0]!])],
        fn: (x, first) => lax.dynamicSlice(x!, [first!, ...starts.slice(1)], sizes),
        expected: ([x]) => dynamicSliceOf(x!, starts, sizes),
      });
    }
    const literalName = `dynamic_slice f32 ${shapeText(shape)} literal starts ${shapeText(starts)} (${what})`;
    cases.push({
      name: literalName,
      primitives: [Primitive.DynamicSlice],
      build: () => [randomValue("f32", shape, seedOf(literalName))],
      fn: (x) => lax.dynamicSlice(x!, starts, sizes),
      expected: ([x]) => dynamicSliceOf(x!, starts, sizes),
    });
  }

  const updates: { shape: number[]; update: number[]; starts: number[]; what: string }[] = [
    { shape: [4, 5], update: [2, 3], starts: [1, 1], what: "in range" },
    { shape: [4, 5], update: [2, 3], starts: [3, 4], what: "past the end clamps back" },
    { shape: [4, 5], update: [2, 3], starts: [-5, 1], what: "negative clamps to 0" },
    { shape: [4, 5], update: [0, 3], starts: [1, 1], what: "empty update" },
    { shape: [3], update: [3], starts: [2], what: "full replace" },
  ];
  for (const { shape, update, starts, what } of updates) {
    const dtypes: DType[] = what === "in range" ? MOVE_DTYPES : ["f32"];
    for (const dtype of dtypes) {
      const name = `dynamic_update_slice ${dtype} ${shapeText(shape)} <- ${shapeText(update)} at ${shapeText(starts)} (${what})`;
      cases.push({
        name,
        primitives: [Primitive.DynamicUpdateSlice],
        build: () => [randomValue(dtype, shape, seedOf(name)), randomValue(dtype, update, seedOf(`${name}/u`)), ...starts.map((s) => hv("i32", [], [s]))],
        fn: (x, u, ...s) => lax.dynamicUpdateSlice(x!, u!, s),
        expected: ([x, u, ...s]) => dynamicUpdateSliceOf(x!, u!, s.map((v) => v.data[0]!)),
      });
      if (dtype === "f32" && starts.every((v) => v >= 0)) {
        const mixedName = `dynamic_update_slice f32 ${shapeText(shape)} <- ${shapeText(update)} u32 start with JS numbers at ${shapeText(starts)} (${what})`;
        cases.push({
          name: mixedName,
          primitives: [Primitive.DynamicUpdateSlice],
          build: () => [randomValue("f32", shape, seedOf(mixedName)), randomValue("f32", update, seedOf(`${mixedName}/u`)), hv("u32", [], [starts[0]!])],
          fn: (x, u, first) => lax.dynamicUpdateSlice(x!, u!, [first!, ...starts.slice(1)]),
          expected: ([x, u]) => dynamicUpdateSliceOf(x!, u!, starts),
        });
      }
    }
  }
  return cases;
}

function concatenatePadIotaCases(): OpCase[] {
  const cases: OpCase[] = [];
  const concats: { shapes: number[][]; axis: number }[] = [
    { shapes: [[2, 3], [1, 3]], axis: 0 },
    { shapes: [[2, 3], [2, 1], [2, 2]], axis: 1 },
    { shapes: [[2, 3], [0, 3], [1, 3]], axis: 0 },
    { shapes: [[4], [0]], axis: 0 },
    { shapes: [[2, 1, 2], [2, 3, 2]], axis: 1 },
  ];
  for (const { shapes, axis } of concats) {
    const dtypes: DType[] = shapes.length === 2 && axis === 0 && shapes[0]!.length === 2 ? MOVE_DTYPES : ["f32"];
    for (const dtype of dtypes) {
      const name = `concatenate ${dtype} ${shapes.map(shapeText).join(" ")} axis ${axis}`;
      cases.push({
        name,
        primitives: [Primitive.Concatenate],
        build: () => shapes.map((s, i) => randomValue(dtype, s, seedOf(`${name}/${i}`))),
        fn: (...xs) => lax.concatenate(xs, axis),
        expected: (xs) => concatenateOf(xs, axis),
      });
    }
  }

  const pads: { shape: number[]; low: number[]; high: number[]; interior: number[]; what: string }[] = [
    { shape: [2, 3], low: [1, 0], high: [0, 2], interior: [0, 0], what: "edges" },
    { shape: [3], low: [1], high: [1], interior: [2], what: "interior" },
    { shape: [2, 3], low: [0, 1], high: [1, 0], interior: [1, 1], what: "interior 2-D" },
    { shape: [5], low: [-2], high: [-1], interior: [0], what: "negative crops" },
    { shape: [4], low: [-1], high: [2], interior: [1], what: "negative low with interior" },
    { shape: [3, 2], low: [-1, 1], high: [0, -1], interior: [0, 0], what: "mixed signs" },
    { shape: [0, 2], low: [1, 0], high: [1, 0], interior: [3, 0], what: "size-0 operand" },
    { shape: [], low: [], high: [], interior: [], what: "scalar" },
  ];
  for (const { shape, low, high, interior, what } of pads) {
    const dtypes: DType[] = what === "interior 2-D" ? MOVE_DTYPES : ["f32"];
    for (const dtype of dtypes) {
      const name = `pad ${dtype} ${shapeText(shape)} low ${shapeText(low)} high ${shapeText(high)} interior ${shapeText(interior)} (${what})`;
      cases.push({
        name,
        primitives: [Primitive.Pad],
        build: () => [randomValue(dtype, shape, seedOf(name)), randomValue(dtype, [], seedOf(`${name}/v`))],
        fn: (x, v) => lax.pad(x!, v!, low, high, interior),
        expected: ([x, v]) => padOf(x!, v!.data[0]!, low, high, interior),
      });
    }
  }
  cases.push({
    name: "pad f32 with a JS number value",
    primitives: [Primitive.Pad],
    build: () => [hv("f32", [2], [1, 2])],
    fn: (x) => lax.pad(x!, -1, [1], [2], [1]),
    expected: () => hv("f32", [6], [-1, 1, -1, 2, -1, -1]),
  });

  const iotas: { dtype: DType; shape: number[]; dimension: number }[] = [
    { dtype: "i32", shape: [5], dimension: 0 },
    { dtype: "u32", shape: [2, 3], dimension: 1 },
    { dtype: "f32", shape: [2, 3], dimension: 0 },
    { dtype: "bf16", shape: [3, 2], dimension: 0 },
    { dtype: "i32", shape: [2, 3, 4], dimension: 2 },
    { dtype: "i32", shape: [0, 3], dimension: 1 },
    { dtype: "bf16", shape: [300], dimension: 0 }, // above 256 bf16 rounds
  ];
  for (const { dtype, shape, dimension } of iotas) {
    cases.push({
      name: `iota ${dtype} ${shapeText(shape)} dimension ${dimension}`,
      primitives: [Primitive.Iota],
      build: () => [],
      fn: () => lax.iota(dtype, shape, dimension),
      expected: () => fromIndex(dtype, shape, (index) => index[dimension]!),
    });
  }
  return cases;
}

export function shapeCases(): OpCase[] {
  return [...broadcastCases(), ...reshapeTransposeCases(), ...sliceCases(), ...concatenatePadIotaCases()];
}

export { broadcastInDimOf, transposeOf };
