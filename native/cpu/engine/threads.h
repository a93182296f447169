// A small fork-join pool: parallel_for splits [0, n) into chunks run by num_threads() workers.
#pragma once

#include <cstdint>

namespace grpo::cpu {

// Runs body(begin, end) over chunks of [0, n). Chunks are at least `grain` long; with one chunk, or when another
// parallel_for already holds the pool (a concurrent run()), everything runs inline on the caller. At most
// chunks_per_thread chunks per thread: more chunks balance better when a thread is descheduled or slower (a
// shared machine), at the cost of one atomic increment each.
void parallel_for_raw(int64_t n, int64_t grain, void (*body)(void* ctx, int64_t begin, int64_t end), void* ctx,
                      int64_t chunks_per_thread);

template <class F>
void parallel_for(int64_t n, int64_t grain, F&& body, int64_t chunks_per_thread = 4) {
  if (n <= grain) {
    if (n > 0) body(int64_t(0), n);
    return;
  }
  auto trampoline = [](void* ctx, int64_t begin, int64_t end) { (*static_cast<F*>(ctx))(begin, end); };
  parallel_for_raw(n, grain, trampoline, &body, chunks_per_thread);
}

// Elements of simple elementwise work below which a split costs more than it gains. 2^14: the [8, 6912] arrays of a
// batch-8 decode step's MLP (55,296 elements, under the 2^16 this was) split across the cores; tanh there went
// from 25 to 14 us a call (docs/EXPERIMENTS.md).
constexpr int64_t kParallelGrain = 1 << 14;

}  // namespace grpo::cpu
