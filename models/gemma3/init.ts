// Random weights for any Gemma3 config, drawn on the target device with our threefry generator (seeded, the same
// numbers on every device). For tests and benchmarks, not training from scratch: matrices are uniform with
// variance 1/fan_in (the embedding's rows then have unit RMS after the sqrt(d_model) scale, and logits stay of
// order one), norm scales are zero as published checkpoints start, unless `normScale` asks for random ones.
//
// Large tensors are filled in row chunks written into one donated buffer, so a 1B model in bf16 never holds a
// second copy of a weight (only one chunk of f32 draws at a time).
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
  /** Elements drawn per call (default 2^24): bounds the f32 scratch memory of a fill. */
  chunkElements?: number;
}

const CHUNK_ELEMENTS = 1 << 24;


/** Writes uniform draws in [-bound, bound) at rows start .. start + chunkShape[0] - 1 of `buffer` (donated). The
 * draws depend on (seed, tensor, chunk) only. */
function fillChunk(
  buffer: ArrayBase,
  seed: ArrayBase,
  tensor: ArrayBase,
  chunk: ArrayBase,
  start: ArrayBase,
  bound: ArrayBase,
  chunkShape: number[],
): ArrayBase {
  const key = random.foldIn(random.foldIn(random.key(seed), tensor), chunk); //     u32[2]
  const draws = random.uniform(key, chunkShape, { minval: np.negative(bound), maxval: bound }); // [rows, ...] f32
  const starts = chunkShape.map((_, i) => (i === 0 ? start : 0));
  return lax.dynamicUpdateSlice(buffer, np.astype(draws, buffer.dtype), starts); //  buffer's shape
}

function makeInitializers(device: Device) {
  return {
    zeros: jit((shape: number[], dtype: WeightsDtype) => np.zeros(shape, dtype), { device, staticArgnums: [0, 1], name: "init_zeros" }),
    fill: jit(fillChunk, { device, staticArgnums: [6], donateArgnums: [0], name: "init_fill" }),
  };
}

const initializers = new WeakMap<Device, ReturnType<typeof makeInitializers>>();

/** Half-width of the uniform draws of one tensor. */
function boundOf(spec: WeightSpec, normScale: number): number {
  if (spec.kind === "norm") return normScale;
  // [out, in] matrices and the [V, D] embedding: variance 1 / shape[1], i.e. bound sqrt(3 / shape[1]).
  return Math.sqrt(3 / spec.shape[1]!);
}

/** Random parameters for `config` (see the file comment). */
export function initParams(config: Gemma3Config, options: InitOptions = {}): Gemma3Params<DeviceArray> {
  const device = getDevice(options.device);
  let jitted = initializers.get(device);
  if (jitted === undefined) {
    jitted = makeInitializers(device);
    initializers.set(device, jitted);
  }
  const { zeros, fill } = jitted;
  const dtype = options.weightsDtype ?? "f32";
  const normScale = options.normScale ?? 0;
  const seed = options.seed ?? 0;
  const scalar = (value: number, kind: "i32" | "u32" | "f32"): DeviceArray => np.array(value, { dtype: kind, device, shape: [] });
  const seedArray = scalar(Number(BigInt.asUintN(32, BigInt(seed))), "u32");
  const indexOf = new Map(weightTable(config).map((spec, i) => [spec.path, i]));
  const params = buildParams(config, (spec) => {
    let buffer = zeros(spec.shape, dtype);
    const bound = boundOf(spec, normScale);
    if (bound === 0) return buffer;
    const rows = spec.shape[0]!;
    const rowSize = spec.shape.slice(1).reduce((a, b) => a * b, 1);
    const rowsPerChunk = Math.max(1, Math.min(rows, Math.floor((options.chunkElements ?? CHUNK_ELEMENTS) / rowSize)));
    const chunkShape = [rowsPerChunk, ...spec.shape.slice(1)];
    const tensorArray = scalar(indexOf.get(spec.path)!, "i32");
    const boundArray = scalar(bound, "f32");
    for (let chunk = 0; chunk * rowsPerChunk < rows; chunk++) {
      // The last chunk may overlap the one before (its start is clamped): deterministic all the same.
      const start = Math.min(chunk * rowsPerChunk, rows - rowsPerChunk);
      const chunkArray = scalar(chunk, "i32");
      const startArray = scalar(start, "i32");
      buffer = fill(buffer, seedArray, tensorArray, chunkArray, startArray, boundArray, chunkShape);
      chunkArray.dispose();
      startArray.dispose();
    }
    tensorArray.dispose();
    boundArray.dispose();
    return buffer;
  });
  seedArray.dispose();
  return params;
}
