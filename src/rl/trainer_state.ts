// A trainer's resumable state: the adapter, the AdamW moments and count, the step, the seed and the data position,
// on the host; and a store that writes it as an atomic checkpoint folder (src/train/checkpoint.ts).
import { type Gemma3Config } from "../../models/gemma3/config.js";
import { LAYER_WEIGHT_NAMES, type Gemma3Params, buildParams } from "../../models/gemma3/params.js";
import { LORA_TARGETS, type LoraConfig, type LoraParams, loraDims, resolveTargets } from "../../models/lora.js";
import type { DataPosition } from "../data/iterator.js";
import { type TensorRecord, latestCheckpoint, loadCheckpoint, saveCheckpoint } from "../train/checkpoint.js";
import type { MetricsPointer } from "../train/metrics.js";
import { type PyTree, flatten } from "../core/pytree.js";
import * as np from "../lib/np.js";
import { DeviceArray, tidy } from "../runtime/array.js";
import type { Device } from "../runtime/device.js";
import { type TrainState, asTrainable, isFullParams } from "./train_step.js";

/** Host copies of a TrainState and the loop's own state. */
export interface TrainerCheckpoint {
  kind: "grpo" | "sft";
  /** Trainer steps completed. */
  step: number;
  seed: number;
  /** The data iterator's position (JSON). */
  data: unknown;
  /** Anything else the loop restores (JSON): NaN streak, elapsed time, best accuracy. */
  extra: Record<string, unknown>;
  /** Optimizer updates applied (AdamW's count). */
  optimizerCount: number;
  /** Where the metrics log stood (resuming truncates it there). */
  metrics?: MetricsPointer | null;
  /** Tensors by name: lora.<layer>.<target>.<a|b>, mu.<...>, nu.<...>; for full-parameter training lora.<path>
   * with the weight table's paths (lora.embed, lora.layers.0.q), mu.<path>, nu.<path>. */
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

function* adapterNames(lora: LoraParams<unknown>): Generator<[string, unknown]> {
  if (isFullParams(lora)) {
    const params = lora as unknown as Gemma3Params<unknown>;
    yield ["embed", params.embed];
    yield ["finalNorm", params.finalNorm];
    for (const [i, layer] of params.layers.entries()) for (const name of LAYER_WEIGHT_NAMES) yield [`layers.${i}.${name}`, layer[name]];
    return;
  }
  for (const [i, layer] of lora.layers.entries()) {
    for (const target of LORA_TARGETS) {
      const pair = layer[target];
      if (pair === undefined) continue;
      yield [`${i}.${target}.a`, pair.a];
      yield [`${i}.${target}.b`, pair.b];
    }
  }
}

/** Frees every array of a device tree (an adapter, a TrainState, base weights) that is still live: arrays already
 * disposed or donated to an update are skipped, so a state whose first arrays were taken by a failed step frees the
 * rest. */
export function disposeArrays(tree: unknown): void {
  for (const leaf of flatten(tree as PyTree<DeviceArray>).leaves) if (leaf instanceof DeviceArray && !leaf.isDisposed) leaf.dispose();
}

/** Copies the state to the host (the state stays usable). */
export async function checkpointOf(
  state: TrainState,
  loop: Pick<TrainerCheckpoint, "kind" | "step" | "seed" | "data" | "extra" | "metrics">,
): Promise<TrainerCheckpoint> {
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const trees: [string, LoraParams<unknown>][] = [
    ["lora", state.lora],
    ["mu", state.optimizer.mu as unknown as LoraParams<unknown>],
    ["nu", state.optimizer.nu as unknown as LoraParams<unknown>],
  ];
  for (const [prefix, tree] of trees) {
    for (const [name, value] of adapterNames(tree)) {
      const array = value as DeviceArray;
      tensors.set(`${prefix}.${name}`, { shape: [...array.shape], data: Float32Array.from((await array.data()) as Float32Array) });
    }
  }
  const count = Number((await state.optimizer.count.data())[0]);
  return { ...loop, optimizerCount: count, tensors };
}

/** Whether a checkpoint holds a full-parameter state (every weight trained) rather than an adapter's. */
export function isFullParamsCheckpoint(checkpoint: TrainerCheckpoint): boolean {
  return checkpoint.tensors.has("lora.embed");
}

function checkedTensor(checkpoint: TrainerCheckpoint, name: string, shape: readonly number[], device: Device, where: string, config: string): DeviceArray {
  const tensor = checkpoint.tensors.get(name);
  if (tensor === undefined) throw new Error(`${where}: checkpoint has no tensor ${name} (was it written for another ${config}?)`);
  if (tensor.shape.join(",") !== shape.join(",")) throw new Error(`${where}: tensor ${name} has shape [${tensor.shape}], the ${config} needs [${shape}]`);
  return np.array(tensor.data, { shape: [...shape], device });
}

/** Rebuilds a TrainState on `device` from a checkpoint, checking every tensor against the model and LoRA config (or,
 * for a full-parameter checkpoint, against the model's weight table). */
export function stateFromCheckpoint(checkpoint: TrainerCheckpoint, model: Gemma3Config, lora: LoraConfig, device: Device, where: string): TrainState {
  const tree = isFullParamsCheckpoint(checkpoint) ? fullTree(checkpoint, model, device, where) : adapterTree(checkpoint, model, lora, device, where);
  // tidy: a tensor that fails its check frees the arrays already uploaded.
  return tidy(() => ({
    lora: tree("lora"),
    optimizer: {
      count: np.array(checkpoint.optimizerCount, { dtype: "i32", shape: [], device }),
      mu: tree("mu") as unknown as TrainState["optimizer"]["mu"],
      nu: tree("nu") as unknown as TrainState["optimizer"]["nu"],
    },
  }));
}

function fullTree(checkpoint: TrainerCheckpoint, model: Gemma3Config, device: Device, where: string) {
  return (prefix: string): LoraParams<DeviceArray> =>
    asTrainable(buildParams(model, (spec) => checkedTensor(checkpoint, `${prefix}.${spec.path}`, spec.shape, device, where, "model config")));
}

function adapterTree(checkpoint: TrainerCheckpoint, model: Gemma3Config, lora: LoraConfig, device: Device, where: string) {
  const targets = resolveTargets(model, lora);
  return (prefix: string): LoraParams<DeviceArray> => ({
    layers: targets.map((layerTargets, i) =>
      Object.fromEntries(
        layerTargets.map((target) => {
          const [fanIn, fanOut] = loraDims(model, target);
          const load = (part: "a" | "b", shape: number[]) => checkedTensor(checkpoint, `${prefix}.${i}.${target}.${part}`, shape, device, where, "LoRA config");
          return [target, { a: load("a", [fanIn, lora.rank]), b: load("b", [lora.rank, fanOut]) }];
        }),
      ),
    ),
  });
}

/** Where checkpoints live. */
export interface CheckpointStore {
  save(checkpoint: TrainerCheckpoint): Promise<void>;
  /** The latest complete checkpoint, or undefined when there is none. */
  load(): Promise<TrainerCheckpoint | undefined>;
}

function isDataPosition(value: unknown): value is DataPosition {
  return typeof value === "object" && value !== null && ["epoch", "index", "shuffleSeed", "size"].every((k) => k in value);
}

/**
 * Checkpoints under `runDir/checkpoints/step-<n>` through src/train/checkpoint.ts (temporary folder, fsync, atomic
 * rename, the previous checkpoint kept until the new one is complete, the newest `keep` retained). The manifest
 * carries the step, the sampling seed as its RNG key, the data position and the metrics-log pointer; the
 * trainer's own fields go in `extra`.
 */
export function directoryCheckpointStore(runDir: string, options: { keep?: number } = {}): CheckpointStore {
  return {
    async save(checkpoint) {
      const tensors: Record<string, TensorRecord> = {};
      for (const [name, t] of checkpoint.tensors) tensors[name] = { dtype: "f32", shape: t.shape, bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) };
      saveCheckpoint(
        runDir,
        {
          step: checkpoint.step,
          rngKey: [0, checkpoint.seed >>> 0],
          dataPosition: isDataPosition(checkpoint.data) ? checkpoint.data : null,
          metrics: checkpoint.metrics ?? null,
          tensors,
          extra: { ...checkpoint.extra, kind: checkpoint.kind, seed: checkpoint.seed, optimizerCount: checkpoint.optimizerCount, data: checkpoint.data ?? null },
        },
        { keep: options.keep },
      );
    },
    async load() {
      if (latestCheckpoint(runDir) === undefined) return undefined;
      const { path, manifest, tensors } = loadCheckpoint(runDir);
      const { kind, seed, optimizerCount, data, ...extra } = manifest.extra;
      if (kind !== "grpo" && kind !== "sft") throw new Error(`${path}: extra.kind must be "grpo" or "sft", got ${JSON.stringify(kind)}`);
      for (const [field, value] of [["seed", seed], ["optimizerCount", optimizerCount]] as const) {
        if (!Number.isSafeInteger(value)) throw new Error(`${path}: extra.${field} must be an integer, got ${JSON.stringify(value)}`);
      }
      const map = new Map<string, { shape: number[]; data: Float32Array }>();
      for (const [name, record] of Object.entries(tensors)) {
        if (record.dtype !== "f32") throw new Error(`${path}: tensor ${name} is ${record.dtype}, expected f32`);
        const data = new Float32Array(record.bytes.byteLength / 4);
        new Uint8Array(data.buffer).set(record.bytes);
        map.set(name, { shape: record.shape, data });
      }
      return { kind, step: manifest.step, seed: seed as number, data, extra, metrics: manifest.metrics, optimizerCount: optimizerCount as number, tensors: map };
    },
  };
}
