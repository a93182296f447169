import { describe, expect, it } from "vitest";
import { NO_PROFILE_VERSION, decodeCompileOptions, encodeCompileOptions } from "../../src/runtime/compile_options.js";
import { SINGLE_DEVICE_OPTIONS_HEX } from "./helpers.js";

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

describe("CompileOptionsProto", () => {
  it("encodes a program on device 0 to the known 39 bytes (issue 10.1: an assignment, not portable)", () => {
    const bytes = encodeCompileOptions({ devices: [0] });
    expect(bytes.length).toBe(39);
    expect(hex(bytes)).toBe(SINGLE_DEVICE_OPTIONS_HEX);
  });

  it("decodes back to what was encoded: assigned to the device, not portable, profile_version -1 (issue 10.7)", () => {
    const decoded = decodeCompileOptions(encodeCompileOptions({ devices: [3] }));
    expect(decoded).toEqual({
      executable_build_options: {
        device_ordinal: -1,
        num_replicas: 1,
        num_partitions: 1,
        device_assignment: { replica_count: 1, computation_count: 1, computation_devices: [{ replica_device_ids: [3] }] },
      },
      profile_version: -1,
    });
    expect(decoded.compile_portable_executable).toBeUndefined();
    expect(NO_PROFILE_VERSION).toBe(-1);
  });

  it("encodes SPMD over several devices with a device assignment", () => {
    const decoded = decodeCompileOptions(encodeCompileOptions({ devices: [4, 5, 6, 7] }));
    expect(decoded).toEqual({
      executable_build_options: {
        device_ordinal: -1,
        num_replicas: 1,
        num_partitions: 4,
        use_spmd_partitioning: true,
        device_assignment: {
          replica_count: 1,
          computation_count: 4,
          computation_devices: [4, 5, 6, 7].map((id) => ({ replica_device_ids: [id] })),
        },
      },
      profile_version: -1,
    });
  });

  it("carries XLA flags as env_option_overrides", () => {
    const decoded = decodeCompileOptions(encodeCompileOptions({ devices: [0], overrides: { xla_flag: true, xla_level: 2 } }));
    expect(decoded.env_option_overrides).toEqual({ xla_flag: { bool_field: true }, xla_level: { int_field: 2 } });
  });

  it("rejects no devices, a bad id and a repeated device", () => {
    expect(() => encodeCompileOptions({ devices: [] })).toThrow(/at least one device/);
    expect(() => encodeCompileOptions({ devices: [-1] })).toThrow(/non-negative integers, got -1/);
    expect(() => encodeCompileOptions({ devices: [1.5] })).toThrow(/non-negative integers, got 1.5/);
    expect(() => encodeCompileOptions({ devices: [2, 2] })).toThrow(/\[2, 2\] repeat a device/);
  });
});
