// Host <-> device transfers for every dtype the project uses, including scalars and empty arrays.
import { describe, expect, it } from "vitest";
import type { DType } from "../../src/core/dtype.js";
import type { HostData } from "../../src/runtime/backend.js";
import { useCpuBackend } from "./helpers.js";

const cpu = useCpuBackend();

const CASES: Array<[DType, HostData, number[]]> = [
  ["f32", Float32Array.from([1.5, -2, 3.25, Number.POSITIVE_INFINITY, Number.NaN, -0]), [2, 3]],
  ["bf16", Uint16Array.from([0x3f80, 0xc000, 0x7f80, 0x7fc0]), [4]],
  ["i32", Int32Array.from([-(2 ** 31), -1, 0, 2 ** 31 - 1]), [2, 2]],
  ["u32", Uint32Array.from([0, 1, 2 ** 32 - 1]), [3]],
  ["bool", Uint8Array.from([1, 0, 1, 1]), [4, 1]],
  ["f32", Float32Array.from([42]), []],
  ["f32", new Float32Array(0), [0, 3]],
];

describe("transfers", () => {
  for (const [dtype, data, shape] of CASES) {
    it(`round-trips ${dtype}[${shape.join(",")}]`, async () => {
      const buffer = await cpu().fromHost(data, dtype, shape);
      try {
        expect(buffer.dtype).toBe(dtype);
        expect(buffer.shape).toEqual(shape);
        const back = await buffer.toHost();
        expect(back.constructor).toBe(data.constructor);
        expect(Buffer.from(back.buffer, back.byteOffset, back.byteLength)).toEqual(
          Buffer.from(data.buffer, data.byteOffset, data.byteLength),
        );
        expect(buffer.native.onDeviceSizeInBytes()).toBe(data.byteLength);
      } finally {
        buffer.dispose();
      }
    });
  }

  it("copies at the call: changing the host array afterwards does not change the buffer", async () => {
    const data = Float32Array.from([1, 2, 3]);
    const buffer = await cpu().fromHost(data, "f32", [3]);
    data[0] = 99;
    expect([...(await buffer.toHost())]).toEqual([1, 2, 3]);
    buffer.dispose();
  });

  it("rejects dims whose byte size overflows instead of wrapping to the data's size", async () => {
    // Regression: 2^62 x 4 f32 elements wrapped to 0 bytes, matched an empty array and made a bogus buffer.
    const backend = cpu();
    await expect(async () => backend.client.bufferFromHost(new Float32Array(0), 11, [2 ** 62, 4], backend.device)).rejects.toThrow(
      /overflows 64 bits/,
    );
  });

  it("reads a subarray view with its own offset", async () => {
    const whole = Float32Array.from([0, 1, 2, 3, 4, 5]);
    const buffer = await cpu().fromHost(whole.subarray(2, 5), "f32", [3]);
    expect([...(await buffer.toHost())]).toEqual([2, 3, 4]);
    buffer.dispose();
  });
});
