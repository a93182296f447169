// Products of f32 activations with weights that may be bf16, without widening the whole weight first.
//   - few rows (decode: M of 1 to kSmallRows): a threaded kernel that streams the weight once and widens bf16
//     in registers (AVX-512, AVX2 or scalar, chosen at run time from cpuid);
//   - many rows (prefill): the weight is widened one cache-sized panel at a time and each panel goes to sgemm.
#pragma once

#include <cstdint>
#include <string>

namespace grpo::cpu {

// Row counts up to this use the streaming kernel.
constexpr int64_t kSmallRows = 8;

enum class WeightType { kF32, kBF16 };

// A weight matrix as stored: element (k, n) of the K x N operand is at k * k_stride + n * n_stride, where one of
// the two strides is 1 and the other is the leading dimension.
struct WeightView {
  const void* data = nullptr;
  WeightType type = WeightType::kF32;
  int64_t k_stride = 0, n_stride = 1;
};

// C[M, N] (row stride ldc) = A[M, K] (row stride lda, contiguous rows) x W[K, N]. A and C never alias W.
void small_rows_dot(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const WeightView& w, float* C,
                    int64_t ldc);

// The same product for any M through sgemm, widening a bf16 W one panel at a time (an f32 W goes straight in).
void panel_dot(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const WeightView& w, float* C,
               int64_t ldc);

// The instruction set small_rows_dot uses on this CPU: "avx512", "avx2" or "scalar". GRPO_XLA_CPU_SIMD (one of
// those names) caps it, which is how the tests reach every path on one machine.
std::string small_rows_isa();

// small_rows_dot on one named instruction set regardless of the cap; false when this CPU lacks it.
bool small_rows_dot_on(const std::string& isa, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                       const WeightView& w, float* C, int64_t ldc);

// dst[r * cols + c] = the f32 value of bf16 src[r * ld + c] (r < rows, c < cols), widened by the named
// instruction set's lane as panel_dot widens its panels (over the engine's threads); false when this CPU lacks it.
bool widen_bf16_on(const std::string& isa, const uint16_t* src, int64_t ld, int64_t rows, int64_t cols, float* dst);

}  // namespace grpo::cpu
