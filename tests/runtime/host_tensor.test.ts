// Host tensors from JS values (`np.array` goes through toHostTensor): typed arrays of every kind into every dtype
// they may fill, checked element by element against conversions written out here; the errors for a count that
// does not fill the shape and for a non-integer in an integer dtype; and a typed array longer than the longest JS
// array V8 can grow (it used to be copied through one, and the process died with a V8 fatal error).
import { describe, expect, it } from "vitest";
import { np } from "../../src/index.js";
import { toHostTensor } from "../../src/runtime/host.js";

describe("toHostTensor from typed arrays", () => {
  it("keeps f32 values bit for bit (NaN, -0, infinities, the smallest subnormal)", () => {
    const values = new Float32Array([1.5, -0, Number.NaN, Number.POSITIVE_INFINITY, -3.25e38, 1.4e-45]);
    const t = toHostTensor(values, "f32", [2, 3]);
    expect(t.shape).toEqual([2, 3]);
    expect(new Uint32Array((t.data as Float32Array).buffer)).toEqual(new Uint32Array(values.buffer));
    expect(t.data).not.toBe(values); // a copy: the caller may reuse its buffer
  });

  it("rounds f64 to the nearest f32 and converts integers, as element-wise assignment does", () => {
    const doubles = new Float64Array([0.1, 1 + 2 ** -30, -7, 2 ** 200]);
    expect(Array.from(toHostTensor(doubles, "f32").data as Float32Array)).toEqual([
      Math.fround(0.1),
      1,
      -7,
      Number.POSITIVE_INFINITY,
    ]);
    expect(Array.from(toHostTensor(new Int32Array([-2147483648, 5, 16777217]), "f32").data as Float32Array)).toEqual([
      -2147483648, 5, 16777216,
    ]);
  });

  it("copies integer arrays of their own dtype, and turns any nonzero into true for bool", () => {
    expect(Array.from(toHostTensor(new Int32Array([-5, 0, 2147483647]), "i32").data as Int32Array)).toEqual([-5, 0, 2147483647]);
    expect(Array.from(toHostTensor(new Uint32Array([0, 4294967295]), "u32").data as Uint32Array)).toEqual([0, 4294967295]);
    expect(Array.from(toHostTensor(new Uint8Array([0, 1, 7]), "bool").data as Uint8Array)).toEqual([0, 1, 1]);
    expect(Array.from(toHostTensor(new Float32Array([0, -0.5, 3]), "bool").data as Uint8Array)).toEqual([0, 1, 1]);
  });

  it("rounds f32 to bf16 to nearest even", () => {
    // 1 + 2^-8 lies halfway between bf16 1 (0x3F80) and 1 + 2^-7 (0x3F81): to the even one, 0x3F80.
    // 1 + 3 * 2^-8 lies halfway between 0x3F81 and 0x3F82: to the even one, 0x3F82. 1 + 2^-8 + 2^-20 rounds up.
    const t = toHostTensor(new Float32Array([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20]), "bf16");
    expect(Array.from(t.data as Uint16Array)).toEqual([0x3f80, 0x3f82, 0x3f81]);
  });

  it("says when the values do not fill the shape, and where a value is not an integer", () => {
    expect(() => toHostTensor(new Float32Array(5), "f32", [2, 3])).toThrow("np.array: 5 values do not fill shape [2, 3] (6 elements)");
    expect(() => toHostTensor([1, 2, 3], "f32", [2, 2])).toThrow("np.array: 3 values do not fill shape [2, 2] (4 elements)");
    expect(() => toHostTensor(new Float32Array([1, 2, 2.5]), "i32")).toThrow(
      "np.array: value 2.5 at flat index 2 is not an integer, but the dtype is i32",
    );
    expect(() => toHostTensor(new Float64Array([Number.NaN]), "u32")).toThrow("value NaN at flat index 0 is not an integer");
  });

  it("np.array keeps a Float32Array's values on the device", async () => {
    const x = np.array(new Float32Array([3, -1, 0.25, 8]), { shape: [2, 2], device: "cpu" });
    expect(Array.from((await x.data()) as Float32Array)).toEqual([3, -1, 0.25, 8]);
    x.dispose();
  });

  it("takes a Float32Array longer than V8's longest growable array (140 M elements, 560 MB)", () => {
    const n = 140_000_000;
    const values = new Float32Array(n);
    values[0] = 1;
    values[n - 1] = -2;
    const t = toHostTensor(values, "f32", [n / 1000, 1000]);
    expect(t.shape).toEqual([n / 1000, 1000]);
    expect(t.data[0]).toBe(1);
    expect(t.data[n - 1]).toBe(-2);
    expect(t.data[n / 2]).toBe(0);
  });
});
