// The part of xla.CompileOptionsProto our CPU plugin reads. It parses the protobuf wire format directly
// (a few fields; no protobuf library), so that an empty or garbled message is rejected with a clear error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace grpo::cpu {

// xla.DeviceAssignmentProto: computation_devices[partition][replica] is a device id.
struct DeviceAssignment {
  int64_t replica_count = 0;
  int64_t computation_count = 0;
  std::vector<std::vector<int64_t>> computation_devices;

  std::string to_string() const;  // "[[0]]": one list per partition
};

struct CompileOptionsSummary {
  bool has_build_options = false;
  int64_t device_ordinal = -1;
  int64_t num_replicas = 0;  // proto3 default: an absent field reads as 0
  int64_t num_partitions = 0;
  bool compile_portable_executable = false;
  std::optional<DeviceAssignment> device_assignment;
  int64_t profile_version = 0;
};

// Throws std::invalid_argument with a message that says what is wrong and what is expected. Checks the
// options against each other (one replica and one partition; an assignment of that shape; no assignment on a
// portable executable) but not against a client's devices, which the caller knows.
CompileOptionsSummary parse_compile_options(const uint8_t* data, size_t size);

}  // namespace grpo::cpu
