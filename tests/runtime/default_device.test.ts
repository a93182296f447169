// withDefaultDevice: a scope for the default device, so operations without array operands (iota, np.array without
// a device) run where the caller says (issue 6.8: eager iota "on cpu" ran on reference before).
import { describe, expect, it } from "vitest";
import { type DeviceArray, defaultDevice, lax, np, withDefaultDevice } from "../../src/index.js";

describe("withDefaultDevice", () => {
  it("runs operations without array operands on the given device, then restores the default", async () => {
    expect(defaultDevice().kind).toBe("reference");
    const [made, counted] = withDefaultDevice("cpu", () => [np.array([1, 2]) as DeviceArray, lax.iota("i32", [4], 0) as DeviceArray]);
    expect(made!.device.kind).toBe("cpu");
    expect(counted!.device.kind).toBe("cpu");
    expect(Array.from(await counted!.data(), Number)).toEqual([0, 1, 2, 3]);
    expect(defaultDevice().kind).toBe("reference");
    expect((lax.iota("i32", [2], 0) as DeviceArray).device.kind).toBe("reference");
    made!.dispose();
    counted!.dispose();
  });

  it("nests, and restores the outer default when the function throws", () => {
    withDefaultDevice("cpu", () => {
      expect(withDefaultDevice("reference", () => defaultDevice().kind)).toBe("reference");
      expect(defaultDevice().kind).toBe("cpu");
      expect(() =>
        withDefaultDevice("reference", () => {
          throw new Error("inner failure");
        }),
      ).toThrow("inner failure");
      expect(defaultDevice().kind).toBe("cpu");
    });
    expect(defaultDevice().kind).toBe("reference");
  });

  it("refuses an async function and an unknown device, leaving the default as it was", () => {
    expect(() => withDefaultDevice("cpu", async () => 1)).toThrow(/must be synchronous/);
    expect(() => withDefaultDevice("npu" as "cpu", () => 1)).toThrow(/unknown device 'npu'/);
    expect(defaultDevice().kind).toBe("reference");
  });
});
