// The part of xla.CompileOptionsProto our CPU plugin reads. It parses the protobuf wire format directly
// (a few fields; no protobuf library), so that an empty or garbled message is rejected with a clear error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace grpo::cpu {

struct CompileOptionsSummary {
  bool has_build_options = false;
  int64_t device_ordinal = -1;
  int64_t num_replicas = 0;  // proto3 default: an absent field reads as 0
  int64_t num_partitions = 0;
  bool compile_portable_executable = false;
};

// Throws std::invalid_argument with a message that says what is wrong and what is expected.
CompileOptionsSummary parse_compile_options(const uint8_t* data, size_t size);

}  // namespace grpo::cpu
