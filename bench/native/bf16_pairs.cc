// A few-row dot through VDPBF16PS (AVX512_BF16), for decode_dots_bench to weigh against the engine's kernels
// (docs/EXPERIMENTS.md, "bf16 pairs"). CMakeLists.txt compiles this file alone with -mavx512bf16 beside the
// AVX-512 flags; decode_dots_bench calls it only when cpuid reports those features.
//
// VDPBF16PS multiplies pairs of bf16 and adds both products to an f32 lane: 32 products per instruction against
// an f32 FMA's 16, with bf16 weights used as loaded (no widening). The engine's programs ask for an f32 dot of
// the widened weights, so the f32 activations cannot simply be rounded to bf16 (8 significant bits: a relative
// error of up to 2^-8 per product). Each activation x is split instead into P bf16 parts x_0 + ... + x_{P-1}:
// every part but the last is the top 16 bits of what is left (truncation), the last is what is left rounded to
// nearest. Every product of a weight and a part is exact in f32 (8 x 8 significant bits), so the only errors are
// the split's remainder and the f32 additions:
//   - x in [2^e, 2^(e+1)): x_0 = trunc(x) leaves r = x - x_0 exactly (|r| < 2^(e-7), a multiple of 2^(e-23));
//     P = 2 rounds r to 8 bits: |x - x_0 - x_1| <= 2^(e-16) <= 2^-16 |x|.
//     P = 3 truncates r once more; what is left is below 2^(e-15) and a multiple of 2^(e-23), 8 bits at most,
//     so x_2 holds it exactly: x_0 + x_1 + x_2 = x.
//   - the additions: each of the 16 lanes of an accumulator adds two products per instruction, P instructions
//     per 32 elements of K; then a 4-level horizontal sum and one addition per K slice into C. Any product goes
//     through at most n = (2P + 1) * ceil(K / 32) + 5 additions, each with relative error <= u = 2^-24, and
//     sum_p |x_p| <= (1 + 2^-6) |x|.
// Hence, with S = sum_k |x_k w_k|:
//   |computed - sum_k x_k w_k| <= (2^-16 [P = 2; 0 for P = 3] + (1 + 2^-6) * gamma_n) * S,  gamma_n = n u / (1 - n u)
// apart from values below f32's normal range (VCVTNEPS2BF16 and VDPBF16PS treat denormal inputs as zero and
// flush denormal results: at most 2^-126 |w_k| per product). P = 1 is off by up to 2^-8 S.
// On the Zen 5 measured, VDPBF16PS issues at the rate of an f32 FMA, so P = 2 costs what the widening kernel
// does and only P = 1 is faster.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "bf16_pairs.h"

#include <cstring>
#include <stdexcept>
#include <vector>

#include "mixed_dot_kernels.h"

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512BF16__)
#error "bf16_pairs.cc must be compiled with -mavx512f -mavx512bw -mavx512bf16"
#endif

namespace grpo::cpu::bench {

namespace {

using mixed::Vec;
using mixed::kPrefetchBytes;
using mixed::SmallDotArgs;

// bf16 elements in one 512-bit register: the K step.
constexpr int64_t kPairWidth = 32;

// The activations of the call in progress, split into `passes` parts: part p of row m starts at
// data + p * stride + m * ld and is zero from K up to ld, a multiple of kPairWidth.
struct Parts {
  const uint16_t* data;
  int passes;
  int64_t ld, stride;
};
Parts g_parts;

inline __m512i load_pairs(const uint16_t* p) { return _mm512_loadu_si512(p); }

// C[m, n] (+)= dot(A row m, W row n) over k in [k_begin, k_end) for MR rows of A and R rows of W, from the P
// parts of A. k_begin is a multiple of kPairWidth; a partial last vector is read with a mask (zeros past
// k_end, where the parts are zero too).
template <int P, int MR, int R>
inline void pair_rows(const SmallDotArgs& a, int64_t m0, int64_t n0, int64_t k_begin, int64_t k_end, bool add,
                      int64_t ahead) {
  __m512 acc[MR][R];
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < R; ++j) acc[i][j] = _mm512_setzero_ps();
  }
  const uint16_t* w = static_cast<const uint16_t*>(a.W) + n0 * a.ldw;
  const Parts parts = g_parts;
  const uint16_t* x = parts.data + m0 * parts.ld;
  auto step = [&](int64_t k, const __m512i (&b)[R]) {
    // Parts outermost: the P products that go into one accumulator are MR * R instructions apart, not R.
    for (int p = 0; p < P; ++p) {
      for (int i = 0; i < MR; ++i) {
        __m512i xi = load_pairs(x + p * parts.stride + i * parts.ld + k);
        if constexpr (R > 1) asm("" : "+v"(xi));  // one load per part and row, not one per use (as Vec::pin)
        for (int j = 0; j < R; ++j) {
          acc[i][j] = _mm512_dpbf16_ps(acc[i][j], reinterpret_cast<__m512bh>(xi), reinterpret_cast<__m512bh>(b[j]));
        }
      }
    }
  };
  const int64_t vec_end = k_begin + (k_end - k_begin) / kPairWidth * kPairWidth;
  for (int64_t k = k_begin; k < vec_end; k += kPairWidth) {
    for (int j = 0; j < R; ++j) __builtin_prefetch(w + j * a.ldw + k + ahead);
    __m512i b[R];
    for (int j = 0; j < R; ++j) b[j] = load_pairs(w + j * a.ldw + k);
    step(k, b);
  }
  if (vec_end < k_end) {
    const __mmask32 live = __mmask32((uint64_t(1) << (k_end - vec_end)) - 1);
    __m512i b[R];
    for (int j = 0; j < R; ++j) b[j] = _mm512_maskz_loadu_epi16(live, w + j * a.ldw + vec_end);
    step(vec_end, b);
  }
  float sums[MR * R];
  mixed::horizontal_sums<MR, R>(acc, sums);
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < R; ++j) {
      float& c = a.C[(m0 + i) * a.ldc + n0 + j];
      c = add ? c + sums[i * R + j] : sums[i * R + j];
    }
  }
}

