// Donation: a donated argument's buffer becomes the aliased output; device memory does not grow by the
// output's size, and the donated buffer is consumed.
import { describe, expect, it } from "vitest";
import { type PjrtBuffer, liveBuffers } from "../../src/runtime/pjrt.js";
import { binaryModule, mainModule, useCpuBackend } from "./helpers.js";

const cpu = useCpuBackend();
const N = 512;
const BYTES = N * N * 4;

describe("donation", () => {
  it("reuses a donated argument's buffer for its aliased output", async () => {
    const backend = cpu();
    const executable = await backend.compile(binaryModule("add", `${N}x${N}`, true));
    const ones = new Float32Array(N * N).fill(1);
    const g = await backend.fromHost(ones, "f32", [N, N]);

    // Without donation the output is a new allocation.
    const p0 = await backend.fromHost(ones, "f32", [N, N]);
    const before0 = backend.memoryStats()!.bytesInUse;
    const [kept] = await executable.execute([p0, g], [false, false]);
    await kept!.ready();  // execute returns at launch; the output's memory is allocated by the run
    const grown = backend.memoryStats()!.bytesInUse - before0;
    expect(grown).toBeGreaterThanOrEqual(BYTES);
    expect(p0.disposed).toBe(false);
    kept!.dispose();
    p0.dispose();

    // With donation the output lands in p's storage.
    const p = await backend.fromHost(ones, "f32", [N, N]);
    const before = backend.memoryStats()!.bytesInUse;
    const [updated] = await executable.execute([p, g], [true, false]);
    await updated!.ready();
    const after = backend.memoryStats()!.bytesInUse;
    expect(after - before).toBeLessThan(BYTES);
    expect(p.consumed).toBe(true);
    expect(p.disposed).toBe(true);
    await expect(p.toHost()).rejects.toThrow(/buffer f32\[512,512\] was donated to an execution and can no longer be used/);
    await expect(executable.execute([p, g], [true, false])).rejects.toThrow(/was donated/);
    const values = await updated!.toHost();
    expect(values[0]).toBe(2);
    expect(values[N * N - 1]).toBe(2);

    // The output can itself be donated again (a training loop's state).
    const [again] = await executable.execute([updated!, g], [true, false]);
    expect(updated!.consumed).toBe(true);
    expect((await again!.toHost())[0]).toBe(3);

    for (const buffer of [again!, g]) buffer.dispose();
    executable.dispose();
  });

  it("does not donate an argument the caller keeps", async () => {
    const backend = cpu();
    const executable = await backend.compile(binaryModule("add", "4", true));
    const p = await backend.fromHost(Float32Array.from([1, 2, 3, 4]), "f32", [4]);
    const [out] = await executable.execute([p, p], [false, false]);
    expect([...(await out!.toHost())]).toEqual([2, 4, 6, 8]);
    expect([...(await p.toHost())]).toEqual([1, 2, 3, 4]);
    await expect(executable.execute([p, p], [true, false])).rejects.toThrow(/donated but the same buffer is also argument 1/);
    expect(p.disposed).toBe(false);
    for (const buffer of [out!, p]) buffer.dispose();
    executable.dispose();
  });

  // issue 6.5. The plugin's GRPO_XLA_CPU_FAIL_ALLOCATION=N makes the N-th engine allocation of an execution
  // fail as a real out-of-memory would. This program first adds into the donated %a in place (no allocation),
  // then needs a new buffer for the concatenation: that allocation fails after %a's memory was overwritten.
  const t4 = "tensor<4xf32>";
  const partway = mainModule(`(%a: ${t4} {tf.aliasing_output = 0 : i32}) -> (${t4}, tensor<8xf32>)`, [
    `%c = "stablehlo.constant"() {value = dense<[1.0, 2.0, 3.0, 4.0]> : ${t4}} : () -> ${t4}`,
    `%s = "stablehlo.add"(%a, %c) : (${t4}, ${t4}) -> ${t4}`,
    `%d = "stablehlo.concatenate"(%s, %s) {dimension = 0 : i64} : (${t4}, ${t4}) -> tensor<8xf32>`,
    `"func.return"(%s, %d) : (${t4}, tensor<8xf32>) -> ()`,
  ]);

  it("consumes a donated buffer when the execution fails partway (issue 6.5)", async () => {
    const backend = cpu();
    const executable = await backend.compile(partway);
    const p = await backend.fromHost(Float32Array.from([10, 20, 30, 40]), "f32", [4]);
    const buffersBefore = liveBuffers();
    const bytesBefore = backend.memoryStats()!.bytesInUse;
    process.env.GRPO_XLA_CPU_FAIL_ALLOCATION = "1";
    let failed: PjrtBuffer[];
    try {
      // The launch succeeds; the run fails on the device, and reading an output reports it (issue 10.5).
      failed = await executable.execute([p], [true]);
    } finally {
      delete process.env.GRPO_XLA_CPU_FAIL_ALLOCATION;
    }
    expect(p.consumed).toBe(true);
    await expect(failed[0]!.toHost()).rejects.toThrow(/executing .*out of host memory/);
    await expect(failed[1]!.ready()).rejects.toMatchObject({ code: "RESOURCE_EXHAUSTED" });
    for (const buffer of failed) buffer.dispose();
    // Handing p back would return [11, 22, 33, 44] as if it were p's data: it is consumed instead, and its
    // memory is freed (nothing left of it to read).
    expect(p.consumed).toBe(true);
    expect(p.disposed).toBe(true);
    await expect(p.toHost()).rejects.toThrow(/buffer f32\[4\] was donated to an execution and can no longer be used/);
    await expect(executable.execute([p], [true])).rejects.toThrow(/was donated/);
    expect(liveBuffers()).toBe(buffersBefore - 1);
    expect(backend.memoryStats()!.bytesInUse).toBe(bytesBefore - 16);

    // The same call without the injected failure succeeds, so the failure above was the allocation.
    const q = await backend.fromHost(Float32Array.from([10, 20, 30, 40]), "f32", [4]);
    const [s, d] = await executable.execute([q], [true]);
    expect([...(await s!.toHost())]).toEqual([11, 22, 33, 44]);
    expect([...(await d!.toHost())]).toEqual([11, 22, 33, 44, 11, 22, 33, 44]);
    for (const buffer of [s!, d!]) buffer.dispose();
    executable.dispose();
  });
});
