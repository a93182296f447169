// The few-row dot kernels, written once over a vector type and compiled three times: in mixed_dot_avx512.cc
// (built with -mavx512f -mavx512bw), mixed_dot_avx2.cc (-mavx2 -mfma) and mixed_dot.cc (no flags, the scalar
// lane); bench/native/bf16_pairs.cc also builds on it. Everything here is inline in an anonymous namespace and
// uses no library templates, so no instruction of a wider set can leak into code that another translation unit
// shares (the linker merges inline functions).
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace grpo::cpu::mixed {

// Work of one call: rows [n_begin, n_end) of the N outputs for all M rows of A.
struct SmallDotArgs {
  int64_t M, N, K;
  const float* A;
  int64_t lda;
  const void* W;
  bool bf16;
  bool n_major;  // W stored N x K (each output's weights contiguous); otherwise K x N
  int64_t ldw;
  float* C;
  int64_t ldc;
  // One row of A (M = 1) against a bf16 N x K weight: A's even elements, then its odd ones (K / 2 each), written
  // once per dot by run_range, so that the kernel reads the weights a whole vector of bf16 pairs per load
  // (dot_pairs); null otherwise.
  const float* A_pairs = nullptr;
};

using RangeKernel = void (*)(const SmallDotArgs& args, int64_t n_begin, int64_t n_end);

// The parallel split hands each call a multiple of this many outputs, a multiple of every lane's block: of
// weight rows (kWeightRows: 3, 2, 4) for an N x K weight, of column blocks (kColumns x kWidth: 64, 32, 4) for
// a K x N one.
constexpr int64_t kSplitRows = 48, kSplitColumns = 64;

void small_dot_avx512(const SmallDotArgs& args, int64_t n_begin, int64_t n_end);
void small_dot_avx2(const SmallDotArgs& args, int64_t n_begin, int64_t n_end);
void small_dot_scalar(const SmallDotArgs& args, int64_t n_begin, int64_t n_end);

// dst[r * cols + c] = the f32 value of bf16 src[r * ld + c] for rows [r_begin, r_end): the panel path's widening
// (mixed_dot.cc), one lane per instruction set as the kernels are.
using WidenKernel = void (*)(const uint16_t* src, int64_t ld, int64_t r_begin, int64_t r_end, int64_t cols,
                             float* dst);
void widen_avx512(const uint16_t* src, int64_t ld, int64_t r_begin, int64_t r_end, int64_t cols, float* dst);
void widen_avx2(const uint16_t* src, int64_t ld, int64_t r_begin, int64_t r_end, int64_t cols, float* dst);
void widen_scalar(const uint16_t* src, int64_t ld, int64_t r_begin, int64_t r_end, int64_t cols, float* dst);

// The whole product through one range kernel, split over the engine's threads (mixed_dot.cc); a zero K writes
// zeros. Benches reach kernels of their own through it.
void run_range(RangeKernel kernel, const SmallDotArgs& args);

namespace {

inline float widen_bf16(uint16_t bits) {
  uint32_t u = uint32_t(bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline float weight_at(const SmallDotArgs& a, int64_t offset) {
  return a.bf16 ? widen_bf16(static_cast<const uint16_t*>(a.W)[offset]) : static_cast<const float*>(a.W)[offset];
}

#if defined(__AVX512F__)
struct Vec {
  using T = __m512;
  static constexpr int kWidth = 16;
  // Register blocks (accumulators + loads stay within the 32 registers): an N x K weight is read kWeightRows
  // rows at a time against kRowsN rows of A; a K x N weight kColumns vectors at a time against kRowsK rows.
  static constexpr int kRowsN = 8, kWeightRows = 3;
  static constexpr int kRowsK = 4, kColumns = 4;
  static T zero() { return _mm512_setzero_ps(); }
  static T load(const float* p) { return _mm512_loadu_ps(p); }
  static T load(const uint16_t* p) {
    const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
  }
  // 32 bf16 from p: the even-indexed ones (the low halves of the 32-bit lanes, shifted up) and the odd-indexed
  // ones (the high halves, masked): one load and two integer ops for 32 weights, where load() takes a widening
  // load and a shift for 16.
  static void load_pairs(const uint16_t* p, T& even, T& odd) {
    const __m512i raw = _mm512_loadu_si512(p);
    even = _mm512_castsi512_ps(_mm512_slli_epi32(raw, 16));
    odd = _mm512_castsi512_ps(_mm512_and_si512(raw, _mm512_set1_epi32(int(0xFFFF0000u))));
  }
  static T splat(float x) { return _mm512_set1_ps(x); }
  // Keeps a value in a register: without it GCC folds the activation load into each of the R FMAs that use it,
  // and the load ports (not the FMA units) then bound the M = 8 kernel.
  static void pin(T& v) { asm("" : "+v"(v)); }
  static T fma(T a, T b, T c) { return _mm512_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm512_add_ps(a, b); }
  static float sum(T v) { return _mm512_reduce_add_ps(v); }
  // out[q] = sum of v[q]'s lanes, q < 8: the eight reductions share their shuffles (24 instructions where eight
  // separate ones take about 64): 256-bit halves, then 128-bit quarters, then pairs within each quarter.
  static void sum8(const T* v, float* out) {
    T h[4], q[2];
    for (int p = 0; p < 4; ++p) {  // h[p]: v[2p]'s eight half sums, then v[2p + 1]'s
      h[p] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], 0x44),
                           _mm512_shuffle_f32x4(v[2 * p], v[2 * p + 1], 0xEE));
    }
    for (int p = 0; p < 2; ++p) {  // q[p]: one 128-bit quarter per v[4p + r], four partial sums each
      q[p] = _mm512_add_ps(_mm512_shuffle_f32x4(h[2 * p], h[2 * p + 1], 0x88),
                           _mm512_shuffle_f32x4(h[2 * p], h[2 * p + 1], 0xDD));
    }
    // Quarter r: [v[r]: a0+a1, a2+a3, v[4+r]: b0+b1, b2+b3], then both pair sums complete in every slot.
    T z = _mm512_add_ps(_mm512_shuffle_ps(q[0], q[1], 0x88), _mm512_shuffle_ps(q[0], q[1], 0xDD));
    z = _mm512_add_ps(z, _mm512_permute_ps(z, 0xB1));
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, z);
    for (int r = 0; r < 4; ++r) {
      out[r] = lanes[4 * r];
      out[4 + r] = lanes[4 * r + 2];
    }
  }
  static void store(float* p, T v) { _mm512_storeu_ps(p, v); }
};
#elif defined(__AVX2__)
struct Vec {
  using T = __m256;
  static constexpr int kWidth = 8;
  static constexpr int kRowsN = 4, kWeightRows = 2;  // 16 registers
  static constexpr int kRowsK = 2, kColumns = 4;
  static T zero() { return _mm256_setzero_ps(); }
  static T load(const float* p) { return _mm256_loadu_ps(p); }
  static T load(const uint16_t* p) {
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  }
  static void load_pairs(const uint16_t* p, T& even, T& odd) {
    const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    even = _mm256_castsi256_ps(_mm256_slli_epi32(raw, 16));
    odd = _mm256_castsi256_ps(_mm256_and_si256(raw, _mm256_set1_epi32(int(0xFFFF0000u))));
  }
  static T splat(float x) { return _mm256_set1_ps(x); }
  static void pin(T& v) { asm("" : "+x"(v)); }
  static T fma(T a, T b, T c) { return _mm256_fmadd_ps(a, b, c); }
  static T add(T a, T b) { return _mm256_add_ps(a, b); }
  static float sum(T v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // out[q] = sum of v[q]'s lanes, q < 8, with shared horizontal adds.
  static void sum8(const T* v, float* out) {
    const T a = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
    const T b = _mm256_hadd_ps(_mm256_hadd_ps(v[4], v[5]), _mm256_hadd_ps(v[6], v[7]));
    // a: [v0..v3 low-half sums, v0..v3 high-half sums], b likewise for v4..v7.
    _mm256_storeu_ps(out, _mm256_add_ps(_mm256_permute2f128_ps(a, b, 0x20), _mm256_permute2f128_ps(a, b, 0x31)));
  }
  static void store(float* p, T v) { _mm256_storeu_ps(p, v); }
};
#else
struct Vec {
  using T = float;
  static constexpr int kWidth = 1;
  static constexpr int kRowsN = 2, kWeightRows = 4;
  static constexpr int kRowsK = 2, kColumns = 4;
  static T zero() { return 0.0f; }
  static T load(const float* p) { return *p; }
  static T load(const uint16_t* p) { return widen_bf16(*p); }
  static void load_pairs(const uint16_t* p, T& even, T& odd) {
    even = widen_bf16(p[0]);
    odd = widen_bf16(p[1]);
  }
  static T splat(float x) { return x; }
  static void pin(T&) {}
  static T fma(T a, T b, T c) { return a * b + c; }
  static T add(T a, T b) { return a + b; }
  static float sum(T v) { return v; }
  static void sum8(const T* v, float* out) {
    for (int q = 0; q < 8; ++q) out[q] = v[q];
  }
  static void store(float* p, T v) { *p = v; }
};
#endif

// How far ahead of the row being read the N x K kernel prefetches. The rows of a weight are contiguous, so past a
// row's end this reaches the rows the next blocks read: with R rows read at once it is one stream over the matrix,
// 16 KiB ahead. 16 KiB was faster than 4 KiB on every decode step of dots measured (M = 8 bf16 by 20-25%, M = 8
// f32 by 15%, M = 1 bf16 by 10%); 32 and 64 KiB were no faster (docs/EXPERIMENTS.md, batch 8).
constexpr int64_t kPrefetchBytes = 16 << 10;

// Activation bytes (MR rows of a K slice) plus weight bytes (R rows of it) that the N x K kernel keeps within L1
// (48 KiB on the CPUs seen); past it the K range is cut into slices, each swept over all rows of the call.
constexpr int64_t kL1Budget = 44 << 10;

// sums[i * R + j] = the sum of acc[i][j]'s lanes, eight accumulators at a time while eight remain.
template <int MR, int R>
inline void horizontal_sums(const Vec::T (&acc)[MR][R], float* sums) {
  constexpr int kEights = MR * R / 8;
#pragma GCC unroll 8
  for (int g = 0; g < kEights; ++g) {
    Vec::T eight[8];
#pragma GCC unroll 8
    for (int t = 0; t < 8; ++t) eight[t] = acc[(8 * g + t) / R][(8 * g + t) % R];
    Vec::sum8(eight, sums + 8 * g);
  }
#pragma GCC unroll 8
  for (int q = 8 * kEights; q < MR * R; ++q) sums[q] = Vec::sum(acc[q / R][q % R]);
}

// N x K weights: C[m, n] (+)= dot(A row m, W row n) over k in [k_begin, k_end) for MR rows of A and R rows of W
// at once, vectors along K and the elements past the last whole vector of K one at a time. k_begin is a multiple
// of the vector width; `add` adds to C (a later K slice) instead of storing. `ahead` is the prefetch distance
// in elements from the row being read, kLocality the prefetch's hint (3: into L1, 2: into L2; see
// n_major_rows).
template <class E, int MR, int R, int kLocality>
inline void dot_rows(const SmallDotArgs& a, int64_t m0, int64_t n0, int64_t k_begin, int64_t k_end, bool add,
                     int64_t ahead) {
  using V = Vec;
  typename V::T acc[MR][R];
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < R; ++j) acc[i][j] = V::zero();
  }
  const E* w = static_cast<const E*>(a.W) + n0 * a.ldw;
  const float* x = a.A + m0 * a.lda;
  const int64_t vec_end = k_end == a.K ? a.K - a.K % V::kWidth : k_end;
  for (int64_t k = k_begin; k < vec_end; k += V::kWidth) {
    // The rows are separate streams, consumed too slowly for the hardware prefetcher to keep them fed: without
    // these prefetches the M = 8 dots ran at half the rate (a prefetch past a row's or the weight's end is
    // harmless).
    for (int j = 0; j < R; ++j) __builtin_prefetch(w + j * a.ldw + k + ahead, 0, kLocality);
    typename V::T b[R];
    for (int j = 0; j < R; ++j) b[j] = V::load(w + j * a.ldw + k);
    for (int i = 0; i < MR; ++i) {
      typename V::T xi = V::load(x + i * a.lda + k);
      if constexpr (R > 1) V::pin(xi);
      for (int j = 0; j < R; ++j) acc[i][j] = V::fma(xi, b[j], acc[i][j]);
    }
  }
  float sums[MR * R];
  horizontal_sums<MR, R>(acc, sums);
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < R; ++j) {
      float s = sums[i * R + j];
      for (int64_t k = vec_end; k < k_end; ++k) s += x[i * a.lda + k] * weight_at(a, (n0 + j) * a.ldw + k);
      float& c = a.C[(m0 + i) * a.ldc + n0 + j];
      c = add ? c + s : s;
    }
  }
}

