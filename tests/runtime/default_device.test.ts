// Issue 7.6: the default device is the best one present (tpu, then gpu, then cpu); `reference` only when asked.
import { afterAll, describe, expect, it } from "vitest";
import { availableDevices, closeDevices, defaultDevice, np } from "../../src/index.js";
import { DEFAULT_DEVICE_PREFERENCE } from "../../src/runtime/device.js";

afterAll(async () => {
  await closeDevices();
});

describe("default device", () => {
  it("is the first of tpu, gpu, cpu that is present, and new arrays land there", async () => {
    const present = availableDevices();
    expect(present).toContain("cpu"); // the build made our plugin
    const best = DEFAULT_DEVICE_PREFERENCE.find((kind) => present.includes(kind));
    expect(defaultDevice().kind).toBe(best);
    const x = np.array([1, 2, 3]);
    expect(x.device.kind).toBe(best);
    const y = np.add(x, 1) as typeof x;
    expect(y.device.kind).toBe(best);
    expect(Array.from(await y.data(), Number)).toEqual([2, 3, 4]);
  });

  it("gives reference only when asked for", async () => {
    const x = np.array([1, 2], { device: "reference" });
    expect(x.device.kind).toBe("reference");
    expect(defaultDevice().kind).not.toBe("reference");
  });
});
