import { describe, expect, it } from "vitest";
import { decodeCompileOptions, encodeCompileOptions } from "../../src/runtime/compile_options.js";
import { SINGLE_DEVICE_OPTIONS_HEX } from "./helpers.js";

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

describe("CompileOptionsProto", () => {
  it("encodes the single-device options to the known 19 bytes", () => {
    const bytes = encodeCompileOptions();
    expect(bytes.length).toBe(19);
    expect(hex(bytes)).toBe(SINGLE_DEVICE_OPTIONS_HEX);
  });

  it("decodes back to what was encoded", () => {
    expect(decodeCompileOptions(encodeCompileOptions())).toEqual({
      executable_build_options: { device_ordinal: -1, num_replicas: 1, num_partitions: 1 },
      compile_portable_executable: true,
    });
  });

  it("encodes SPMD over several devices with a device assignment", () => {
    const decoded = decodeCompileOptions(encodeCompileOptions({ numDevices: 4 }));
    expect(decoded).toEqual({
      executable_build_options: {
        device_ordinal: -1,
        num_replicas: 1,
        num_partitions: 4,
        use_spmd_partitioning: true,
        device_assignment: {
          replica_count: 1,
          computation_count: 4,
          computation_devices: [0, 1, 2, 3].map((id) => ({ replica_device_ids: [id] })),
        },
      },
    });
  });

  it("carries XLA flags as env_option_overrides", () => {
    const decoded = decodeCompileOptions(encodeCompileOptions({ overrides: { xla_flag: true, xla_level: 2 } }));
    expect(decoded.env_option_overrides).toEqual({ xla_flag: { bool_field: true }, xla_level: { int_field: 2 } });
  });

  it("rejects a non-positive device count", () => {
    expect(() => encodeCompileOptions({ numDevices: 0 })).toThrow(/positive integer/);
  });
});
