// What each device could do at best, to judge the phases against: for `cpu`, the raw OpenBLAS sgemm rate and the
// memory read bandwidth, measured by this process in the same run as the phases; for `reference`, the tfjs cpu
// backend's matMul rate and the same host bandwidth; for TPUs and GPUs, datasheet figures found by the device kind
// PJRT reports. Also why a device is absent, in words the user can act on.
import { existsSync } from "node:fs";
import { addonBuilt, nativeBuildDir } from "../src/runtime/native.js";
import { findPlugin, pluginNotFoundMessage } from "../src/runtime/plugins.js";
import { TPU_PCI_VENDOR, tpuChips } from "../src/runtime/plugin_env.js";
import type { DeviceKind } from "../src/index.js";
import { engineBandwidth, memchrBandwidth } from "./model.js";
import { rawGflops } from "./ops.js";

export interface DeviceLimits {
  /** FLOP/s a dot can reach on this device (at the precision the programs use). */
  flops: number;
  /** Memory read bytes/s. */
  bandwidth: number;
  /** Where the figures come from. */
  source: string;
}

export interface Datasheet {
  /** Matched against PJRT's device kind (case-insensitive). */
  match: RegExp;
  name: string;
  /** Dense bf16 matmul peak (TPU: f32 dots at DEFAULT precision run as one bf16 pass), per chip / per GPU. */
  flops: number;
  /** Dense fp32 (GPU without TF32: what f32 dots run at), for the record. */
  fp32Flops?: number;
  /** HBM bandwidth, bytes/s. */
  bandwidth: number;
}

const T = 1e12;
const GBs = 1e9;

/** Vendor datasheet figures, dense (no sparsity). For NVIDIA GPUs with TF32, `flops` is the TF32 tensor rate: XLA
 * runs f32 dots at DEFAULT precision in TF32 there. Order matters: the first match wins. */
export const DATASHEETS: readonly Datasheet[] = [
  { match: /tpu v6|trillium/i, name: "TPU v6e", flops: 918 * T, bandwidth: 1640 * GBs },
  { match: /tpu v5 ?lite|tpu v5e/i, name: "TPU v5e", flops: 197 * T, bandwidth: 819 * GBs },
  { match: /tpu v5p?$|tpu v5p/i, name: "TPU v5p", flops: 459 * T, bandwidth: 2765 * GBs },
  { match: /tpu v4/i, name: "TPU v4", flops: 275 * T, bandwidth: 1200 * GBs },
  { match: /tpu v3/i, name: "TPU v3", flops: 123 * T, bandwidth: 900 * GBs },
  { match: /tpu v2/i, name: "TPU v2", flops: 45 * T, bandwidth: 700 * GBs },
  { match: /h200/i, name: "NVIDIA H200", flops: 494.7 * T, fp32Flops: 67 * T, bandwidth: 4800 * GBs },
  { match: /h100.*pcie/i, name: "NVIDIA H100 PCIe", flops: 378 * T, fp32Flops: 51 * T, bandwidth: 2000 * GBs },
  { match: /h100/i, name: "NVIDIA H100 SXM", flops: 494.7 * T, fp32Flops: 67 * T, bandwidth: 3350 * GBs },
  { match: /a100.*80/i, name: "NVIDIA A100 80GB", flops: 156 * T, fp32Flops: 19.5 * T, bandwidth: 2039 * GBs },
  { match: /a100/i, name: "NVIDIA A100 40GB", flops: 156 * T, fp32Flops: 19.5 * T, bandwidth: 1555 * GBs },
  { match: /l4\b/i, name: "NVIDIA L4", flops: 60 * T, fp32Flops: 30.3 * T, bandwidth: 300 * GBs },
  { match: /a10\b|a10g/i, name: "NVIDIA A10", flops: 62.5 * T, fp32Flops: 31.2 * T, bandwidth: 600 * GBs },
  { match: /v100/i, name: "NVIDIA V100", flops: 15.7 * T, fp32Flops: 15.7 * T, bandwidth: 900 * GBs },
  { match: /t4\b/i, name: "NVIDIA T4", flops: 8.1 * T, fp32Flops: 8.1 * T, bandwidth: 320 * GBs },
  { match: /p100/i, name: "NVIDIA P100", flops: 9.3 * T, fp32Flops: 9.3 * T, bandwidth: 732 * GBs },
];

/** The datasheet entry for a PJRT device kind ("TPU v5 lite", "NVIDIA H100 80GB HBM3", ...), if known. */
export function datasheetFor(deviceKind: string): Datasheet | undefined {
  return DATASHEETS.find((sheet) => sheet.match.test(deviceKind.trim()));
}

/** Why `kind` cannot run here, or undefined when its plugin (and, for tpu, a chip) is present. */
export function absenceReason(kind: DeviceKind): string | undefined {
  if (kind === "reference") return undefined;
  if (!addonBuilt()) return `the native addon is not built (${nativeBuildDir()}): run npm run build:native`;
  const location = findPlugin(kind);
  const problems: string[] = [];
  if (location === undefined) problems.push(pluginNotFoundMessage(kind));
  else if (!existsSync(location.path)) problems.push(`the ${kind} plugin ${location.path} (from ${location.source}) does not exist`);
  if (kind === "tpu" && tpuChips().length === 0) {
    problems.push(`this host has no TPU chip (no PCI device with vendor ${TPU_PCI_VENDOR} under /sys/bus/pci/devices)`);
  }
  return problems.length === 0 ? undefined : problems.join("; ");
}

/** GFLOP/s of the tfjs cpu backend's matMul at n x n (the reference device's kernels), best of a few runs. */
export async function tfjsCpuMatmulGflops(n = 256): Promise<number> {
  const tf = await import("@tensorflow/tfjs-core");
  await import("@tensorflow/tfjs-backend-cpu");
  // tfjs greets Node users once on stderr (an advert for tfjs-node); it says nothing about this measurement.
  const warn = console.warn;
  console.warn = () => {};
  try {
    await tf.setBackend("cpu");
  } finally {
    console.warn = warn;
  }
  const a = tf.randomUniform([n, n]);
  const b = tf.randomUniform([n, n]);
  let best = Infinity;
  for (let rep = 0; rep < 4; rep++) {
    const start = performance.now();
    const c = tf.matMul(a, b);
    c.dataSync();
    best = Math.min(best, (performance.now() - start) / 1000);
    c.dispose();
  }
  a.dispose();
  b.dispose();
  return (2 * n ** 3) / best / 1e9;
}

/** The host's ceilings, measured now: raw sgemm (best of 1024^2 and 2048^2) and read bandwidth (best of one
 * memchr thread and the engine's all-core sum over 1 GiB). */
export async function measureHost(coreType: string | undefined): Promise<{ sgemmGflops: number; bandwidth: number; detail: string }> {
  const at1024 = rawGflops(1024, coreType);
  const at2048 = rawGflops(2048, coreType);
  const oneThread = memchrBandwidth(1 << 30);
  const allCores = await engineBandwidth(1 << 30);
  return {
    sgemmGflops: Math.max(at1024, at2048),
    bandwidth: Math.max(oneThread, allCores),
    detail: `sgemm ${at1024.toFixed(1)} GFLOP/s at 1024^2, ${at2048.toFixed(1)} at 2048^2 (raw OpenBLAS ${coreType ?? "auto"}); ` +
      `read ${(oneThread / 1e9).toFixed(2)} GB/s (memchr, one thread), ${(allCores / 1e9).toFixed(2)} GB/s (engine f32 sum, all cores)`,
  };
}
