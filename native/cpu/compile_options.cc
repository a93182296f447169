#include "compile_options.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace grpo::cpu {
namespace {

// Field numbers, from xla/pjrt/proto/compile_options.proto and xla/xla_data.proto.
constexpr uint32_t kExecutableBuildOptions = 3;  // CompileOptionsProto fields
constexpr uint32_t kCompilePortableExecutable = 4;
constexpr uint32_t kProfileVersion = 5;
constexpr uint32_t kDeviceOrdinal = 1;  // ExecutableBuildOptionsProto fields
constexpr uint32_t kNumReplicas = 4;
constexpr uint32_t kNumPartitions = 5;
constexpr uint32_t kDeviceAssignment = 9;
constexpr uint32_t kReplicaCount = 1;  // DeviceAssignmentProto fields
constexpr uint32_t kComputationCount = 2;
constexpr uint32_t kComputationDevices = 3;
constexpr uint32_t kReplicaDeviceIds = 1;  // DeviceAssignmentProto.ComputationDevice

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// Walks one message's fields and hands each to `on_field`; throws on malformed framing.
class WireReader {
 public:
  WireReader(const uint8_t* data, size_t size, size_t base_offset)
      : data_(data), size_(size), base_offset_(base_offset) {}

  template <typename OnField>
  void for_each_field(OnField&& on_field) {
    while (position_ < size_) {
      size_t field_start = position_;
      uint64_t tag = read_varint();
      uint32_t field = static_cast<uint32_t>(tag >> 3);
      uint32_t wire_type = static_cast<uint32_t>(tag & 7);
      if (field == 0) fail(field_start, "field number 0");
      switch (wire_type) {
        case kVarint:
          on_field(field, wire_type, read_varint(), nullptr, 0, 0);
          break;
        case kFixed64:
          skip(8, field_start);
          on_field(field, wire_type, 0, nullptr, 0, 0);
          break;
        case kFixed32:
          skip(4, field_start);
          on_field(field, wire_type, 0, nullptr, 0, 0);
          break;
        case kLengthDelimited: {
          uint64_t length = read_varint();
          if (length > size_ - position_) fail(field_start, "a length-delimited field runs past the end");
          size_t start = position_;
          position_ += static_cast<size_t>(length);
          on_field(field, wire_type, 0, data_ + start, static_cast<size_t>(length), base_offset_ + start);
          break;
        }
        default:
          fail(field_start, "unsupported wire type " + std::to_string(wire_type));
      }
    }
  }

  // The whole message as a packed run of varints (a packed repeated field's payload).
  std::vector<int64_t> packed_varints() {
    std::vector<int64_t> values;
    while (position_ < size_) values.push_back(static_cast<int64_t>(read_varint()));
    return values;
  }

  [[noreturn]] void fail(size_t offset, const std::string& what) const {
    throw std::invalid_argument("compile options are not a valid serialized CompileOptionsProto (byte " +
                                std::to_string(base_offset_ + offset) + ": " + what + ")");
  }

 private:
  uint64_t read_varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (position_ >= size_) fail(position_, "a varint runs past the end");
      uint8_t byte = data_[position_++];
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    fail(position_, "a varint is longer than 10 bytes");
  }

  void skip(size_t bytes, size_t field_start) {
    if (bytes > size_ - position_) fail(field_start, "a fixed-size field runs past the end");
    position_ += bytes;
  }

  const uint8_t* data_;
  size_t size_;
  size_t base_offset_;
  size_t position_ = 0;
};

[[noreturn]] void invalid(const std::string& what) {
  throw std::invalid_argument("compile options are not a valid serialized CompileOptionsProto (" + what + ")");
}

// ComputationDevice: replica_device_ids, packed (proto3's encoding) or one varint per id.
std::vector<int64_t> parse_computation_device(const uint8_t* data, size_t size, size_t offset) {
  std::vector<int64_t> ids;
  WireReader(data, size, offset).for_each_field([&](uint32_t field, uint32_t wire_type, uint64_t value,
                                                    const uint8_t* bytes, size_t length, size_t at) {
    if (field != kReplicaDeviceIds) return;
    if (wire_type == kVarint) {
      ids.push_back(static_cast<int64_t>(value));
    } else if (wire_type == kLengthDelimited) {
      for (int64_t id : WireReader(bytes, length, at).packed_varints()) ids.push_back(id);
    } else {
      invalid("device_assignment.computation_devices.replica_device_ids is not a list of integers");
    }
  });
  return ids;
}

