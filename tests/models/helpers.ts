// Shared pieces of the model tests: token and mask arrays, parameter trees moved between devices and read to the
// host for the plain-JS oracle.
import { type ArrayBase, type DType, DeviceArray, np, tidy } from "../../src/index.js";
import type { AnyTypedArray } from "../../src/core/dtype.js";
import { type PyTree, treeMap } from "../../src/core/pytree.js";
import type { DeviceKind } from "../../src/runtime/device.js";
import type { Gemma3Config } from "../../models/gemma3/config.js";
import { LAYER_WEIGHT_NAMES, type Gemma3Params } from "../../models/gemma3/params.js";
import { type LoraConfig, type LoraParams, initLora } from "../../models/lora.js";
import { makeRng } from "../helpers/arrays.js";
import type { HostLayer, HostModel } from "./gemma3_oracle.js";

export function tokensArray(rows: readonly (readonly number[])[], device: DeviceKind): DeviceArray {
  return np.array(Int32Array.from(rows.flat()), { shape: [rows.length, rows[0]!.length], device });
}

export function maskArray(rows: readonly (readonly boolean[])[], device: DeviceKind): DeviceArray {
  return np.array(Uint8Array.from(rows.flat().map(Number)), { dtype: "bool", shape: [rows.length, rows[0]!.length], device });
}

/** A copy of every array of a tree on `device`. */
export function moveTree<T>(tree: T, device: DeviceKind): T {
  return treeMap(tree as PyTree, (leaf) => np.asarray(leaf as ArrayBase, { device })) as T;
}

/** Every array of a tree converted to `dtype` (on its device). */
export function castTree<T>(tree: T, dtype: DType): T {
  return treeMap(tree as PyTree, (leaf) => np.astype(leaf as ArrayBase, dtype)) as T;
}

export function disposeTree(tree: unknown): void {
  treeMap(tree as PyTree, (leaf) => {
    if (leaf instanceof DeviceArray) leaf.dispose();
    return leaf;
  });
}

/** The f32 values of an array. */
export async function values(x: ArrayBase): Promise<Float32Array> {
  if (!(x instanceof DeviceArray)) throw new TypeError("expected a concrete array");
  const data = await x.data();
  if (!(data instanceof Float32Array)) throw new TypeError(`expected f32 values, got ${x.dtype}`);
  return data;
}

/** Builds an array inside tidy (every array made on the way is freed), reads it, then frees it too. */
async function readOnce<R>(fn: () => ArrayBase, read: (x: ArrayBase) => Promise<R>): Promise<R> {
  const x = tidy(fn);
  try {
    return await read(x);
  } finally {
    if (x instanceof DeviceArray) x.dispose();
  }
}

/** The f32 values of an array built by `fn` (see readOnce). */
export const valuesOnce = (fn: () => ArrayBase): Promise<Float32Array> => readOnce(fn, values);

/** The host data (any dtype) of an array built by `fn` (see readOnce). */
export const dataOnce = (fn: () => ArrayBase): Promise<AnyTypedArray> => readOnce(fn, (x) => (x as DeviceArray).data());

async function f64(x: ArrayBase): Promise<Float64Array> {
  return Float64Array.from(await values(x));
}

/** The parameters as host Float64Arrays, for the oracle. */
export async function hostModel(params: Gemma3Params<ArrayBase>): Promise<HostModel> {
  const layers: HostLayer[] = [];
  for (const layer of params.layers) {
    const entries = await Promise.all(LAYER_WEIGHT_NAMES.map(async (name) => [name, await f64(layer[name])] as const));
    layers.push(Object.fromEntries(entries) as unknown as HostLayer);
  }
  return { embed: await f64(params.embed), finalNorm: await f64(params.finalNorm), layers };
}

/** Row-major [B, T, X] as per-row lists of Float64Array vectors. */
export function splitRows(data: ArrayLike<number>, B: number, T: number): Float64Array[][] {
  const width = data.length / (B * T);
  return Array.from({ length: B }, (_, b) =>
    Array.from({ length: T }, (_, t) => Float64Array.from({ length: width }, (_, i) => data[(b * T + t) * width + i]!)),
  );
}

/** A seeded adapter on cpu whose B is drawn uniform in [-scale/2, scale/2) too (a fresh B is zero and would not
 * change the model). */
export function adapterWithRandomB(config: Gemma3Config, lora: LoraConfig, seed: number, scale = 0.3): LoraParams<DeviceArray> {
  const draw = makeRng(seed);
  const fresh = initLora(config, lora, { seed, device: "cpu" });
  return {
    layers: fresh.layers.map((pairs) =>
      Object.fromEntries(
        Object.entries(pairs).map(([target, pair]) => {
          const b = np.array(Float32Array.from({ length: pair.b.size }, () => (draw() - 0.5) * scale), { shape: pair.b.shape, device: "cpu" });
          pair.b.dispose();
          return [target, { a: pair.a, b }];
        }),
      ),
    ),
  };
}
