// Decoding of `dense<...>` literals into element bytes (splat scalars, nested lists, hex blobs).
#include "dense.h"

#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace grpo::cpu {

namespace {

bool is_hex_literal(std::string_view s) {
  size_t i = (!s.empty() && s[0] == '-') ? 1 : 0;
  return s.size() > i + 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X');
}

// Decimal (a leading 0 is still decimal, as in MLIR) or 0x hex; false when the magnitude exceeds 64 bits.
bool parse_integer(std::string_view s, int64_t* value, uint64_t* magnitude, bool* negative) {
  size_t i = 0;
  *negative = i < s.size() && s[i] == '-';
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  int base = 10;
  if (s.size() > i + 1 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
    base = 16;
    i += 2;
  }
  if (i == s.size()) return false;
  auto [stop, status] = std::from_chars(s.data() + i, s.data() + s.size(), *magnitude, base);
  if (status != std::errc() || stop != s.data() + s.size()) return false;
  *value = *negative ? int64_t(0 - *magnitude) : int64_t(*magnitude);
  return true;
}

bool parse_float(std::string_view s, float* out) {
  std::string text(s);
  char* end = nullptr;
  *out = std::strtof(text.c_str(), &end);
  return end && *end == '\0' && end != text.c_str();
}

}  // namespace

std::string encode_scalar(DType dtype, std::string_view literal, uint8_t* out) {
  const std::string bad = "invalid " + std::string(dtype_name(dtype)) + " literal '" + std::string(literal) + "'";
  if (literal == "true" || literal == "false") {
    bool v = literal == "true";
    if (dtype != DType::kPred) {
      if (is_float(dtype)) return bad;
    }
    switch (dtype) {
      case DType::kPred: *out = v; return "";
      case DType::kS32: case DType::kU32: { uint32_t x = v; std::memcpy(out, &x, 4); return ""; }
      case DType::kS64: { int64_t x = v; std::memcpy(out, &x, 8); return ""; }
      default: return bad;
    }
  }
  const bool hex = is_hex_literal(literal);
  const bool looks_float = !hex && literal.find_first_of(".eEni") != std::string_view::npos;
  if (is_float(dtype)) {
    if (hex) {
      // Hex literals of float types are bit patterns.
      int64_t v;
      uint64_t mag;
      bool neg;
      if (!parse_integer(literal, &v, &mag, &neg) || neg) return bad;
      if (dtype == DType::kF32) {
        if (mag > 0xffffffffull) return bad;
        uint32_t bits = uint32_t(mag);
        std::memcpy(out, &bits, 4);
      } else {
        if (mag > 0xffffull) return bad;
        uint16_t bits = uint16_t(mag);
        std::memcpy(out, &bits, 2);
      }
      return "";
    }
    float f;
    if (!parse_float(literal, &f)) return bad;
    if (dtype == DType::kF32) {
      std::memcpy(out, &f, 4);
    } else {
      uint16_t bits = float_to_bf16(f);
      std::memcpy(out, &bits, 2);
    }
    return "";
  }
  if (looks_float) return bad;
  int64_t v;
  uint64_t mag;
  bool neg;
  if (!parse_integer(literal, &v, &mag, &neg)) return bad;
  switch (dtype) {
    case DType::kPred:
      if (neg || mag > 1) return bad;
      *out = uint8_t(mag);
      return "";
    case DType::kS32:
    case DType::kU32: {
      // i32 also accepts 2^31..2^32-1 (a bit pattern), ui32 also accepts negatives down to -2^31: both wrap.
      if ((!neg && mag > 0xffffffffull) || (neg && mag > 0x80000000ull)) return bad;
      if (dtype == DType::kU32 && neg) return bad;
      uint32_t x = uint32_t(v);
      std::memcpy(out, &x, 4);
      return "";
    }
    case DType::kS64:
      // Like i32 above: -2^63..2^64-1, the upper half read as a bit pattern; nothing beyond wraps silently.
      if (neg && mag > (uint64_t(1) << 63)) return bad;
      std::memcpy(out, &v, 8);
      return "";
    default: return bad;
  }
}

std::string decode_hex_blob(std::string_view hex, const TensorType& type, ir::DenseData* out) {
  if (hex.size() < 2 || hex[0] != '0' || (hex[1] != 'x' && hex[1] != 'X')) return "hex string must start with 0x";
  hex.remove_prefix(2);
  if (hex.size() % 2 != 0) return "hex string has an odd number of digits";
  const size_t bytes = hex.size() / 2;
  const size_t elem = dtype_size(type.dtype);
  if (bytes == type.byte_size()) {
    out->splat = false;
  } else if (bytes == elem) {
    out->splat = true;  // MLIR reads a one-element blob as a splat
  } else {
    return "hex string has " + std::to_string(bytes) + " bytes but " + type.to_string() + " needs " +
           std::to_string(type.byte_size());
  }
  out->bytes.resize(bytes);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < bytes; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return "invalid hex digit in dense string";
    out->bytes[i] = uint8_t(hi * 16 + lo);
  }
  if (type.dtype == DType::kPred) {
    for (uint8_t& b : out->bytes) b = b != 0;
  }
  return "";
}

}  // namespace grpo::cpu