DeviceAssignment parse_device_assignment(const uint8_t* data, size_t size, size_t offset) {
  DeviceAssignment assignment;
  WireReader(data, size, offset).for_each_field([&](uint32_t field, uint32_t wire_type, uint64_t value,
                                                    const uint8_t* bytes, size_t length, size_t at) {
    if (field == kReplicaCount && wire_type == kVarint) assignment.replica_count = static_cast<int32_t>(value);
    if (field == kComputationCount && wire_type == kVarint) assignment.computation_count = static_cast<int32_t>(value);
    if (field != kComputationDevices) return;
    if (wire_type != kLengthDelimited) invalid("device_assignment.computation_devices is not a message");
    assignment.computation_devices.push_back(parse_computation_device(bytes, length, at));
  });
  return assignment;
}

// The shape rules XLA applies before compiling: a portable executable has no assignment; an assignment has one
// list of num_replicas device ids per partition.
void check_assignment(const CompileOptionsSummary& summary) {
  if (!summary.device_assignment.has_value()) return;
  const DeviceAssignment& assignment = *summary.device_assignment;
  if (summary.compile_portable_executable) {
    throw std::invalid_argument("compile options ask for a portable executable (compile_portable_executable) and "
                                "also give a device_assignment " + assignment.to_string() +
                                "; a portable executable has no assignment: drop one of the two");
  }
  bool shaped = assignment.replica_count == summary.num_replicas &&
                assignment.computation_count == summary.num_partitions &&
                static_cast<int64_t>(assignment.computation_devices.size()) == assignment.computation_count;
  for (const auto& devices : assignment.computation_devices) {
    shaped = shaped && static_cast<int64_t>(devices.size()) == assignment.replica_count;
  }
  if (!shaped) {
    throw std::invalid_argument(
        "compile options give a device_assignment with replica_count=" + std::to_string(assignment.replica_count) +
        ", computation_count=" + std::to_string(assignment.computation_count) + " and devices " +
        assignment.to_string() + ", which does not match num_replicas=" + std::to_string(summary.num_replicas) +
        " and num_partitions=" + std::to_string(summary.num_partitions) +
        " (it needs one list of num_replicas device ids per partition)");
  }
}

}  // namespace

std::string DeviceAssignment::to_string() const {
  std::string text = "[";
  for (size_t p = 0; p < computation_devices.size(); ++p) {
    text += p == 0 ? "[" : ", [";
    for (size_t r = 0; r < computation_devices[p].size(); ++r) {
      text += (r == 0 ? "" : ", ") + std::to_string(computation_devices[p][r]);
    }
    text += "]";
  }
  return text + "]";
}

CompileOptionsSummary parse_compile_options(const uint8_t* data, size_t size) {
  if (data == nullptr || size == 0) {
    throw std::invalid_argument(
        "compile options are empty: an empty CompileOptionsProto means 0 replicas and 0 partitions; send "
        "executable_build_options {num_replicas: 1, num_partitions: 1, device_assignment: [[0]]}");
  }
  CompileOptionsSummary summary;
  WireReader(data, size, 0).for_each_field([&](uint32_t field, uint32_t wire_type, uint64_t value,
                                               const uint8_t* bytes, size_t length, size_t offset) {
    if (field == kCompilePortableExecutable && wire_type == kVarint) summary.compile_portable_executable = value != 0;
    if (field == kProfileVersion && wire_type == kVarint) summary.profile_version = static_cast<int64_t>(value);
    if (field != kExecutableBuildOptions) return;
    if (wire_type != kLengthDelimited) invalid("executable_build_options is not a message");
    summary.has_build_options = true;
    WireReader(bytes, length, offset).for_each_field([&](uint32_t inner, uint32_t inner_wire, uint64_t inner_value,
                                                         const uint8_t* inner_bytes, size_t inner_length,
                                                         size_t inner_offset) {
      if (inner == kDeviceAssignment) {
        if (inner_wire != kLengthDelimited) invalid("executable_build_options.device_assignment is not a message");
        summary.device_assignment = parse_device_assignment(inner_bytes, inner_length, inner_offset);
        return;
      }
      if (inner_wire != kVarint) return;
      if (inner == kDeviceOrdinal) summary.device_ordinal = static_cast<int64_t>(inner_value);
      if (inner == kNumReplicas) summary.num_replicas = static_cast<int64_t>(inner_value);
      if (inner == kNumPartitions) summary.num_partitions = static_cast<int64_t>(inner_value);
    });
  });
  if (summary.num_replicas != 1 || summary.num_partitions != 1) {
    throw std::invalid_argument(
        "compile options ask for num_replicas=" + std::to_string(summary.num_replicas) +
        " and num_partitions=" + std::to_string(summary.num_partitions) +
        "; the grpo-xla CPU plugin runs exactly one replica and one partition (set both to 1 in "
        "executable_build_options)");
  }
  check_assignment(summary);
  return summary;
}

}  // namespace grpo::cpu
