// jit on the cpu device end to end: donation through donateArgnums reuses the argument's memory (seen in the
// plugin's bytes-in-use counter) and consumes the DeviceArray; results stay on the device until read; the
// README's library example runs as written.
import { describe, expect, it } from "vitest";
import { type ArrayBase, type DeviceArray, getDevice, grad, jit, liveArrays, liveBuffers, np } from "../../src/index.js";

function bytesInUse(): number {
  const stats = getDevice("cpu").backend!.memoryStats();
  if (stats === undefined) throw new Error("the cpu plugin reports no memory stats");
  return stats.bytesInUse;
}

describe("jit on cpu", () => {
  it("donation reuses the donated buffer and consumes the array", async () => {
    const n = 1 << 18; // 1 MiB of f32
    const update = jit((state: ArrayBase, delta: ArrayBase) => np.add(state, delta), { device: "cpu", donateArgnums: [0] });
    const state = np.array(new Float32Array(n).fill(1), { device: "cpu" });
    const delta = np.array(new Float32Array(n).fill(2), { device: "cpu" });
    await state.ready();
    await delta.ready();
    // Warm up: compile and run once so the steady state is measured.
    const warm = update(np.array(new Float32Array(n), { device: "cpu" }), delta);
    await warm.ready();
    warm.dispose();
    const before = bytesInUse();
    const next = update(state, delta);
    expect(state.isConsumed).toBe(true);
    await next.ready();
    expect(bytesInUse()).toBe(before);
    expect((await next.data())[n - 1]).toBe(3);
    await expect(async () => state.data()).rejects.toThrow(/donated/);
    next.dispose();
    delta.dispose();
  });

  it("a failed execution leaves the donated array consumed, its memory freed (issue 6.5)", async () => {
    // GRPO_XLA_CPU_FAIL_ALLOCATION=1: the plugin's first allocation in the execution fails (out of memory),
    // after the add has already been written into the donated buffer in place.
    const step = jit((state: ArrayBase, delta: ArrayBase) => {
      const next = np.add(state, delta);
      return [next, np.concatenate([next, next])];
    }, { device: "cpu", donateArgnums: [0] });
    const delta = np.array([1, 2, 3, 4], { device: "cpu" });
    const warm = step(np.array([0, 0, 0, 0], { device: "cpu" }), delta);
    for (const w of warm) await w.ready().then(() => w.dispose());
    const state = np.array([10, 20, 30, 40], { device: "cpu" });
    await state.ready();
    const arraysBefore = liveArrays();
    const buffersBefore = liveBuffers();
    const bytesBefore = bytesInUse();
    process.env.GRPO_XLA_CPU_FAIL_ALLOCATION = "1";
    let outputs: DeviceArray[];
    try {
      outputs = step(state, delta);
      await expect(outputs[0]!.data()).rejects.toThrow(/out of host memory/);
    } finally {
      delete process.env.GRPO_XLA_CPU_FAIL_ALLOCATION;
    }
    for (const out of outputs) out.dispose();
    expect(state.isConsumed).toBe(true);
    await expect(async () => state.data()).rejects.toThrow(/was donated to a computation, which took its memory \(also when the computation failed\)/);
    await new Promise((resolve) => setTimeout(resolve, 10)); // lets the call's clean-up run
    expect(liveArrays()).toBe(arraysBefore - 1);
    expect(liveBuffers()).toBe(buffersBefore - 1);
    expect(bytesInUse()).toBe(bytesBefore - 16);
    delta.dispose();
  });

  it("without donation the output takes new memory", async () => {
    const n = 1 << 18;
    const add = jit((a: ArrayBase, b: ArrayBase) => np.add(a, b), { device: "cpu" });
    const a = np.array(new Float32Array(n).fill(1), { device: "cpu" });
    const b = np.array(new Float32Array(n).fill(2), { device: "cpu" });
    await add(a, b).ready().then((x) => x.dispose());
    const before = bytesInUse();
    const c = add(a, b);
    await c.ready();
    expect(bytesInUse() - before).toBe(4 * n);
    expect(a.isConsumed).toBe(false);
    for (const x of [a, b, c]) x.dispose();
  });

  it("results stay on the device until read, and read back in their dtype", async () => {
    const f = jit((x: ArrayBase) => [np.astype(np.greater(x, 0), "i32"), np.astype(x, "bf16")], { device: "cpu" });
    const x = np.array([-1.5, 0, 2.25], { device: "cpu" });
    const [flags, halves] = f(x);
    expect(flags!.device.kind).toBe("cpu");
    expect(await flags!.data()).toEqual(new Int32Array([0, 0, 1]));
    expect(await halves!.data()).toEqual(new Uint16Array([0xbfc0, 0x0000, 0x4010]));
    for (const a of [x, flags!, halves!]) a.dispose();
  });

  it("the README example runs", async () => {
    const loss = (w: ArrayBase, x: ArrayBase) => np.mean(np.square(np.matmul(x, w)));
    const step = jit((w: ArrayBase, x: ArrayBase) => np.subtract(w, np.multiply(grad(loss)(w, x) as ArrayBase, 0.1)));
    const w = np.array([[0.5], [-0.25]]);
    const x = np.array([[1, 2], [3, 4]]);
    const w2 = step(w, x);
    expect(w2.device.kind).toBe("cpu"); // the default: the best device present here
    // d/dw mean((xw)^2) = 2 x^T (x w) / 2 with x w = [0, 0.5]: [1.5, 2] -> w - 0.1 * [1.5, 2]
    expect(Array.from((await w2.data()) as Float32Array)).toEqual([0.5 - 0.15, -0.25 - 0.2].map(Math.fround));
    expect(step.lower(w, x).stablehlo()).toContain('"stablehlo.dot_general"');
    for (const a of [w, x, w2]) a.dispose();
  });
});
