// Decoding of dense literal text into element bytes.
#pragma once

#include <string>
#include <string_view>

#include "ir.h"

namespace grpo::cpu {

// Writes one element of `dtype` parsed from `literal` (1.0e+00, -2, true, 0xFF800000) to `out`.
// Returns an error message, empty on success.
std::string encode_scalar(DType dtype, std::string_view literal, uint8_t* out);

// Decodes "0x..." (little-endian bytes of the whole buffer, or of one element for a splat) into `out`.
std::string decode_hex_blob(std::string_view hex, const TensorType& type, ir::DenseData* out);

}  // namespace grpo::cpu
