// The checked StableHLO example (/work/shared/facts/stablehlo-example.mlir) through the whole path:
// TS -> addon -> our PJRT plugin -> engine, with its documented results.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { PjrtBuffer } from "../../src/runtime/pjrt.js";
import { bf16Arithmetic, f32Bits } from "../helpers/arrays.js";
import { useCpuBackend } from "./helpers.js";

const cpu = useCpuBackend();
const EXAMPLE = readFileSync(new URL("./fixtures/stablehlo-example.mlir", import.meta.url), "utf8");

const x = [1, 2, 3, -1, 0.5, 2];
const w = [0.1, 0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, 0.9, 1.0, -1.1, 1.2];

async function inputs(): Promise<PjrtBuffer[]> {
  const backend = cpu();
  return Promise.all([
    backend.fromHost(Float32Array.from(x), "f32", [2, 3]),
    backend.fromHost(Float32Array.from(w), "f32", [3, 4]),
    backend.fromHost(Int32Array.from([2, 0]), "i32", [2]),
    backend.fromHost(Uint32Array.from([0, 42]), "u32", [2]),
  ]);
}

describe("stablehlo-example.mlir on the cpu device", () => {
  it("compiles and reports its outputs", async () => {
    const executable = await cpu().compile(EXAMPLE);
    try {
      expect(executable.numOutputs).toBe(6);
      expect(executable.native.name).toBe("main");
      expect(executable.native.outputDims).toEqual([[2], [3, 4], [2, 4], [], [2], [2, 4]]);
      expect(executable.native.outputTypes).toEqual([4, 11, 11, 11, 8, 13]);
    } finally {
      executable.dispose();
    }
  });

  it("computes the documented results, in typed arrays of the right dtype", async () => {
    const executable = await cpu().compile(EXAMPLE);
    const args = await inputs();
    const outputs = await executable.execute(args, [false, false, false, false]);
    try {
      expect(outputs.map((output) => output.dtype)).toEqual(["i32", "f32", "f32", "f32", "u32", "bf16"]);
      expect(outputs.map((output) => output.shape)).toEqual([[2], [3, 4], [2, 4], [], [2], [2, 4]]);
      const [argmax, w2, tanh, loopSum, mixed, window] = await Promise.all(outputs.map((output) => output.toHost()));

      expect(argmax).toBeInstanceOf(Int32Array);
      expect([...argmax!]).toEqual([3, 3]);

      expect(w2).toBeInstanceOf(Float32Array);
      const doubledRows = new Set([0, 2]);
      w.forEach((value, index) => {
        const row = Math.floor(index / 4);
        expect(w2![index]).toBeCloseTo(doubledRows.has(row) ? 2 * value : value, 5);
      });

      expect(tanh).toBeInstanceOf(Float32Array);
      const expectedTanh = [0.956237, 0.761594, -0.664037, 0.992631, 0.750893, 0.635149, -0.791338, 0.833655];
      expectedTanh.forEach((value, index) => expect(tanh![index]).toBeCloseTo(value, 5));

      expect(loopSum).toBeInstanceOf(Float32Array);
      expect([...loopSum!]).toEqual([10]);

      expect(mixed).toBeInstanceOf(Uint32Array);
      expect([...mixed!]).toEqual([0, 344106]);

      expect(window).toBeInstanceOf(Uint16Array);
      const rows = [...w.slice(8, 12), ...w.slice(0, 4)]; // rows 2 and 0 of w
      // The bf16 bit patterns from an oracle that rounds by arithmetic, not by the library's bit manipulation.
      expect([...window!]).toEqual(rows.map((v) => f32Bits(bf16Arithmetic(v)) >>> 16));
    } finally {
      for (const buffer of [...args, ...outputs]) buffer.dispose();
      executable.dispose();
    }
  });

  it("donates w to the aliased output w2", async () => {
    const executable = await cpu().compile(EXAMPLE);
    const args = await inputs();
    const outputs = await executable.execute(args, [false, true, false, false]);
    try {
      expect(args[1]!.consumed).toBe(true);
      expect(args[1]!.disposed).toBe(true);
      expect(args[0]!.disposed).toBe(false);
      const w2 = await outputs[1]!.toHost();
      expect(w2[0]).toBeCloseTo(0.2, 6);
      await expect(args[1]!.toHost()).rejects.toThrow(/was donated to an execution/);
    } finally {
      for (const buffer of [...args, ...outputs]) buffer.dispose();
      executable.dispose();
    }
  });
});
