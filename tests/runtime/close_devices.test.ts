// Closing devices with work in flight, and the leak check's counts (issue 6.11): an execution still running when
// the check or closeDevices() starts is waited for, so the counts are what stays alive, and nothing compiled or
// allocated on the way outlives closeDevices().
import { describe, expect, it } from "vitest";
import { type DeviceArray, closeDevices, devicesIdle, heldExecutables, jit, liveBuffers, liveExecutables, np, tidy } from "../../src/index.js";
import { expectNoLeaksThenClose } from "../helpers/leaks.js";

describe("closing devices with work in flight", () => {
  it("closeDevices waits for an eager op still compiling and running, then nothing stays alive", async () => {
    const x = np.array([1, 2, 3], { device: "cpu" });
    const y = np.multiply(x, x) as DeviceArray;
    // Both are disposed before the upload, the compile or the execution has finished: the frees wait for them.
    x.dispose();
    y.dispose();
    await closeDevices();
    expect(liveBuffers()).toBe(0);
    expect(liveExecutables()).toBe(0);
  });

  it("the leak check passes a file whose last op, disposed, is still running", async () => {
    const x = np.array([4, 5], { device: "cpu" });
    const y = tidy(() => np.subtract(x, 2)) as DeviceArray;
    x.dispose();
    y.dispose();
    await expect(expectNoLeaksThenClose()).resolves.toBeUndefined();
  });

  it("devicesIdle leaves only what is kept: a live result, and the executables the devices hold", async () => {
    const x = np.array([1, 2, 3, 4], { device: "cpu" });
    const y = tidy(() => np.exp(np.negative(x))) as DeviceArray;
    x.dispose();
    await devicesIdle();
    expect(liveBuffers()).toBe(1);
    expect(liveExecutables()).toBe(await heldExecutables());
    y.dispose();
    await devicesIdle();
    expect(liveBuffers()).toBe(0);
  });

  it("work that in-flight work starts while the devices close runs on a device that is closed too", async () => {
    const x = np.array([1, 2], { device: "cpu" });
    // Runs once the upload is done, while closeDevices() waits: it compiles on whichever cpu device is open then.
    const late = x.ready().then(() => {
      x.dispose();
      const z = tidy(() => np.add(np.array([5], { device: "cpu" }), 7)) as DeviceArray;
      z.dispose();
    });
    await closeDevices();
    await late;
    expect(await heldExecutables()).toBe(0);
    expect(liveExecutables()).toBe(0);
    expect(liveBuffers()).toBe(0);
  });

  it("a function jitted before closeDevices runs on the device opened after it", async () => {
    const twice = jit((v: DeviceArray) => np.multiply(v, 2));
    const a = np.array([1, 2], { device: "cpu" });
    const first = twice(a) as DeviceArray;
    expect(Array.from(await first.data(), Number)).toEqual([2, 4]);
    a.dispose();
    first.dispose();
    await closeDevices();
    const b = np.array([3, 4], { device: "cpu" });
    const second = twice(b) as DeviceArray;
    expect(Array.from(await second.data(), Number)).toEqual([6, 8]);
    b.dispose();
    second.dispose();
  });
});
