// xla.CompileOptionsProto, encoded with protobufjs from a .proto text parsed at load (no codegen, no
// network). Only the fields this project sets are declared; field numbers follow
// xla/pjrt/proto/compile_options.proto and xla/xla.proto.
import protobuf from "protobufjs";

const PROTO = `
syntax = "proto3";
package xla;

message DeviceAssignmentProto {
  int32 replica_count = 1;
  int32 computation_count = 2;
  message ComputationDevice {
    repeated int64 replica_device_ids = 1;
  }
  repeated ComputationDevice computation_devices = 3;  // indexed by partition
}

message ExecutableBuildOptionsProto {
  int64 device_ordinal = 1;  // -1: unset
  int64 num_replicas = 4;
  int64 num_partitions = 5;
  bool use_spmd_partitioning = 6;
  DeviceAssignmentProto device_assignment = 9;
  bool use_shardy_partitioner = 19;
}

message OptionOverrideProto {
  oneof value {
    string string_field = 1;
    bool bool_field = 2;
    int64 int_field = 3;
    double double_field = 4;
  }
}

message CompileOptionsProto {
  bool parameter_is_tupled_arguments = 2;
  ExecutableBuildOptionsProto executable_build_options = 3;
  bool compile_portable_executable = 4;
  int64 profile_version = 5;
  map<string, OptionOverrideProto> env_option_overrides = 7;
}
`;

const root = protobuf.parse(PROTO, { keepCase: true }).root;
const CompileOptionsProto = root.lookupType("xla.CompileOptionsProto");

export type OptionOverride = string | boolean | number;

export interface CompileOptions {
  /** Devices the program spans: 1 is a portable single-device executable (run with execute_device). */
  numDevices?: number;
  /** XLA flags as env_option_overrides (e.g. {"xla_cpu_enable_fast_math": false}). */
  overrides?: Record<string, OptionOverride>;
}

function encodeOverride(value: OptionOverride): Record<string, unknown> {
  if (typeof value === "string") return { string_field: value };
  if (typeof value === "boolean") return { bool_field: value };
  return Number.isInteger(value) ? { int_field: value } : { double_field: value };
}

/** Serialized CompileOptionsProto. Never empty: an empty message means 0 replicas and 0 partitions. */
export function encodeCompileOptions(options: CompileOptions = {}): Uint8Array {
  const numDevices = options.numDevices ?? 1;
  if (!Number.isInteger(numDevices) || numDevices < 1) throw new RangeError(`numDevices must be a positive integer, got ${numDevices}`);
  const buildOptions: Record<string, unknown> =
    numDevices === 1
      ? { device_ordinal: -1, num_replicas: 1, num_partitions: 1 }
      : {
          device_ordinal: -1,
          num_replicas: 1,
          num_partitions: numDevices,
          use_spmd_partitioning: true,
          device_assignment: {
            replica_count: 1,
            computation_count: numDevices,
            computation_devices: Array.from({ length: numDevices }, (_, partition) => ({ replica_device_ids: [partition] })),
          },
        };
  const message: Record<string, unknown> = {
    executable_build_options: buildOptions,
    compile_portable_executable: numDevices === 1,
  };
  if (options.overrides !== undefined) {
    message.env_option_overrides = Object.fromEntries(
      Object.entries(options.overrides).map(([name, value]) => [name, encodeOverride(value)]),
    );
  }
  return CompileOptionsProto.encode(CompileOptionsProto.fromObject(message)).finish();
}

/** Decodes a serialized CompileOptionsProto (for tests and debugging). */
export function decodeCompileOptions(bytes: Uint8Array): Record<string, unknown> {
  return CompileOptionsProto.toObject(CompileOptionsProto.decode(bytes), { longs: Number, defaults: false });
}
