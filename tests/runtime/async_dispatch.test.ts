// Asynchronous dispatch (issue 10.5): a call returns its outputs at launch, the cpu plugin computes them on its
// worker thread, and only reading a value waits. GRPO_XLA_CPU_DELAY_EXECUTION_MS holds the plugin's worker before
// one execution (read at launch), so a test can act while that execution is certainly in flight.
import { afterEach, describe, expect, it } from "vitest";
import { type ArrayBase, type DeviceArray, devicesIdle, getDevice, jit, liveArrays, liveBuffers, np } from "../../src/index.js";
import type { PjrtBackend } from "../../src/runtime/pjrt.js";

const HOLD = "GRPO_XLA_CPU_DELAY_EXECUTION_MS";
const FAIL = "GRPO_XLA_CPU_FAIL_ALLOCATION";

afterEach(() => {
  delete process.env[HOLD];
  delete process.env[FAIL];
});

/** Calls `fn` with the plugin hook `name` set, and clears it once the call has launched. */
async function launchWith<T extends DeviceArray | DeviceArray[]>(name: string, value: string, fn: () => T): Promise<T> {
  process.env[name] = value;
  try {
    const result = fn();
    const first: DeviceArray = Array.isArray(result) ? result[0]! : result;
    await first.payload();  // resolves at launch
    return result;
  } finally {
    delete process.env[name];
  }
}

/** A flag that turns true when `work` settles. */
function settledFlag(work: Promise<unknown>): { done: boolean } {
  const flag = { done: false };
  work.then(
    () => (flag.done = true),
    () => (flag.done = true),
  );
  return flag;
}

function bytesInUse(): number {
  return (getDevice("cpu").backend as PjrtBackend).memoryStats()!.bytesInUse;
}

const step = (x: ArrayBase) => np.tanh(np.add(np.multiply(x, 1.25), 0.5));

describe("asynchronous dispatch on cpu (issue 10.5)", () => {
  it("queues a chain of dependent calls while the first still runs, and computes what the reference device does", async () => {
    const onCpu = jit(step, { device: "cpu" });
    const onReference = jit(step, { device: "reference" });
    const start = [-2, -0.5, 0.25, 3];
    const x = np.array(start, { device: "cpu" });
    await onCpu(x).ready().then((w) => w.dispose());  // compiled before the held run

    const first = await launchWith(HOLD, "300", () => onCpu(x) as DeviceArray);
    const firstDone = settledFlag(first.ready());
    let y = first;
    const chain: DeviceArray[] = [first];
    for (let i = 1; i < 50; ++i) {
      y = onCpu(y) as DeviceArray;
      chain.push(y);
    }
    await y.payload();
    // All 50 executions were launched while the first was held on the device: no host round trip per call.
    expect(firstDone.done).toBe(false);
    expect(getDevice("cpu").idle).toBe(false);

    let expected = np.array(start, { device: "reference" }) as DeviceArray;
    for (let i = 0; i < 50; ++i) {
      const next = onReference(expected) as DeviceArray;
      expected.dispose();
      expected = next;
    }
    expect(await y.data()).toBeAllclose(await expected.data(), { rtol: 1e-5, atol: 1e-6 });
    expect(firstDone.done).toBe(true);
    for (const a of [...chain, expected, x]) a.dispose();
  });

  it("reports a failed run when its output is read, and at the next use, naming the program", async () => {
    const grow = jit(function grow(x: ArrayBase) {
      return np.concatenate([x, x]);
    }, { device: "cpu" });
    const twice = jit(function twice(x: ArrayBase) {
      return np.multiply(x, 2);
    }, { device: "cpu" });
    const x = np.array([1, 2, 3, 4], { device: "cpu" });
    await grow(x).ready().then((w) => w.dispose());
    const failed = await launchWith(FAIL, "1", () => grow(x) as DeviceArray);
    const downstream = twice(failed) as DeviceArray;
    await expect(failed.data()).rejects.toThrow(/^cpu execute grow: execution: .*out of host memory$/);
    await expect(failed.ready()).rejects.toMatchObject({ code: "RESOURCE_EXHAUSTED" });
    await expect(downstream.data()).rejects.toThrow(/^cpu execute twice: argument 0 was not computed: cpu execute grow: .*out of host memory$/);
    await expect(downstream.ready()).rejects.toMatchObject({ code: "RESOURCE_EXHAUSTED" });
    // The device recovers: the same calls without the injected failure give the right values.
    const again = grow(x);
    expect([...(await again.data())]).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    for (const a of [failed, downstream, again, x]) a.dispose();
  });

  it("frees arrays disposed while their execution is in flight once it finished", async () => {
    const n = 1 << 16;
    const add = jit((a: ArrayBase, b: ArrayBase) => np.add(a, b), { device: "cpu" });
    const a = np.array(new Float32Array(n).fill(1), { device: "cpu" });
    await add(a, a).ready().then((w) => w.dispose());
    await devicesIdle();
    const buffers = liveBuffers();
    const arrays = liveArrays();
    const bytes = bytesInUse();
    const b = np.array(new Float32Array(n).fill(2), { device: "cpu" });
    const out = await launchWith(HOLD, "200", () => add(a, b) as DeviceArray);
    const done = settledFlag(out.ready());
    b.dispose();
    out.dispose();
    expect(liveArrays()).toBe(arrays);
    expect(liveBuffers()).toBe(buffers);  // the handles go at once; the plugin keeps what the run still uses
    expect(done.done).toBe(false);
    expect(getDevice("cpu").idle).toBe(false);
    await devicesIdle();  // waits for the held run, not only its launch
    expect(done.done).toBe(true);
    expect(bytesInUse()).toBe(bytes);
    a.dispose();
  });

  it("donates an output that is still being computed, and a read started before sees the donated value", async () => {
    const increment = jit((s: ArrayBase) => np.add(s, 1), { device: "cpu", donateArgnums: [0] });
    await increment(np.array([0, 0], { device: "cpu" })).ready().then((w) => w.dispose());
    const s0 = np.array([10, 20], { device: "cpu" });
    const s1 = await launchWith(HOLD, "200", () => increment(s0) as DeviceArray);
    expect(s0.isConsumed).toBe(true);
    const s1Done = settledFlag(s1.ready());
    const read = s1.data();
    const s2 = increment(s1) as DeviceArray;
    const s3 = increment(s2) as DeviceArray;
    expect(s1.isConsumed).toBe(true);
    expect(s2.isConsumed).toBe(true);
    await s3.payload();
    expect(s1Done.done).toBe(false);  // both donations were launched while s1 was computed
    expect([...(await read)]).toEqual([11, 21]);
    expect([...(await s3.data())]).toEqual([13, 23]);
    await expect(s2.data()).rejects.toThrow(/was donated/);
    s3.dispose();
  });
});
