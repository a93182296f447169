// log and tanh for f32 without libm calls, so the loops over them vectorise (libm's scalar calls do not).
// Both work in double internally and round to float once: the double-precision approximation errors are below
// 2^-33 relative, so the result is the correctly rounded one or its neighbour (within 1 ulp; the suite measures
// the maximum on a dense sweep against libm in double). Written as straight-line code with selects, no branches.
#pragma once

#include <cstdint>

#include "common.h"

namespace grpo::cpu {

inline uint64_t double_bits(double d) {
  uint64_t u;
  std::memcpy(&u, &d, 8);
  return u;
}
inline double bits_double(uint64_t u) {
  double d;
  std::memcpy(&d, &u, 8);
  return d;
}

// log(x): x = m 2^e with m in [sqrt(1/2), sqrt(2)), log(m) = 2 atanh(s) with s = (m-1)/(m+1), |s| <= 0.1716,
// summed as 2s (1 + z/3 + z^2/5 + ... + z^6/13), z = s^2 <= 0.0295: the first term left out is below 2^-34 of
// the sum. |log m| <= ln(2)/2, so adding e ln2 cancels at most one bit.
inline float vector_log(float x) {
  const bool subnormal = x < 1.17549435e-38f;  // also true for 0 and negatives, fixed up below
  const float xs = subnormal ? x * 8388608.0f : x;  // * 2^23 makes a subnormal normal
  const uint32_t u = float_bits(xs);
  const uint32_t mantissa = u & 0x7fffffu;
  const bool upper = mantissa > 0x3504f3u;  // m >= sqrt(2): halve it
  const float m = bits_float(mantissa | (upper ? 0x3f000000u : 0x3f800000u));
  const int e = int((u >> 23) & 0xffu) - 127 + (upper ? 1 : 0) - (subnormal ? 23 : 0);
  const double f = double(m) - 1.0;
  const double s = f / (2.0 + f);
  const double z = s * s;
  double p = 1.0 / 13;
  p = p * z + 1.0 / 11;
  p = p * z + 1.0 / 9;
  p = p * z + 1.0 / 7;
  p = p * z + 1.0 / 5;
  p = p * z + 1.0 / 3;
  p = p * z + 1.0;
  const double result = double(e) * 0.69314718055994530942 + 2.0 * s * p;
  float y = float(result);
  y = x == 0.0f ? -__builtin_inff() : y;
  y = x < 0.0f ? __builtin_nanf("") : y;
  y = x == __builtin_inff() ? x : y;
  return x != x ? x : y;
}

// tanh(x) = sign(x) em / (em + 2) with em = e^(2|x|) - 1, free of cancellation for small |x|. em comes from
// 2|x| = n ln2 + r, |r| <= ln2/2: e^t - 1 = 2^n q + (2^n - 1) with q = e^r - 1 by its degree-9 Taylor
// polynomial (truncation below 2^-35 relative). |x| is clamped at 20, where tanh is 1 in float by far.
inline float vector_tanh(float x) {
  const float ax = bits_float(float_bits(x) & 0x7fffffffu);
  const double t = 2.0 * double(ax < 20.0f ? ax : 20.0f);  // NaN becomes 20 here and is restored below
  const double shifter = 6755399441055744.0;             // 1.5 * 2^52: adding it rounds to an integer
  const double kd = t * 1.4426950408889634074 + shifter;
  const double n = kd - shifter;
  const double r = t - n * 0.69314718055994530942;
  double q = 1.0 / 362880;
  q = q * r + 1.0 / 40320;
  q = q * r + 1.0 / 5040;
  q = q * r + 1.0 / 720;
  q = q * r + 1.0 / 120;
  q = q * r + 1.0 / 24;
  q = q * r + 1.0 / 6;
  q = q * r + 0.5;
  q = q * r + 1.0;
  q = q * r;
  // kd's low mantissa bits hold n (0..58); 2^n is built from its exponent field.
  const int64_t ni = int64_t(double_bits(kd) - double_bits(shifter));
  const double scale = bits_double(uint64_t(ni + 1023) << 52);
  const double em = scale * q + (scale - 1.0);
  const float y = float(em / (em + 2.0));
  const float signed_y = bits_float(float_bits(y) | (float_bits(x) & 0x80000000u));
  return x != x ? x : signed_y;
}

}  // namespace grpo::cpu