// One row of A against one row of a bf16 N x K weight, reading 2 x width weights per load: C[0, n] = sum over k
// of A[k] W[n, k], from even and odd accumulators (a.A_pairs holds A's even and odd elements), two loads per
// step so that each accumulator's chain of dependent FMAs has a step's time; then one more load if it fits and
// the rest one element at a time. Half the instructions per weight of the widening loop (one load and two
// integer ops per 32 weights): 1.19x its rate on one core with the weights in L2, and 3-5% faster on a decode
// step's dots streamed from memory (docs/EXPERIMENTS.md). At M >= 2 the split of every activation row costs more
// than it saves (an earlier measurement: 1.5x slower at M = 8), so only one row takes this path.
inline void dot_pairs(const SmallDotArgs& a, int64_t n, int64_t ahead) {
  using V = Vec;
  constexpr int64_t kStep = 2 * V::kWidth;
  typename V::T even_acc[2] = {V::zero(), V::zero()}, odd_acc[2] = {V::zero(), V::zero()};
  const uint16_t* w = static_cast<const uint16_t*>(a.W) + n * a.ldw;
  const float* xe = a.A_pairs;
  const float* xo = a.A_pairs + a.K / 2;
  const int64_t pairs_end = a.K / kStep * kStep;
  int64_t k = 0;
  for (; k + 2 * kStep <= pairs_end; k += 2 * kStep) {
    for (int u = 0; u < 2; ++u) {
      const int64_t ku = k + u * kStep;
      __builtin_prefetch(w + ku + ahead);
      typename V::T we, wo;
      V::load_pairs(w + ku, we, wo);
      even_acc[u] = V::fma(V::load(xe + ku / 2), we, even_acc[u]);
      odd_acc[u] = V::fma(V::load(xo + ku / 2), wo, odd_acc[u]);
    }
  }
  if (k < pairs_end) {
    __builtin_prefetch(w + k + ahead);
    typename V::T we, wo;
    V::load_pairs(w + k, we, wo);
    even_acc[0] = V::fma(V::load(xe + k / 2), we, even_acc[0]);
    odd_acc[0] = V::fma(V::load(xo + k / 2), wo, odd_acc[0]);
  }
  float s = V::sum(V::add(V::add(even_acc[0], odd_acc[0]), V::add(even_acc[1], odd_acc[1])));
  for (k = pairs_end; k < a.K; ++k) s += a.A[k] * widen_bf16(w[k]);
  a.C[n] = s;
}

