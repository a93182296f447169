// Random weights for any Gemma3 config, drawn on the target device with our threefry generator (seeded, the same
// numbers on every device). For tests and benchmarks, not training from scratch: matrices are uniform with
// variance 1/fan_in (the embedding's rows then have unit RMS after the sqrt(d_model) scale, and logits stay of
// order one), norm scales are zero as published checkpoints start, unless `normScale` asks for random ones.
//
// Large tensors are filled in row chunks written into one donated buffer, so a 1B model in bf16 never holds a
// second copy of a weight (only one chunk of draws at a time).
import type { ArrayBase } from "../../src/core/array_base.js";
import * as lax from "../../src/ops/index.js";
import * as np from "../../src/lib/np.js";
import * as random from "../../src/lib/random.js";
import { type DeviceArray } from "../../src/runtime/array.js";
import { type Device, type DeviceKind, getDevice } from "../../src/runtime/device.js";
import { jit } from "../../src/transforms/jit.js";
import type { Gemma3Config } from "./config.js";
import { type Gemma3Params, type WeightSpec, buildParams, weightTable } from "./params.js";

export type WeightsDtype = "f32" | "bf16";

export interface InitOptions {
  /** Seed of the draws (default 0). */
  seed?: number;
  /** Dtype of every weight (default f32). */
  weightsDtype?: WeightsDtype;
  /** Where the weights are created (default: the default device). */
  device?: DeviceKind | Device;
  /** Norm scales are drawn uniform in [-normScale, normScale) instead of zero (tests use it to exercise the
   * (1 + scale) form). */
  normScale?: number;
  /** Elements drawn per call (default 2^22): bounds the scratch memory of a fill (the draw and threefry's words). */
  chunkElements?: number;
}

const CHUNK_ELEMENTS = 1 << 22;

/** Writes uniform draws in [-bound, bound) at rows start .. start + chunkShape[0] - 1 of `buffer` (donated). The
 * draws depend only on the seed and the integer path (each entry folded into the key in turn). */
function fillChunk(buffer: ArrayBase, seed: ArrayBase, path: ArrayBase, start: ArrayBase, bound: ArrayBase, chunkShape: number[]): ArrayBase {
  let key = random.key(seed); //                                                     u32[2]
  for (let i = 0; i < path.shape[0]!; i++) key = random.foldIn(key, lax.reshape(lax.slice(path, [i], [i + 1]), []));
  const draws = random.uniform(key, chunkShape, { minval: np.negative(bound), maxval: bound }); // [rows, ...] f32
  const starts = chunkShape.map((_, i) => (i === 0 ? start : 0));
  return lax.dynamicUpdateSlice(buffer, np.astype(draws, buffer.dtype), starts); //  buffer's shape
}

function makeInitializers(device: Device) {
  return {
    zeros: jit((shape: number[], dtype: WeightsDtype) => np.zeros(shape, dtype), { device, staticArgnums: [0, 1], name: "init_zeros" }),
    fill: jit(fillChunk, { device, staticArgnums: [5], donateArgnums: [0], name: "init_fill" }),
  };
}

const initializers = new WeakMap<Device, ReturnType<typeof makeInitializers>>();

export interface UniformOptions {
  seed: number;
  /** Integers that name the tensor (folded into the seed's key): different paths give independent draws. */
  path: readonly number[];
  /** Half-width of the draws; 0 gives zeros. */
  bound: number;
  dtype: WeightsDtype;
  device: Device;
  chunkElements?: number;
}

/** A tensor of uniform draws in [-bound, bound), the same numbers on every device; large tensors are filled in
 * row chunks of at most `chunkElements` into one donated buffer. */
export function uniformTensor(shape: readonly number[], options: UniformOptions): DeviceArray {
  const { device, dtype, bound } = options;
  let jitted = initializers.get(device);
  if (jitted === undefined) {
    jitted = makeInitializers(device);
    initializers.set(device, jitted);
  }
  let buffer = jitted.zeros([...shape], dtype);
  if (bound === 0) return buffer;
  const rows = shape[0]!;
  const rowSize = shape.slice(1).reduce((a, b) => a * b, 1);
  const rowsPerChunk = Math.max(1, Math.min(rows, Math.floor((options.chunkElements ?? CHUNK_ELEMENTS) / rowSize)));
  const chunkShape = [rowsPerChunk, ...shape.slice(1)];
  const seed = np.array(Number(BigInt.asUintN(32, BigInt(options.seed))), { dtype: "u32", shape: [], device });
  const boundArray = np.array(bound, { shape: [], device });
  for (let chunk = 0; chunk * rowsPerChunk < rows; chunk++) {
    // The last chunk may overlap the one before (its start is clamped): deterministic all the same.
    const start = np.array(Math.min(chunk * rowsPerChunk, rows - rowsPerChunk), { dtype: "i32", shape: [], device });
    const path = np.array(Int32Array.from([...options.path, chunk]), { device });
    buffer = jitted.fill(buffer, seed, path, start, boundArray, chunkShape);
    start.dispose();
    path.dispose();
  }
  seed.dispose();
  boundArray.dispose();
  return buffer;
}

/** Half-width of the uniform draws of one tensor. */
function boundOf(spec: WeightSpec, normScale: number): number {
  if (spec.kind === "norm") return normScale;
  // [out, in] matrices and the [V, D] embedding: variance 1 / shape[1], i.e. bound sqrt(3 / shape[1]).
  return Math.sqrt(3 / spec.shape[1]!);
}

/** Random parameters for `config` (see the file comment). */
export function initParams(config: Gemma3Config, options: InitOptions = {}): Gemma3Params<DeviceArray> {
  const device = getDevice(options.device);
  const dtype = options.weightsDtype ?? "f32";
  const indexOf = new Map(weightTable(config).map((spec, i) => [spec.path, i]));
  return buildParams(config, (spec) =>
    uniformTensor(spec.shape, {
      seed: options.seed ?? 0,
      path: [indexOf.get(spec.path)!],
      bound: boundOf(spec, options.normScale ?? 0),
      dtype,
      device,
      ...(options.chunkElements === undefined ? {} : { chunkElements: options.chunkElements }),
    }),
  );
}

const copyJit = jit((tree: Gemma3Params<ArrayBase>) => ({
  embed: copyF32(tree.embed),
  finalNorm: copyF32(tree.finalNorm),
  layers: tree.layers.map((layer) => Object.fromEntries(Object.entries(layer).map(([name, x]) => [name, copyF32(x as ArrayBase)]))),
}), { name: "copy_params" });

function copyF32(x: ArrayBase): ArrayBase {
  // Computed, not passed through, so that the result is a buffer of its own.
  return np.add(np.astype(x, "f32"), 0);
}

/** A copy of a parameter tree in f32, in buffers of its own (the weights a full-parameter run trains, next to the
 * frozen original). */
export function copyParams(params: Gemma3Params<DeviceArray>): Gemma3Params<DeviceArray> {
  return copyJit(params) as unknown as Gemma3Params<DeviceArray>;
}
