// Errors through the whole path: each one names what is wrong, and carries the PJRT code.
import { describe, expect, it } from "vitest";
import type { NativeError } from "../../src/runtime/native.js";
import { binaryModule, mainModule, useCpuBackend } from "./helpers.js";

const cpu = useCpuBackend();

async function compileError(text: string): Promise<NativeError> {
  try {
    const executable = await cpu().compile(text);
    executable.dispose();
  } catch (error) {
    return error as NativeError;
  }
  throw new Error("compile unexpectedly succeeded");
}

describe("compile errors", () => {
  it("reports malformed MLIR with line and column", async () => {
    const text = mainModule("(%a: tensor<2xf32>) -> tensor<2xf32>", [
      `%0 = "stablehlo.add"(%a, %a) : (tensor<2xf32>, tensor<2xf32>) tensor<2xf32>`,
      `"func.return"(%0) : (tensor<2xf32>) -> ()`,
    ]);
    const error = await compileError(text);
    expect(error.message).toMatch(/line \d+, column \d+/);
    expect(error.message).toMatch(/^cpu compile: PJRT_Client_Compile: /);
    expect(error.code).toBe("INVALID_ARGUMENT");
    expect(error.pjrtCode).toBe(3);
  });

  it("names an unsupported op", async () => {
    const text = mainModule(`(%a: tensor<2x2xf32>) -> tensor<2x2xf32>`, [
      `%0 = "stablehlo.cholesky"(%a) {lower = true} : (tensor<2x2xf32>) -> tensor<2x2xf32>`,
      `"func.return"(%0) : (tensor<2x2xf32>) -> ()`,
    ]);
    const error = await compileError(text);
    expect(error.message).toContain("stablehlo.cholesky");
    expect(error.code).toBe("INVALID_ARGUMENT");
  });

  it("rejects a tensor too large to allocate, or whose size overflows, at compile time", async () => {
    // Regression: such shapes compiled and then failed in the allocator (or, overflowing, wrapped to 0 bytes).
    const huge = mainModule("(%a: tensor<100000000000000xf32>) -> tensor<100000000000000xf32>", [
      `"func.return"(%a) : (tensor<100000000000000xf32>) -> ()`,
    ]);
    const tooLarge = await compileError(huge);
    expect(tooLarge.message).toMatch(/line \d+, column \d+: tensor<100000000000000xf32> needs 400000000000000 bytes/);
    expect(tooLarge.code).toBe("INVALID_ARGUMENT");
    const wrapping = mainModule("(%a: tensor<4294967296x4294967296x16xf32>) -> tensor<f32>", [
      `%c = "stablehlo.constant"() {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>`,
      `"func.return"(%c) : (tensor<f32>) -> ()`,
    ]);
    expect((await compileError(wrapping)).message).toContain("overflows 64 bits");
  });

  it("rejects text that is not MLIR at all", async () => {
    const error = await compileError("this is not a module");
    expect(error.message).toMatch(/line 1, column \d+/);
  });
});

describe("execute errors", () => {
  it("rejects a wrong argument count", async () => {
    const backend = cpu();
    const executable = await backend.compile(binaryModule("add", "2x2"));
    const a = await backend.fromHost(new Float32Array(4), "f32", [2, 2]);
    try {
      await expect(executable.execute([a])).rejects.toThrow(/@main takes 2 arguments, got 1/);
    } finally {
      a.dispose();
      executable.dispose();
    }
  });

  it("rejects a wrong shape and a wrong dtype, naming the argument", async () => {
    const backend = cpu();
    const executable = await backend.compile(binaryModule("add", "2x2"));
    const good = await backend.fromHost(new Float32Array(4), "f32", [2, 2]);
    const wrongShape = await backend.fromHost(new Float32Array(6), "f32", [2, 3]);
    const wrongType = await backend.fromHost(new Int32Array(4), "i32", [2, 2]);
    try {
      await expect(executable.execute([good, wrongShape])).rejects.toThrow(/argument 1 must be tensor<2x2xf32>, got tensor<2x3xf32>/);
      await expect(executable.execute([wrongType, good])).rejects.toThrow(/argument 0 must be tensor<2x2xf32>, got tensor<2x2xi32>/);
      const error = await executable.execute([good, wrongShape]).catch((caught: NativeError) => caught);
      expect((error as NativeError).code).toBe("INVALID_ARGUMENT");
    } finally {
      for (const buffer of [good, wrongShape, wrongType]) buffer.dispose();
      executable.dispose();
    }
  });

  it("keeps a donated argument usable when the launch is rejected", async () => {
    const backend = cpu();
    const executable = await backend.compile(binaryModule("add", "2x2", true));
    const a = await backend.fromHost(Float32Array.from([1, 2, 3, 4]), "f32", [2, 2]);
    const wrong = await backend.fromHost(new Float32Array(6), "f32", [2, 3]);
    try {
      await expect(executable.execute([a, wrong], [true, false])).rejects.toThrow(/argument 1/);
      expect(a.disposed).toBe(false);
      expect([...(await a.toHost())]).toEqual([1, 2, 3, 4]);
    } finally {
      a.dispose();
      wrong.dispose();
      executable.dispose();
    }
  });

  it("rejects a disposed buffer, and dispose is idempotent", async () => {
    const backend = cpu();
    const executable = await backend.compile(binaryModule("add", "2x2"));
    const a = await backend.fromHost(new Float32Array(4), "f32", [2, 2]);
    a.dispose();
    a.dispose();
    expect(a.disposed).toBe(true);
    await expect(a.toHost()).rejects.toThrow(/toHost: buffer f32\[2,2\] was disposed/);
    await expect(executable.execute([a, a])).rejects.toThrow(/execute argument 0: buffer f32\[2,2\] was disposed/);
    executable.dispose();
    executable.dispose();
    await expect(executable.execute([])).rejects.toThrow(/executable was disposed/);
  });

  it("checks host data against dtype and shape before transferring", async () => {
    const backend = cpu();
    await expect(backend.fromHost(new Float32Array(3), "f32", [2, 2])).rejects.toThrow(/needs 4 elements, the data has 3/);
    await expect(backend.fromHost(new Int32Array(4), "f32", [2, 2])).rejects.toThrow(/f32 data must be a Float32Array/);
  });
});