// One row of A against one row of an N x K weight (f32, or bf16 where A_pairs is absent): the single-row
// counterpart of dot_rows, two vectors per step with an accumulator each, then one more vector if it fits and the
// rest one element at a time.
template <class E>
inline void dot_one(const SmallDotArgs& a, int64_t m, int64_t n, int64_t ahead) {
  using V = Vec;
  typename V::T acc[2] = {V::zero(), V::zero()};
  const E* w = static_cast<const E*>(a.W) + n * a.ldw;
  const float* x = a.A + m * a.lda;
  const int64_t vec_end = a.K - a.K % V::kWidth;
  int64_t k = 0;
  for (; k + 2 * V::kWidth <= vec_end; k += 2 * V::kWidth) {
    for (int u = 0; u < 2; ++u) {
      const int64_t ku = k + u * V::kWidth;
      // One prefetch per vector: a line per f32 vector on AVX-512, half a line otherwise (harmless repeats).
      __builtin_prefetch(w + ku + ahead);
      acc[u] = V::fma(V::load(x + ku), V::load(w + ku), acc[u]);
    }
  }
  if (k < vec_end) {
    __builtin_prefetch(w + k + ahead);
    acc[0] = V::fma(V::load(x + k), V::load(w + k), acc[0]);
  }
  float s = V::sum(V::add(acc[0], acc[1]));
  for (k = vec_end; k < a.K; ++k) s += x[k] * weight_at(a, n * a.ldw + k);
  a.C[m * a.ldc + n] = s;
}

