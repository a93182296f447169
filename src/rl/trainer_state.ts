// A trainer's resumable state: the adapter, the AdamW moments and count, the step, the seed and the data position,
// on the host; and a directory store that writes it atomically (a temporary folder, fsync, rename; the previous
// checkpoint stays until the new one is complete). Tensors go to one safetensors file, everything else to JSON.
import { existsSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Gemma3Config } from "../../models/gemma3/config.js";
import { LORA_TARGETS, type LoraConfig, type LoraParams, loraDims, resolveTargets } from "../../models/lora.js";
import { SafetensorsReader, type TensorToWrite, writeSafetensors } from "../../models/safetensors.js";
import * as np from "../lib/np.js";
import type { DeviceArray } from "../runtime/array.js";
import type { Device } from "../runtime/device.js";
import type { TrainState } from "./train_step.js";

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
  /** Tensors by name: lora.<layer>.<target>.<a|b>, mu.<...>, nu.<...>. */
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

function* adapterNames(lora: LoraParams<unknown>): Generator<[string, unknown]> {
  for (const [i, layer] of lora.layers.entries()) {
    for (const target of LORA_TARGETS) {
      const pair = layer[target];
      if (pair === undefined) continue;
      yield [`${i}.${target}.a`, pair.a];
      yield [`${i}.${target}.b`, pair.b];
    }
  }
}

/** Copies the state to the host (the state stays usable). */
export async function checkpointOf(
  state: TrainState,
  loop: Pick<TrainerCheckpoint, "kind" | "step" | "seed" | "data" | "extra">,
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

/** Rebuilds a TrainState on `device` from a checkpoint, checking every tensor against the model and LoRA config. */
export function stateFromCheckpoint(checkpoint: TrainerCheckpoint, model: Gemma3Config, lora: LoraConfig, device: Device, where: string): TrainState {
  const targets = resolveTargets(model, lora);
  const tree = (prefix: string): LoraParams<DeviceArray> => ({
    layers: targets.map((layerTargets, i) =>
      Object.fromEntries(
        layerTargets.map((target) => {
          const [fanIn, fanOut] = loraDims(model, target);
          const load = (part: "a" | "b", shape: number[]) => {
            const name = `${prefix}.${i}.${target}.${part}`;
            const tensor = checkpoint.tensors.get(name);
            if (tensor === undefined) throw new Error(`${where}: checkpoint has no tensor ${name} (was it written for another LoRA config?)`);
            if (tensor.shape.join(",") !== shape.join(",")) throw new Error(`${where}: tensor ${name} has shape [${tensor.shape}], the LoRA config needs [${shape}]`);
            return np.array(tensor.data, { shape, device });
          };
          return [target, { a: load("a", [fanIn, lora.rank]), b: load("b", [lora.rank, fanOut]) }];
        }),
      ),
    ),
  });
  return {
    lora: tree("lora"),
    optimizer: {
      count: np.array(checkpoint.optimizerCount, { dtype: "i32", shape: [], device }),
      mu: tree("mu") as unknown as TrainState["optimizer"]["mu"],
      nu: tree("nu") as unknown as TrainState["optimizer"]["nu"],
    },
  };
}

/** Where checkpoints live. */
export interface CheckpointStore {
  save(checkpoint: TrainerCheckpoint): Promise<void>;
  /** The latest complete checkpoint, or undefined when there is none. */
  load(): Promise<TrainerCheckpoint | undefined>;
}

const STATE_FILE = "state.json";
const TENSOR_FILE = "tensors.safetensors";
const FORMAT = "grpo-xla-trainer-state";

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Checkpoints in `directory/latest`: written to `latest.partial`, synced, then swapped in by renames (the old one is
 * moved to `latest.previous` first and removed last). A crash at any point leaves either the new or the previous
 * checkpoint complete, and load() finds it.
 */
export function directoryCheckpointStore(directory: string): CheckpointStore {
  const latest = join(directory, "latest");
  const partial = join(directory, "latest.partial");
  const previous = join(directory, "latest.previous");
  return {
    async save(checkpoint) {
      await mkdir(directory, { recursive: true });
      await rm(partial, { recursive: true, force: true });
      await mkdir(partial);
      const tensors: TensorToWrite[] = [...checkpoint.tensors].map(([name, t]) => ({ name, dtype: "F32", shape: t.shape, data: () => t.data }));
      await writeSafetensors(join(partial, TENSOR_FILE), tensors);
      const { tensors: _tensors, ...rest } = checkpoint;
      await writeFile(join(partial, STATE_FILE), `${JSON.stringify({ format: FORMAT, ...rest }, null, 2)}\n`);
      for (const file of [TENSOR_FILE, STATE_FILE]) await fsyncPath(join(partial, file));
      await fsyncPath(partial);
      await rm(previous, { recursive: true, force: true });
      if (existsSync(latest)) await rename(latest, previous);
      await rename(partial, latest);
      await fsyncPath(directory);
      await rm(previous, { recursive: true, force: true });
    },
    async load() {
      for (const candidate of [latest, previous]) {
        if (!(existsSync(join(candidate, STATE_FILE)))) continue;
        const file = join(candidate, STATE_FILE);
        let state: Record<string, unknown>;
        try {
          state = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
        } catch (error) {
          throw new Error(`${file}: not a readable checkpoint state (${(error as Error).message})`);
        }
        if (state.format !== FORMAT) throw new Error(`${file}: format is ${JSON.stringify(state.format)}, expected "${FORMAT}"`);
        for (const field of ["step", "seed", "optimizerCount"]) {
          if (!Number.isSafeInteger(state[field])) throw new Error(`${file}: field ${field} must be an integer, got ${JSON.stringify(state[field])}`);
        }
        if (state.kind !== "grpo" && state.kind !== "sft") throw new Error(`${file}: field kind must be "grpo" or "sft", got ${JSON.stringify(state.kind)}`);
        const reader = await SafetensorsReader.open(join(candidate, TENSOR_FILE));
        const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
        try {
          for (const name of reader.names()) {
            const tensor = await reader.read(name, "f32");
            tensors.set(name, { shape: [...tensor.shape], data: tensor.data as Float32Array });
          }
        } finally {
          await reader.close();
        }
        return {
          kind: state.kind,
          step: state.step as number,
          seed: state.seed as number,
          data: state.data,
          extra: (state.extra ?? {}) as Record<string, unknown>,
          optimizerCount: state.optimizerCount as number,
          tensors,
        };
      }
      return undefined;
    },
  };
}
