// Shared by the runtime tests: one CPU backend per test file, a leak check when the file ends.
import { afterAll, expect } from "vitest";
import { type PjrtBackend, liveBuffers, liveExecutables, openBackend } from "../../src/runtime/pjrt.js";
import { mainModule } from "./helpers_module.js";

export { mainModule };

/** CompileOptionsProto for a program on device 0: build options {device_ordinal -1, num_replicas 1, num_partitions 1,
 * device_assignment {replica_count 1, computation_count 1, computation_devices [{replica_device_ids [0]}]}} and
 * profile_version -1, encoded by hand from the field numbers (issue 10.1). */
export const SINGLE_DEVICE_OPTIONS_HEX =
  "1a1a" + "08ffffffffffffffffff01" + "2001" + "2801" + "4a09" + "0801" + "1001" + "1a03" + "0a0100" + "28ffffffffffffffffff01";

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

/** f32[n,n] binary elementwise op: (%a, %b) -> %0. */
export function binaryModule(op: string, shape: string, aliasFirst = false): string {
  const type = `tensor<${shape}xf32>`;
  const alias = aliasFirst ? " {tf.aliasing_output = 0 : i32}" : "";
  return mainModule(`(%a: ${type}${alias}, %b: ${type}) -> ${type}`, [
    `%0 = "stablehlo.${op}"(%a, %b) : (${type}, ${type}) -> ${type}`,
    `"func.return"(%0) : (${type}) -> ()`,
  ]);
}
