// The few-row dot kernels on AVX-512 (CMakeLists.txt compiles this file alone with -mavx512f -mavx512bw); called
// only when cpuid reports those features.
// GCC 12 flags the deliberately undefined pass-through operand inside its own AVX-512 intrinsics at -O3.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "mixed_dot_kernels.h"

#if !defined(__AVX512F__) || !defined(__AVX512BW__)
#error "mixed_dot_avx512.cc must be compiled with -mavx512f -mavx512bw"
#endif

namespace grpo::cpu::mixed {

void small_dot_avx512(const SmallDotArgs& args, int64_t n_begin, int64_t n_end) {
  small_dot_range(args, n_begin, n_end);
}

void widen_avx512(const uint16_t* src, int64_t ld, int64_t r_begin, int64_t r_end, int64_t cols, float* dst) {
  widen_range(src, ld, r_begin, r_end, cols, dst);
}

}  // namespace grpo::cpu::mixed
