// Helpers shared by every engine file: element types as C++ types, bf16 rounding, strides.
#pragma once

#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "engine.h"

namespace grpo::cpu {

// bf16 is its own C++ type so templates over element types can tell it from uint16_t.
struct bf16 {
  uint16_t bits;
};

inline float bf16_to_float(uint16_t bits) {
  uint32_t u = uint32_t(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round to nearest even; NaN stays NaN (quiet bit forced so truncation cannot turn it into an infinity).
inline uint16_t float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

template <class T>
constexpr bool kIsFloat = std::is_same_v<T, float> || std::is_same_v<T, bf16>;
template <class T>
constexpr bool kIsBool = std::is_same_v<T, bool>;
template <class T>
constexpr bool kIsInt = std::is_integral_v<T> && !std::is_same_v<T, bool>;

inline bool is_float(DType d) { return d == DType::kF32 || d == DType::kBF16; }
inline bool is_int(DType d) { return d == DType::kS32 || d == DType::kS64 || d == DType::kU32; }
inline bool is_signed_int(DType d) { return d == DType::kS32 || d == DType::kS64; }

// Calls fn(T{}) with T the C++ element type of `dtype`: bool, int32_t, int64_t, uint32_t, float, bf16.
template <class F>
decltype(auto) dispatch_dtype(DType dtype, F&& fn) {
  switch (dtype) {
    case DType::kPred: return fn(bool{});
    case DType::kS32: return fn(int32_t{});
    case DType::kS64: return fn(int64_t{});
    case DType::kU32: return fn(uint32_t{});
    case DType::kF32: return fn(float{});
    case DType::kBF16: return fn(bf16{});
  }
  return fn(float{});
}

// Reads element i of an integer (or bool) tensor as int64: used for dynamic indices and gather/scatter indices.
inline int64_t read_int(const void* data, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::kPred: return static_cast<const uint8_t*>(data)[i];
    case DType::kS32: return static_cast<const int32_t*>(data)[i];
    case DType::kS64: return static_cast<const int64_t*>(data)[i];
    case DType::kU32: return static_cast<const uint32_t*>(data)[i];
    default: return 0;
  }
}

inline std::vector<int64_t> row_major_strides(const std::vector<int64_t>& dims) {
  std::vector<int64_t> strides(dims.size(), 1);
  for (int i = int(dims.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * dims[i + 1];
  return strides;
}

inline int64_t product(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

inline int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

std::string join_ints(const std::vector<int64_t>& values);  // "1, 2, 3"

}  // namespace grpo::cpu
