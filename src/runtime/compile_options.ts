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
  /** Ids of the devices the program runs on, one per partition: [id] is a single-device program, several ids
   * an SPMD program partitioned over them. The executable belongs to these devices and runs without
   * execute_device, as JAX runs its programs. */
  devices: readonly number[];
  /** XLA flags as env_option_overrides (e.g. {"xla_cpu_enable_fast_math": false}). */
  overrides?: Record<string, OptionOverride>;
}

/** XLA-AutoFDO's "no profile, do not look one up" (JAX sends it unless a profile version is configured). */
export const NO_PROFILE_VERSION = -1;

function encodeOverride(value: OptionOverride): Record<string, unknown> {
  if (typeof value === "string") return { string_field: value };
  if (typeof value === "boolean") return { bool_field: value };
  return Number.isInteger(value) ? { int_field: value } : { double_field: value };
}

/**
 * Serialized CompileOptionsProto for a program on `devices`: one replica, one partition per device, the device
 * assignment listing them (never a portable executable), and profile_version -1. Never empty: an empty message
 * means 0 replicas and 0 partitions.
 */
export function encodeCompileOptions(options: CompileOptions): Uint8Array {
  const devices = options.devices;
  if (devices.length === 0) throw new RangeError("compile options: devices must name at least one device");
  const bad = devices.find((id) => !Number.isInteger(id) || id < 0);
  if (bad !== undefined) throw new RangeError(`compile options: device ids must be non-negative integers, got ${bad}`);
  if (new Set(devices).size !== devices.length) throw new RangeError(`compile options: devices [${devices.join(", ")}] repeat a device`);
  const buildOptions: Record<string, unknown> = {
    device_ordinal: -1,
    num_replicas: 1,
    num_partitions: devices.length,
    device_assignment: {
      replica_count: 1,
      computation_count: devices.length,
      computation_devices: devices.map((id) => ({ replica_device_ids: [id] })),
    },
  };
  if (devices.length > 1) buildOptions.use_spmd_partitioning = true;
  const message: Record<string, unknown> = {
    executable_build_options: buildOptions,
    compile_portable_executable: false,
    profile_version: NO_PROFILE_VERSION,
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
