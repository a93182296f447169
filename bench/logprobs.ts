// The `logprobs` suite: peak device memory and time of per-token logprobs on the cpu device, unchunked (full
// [S*T, V] logits) against the chunked kernels (loop and split), forward and gradient with respect to hidden.
// The plugin's peak counter is a process-wide high-water mark, so each variant runs in its own process.
// Options: --S=4 --T=128 --D=256 --V=16384 --chunk=64.
import { execFileSync } from "node:child_process";
import { type ArrayBase, type DeviceArray, getDevice, grad, jit, np, rl } from "../src/index.js";

const VARIANTS = ["full", "loop", "split", "grad-full", "grad-split", "vjp-loop"] as const;
type Variant = (typeof VARIANTS)[number];

function option(args: readonly string[], name: string, fallback: number): number {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit === undefined ? fallback : Number(hit.slice(name.length + 3));
}

async function runVariant(variant: Variant, S: number, T: number, D: number, V: number, chunk: number): Promise<void> {
  const device = "cpu";
  const hidden = np.array(new Float32Array(S * T * D).map((_, i) => Math.sin(i) * 0.5), { shape: [S, T, D], device });
  const embed = np.array(new Float32Array(V * D).map((_, i) => Math.cos(i * 0.7) * 0.1), { shape: [V, D], device });
  const tokens = np.array(new Int32Array(S * T).map((_, i) => (i * 7919) % V), { shape: [S, T], device });
  const weights = np.array(new Float32Array(S * T).map((_, i) => ((i % 5) - 2) / 10), { shape: [S, T], device });
  const full = (h: ArrayBase, e: ArrayBase, t: ArrayBase) => rl.logprobsFromLogits(np.einsum("std,vd->stv", h, e), t);
  const chunked = (method: "loop" | "split") => (h: ArrayBase, e: ArrayBase, t: ArrayBase) => rl.logprobsFromHidden(h, e, t, 1, { chunk, method });
  const gradOf = (f: (h: ArrayBase, e: ArrayBase, t: ArrayBase) => ArrayBase) => (h: ArrayBase, e: ArrayBase, t: ArrayBase, w: ArrayBase) =>
    grad((x: ArrayBase) => np.sum(np.multiply(f(x, e, t), w)))(h) as ArrayBase;
  const fns: Record<Variant, (h: ArrayBase, e: ArrayBase, t: ArrayBase, w: ArrayBase) => ArrayBase> = {
    full: (h, e, t) => full(h, e, t),
    loop: (h, e, t) => chunked("loop")(h, e, t),
    split: (h, e, t) => chunked("split")(h, e, t),
    "grad-full": gradOf(full),
    "grad-split": gradOf(chunked("split")),
    "vjp-loop": (h, e, t, w) => rl.logprobsFromHiddenVjp(h, e, t, 1, w, { chunk }).hidden,
  };
  const f = jit(fns[variant], { device, name: `logprobs_${variant}` });
  await Promise.all([hidden, embed, tokens, weights].map((a) => a.ready()));
  const inputs = getDevice("cpu").backend!.memoryStats()!.bytesInUse;
  const warm = f(hidden, embed, tokens, weights) as DeviceArray;
  await warm.ready();
  warm.dispose();
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    const out = f(hidden, embed, tokens, weights) as DeviceArray;
    await out.ready();
    times.push(performance.now() - start);
    out.dispose();
  }
  const peak = getDevice("cpu").backend!.memoryStats()!.peakBytesInUse ?? Number.NaN;
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({ variant, extraPeakMiB: (peak - inputs) / 2 ** 20, medianMs: times[1] }));
}

export async function runLogprobsBench(args: string[]): Promise<void> {
  const S = option(args, "S", 4);
  const T = option(args, "T", 128);
  const D = option(args, "D", 256);
  const V = option(args, "V", 16384);
  const chunk = option(args, "chunk", 64);
  const variant = args.find((a) => a.startsWith("--variant="))?.slice(10) as Variant | undefined;
  if (variant !== undefined) return runVariant(variant, S, T, D, V, chunk);
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  console.log(`S=${S} T=${T} D=${D} V=${V} chunk=${chunk}: full f32 logits ${mib(S * T * V * 4)} MiB, one chunk ${mib(chunk * V * 4)} MiB`);
  console.log("| variant | peak beyond inputs (MiB) | median time (ms) |\n|---|---|---|");
  for (const v of VARIANTS) {
    const out = execFileSync(process.execPath, [...process.execArgv, process.argv[1]!, "logprobs", ...args, `--variant=${v}`], { encoding: "utf8" });
    const result = JSON.parse(out.trim().split("\n").pop()!) as { variant: string; extraPeakMiB: number; medianMs: number };
    console.log(`| ${result.variant} | ${result.extraPeakMiB.toFixed(1)} | ${result.medianMs.toFixed(1)} |`);
  }
}
