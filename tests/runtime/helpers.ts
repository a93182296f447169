// Shared by the runtime tests: one CPU backend per test file, a leak check when the file ends.
import { afterAll, expect } from "vitest";
import { type PjrtBackend, liveBuffers, liveExecutables, openBackend } from "../../src/runtime/pjrt.js";

export const SINGLE_DEVICE_OPTIONS_HEX = "1a0f08ffffffffffffffffff01200128012001";

/** Opens the CPU backend for this test file and, after its tests, checks that every buffer and executable made on
 * it was freed (before closing it, so the check sees what the tests left), then closes it. */
export function useCpuBackend(): () => PjrtBackend {
  let backend: PjrtBackend | undefined;
  afterAll(() => {
    const left = { buffers: liveBuffers(), executables: liveExecutables() };
    backend?.dispose();
    expect(left).toEqual({ buffers: 0, executables: 0 });
  });
  return () => {
    backend ??= openBackend("cpu");
    return backend;
  };
}

/** A module with one function @main, in the generic syntax hlo/ emits. */
export function mainModule(signature: string, body: string[]): string {
  return [
    "module attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {",
    `  func.func @main${signature} {`,
    ...body.map((line) => `    ${line}`),
    "  }",
    "}",
    "",
  ].join("\n");
}

/** f32[n,n] binary elementwise op: (%a, %b) -> %0. */
export function binaryModule(op: string, shape: string, aliasFirst = false): string {
  const type = `tensor<${shape}xf32>`;
  const alias = aliasFirst ? " {tf.aliasing_output = 0 : i32}" : "";
  return mainModule(`(%a: ${type}${alias}, %b: ${type}) -> ${type}`, [
    `%0 = "stablehlo.${op}"(%a, %b) : (${type}, ${type}) -> ${type}`,
    `"func.return"(%0) : (${type}) -> ()`,
  ]);
}
