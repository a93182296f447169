// Helpers shared by the engine's test programs: tensors from numbers and back.
#pragma once

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "common.h"
#include "engine.h"

namespace grpo::cpu::testing {

inline void store_element(DType dtype, void* data, int64_t i, double v) {
  switch (dtype) {
    case DType::kPred: static_cast<uint8_t*>(data)[i] = v != 0; break;
    case DType::kS32: static_cast<int32_t*>(data)[i] = int32_t(int64_t(v)); break;
    case DType::kS64: static_cast<int64_t*>(data)[i] = int64_t(v); break;
    case DType::kU32: static_cast<uint32_t*>(data)[i] = uint32_t(int64_t(v)); break;
    case DType::kF32: static_cast<float*>(data)[i] = float(v); break;
    case DType::kBF16: static_cast<uint16_t*>(data)[i] = float_to_bf16(float(v)); break;
  }
}

inline double load_element(DType dtype, const void* data, int64_t i) {
  switch (dtype) {
    case DType::kPred: return static_cast<const uint8_t*>(data)[i];
    case DType::kS32: return static_cast<const int32_t*>(data)[i];
    case DType::kS64: return double(static_cast<const int64_t*>(data)[i]);
    case DType::kU32: return static_cast<const uint32_t*>(data)[i];
    case DType::kF32: return static_cast<const float*>(data)[i];
    case DType::kBF16: return bf16_to_float(static_cast<const uint16_t*>(data)[i]);
  }
  return 0;
}

inline Tensor make_tensor(DType dtype, std::vector<int64_t> dims, const std::vector<double>& values) {
  Tensor t;
  t.type = TensorType{dtype, std::move(dims)};
  t.storage = std::make_shared<Storage>(t.type.byte_size());
  int64_t n = t.type.num_elements();
  for (int64_t i = 0; i < n && !values.empty(); ++i) {
    store_element(dtype, t.storage->data(), i, values[size_t(i) % values.size()]);
  }
  return t;
}

inline std::vector<double> values_of(const Tensor& t) {
  std::vector<double> out;
  for (int64_t i = 0; i < t.type.num_elements(); ++i) out.push_back(load_element(t.type.dtype, t.storage->data(), i));
  return out;
}

inline std::string format_values(const std::vector<double>& v, size_t limit = 64) {
  std::string s = "[";
  for (size_t i = 0; i < v.size() && i < limit; ++i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%.9g", i ? ", " : "", v[i]);
    s += buf;
  }
  if (v.size() > limit) s += ", ...";
  return s + "]";
}

}  // namespace grpo::cpu::testing
