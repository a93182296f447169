// The few-row dot kernels on AVX2 + FMA (CMakeLists.txt compiles this file alone with -mavx2 -mfma); called only
// when cpuid reports those features.
#include "mixed_dot_kernels.h"

#if !defined(__AVX2__) || !defined(__FMA__)
#error "mixed_dot_avx2.cc must be compiled with -mavx2 -mfma"
#endif

namespace grpo::cpu::mixed {

void small_dot_avx2(const SmallDotArgs& args, int64_t n_begin, int64_t n_end) {
  small_dot_range(args, n_begin, n_end);
}

void widen_avx2(const uint16_t* src, int64_t ld, int64_t r_begin, int64_t r_end, int64_t cols, float* dst) {
  widen_range(src, ld, r_begin, r_end, cols, dst);
}

}  // namespace grpo::cpu::mixed
