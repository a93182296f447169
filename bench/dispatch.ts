// The `dispatch` suite: what a host round trip costs per call on the cpu device. A chain of dependent tiny calls
// (each call's output is the next call's input, nothing read back until the end) through jit, the same chain
// waiting for each result, the same chain on the backend's executable without the jit layer, and a decode-like
// loop (a step function with a 512x512 matrix-vector product fed its own state, donated) with and without reading
// a token back every step. The same work fused into one program (a while loop) is the floor each row is compared
// with. Options: --calls=1000 --steps=200 --reps=9.
import { cpus } from "node:os";
import { type ArrayBase, type DeviceArray, closeDevices, forLoop, getDevice, jit, np } from "../src/index.js";
import type { PjrtBackend, PjrtBuffer } from "../src/runtime/pjrt.js";

function option(args: string[], name: string, fallback: number): number {
  const found = args.find((arg) => arg.startsWith(`--${name}=`));
  const value = found === undefined ? fallback : Number(found.slice(name.length + 3));
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name}: expected a positive integer, got ${found}`);
  return value;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface Timing {
  min: number;
  median: number;
}

/** Wall time of `reps` runs of `body` after one warm-up run, in ms. On a shared machine the minimum is the run
 * least disturbed by other processes; the median says how typical it is. */
async function timeMs(reps: number, body: () => Promise<void>): Promise<Timing> {
  await body();
  const times: number[] = [];
  for (let rep = 0; rep < reps; ++rep) {
    const start = performance.now();
    await body();
    times.push(performance.now() - start);
  }
  return { min: Math.min(...times), median: median(times) };
}

const WIDTH = 512;

/** x -> x + 1 on f32[4], x donated: the same call as the jitted chain, without the jit layer. */
const INCREMENT_MODULE = [
  "module attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {",
  "  func.func @main(%x: tensor<4xf32> {tf.aliasing_output = 0 : i32}) -> tensor<4xf32> {",
  '    %one = "stablehlo.constant"() {value = dense<1.0> : tensor<4xf32>} : () -> tensor<4xf32>',
  '    %0 = "stablehlo.add"(%x, %one) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>',
  '    "func.return"(%0) : (tensor<4xf32>) -> ()',
  "  }",
  "}",
].join("\n");

function expectEqual(what: string, got: ArrayLike<number | bigint>, expected: readonly number[]): void {
  for (let i = 0; i < expected.length; ++i) {
    if (Number(got[i]) !== expected[i]) throw new Error(`dispatch bench: ${what} gave ${got[i]} at ${i}, expected ${expected[i]}`);
  }
}

export async function runDispatchBench(args: string[]): Promise<void> {
  const calls = option(args, "calls", 1000);
  const steps = option(args, "steps", 200);
  const reps = option(args, "reps", 9);
  const device = getDevice("cpu");
  console.log(`device:  ${device.backend!.description}; ${cpus().length} cores`);

  // x -> x + 1 on f32[4], the argument donated: a chain of `calls` dependent tiny executions.
  const increment = jit((x: ArrayBase) => np.add(x, 1), { device: "cpu", donateArgnums: [0] });
  const fusedIncrements = jit((x: ArrayBase) => forLoop(0, calls, (_i, s: ArrayBase) => np.add(s, 1), x), { device: "cpu" });
  const start = [1, 2, 3, 4];
  const expected = start.map((v) => v + calls);

  const chain = (awaitEach: boolean) => async (): Promise<void> => {
    let x = np.array(start, { device: "cpu" }) as DeviceArray;
    for (let call = 0; call < calls; ++call) {
      x = increment(x) as DeviceArray;
      if (awaitEach) await x.ready();
    }
    expectEqual("the chain", await x.data(), expected);
    x.dispose();
  };
  // The backend's executable directly: each call needs the previous call's output buffer.
  const backend = device.backend as PjrtBackend;
  const executable = await backend.compile(INCREMENT_MODULE);
  const rawChain = async (): Promise<void> => {
    let x: PjrtBuffer = await backend.fromHost(Float32Array.from(start), "f32", [4]);
    for (let call = 0; call < calls; ++call) [x] = await executable.execute([x], [true]) as [PjrtBuffer];
    expectEqual("the executable chain", await x.toHost(), expected);
    x.dispose();
  };
  const fused = async (): Promise<void> => {
    const x = np.array(start, { device: "cpu" });
    const y = fusedIncrements(x) as DeviceArray;
    expectEqual("the fused chain", await y.data(), expected);
    x.dispose();
    y.dispose();
  };

  // A decode-like step: h -> tanh(W h + 1), the step counter + 1, and a "token" (argmax of h) read by the host.
  const w = np.array(Float32Array.from({ length: WIDTH * WIDTH }, (_, i) => Math.sin(i) / WIDTH), { device: "cpu", shape: [WIDTH, WIDTH] });
  const step = jit(
    (weights: ArrayBase, h: ArrayBase, position: ArrayBase) => {
      const next = np.tanh(np.add(np.matmul(weights, h), 1));
      return [next, np.add(position, 1), np.argmax(next)];
    },
    { device: "cpu", donateArgnums: [1, 2] },
  );
  const fusedSteps = jit(
    (weights: ArrayBase, h: ArrayBase) => forLoop(0, steps, (_i, s: ArrayBase) => np.tanh(np.add(np.matmul(weights, s), 1)), h),
    { device: "cpu" },
  );
  const decode = (readTokens: boolean) => async (): Promise<void> => {
    let h = np.array(new Float32Array(WIDTH).fill(0.5), { device: "cpu" }) as DeviceArray;
    let position = np.array(0, { device: "cpu", dtype: "i32" }) as DeviceArray;
    const tokens: DeviceArray[] = [];
    for (let s = 0; s < steps; ++s) {
      const [next, nextPosition, token] = step(w, h, position) as DeviceArray[];
      h = next!;
      position = nextPosition!;
      if (readTokens) {
        await token!.data();
        token!.dispose();
      } else {
        tokens.push(token!);
      }
    }
    expectEqual("the decode loop's counter", await position.data(), [steps]);
    for (const token of tokens) token.dispose();
    h.dispose();
    position.dispose();
  };
  const decodeFused = async (): Promise<void> => {
    const h = np.array(new Float32Array(WIDTH).fill(0.5), { device: "cpu" });
    const y = fusedSteps(w, h) as DeviceArray;
    await y.data();
    h.dispose();
    y.dispose();
  };

  const rows: [string, number, Timing, Timing][] = [];
  const fusedChainMs = await timeMs(reps, fused);
  rows.push([`${calls} x (x + 1), dependent, read at the end`, calls, await timeMs(reps, chain(false)), fusedChainMs]);
  rows.push([`${calls} x (x + 1), waiting for each result`, calls, await timeMs(reps, chain(true)), fusedChainMs]);
  rows.push([`${calls} x (x + 1), executable without jit, read at the end`, calls, await timeMs(reps, rawChain), fusedChainMs]);
  executable.dispose();
  const fusedDecodeMs = await timeMs(reps, decodeFused);
  rows.push([`decode ${steps} steps (W ${WIDTH}x${WIDTH}), token read each step`, steps, await timeMs(reps, decode(true)), fusedDecodeMs]);
  rows.push([`decode ${steps} steps (W ${WIDTH}x${WIDTH}), tokens read at the end`, steps, await timeMs(reps, decode(false)), fusedDecodeMs]);
  w.dispose();

  console.log(`${reps} runs after a warm-up (min and median); "fused" = the same work as one program (a while loop), one call\n`);
  const header = ["loop", "min ms", "median ms", "us/call (min)", "fused min ms", "min/fused"];
  const lines = rows.map(([name, count, t, fusedT]) => [
    name,
    t.min.toFixed(1),
    t.median.toFixed(1),
    ((t.min * 1000) / count).toFixed(1),
    fusedT.min.toFixed(1),
    (t.min / fusedT.min).toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  for (const line of [header, ...lines]) console.log(line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "));
  await closeDevices();
}