// A count of weight rows as a type, for the blocks that sweep_rows calls.
template <int N>
struct Rows {
  static constexpr int value = N;
};

// Rows [n_begin, n_end) of an N x K weight, R at a time and then singly, through
// block(Rows<R or 1>, n, k_begin, k_end, add, ahead), which forms the sums over [k_begin, k_end) and stores them
// in C (add: adds them). `row_bytes`: activation bytes of the block's rows of A plus weight bytes of R rows, per
// element of K.
//   - In one pass along each row while that fits kL1Budget (or `may_slice` is false), with the prefetch `ahead`
//     elements ahead in the row.
//   - Deep rows: the activations of a whole row would not stay in L1 beside the weights and would come from L2
//     again for every block of R weight rows. The rows are swept once per K slice (slices of equal length,
//     multiples of `step`), and the prefetch reaches the same slice two row blocks ahead. Sums are formed per
//     slice and added to C in order.
template <int R, class Block>
inline void sweep_rows(const SmallDotArgs& a, int64_t n_begin, int64_t n_end, int64_t row_bytes, bool may_slice,
                       int64_t step, int64_t ahead, Block block) {
  int64_t slice = a.K;
  if (may_slice && a.K * row_bytes > kL1Budget) {
    const int64_t slices = (a.K * row_bytes + kL1Budget - 1) / kL1Budget;
    slice = ((a.K + slices - 1) / slices + step - 1) / step * step;
    ahead = 2 * R * a.ldw;
  }
  for (int64_t k0 = 0; k0 < a.K; k0 += slice) {
    const int64_t k1 = a.K - k0 <= slice ? a.K : k0 + slice;
    int64_t n = n_begin;
    for (; n + R <= n_end; n += R) block(Rows<R>(), n, k0, k1, k0 > 0, ahead);
    for (; n < n_end; ++n) block(Rows<1>(), n, k0, k1, k0 > 0, ahead);
    if (k1 == a.K) break;
  }
}

