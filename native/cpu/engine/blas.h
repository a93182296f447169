// Row-major sgemm through a dlopen'ed OpenBLAS (or a built-in fallback).
#pragma once

#include <cstdint>

namespace grpo::cpu {

// C[M,N] = alpha * op(A) * op(B) + beta * C, all row-major; op(A) is M x K, op(B) is K x N. With trans_a, A is
// stored K x M (leading dimension lda), likewise for B.
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// True when sgemm goes to a BLAS library rather than the fallback.
bool blas_loaded();

}  // namespace grpo::cpu
