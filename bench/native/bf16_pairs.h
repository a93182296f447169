// The VDPBF16PS few-row dot that decode_dots_bench compares with the engine's kernels (bf16_pairs.cc).
#pragma once

#include <cstdint>

namespace grpo::cpu::bench {

// C[M, N] (row stride ldc) = A[M, K] (row stride lda) x W^T for a bf16 W stored N x K (row stride ldw), the
// activations split into `passes` (1 to 3) bf16 parts, over the engine's threads. Only where cpuid reports
// avx512f, avx512bw and avx512bf16.
void pairs_dot(int passes, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const uint16_t* W,
               int64_t ldw, float* C, int64_t ldc);

}  // namespace grpo::cpu::bench