// Rows [n_begin, n_end) of an N x K weight for MR rows of A from m0.
//   - One row of A reads one weight row at a time (dot_pairs, dot_one): a single stream through the matrix. With
//     three rows at once (three streams 2.3 KB apart at K = 1152) the M = 1 decode dots read 10-18% slower on two
//     threads, up to 25% on one (docs/EXPERIMENTS.md, 2026-12-01 18:00-18:45).
//   - More rows read kWeightRows weight rows at once, each weight vector used for every row of A. At the full
//     height of 8 rows of bf16 weights, A's rows fill most of L1 (36 KiB at K = 1152), and the prefetches go
//     into L2 only (hint 2): 5-12% faster on one core than prefetching into L1, where the lines 16 KiB ahead
//     evicted the activations; at 4 rows and for f32 weights (whose deep rows are cut into K slices) hint 3 was
//     as fast or faster.
template <class E, int MR>
inline void n_major_rows(const SmallDotArgs& a, int64_t m0, int64_t n_begin, int64_t n_end) {
  if constexpr (MR == 1) {
    if (sizeof(E) == 2 && a.A_pairs != nullptr) {  // run_range sets A_pairs for one row of A only
      for (int64_t n = n_begin; n < n_end; ++n) dot_pairs(a, n, kPrefetchBytes / 2);
    } else {
      for (int64_t n = n_begin; n < n_end; ++n) dot_one<E>(a, m0, n, kPrefetchBytes / int64_t(sizeof(E)));
    }
    return;
  }
  constexpr int R = Vec::kWeightRows;
  constexpr int kLocality = sizeof(E) == 2 && MR >= 8 ? 2 : 3;
  // K slices from four rows of A up (vectors only). The prefetch distance is in bytes, so that a bf16 row has as
  // much memory in flight as an f32 one.
  sweep_rows<R>(a, n_begin, n_end, MR * 4 + R * int64_t(sizeof(E)), MR >= 4 && Vec::kWidth > 1, Vec::kWidth,
                kPrefetchBytes / int64_t(sizeof(E)),
                [&](auto rows, int64_t n, int64_t k0, int64_t k1, bool add, int64_t ahead) {
                  dot_rows<E, MR, decltype(rows)::value, kLocality>(a, m0, n, k0, k1, add, ahead);
                });
}

// K x N weights: C[m, n0 .. n0 + VC * width) accumulates A[m, k] * W row k for MR rows of A.
template <class E, int MR, int VC>
inline void dot_columns(const SmallDotArgs& a, int64_t m0, int64_t n0) {
  using V = Vec;
  typename V::T acc[MR][VC];
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < VC; ++j) acc[i][j] = V::zero();
  }
  const E* w = static_cast<const E*>(a.W) + n0;
  const float* x = a.A + m0 * a.lda;
  for (int64_t k = 0; k < a.K; ++k) {
    typename V::T b[VC];
    for (int j = 0; j < VC; ++j) b[j] = V::load(w + k * a.ldw + j * V::kWidth);
    for (int i = 0; i < MR; ++i) {
      const typename V::T xi = V::splat(x[i * a.lda + k]);
      for (int j = 0; j < VC; ++j) acc[i][j] = V::fma(xi, b[j], acc[i][j]);
    }
  }
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < VC; ++j) V::store(a.C + (m0 + i) * a.ldc + n0 + j * V::kWidth, acc[i][j]);
  }
}

