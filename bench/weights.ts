// npm run bench -- weights [--mb N] [--model]: safetensors write and read throughput on a generated file of N MB
// (default 1024) of Gemma-shaped bf16 matrices, loading onto the cpu device with peak memory, and the Gemma3
// tokenizer's load time and encode rate. With --model, instead: a gemma3-270m-shaped bf16 model directory is
// written and loaded through loadModelDirectory (bf16 on the cpu device), with time and peak memory. Files are read
// right after they are written, so reads come from the page cache.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configToHuggingFace, preset } from "../models/gemma3/config.js";
import { paramEntries, weightTable } from "../models/gemma3/params.js";
import { loadModelDirectory } from "../models/gemma3/weights.js";
import { SafetensorsReader, type TensorToWrite, writeSafetensors } from "../models/safetensors.js";
import { loadGemmaTokenizer } from "../src/data/tokenizer.js";
import { DeviceArray } from "../src/runtime/array.js";
import { closeDevices, getDevice } from "../src/runtime/device.js";

/** Peak resident memory of this process so far, from the kernel's high-water mark. */
function peakRssMb(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return match ? Number(match[1]) / 1024 : NaN;
}

function rate(bytes: number, ms: number): string {
  return `${((bytes / 2 ** 20) / (ms / 1000)).toFixed(0)} MB/s`;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

/** Writes a gemma3-270m-shaped bf16 checkpoint tensor by tensor, then loads it as a user would. */
async function benchModelDirectory(): Promise<void> {
  const config = preset("gemma3-270m");
  const dir = join(tmpdir(), `grpo-xla-bench-model-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  try {
    const tensors: TensorToWrite[] = weightTable(config).map((spec) => ({
      name: spec.hfName,
      dtype: "BF16",
      shape: spec.shape,
      data: () => new Uint16Array(spec.shape.reduce((a, b) => a * b, 1)).fill(0x3c00),
    }));
    const bytes = tensors.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 2), 0);
    await writeSafetensors(join(dir, "model.safetensors"), tensors, { format: "pt" });
    writeFileSync(join(dir, "config.json"), JSON.stringify(configToHuggingFace(config)));
    const before = peakRssMb();
    const [model, ms] = await timed(() => loadModelDirectory(dir, { device: "cpu", weightsDtype: "bf16" }));
    console.log(`gemma3-270m directory (${(bytes / 2 ** 20).toFixed(0)} MiB bf16): loaded onto cpu in ${(ms / 1000).toFixed(2)} s (${rate(bytes, ms)}), peak RSS ${peakRssMb().toFixed(0)} MiB (${before.toFixed(0)} MiB before loading)`);
    for (const [, array] of paramEntries(model.config, model.params)) array.dispose();
    await closeDevices();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runWeightsBench(args: string[]): Promise<void> {
  if (args.includes("--model")) return benchModelDirectory();
  const mbFlag = args.indexOf("--mb");
  const totalMb = mbFlag >= 0 ? Number(args[mbFlag + 1]) : 1024;
  // Matrices of a Gemma3-1B MLP projection: 6912 x 1152 bf16 = 15.2 MiB each.
  const shape = [6912, 1152];
  const tensorBytes = shape[0]! * shape[1]! * 2;
  const count = Math.max(1, Math.round((totalMb * 2 ** 20) / tensorBytes));
  const path = join(tmpdir(), `grpo-xla-bench-${process.pid}.safetensors`);
  const tensors: TensorToWrite[] = Array.from({ length: count }, (_, i) => ({
    name: `model.layers.${i}.mlp.up_proj.weight`,
    dtype: "BF16",
    shape,
    data: () => new Uint16Array(tensorBytes / 2).fill(0x3f80 + (i % 64)),
  }));
  const total = count * tensorBytes;
  console.log(`file: ${count} tensors bf16[${shape.join(", ")}], ${(total / 2 ** 20).toFixed(0)} MiB, ${path}`);
  const rssBefore = peakRssMb();
  try {
    const [, writeMs] = await timed(() => writeSafetensors(path, tensors, { format: "pt" }));
    console.log(`write                          ${rate(total, writeMs)}`);
    for (const as of ["raw", "keep", "f32"] as const) {
      const reader = await SafetensorsReader.open(path);
      const [, ms] = await timed(async () => {
        for (const name of reader.names()) {
          if (as === "raw") await reader.readBytes(name);
          else await reader.read(name, as);
        }
      });
      await reader.close();
      console.log(`read ${as.padEnd(4)} (${as === "f32" ? "bf16 -> f32" : as === "keep" ? "bf16 kept  " : "bytes only "})       ${rate(total, ms)}`);
    }
    const cpu = getDevice("cpu");
    const reader = await SafetensorsReader.open(path);
    const arrays: DeviceArray[] = [];
    const [, uploadMs] = await timed(async () => {
      for (const name of reader.names()) {
        const array = DeviceArray.fromHost(await reader.read(name, "keep"), cpu);
        arrays.push(await array.ready());
      }
    });
    await reader.close();
    console.log(`read + upload to cpu (bf16)     ${rate(total, uploadMs)}`);
    console.log(`peak RSS ${peakRssMb().toFixed(0)} MiB (before the file: ${rssBefore.toFixed(0)} MiB; weights on the device: ${(total / 2 ** 20).toFixed(0)} MiB)`);
    for (const array of arrays) array.dispose();
    await closeDevices();
  } finally {
    rmSync(path, { force: true });
  }
  const [tokenizer, loadMs] = await timed(() => loadGemmaTokenizer());
  const text = "The quick brown fox jumps over the lazy dog, and then it thinks about 17 * 23 = 391.\n";
  const lines = Array.from({ length: 2000 }, (_, i) => `${i}: ${text}`);
  const [ids, encodeMs] = await timed(async () => lines.reduce((n, line) => n + tokenizer.encode(line).length, 0));
  console.log(`Gemma3 tokenizer: load ${(loadMs / 1000).toFixed(2)} s, encode ${((ids / encodeMs) * 1000).toFixed(0)} tokens/s (${lines.length} lines of ~${Math.round(ids / lines.length)} tokens)`);
}
