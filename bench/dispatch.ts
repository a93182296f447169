// The `dispatch` suite: what a host round trip costs per call on the cpu device. A chain of dependent tiny calls
// (each call's output is the next call's input, nothing read back until the end), the same chain waiting for each
// result, and a decode-like loop (a small step function fed its own state, donated) with and without reading a
// token back every step. The same work fused into one program (a while loop) is the floor each row is compared
// with. Options: --calls=1000 --steps=200 --reps=5.
import { cpus } from "node:os";
import { type ArrayBase, type DeviceArray, closeDevices, forLoop, getDevice, jit, np } from "../src/index.js";

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

/** Median wall time of `reps` runs of `body`, after one warm-up run. */
async function timeMs(reps: number, body: () => Promise<void>): Promise<number> {
  await body();
  const times: number[] = [];
  for (let rep = 0; rep < reps; ++rep) {
    const start = performance.now();
    await body();
    times.push(performance.now() - start);
  }
  return median(times);
}

const WIDTH = 64;

function expectEqual(what: string, got: ArrayLike<number | bigint>, expected: readonly number[]): void {
  for (let i = 0; i < expected.length; ++i) {
    if (Number(got[i]) !== expected[i]) throw new Error(`dispatch bench: ${what} gave ${got[i]} at ${i}, expected ${expected[i]}`);
  }
}

export async function runDispatchBench(args: string[]): Promise<void> {
  const calls = option(args, "calls", 1000);
  const steps = option(args, "steps", 200);
  const reps = option(args, "reps", 5);
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

  const rows: [string, number, number, number][] = [];
  const fusedChainMs = await timeMs(reps, fused);
  rows.push([`${calls} x (x + 1), dependent, read at the end`, calls, await timeMs(reps, chain(false)), fusedChainMs]);
  rows.push([`${calls} x (x + 1), waiting for each result`, calls, await timeMs(reps, chain(true)), fusedChainMs]);
  const fusedDecodeMs = await timeMs(reps, decodeFused);
  rows.push([`decode ${steps} steps (W ${WIDTH}x${WIDTH}), token read each step`, steps, await timeMs(reps, decode(true)), fusedDecodeMs]);
  rows.push([`decode ${steps} steps (W ${WIDTH}x${WIDTH}), tokens read at the end`, steps, await timeMs(reps, decode(false)), fusedDecodeMs]);
  w.dispose();

  console.log(`median of ${reps} runs after a warm-up; "fused" = the same work as one program (a while loop), one call\n`);
  const header = ["loop", "total ms", "us/call", "fused ms", "total/fused"];
  const lines = rows.map(([name, count, ms, fusedMs]) => [name, ms.toFixed(1), ((ms * 1000) / count).toFixed(1), fusedMs.toFixed(1), (ms / fusedMs).toFixed(1)]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  for (const line of [header, ...lines]) console.log(line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "));
  await closeDevices();
}
