// Dispatch of the few-row kernels (mixed_dot_kernels.h) over threads and instruction sets, and the panel path
// for many rows. The scalar lane is compiled here, without SIMD flags.
#include "mixed_dot.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "blas.h"
#include "common.h"
#include "engine.h"
#include "mixed_dot_kernels.h"
#include "threads.h"

namespace grpo::cpu {

namespace mixed {

void small_dot_scalar(const SmallDotArgs& args, int64_t n_begin, int64_t n_end) {
  small_dot_range(args, n_begin, n_end);
}

void widen_scalar(const uint16_t* src, int64_t ld, int64_t r_begin, int64_t r_end, int64_t cols, float* dst) {
  widen_range(src, ld, r_begin, r_end, cols, dst);
}

void run_range(RangeKernel kernel, const SmallDotArgs& in) {
  if (in.K == 0) {
    for (int64_t m = 0; m < in.M; ++m) std::fill_n(in.C + m * in.ldc, in.N, 0.0f);
    return;
  }
  SmallDotArgs args = in;
  // One row against a bf16 N x K weight: A's even and odd elements apart, once for the whole dot (dot_pairs).
  thread_local std::vector<float> pairs;
  if (args.M == 1 && args.bf16 && args.n_major && args.K >= 2) {
    const int64_t half = args.K / 2;
    pairs.resize(size_t(2 * half));
    for (int64_t i = 0; i < half; ++i) {
      pairs[size_t(i)] = args.A[2 * i];
      pairs[size_t(half + i)] = args.A[2 * i + 1];
    }
    args.A_pairs = pairs.data();
  }
  const int64_t split = args.n_major ? kSplitRows : kSplitColumns;
  const int64_t blocks = (args.N + split - 1) / split;
  const int64_t block_bytes = split * args.K * (args.bf16 ? 2 : 4);
  // Chunks of about kChunkBytes of weight, pulled by the threads as they finish: a thread that is descheduled
  // (a shared machine) or slower delays the dot by one small chunk, not by a fixed half of it. Small weights
  // still split into at least two chunks per thread; tiny ones run on the caller.
  constexpr int64_t kChunkBytes = 256 << 10, kInlineWeights = 32 << 10;
  int64_t grain = std::max<int64_t>(1, kChunkBytes / std::max<int64_t>(block_bytes, 1));
  grain = std::min(grain, std::max<int64_t>(1, blocks / (2 * int64_t(num_threads()))));
  if (args.N * args.K < kInlineWeights) grain = blocks;
  parallel_for(
      blocks, grain,
      [&](int64_t b0, int64_t b1) { kernel(args, b0 * split, std::min(args.N, b1 * split)); },
      /*chunks_per_thread=*/256);
}

}  // namespace mixed

namespace {

using mixed::RangeKernel;
using mixed::SmallDotArgs;

struct Lane {
  const char* name;
  RangeKernel kernel;
  mixed::WidenKernel widen;
  bool (*supported)();
};

bool has_avx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
}
bool has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
bool always() { return true; }

// Widest first.
constexpr Lane kLanes[] = {
    {"avx512", mixed::small_dot_avx512, mixed::widen_avx512, has_avx512},
    {"avx2", mixed::small_dot_avx2, mixed::widen_avx2, has_avx2},
    {"scalar", mixed::small_dot_scalar, mixed::widen_scalar, always},
};

const Lane& chosen_lane() {
  static const Lane* lane = [] {
    const char* cap = std::getenv("GRPO_XLA_CPU_SIMD");
    bool reached_cap = cap == nullptr;
    for (const Lane& l : kLanes) {
      if (!reached_cap && std::strcmp(cap, l.name) == 0) reached_cap = true;
      if (reached_cap && l.supported()) return &l;
    }
    return &kLanes[std::size(kLanes) - 1];
  }();
  return *lane;
}

SmallDotArgs make_args(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const WeightView& w, float* C,
                       int64_t ldc) {
  if (w.k_stride != 1 && w.n_stride != 1) throw std::logic_error("mixed dot: the weight needs a unit stride");
  const bool n_major = w.k_stride == 1 && (w.n_stride != 1 || K == 1);
  return SmallDotArgs{M, N, K, A, lda, w.data, w.type == WeightType::kBF16, n_major,
                      n_major ? w.n_stride : w.k_stride, C, ldc};
}

// f32 bytes of one widened panel. Each sgemm call packs its slice of A (or rereads C) and joins its threads, so
// fewer, larger panels cost less: over the seven weights of a Gemma3-1B layer at 512 rows, bf16 through 16 MiB
// panels took 1.06-1.08x the time of sgemm on f32 weights, 4 MiB panels 1.10-1.17x, 2 MiB 1.20-1.27x, and
// 32 MiB no less than 16 (docs/EXPERIMENTS.md, 2026-12-01 19:50-20:05).
constexpr int64_t kPanelFloats = int64_t(16) << 20 >> 2;

// The panel: one block per thread, kept between dots and grown to the largest panel asked for (at most
// kPanelFloats). A fresh block per dot would be zero-filled or faulted in again on every call; a prefill makes
// 182 such dots. It is scratch outside the device memory that Storage accounts for.
float* panel_scratch(int64_t floats) {
  struct Block {
    void* data = nullptr;
    size_t bytes = 0;
    ~Block() { std::free(data); }
  };
  thread_local Block block;
  const size_t bytes = size_t(floats) * sizeof(float);
  if (block.bytes < bytes) {
    void* p = allocate_block(bytes);
    std::free(block.data);
    block.data = p;
    block.bytes = bytes;
  }
  return static_cast<float*>(block.data);
}

// dst[r, c] = widened src[r * ld + c]: a rows x cols block of a bf16 matrix, made contiguous f32, by the chosen
// lane's vectors (the engine's other code is built for baseline x86-64, where this loop ran 5-10 ms per 1B layer
// slower than the AVX-512 lane).
void widen_rows(const uint16_t* src, int64_t ld, int64_t rows, int64_t cols, float* dst,
                mixed::WidenKernel widen = chosen_lane().widen) {
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(cols, 1)),
               [&](int64_t r0, int64_t r1) { widen(src, ld, r0, r1, cols, dst); });
}

}  // namespace

