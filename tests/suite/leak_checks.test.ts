// The leak check every test file ends with (issue 6.11): the counters cannot read 0 when the addon failed to load,
// buffers are counted before the devices close, and executables alive beyond what the devices hold are reported.
// That the check fails a test file which leaks is shown in harness.test.ts.
import { describe, expect, it, vi } from "vitest";
import { type ArrayBase, DeviceArray, getDevice, heldExecutables, jit, liveExecutables, np } from "../../src/index.js";
import { expectNoLeaksThenClose } from "../helpers/leaks.js";
import { GOOD_ADD } from "./modules.js";

describe("the live-object counters", () => {
  it("throw when the native addon cannot be loaded, instead of reading 0", async () => {
    vi.resetModules();
    vi.doMock("../../src/runtime/native.js", async (importOriginal) => ({
      ...(await importOriginal<typeof import("../../src/runtime/native.js")>()),
      loadAddon: () => {
        throw new Error("the native addon failed to load (simulated)");
      },
    }));
    try {
      const fresh = await import("../../src/runtime/pjrt.js");
      expect(() => fresh.liveBuffers()).toThrow(/failed to load \(simulated\)/);
      expect(() => fresh.liveExecutables()).toThrow(/failed to load \(simulated\)/);
    } finally {
      vi.doUnmock("../../src/runtime/native.js");
      vi.resetModules();
    }
  });
});

describe("the leak check", () => {
  it("reports an array still alive before the devices close, and passes once it is disposed", async () => {
    const x = np.array([1, 2, 3], { device: "cpu" });
    await x.ready();
    await expect(expectNoLeaksThenClose()).rejects.toThrow(/before closing the devices 1 device buffer\(s\) are alive/);
    x.dispose();
    await expect(expectNoLeaksThenClose()).resolves.toBeUndefined();
  });

  it("accepts executables the devices hold, and reports one compiled outside them", async () => {
    const x = np.array([1, 2], { device: "cpu" });
    const y = jit((v: ArrayBase) => np.multiply(v, 2))(x) as DeviceArray;
    await y.ready();
    x.dispose();
    y.dispose();
    const held = await heldExecutables();
    expect(held).toBeGreaterThan(0);
    expect(liveExecutables()).toBe(held);
    const stray = await getDevice("cpu").backend!.compile(GOOD_ADD);
    try {
      expect(liveExecutables()).toBe(held + 1);
      await expect(expectNoLeaksThenClose()).rejects.toThrow(
        new RegExp(`before closing the devices ${held + 1} executable\\(s\\) are alive but the devices hold ${held}: 1 compiled outside`),
      );
    } finally {
      stray.dispose();
    }
    expect(liveExecutables()).toBe(0);
  });
});
