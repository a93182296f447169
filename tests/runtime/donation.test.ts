// Donation: a donated argument's buffer becomes the aliased output; device memory does not grow by the
// output's size, and the donated buffer is consumed.
import { describe, expect, it } from "vitest";
import { binaryModule, useCpuBackend } from "./helpers.js";

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
    const grown = backend.memoryStats()!.bytesInUse - before0;
    expect(grown).toBeGreaterThanOrEqual(BYTES);
    expect(p0.disposed).toBe(false);
    kept!.dispose();
    p0.dispose();

    // With donation the output lands in p's storage.
    const p = await backend.fromHost(ones, "f32", [N, N]);
    const before = backend.memoryStats()!.bytesInUse;
    const [updated] = await executable.execute([p, g], [true, false]);
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
});