std::string small_rows_isa() { return chosen_lane().name; }

void small_rows_dot(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const WeightView& w, float* C,
                    int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  mixed::run_range(chosen_lane().kernel, make_args(M, N, K, A, lda, w, C, ldc));
}

bool small_rows_dot_on(const std::string& isa, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                       const WeightView& w, float* C, int64_t ldc) {
  for (const Lane& l : kLanes) {
    if (isa != l.name) continue;
    if (!l.supported()) return false;
    if (M > 0 && N > 0) mixed::run_range(l.kernel, make_args(M, N, K, A, lda, w, C, ldc));
    return true;
  }
  throw std::invalid_argument("unknown instruction set " + isa);
}

bool widen_bf16_on(const std::string& isa, const uint16_t* src, int64_t ld, int64_t rows, int64_t cols, float* dst) {
  for (const Lane& l : kLanes) {
    if (isa != l.name) continue;
    if (!l.supported()) return false;
    widen_rows(src, ld, rows, cols, dst, l.widen);
    return true;
  }
  throw std::invalid_argument("unknown instruction set " + isa);
}

void panel_dot(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const WeightView& w, float* C,
               int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  const SmallDotArgs a = make_args(M, N, K, A, lda, w, C, ldc);
  if (!a.bf16 || K == 0) {
    sgemm(false, a.n_major, M, N, K, 1.0f, A, lda, static_cast<const float*>(w.data), a.ldw, 0.0f, C, ldc);
    return;
  }
  const uint16_t* W = static_cast<const uint16_t*>(w.data);
  // Each sgemm call packs its slice of A and rewrites its slice of C. Panels of whole output rows (N-panels)
  // repack all of A per panel; panels along K re-read and rewrite all of C per panel. The cheaper one is taken:
  // K-panels when K > N (a down projection), N-panels otherwise.
  const bool k_panels = K > N;
  const int64_t panel_rows = std::min(k_panels ? K : N, std::max<int64_t>(kPanelFloats / (k_panels ? N : K), 16));
  float* const panel = panel_scratch(panel_rows * (k_panels ? N : K));
  if (!k_panels && a.n_major) {
    // nb rows of the N x K weight: C[:, n0 .. n0 + nb).
    for (int64_t n0 = 0; n0 < N; n0 += panel_rows) {
      const int64_t rows = std::min(panel_rows, N - n0);
      widen_rows(W + n0 * a.ldw, a.ldw, rows, K, panel);
      sgemm(false, true, M, rows, K, 1.0f, A, lda, panel, K, 0.0f, C + n0, ldc);
    }
  } else if (!k_panels) {
    // nb columns of the K x N weight, widened into a K x nb panel.
    for (int64_t n0 = 0; n0 < N; n0 += panel_rows) {
      const int64_t cols = std::min(panel_rows, N - n0);
      widen_rows(W + n0, a.ldw, K, cols, panel);
      sgemm(false, false, M, cols, K, 1.0f, A, lda, panel, cols, 0.0f, C + n0, ldc);
    }
  } else {
    // kb slices of K, accumulated into C.
    for (int64_t k0 = 0; k0 < K; k0 += panel_rows) {
      const int64_t depth = std::min(panel_rows, K - k0);
      if (a.n_major) {
        widen_rows(W + k0, a.ldw, N, depth, panel);  // N x depth
        sgemm(false, true, M, N, depth, 1.0f, A + k0, lda, panel, depth, k0 == 0 ? 0.0f : 1.0f, C, ldc);
      } else {
        widen_rows(W + k0 * a.ldw, a.ldw, depth, N, panel);  // depth x N
        sgemm(false, false, M, N, depth, 1.0f, A + k0, lda, panel, N, k0 == 0 ? 0.0f : 1.0f, C, ldc);
      }
    }
  }
}

}  // namespace grpo::cpu