template <class E, int MR>
inline void k_major_rows(const SmallDotArgs& a, int64_t m0, int64_t n_begin, int64_t n_end) {
  constexpr int64_t block = int64_t(Vec::kColumns) * Vec::kWidth;
  int64_t n = n_begin;
  for (; n + block <= n_end; n += block) dot_columns<E, MR, Vec::kColumns>(a, m0, n);
  for (; n + Vec::kWidth <= n_end; n += Vec::kWidth) dot_columns<E, MR, 1>(a, m0, n);
  for (; n < n_end; ++n) {
    for (int i = 0; i < MR; ++i) {
      float s = 0.0f;
      for (int64_t k = 0; k < a.K; ++k) s += a.A[(m0 + i) * a.lda + k] * weight_at(a, k * a.ldw + n);
      a.C[(m0 + i) * a.ldc + n] = s;
    }
  }
}

template <class E, int MR>
inline void rows_block(const SmallDotArgs& a, int64_t m, int64_t n_begin, int64_t n_end) {
  if (a.n_major) {
    n_major_rows<E, MR>(a, m, n_begin, n_end);
  } else {
    k_major_rows<E, MR>(a, m, n_begin, n_end);
  }
}

// Rows of A in blocks of the lane's height, then halves, then singles.
template <class E, int MR>
inline void rows_of_a(const SmallDotArgs& a, int64_t n_begin, int64_t n_end) {
  int64_t m = 0;
  for (; a.M - m >= MR; m += MR) rows_block<E, MR>(a, m, n_begin, n_end);
  if constexpr (MR >= 4) {
    for (; a.M - m >= MR / 2; m += MR / 2) rows_block<E, MR / 2>(a, m, n_begin, n_end);
  }
  for (; a.M - m >= 2; m += 2) rows_block<E, 2>(a, m, n_begin, n_end);
  for (; m < a.M; ++m) rows_block<E, 1>(a, m, n_begin, n_end);
}

template <class E>
inline void rows_of_a(const SmallDotArgs& a, int64_t n_begin, int64_t n_end) {
  if (a.n_major) {
    rows_of_a<E, Vec::kRowsN>(a, n_begin, n_end);
  } else {
    rows_of_a<E, Vec::kRowsK>(a, n_begin, n_end);
  }
}

// Weight bytes of an N x K weight that one pass of every block of rows of A (and every K slice) covers before the
// next group of weight rows: about what a chunk of the parallel split holds, so that the passes after a group's
// first one read it from L2. A range handed over whole (one thread) or in large chunks (a very large weight, whose
// chunk count the split caps) would otherwise be read from memory once per pass.
constexpr int64_t kGroupBytes = 256 << 10;

template <class E>
inline void grouped_rows_of_a(const SmallDotArgs& a, int64_t n_begin, int64_t n_end) {
  int64_t group = n_end - n_begin;
  if (a.n_major) {
    const int64_t row_bytes = a.K > 0 ? a.K * int64_t(sizeof(E)) : 1;
    const int64_t rows = kGroupBytes / row_bytes / kSplitRows * kSplitRows;
    group = rows > kSplitRows ? rows : kSplitRows;
  }
  for (int64_t n = n_begin; n < n_end; n += group) rows_of_a<E>(a, n, n_end - n < group ? n_end : n + group);
}

// The body of the widen_* lanes: a widening load and a store per vector, then the row's tail one at a time.
inline void widen_range(const uint16_t* src, int64_t ld, int64_t r_begin, int64_t r_end, int64_t cols, float* dst) {
  for (int64_t r = r_begin; r < r_end; ++r) {
    const uint16_t* s = src + r * ld;
    float* d = dst + r * cols;
    int64_t c = 0;
    for (; c + Vec::kWidth <= cols; c += Vec::kWidth) Vec::store(d + c, Vec::load(s + c));
    for (; c < cols; ++c) d[c] = widen_bf16(s[c]);
  }
}

inline void small_dot_range(const SmallDotArgs& a, int64_t n_begin, int64_t n_end) {
  if (a.bf16) {
    grouped_rows_of_a<uint16_t>(a, n_begin, n_end);
  } else {
    grouped_rows_of_a<float>(a, n_begin, n_end);
  }
}

}  // namespace

}  // namespace grpo::cpu::mixed
