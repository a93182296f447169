#include "compile_options.h"

#include <stdexcept>
#include <string>

namespace grpo::cpu {
namespace {

// Field numbers, from xla/pjrt/proto/compile_options.proto.
constexpr uint32_t kExecutableBuildOptions = 3;  // CompileOptionsProto.executable_build_options
constexpr uint32_t kCompilePortableExecutable = 4;
constexpr uint32_t kDeviceOrdinal = 1;  // ExecutableBuildOptionsProto fields
constexpr uint32_t kNumReplicas = 4;
constexpr uint32_t kNumPartitions = 5;

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

  [[noreturn]] void fail(size_t offset, const std::string& what) const {
    throw std::invalid_argument("compile options are not a valid serialized CompileOptionsProto (byte " +
                                std::to_string(base_offset_ + offset) + ": " + what + ")");
  }

  const uint8_t* data_;
  size_t size_;
  size_t base_offset_;
  size_t position_ = 0;
};

}  // namespace

CompileOptionsSummary parse_compile_options(const uint8_t* data, size_t size) {
  if (data == nullptr || size == 0) {
    throw std::invalid_argument(
        "compile options are empty: an empty CompileOptionsProto means 0 replicas and 0 partitions; send "
        "executable_build_options {device_ordinal: -1, num_replicas: 1, num_partitions: 1}");
  }
  CompileOptionsSummary summary;
  WireReader(data, size, 0).for_each_field([&](uint32_t field, uint32_t wire_type, uint64_t value,
                                               const uint8_t* bytes, size_t length, size_t offset) {
    if (field == kCompilePortableExecutable && wire_type == kVarint) summary.compile_portable_executable = value != 0;
    if (field != kExecutableBuildOptions) return;
    if (wire_type != kLengthDelimited) {
      throw std::invalid_argument(
          "compile options are not a valid serialized CompileOptionsProto (executable_build_options is not a "
          "message)");
    }
    summary.has_build_options = true;
    WireReader(bytes, length, offset).for_each_field([&](uint32_t inner, uint32_t inner_wire, uint64_t inner_value,
                                                         const uint8_t*, size_t, size_t) {
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
  return summary;
}

}  // namespace grpo::cpu
