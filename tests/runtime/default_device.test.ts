// The default device is the best one present (tpu, then gpu, then cpu); `reference` only when asked (issue 7.6).
// withDefaultDevice scopes it, so operations without array operands (iota, np.array without a device) run where
// the caller says (issue 6.8: eager iota "on cpu" ran on reference before).
import { describe, expect, it } from "vitest";
import {
  type ArrayBase,
  availableDevices,
  type DeviceArray,
  defaultDevice,
  devicesIdle,
  forLoop,
  grad,
  jit,
  lax,
  liveBuffers,
  np,
  tidy,
  whileLoop,
  withDefaultDevice,
} from "../../src/index.js";
import { DEFAULT_DEVICE_PREFERENCE } from "../../src/runtime/device.js";

describe("default device", () => {
  it("is the first of tpu, gpu, cpu that is present, and new arrays land there", async () => {
    const present = availableDevices();
    expect(present).toContain("cpu"); // the build made our plugin
    const best = DEFAULT_DEVICE_PREFERENCE.find((kind) => present.includes(kind));
    expect(defaultDevice().kind).toBe(best);
    const x = np.array([1, 2, 3]);
    expect(x.device.kind).toBe(best);
    // tidy frees the broadcast scalar np.add makes on the way.
    const y = tidy(() => np.add(x, 1)) as typeof x;
    expect(y.device.kind).toBe(best);
    expect(Array.from(await y.data(), Number)).toEqual([2, 3, 4]);
    x.dispose();
    y.dispose();
  });

  it("gives reference only when asked for", () => {
    const x = np.array([1, 2], { device: "reference" });
    expect(x.device.kind).toBe("reference");
    expect(defaultDevice().kind).not.toBe("reference");
    x.dispose();
  });
});

describe("arrays made for an operation", () => {
  // Issue 7.6 follow-up, found by the leak check (issue 6.11): helper arrays (a number broadcast to an operand's
  // shape, a literal-only equation of an eager gradient, a constant made while jit traces) are made where the
  // operation runs. Made on the default device they were copied over, and a cpu buffer stayed allocated until
  // collected for every reference op with a literal.
  it("are made on the operands' device, not the default one", async () => {
    expect(defaultDevice().kind).not.toBe("reference");
    const x = np.array([1, 2, 3], { device: "reference" });
    await devicesIdle();
    const before = liveBuffers();
    const results = [
      np.add(x, 1),
      lax.mul(x, 2),
      lax.compare(x, 2, "LT"),
      forLoop(0, 2, (_i, s: ArrayBase) => np.multiply(s, 3), x),
      whileLoop((s: ArrayBase[]) => lax.compare(s[0]!, 2, "LT"), (s: ArrayBase[]) => [np.add(s[0]!, 1), np.subtract(s[1]!, 1)], [0, x] as unknown as ArrayBase[])[1]!,
    ] as DeviceArray[];
    await devicesIdle();
    expect(liveBuffers()).toBe(before);
    for (const r of results) expect(r.device.kind).toBe("reference");
    const values = await Promise.all(results.map(async (r) => Array.from(await r.data(), Number)));
    expect(values).toEqual([[2, 3, 4], [2, 4, 6], [1, 0, 0], [9, 18, 27], [-1, 0, 1]]);
    for (const r of [x, ...results]) r.dispose();
  });

  it("an eager gradient replays literal-only equations (a broadcast constant) on the arguments' device", async () => {
    const x = np.array([1, -2, 3], { device: "reference" });
    await devicesIdle();
    const before = liveBuffers();
    // d/dx sum(x * 2 + 1) = 2; the integer path (bitcast, xor 1) carries no gradient.
    const affine = grad((v: ArrayBase) => np.sum(np.add(np.multiply(v, 2), 1)))(x) as DeviceArray;
    const viaBits = grad((v: ArrayBase) => np.sum(lax.bitcastConvert(lax.xor(lax.bitcastConvert(v, "u32"), 1), "f32")))(x) as DeviceArray;
    await devicesIdle();
    expect(liveBuffers()).toBe(before);
    expect(Array.from(await affine.data(), Number)).toEqual([2, 2, 2]);
    expect(Array.from(await viaBits.data(), Number)).toEqual([0, 0, 0]);
    for (const r of [x, affine, viaBits]) r.dispose();
  });

  it("a constant a jitted function makes while tracing is made on the program's device", async () => {
    const x = np.array([1, 2, 3], { device: "reference" });
    await devicesIdle();
    const before = liveBuffers();
    const scale = (v: ArrayBase) => np.multiply(v, np.array([2, 3, 4]));
    // Once placed by its operand, once by the device option.
    const results = [jit(scale)(x), jit(scale, { device: "reference" })(x)] as DeviceArray[];
    await devicesIdle();
    expect(liveBuffers()).toBe(before);
    for (const r of results) expect(Array.from(await r.data(), Number)).toEqual([2, 6, 12]);
    for (const r of [x, ...results]) r.dispose();
  });
});

describe("withDefaultDevice", () => {
  it("runs operations without array operands on the given device, then restores the default", async () => {
    const outer = defaultDevice().kind;
    expect(outer).not.toBe("reference");
    const [made, counted] = withDefaultDevice("reference", () => [np.array([1, 2]) as DeviceArray, lax.iota("i32", [4], 0) as DeviceArray]);
    expect(made!.device.kind).toBe("reference");
    expect(counted!.device.kind).toBe("reference");
    expect(Array.from(await counted!.data(), Number)).toEqual([0, 1, 2, 3]);
    expect(defaultDevice().kind).toBe(outer);
    const after = lax.iota("i32", [2], 0) as DeviceArray;
    expect(after.device.kind).toBe(outer);
    for (const a of [made!, counted!, after]) a.dispose();
  });

  it("nests, and restores the outer default when the function throws", () => {
    const outer = defaultDevice().kind;
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
    expect(defaultDevice().kind).toBe(outer);
  });

  it("refuses an async function and an unknown device, leaving the default as it was", () => {
    const outer = defaultDevice().kind;
    expect(() => withDefaultDevice("cpu", async () => 1)).toThrow(/must be synchronous/);
    expect(() => withDefaultDevice("npu" as "cpu", () => 1)).toThrow(/unknown device 'npu'/);
    expect(defaultDevice().kind).toBe(outer);
  });
});