// The N x K sweep of the engine's kernels (mixed_dot_kernels.h) over the parts: the same prefetch distance in
// bytes and the same L1 budget for the K slices, counted in part bytes.
template <int P, int MR>
inline void pair_block(const SmallDotArgs& a, int64_t m0, int64_t n_begin, int64_t n_end) {
  constexpr int R = Vec::kWeightRows;
  mixed::sweep_rows<R>(a, n_begin, n_end, int64_t(MR) * P * 2 + R * 2, MR >= 4, kPairWidth, kPrefetchBytes / 2,
                       [&](auto rows, int64_t n, int64_t k0, int64_t k1, bool add, int64_t ahead) {
                         pair_rows<P, MR, decltype(rows)::value>(a, m0, n, k0, k1, add, ahead);
                       });
}

template <int P>
inline void pair_dot(const SmallDotArgs& a, int64_t n_begin, int64_t n_end) {
  int64_t m = 0;
  for (; a.M - m >= 8; m += 8) pair_block<P, 8>(a, m, n_begin, n_end);
  for (; a.M - m >= 4; m += 4) pair_block<P, 4>(a, m, n_begin, n_end);
  for (; a.M - m >= 2; m += 2) pair_block<P, 2>(a, m, n_begin, n_end);
  for (; m < a.M; ++m) pair_block<P, 1>(a, m, n_begin, n_end);
}

void pairs_range(const SmallDotArgs& a, int64_t n_begin, int64_t n_end) {
  if (g_parts.passes == 1) {
    pair_dot<1>(a, n_begin, n_end);
  } else if (g_parts.passes == 2) {
    pair_dot<2>(a, n_begin, n_end);
  } else {
    pair_dot<3>(a, n_begin, n_end);
  }
}

// Fills parts (passes x M x ld bf16) from A.
void split_activations(int64_t M, int64_t K, const float* A, int64_t lda, const Parts& parts, uint16_t* out) {
  const __m512 inf = _mm512_set1_ps(__builtin_inff());
  for (int64_t m = 0; m < M; ++m) {
    const float* src = A + m * lda;
    for (int64_t k = 0; k < parts.ld; k += 16) {
      const __mmask16 live = k >= K ? 0 : k + 16 <= K ? 0xFFFF : __mmask16((1u << (K - k)) - 1);
      __m512 rest = _mm512_maskz_loadu_ps(live, src + k);
      // What is left of an infinity is zero, not inf - inf; a NaN stays NaN in every part.
      const __mmask16 finite = ~_mm512_cmp_ps_mask(_mm512_abs_ps(rest), inf, _CMP_EQ_OQ);
      for (int p = 0; p + 1 < parts.passes; ++p) {
        const __m512i top = _mm512_srli_epi32(_mm512_castps_si512(rest), 16);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + p * parts.stride + m * parts.ld + k),
                            _mm512_cvtepi32_epi16(top));
        rest = _mm512_maskz_sub_ps(finite, rest, _mm512_castsi512_ps(_mm512_slli_epi32(top, 16)));
      }
      const __m256bh last = _mm512_cvtneps_pbh(rest);
      std::memcpy(out + (parts.passes - 1) * parts.stride + m * parts.ld + k, &last, 32);
    }
  }
}

}  // namespace

void pairs_dot(int passes, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const uint16_t* W,
               int64_t ldw, float* C, int64_t ldc) {
  if (passes < 1 || passes > 3) throw std::invalid_argument("bf16 parts per activation: 1, 2 or 3");
  if (M <= 0 || N <= 0) return;
  // Formed once per call on the caller, then shared by the threads; rows start on cache lines (loads that
  // straddle two lines made P = 2 1.6x slower).
  static std::vector<uint16_t> buffer;
  Parts parts{nullptr, passes, (K + kPairWidth - 1) / kPairWidth * kPairWidth, 0};
  parts.stride = M * parts.ld;
  if (buffer.size() < size_t(passes * parts.stride + kPairWidth)) buffer.resize(size_t(passes * parts.stride + kPairWidth));
  uint16_t* aligned = buffer.data() + (64 - reinterpret_cast<uintptr_t>(buffer.data()) % 64) % 64 / 2;
  split_activations(M, K, A, lda, parts, aligned);
  parts.data = aligned;
  g_parts = parts;
  mixed::run_range(pairs_range, SmallDotArgs{M, N, K, A, lda, W, true, true, ldw, C, ldc});
}

}  // namespace grpo::cpu::bench
