// The worker pool behind parallel_for: jobs back to back (workers still spinning from the last one), jobs from
// two callers at once (one runs inline), and fine splits (many chunks per thread). Each index of a job must be
// visited exactly once, and a job must be over when parallel_for returns.
#include <atomic>
#include <thread>
#include <vector>

#include "engine.h"
#include "test_harness.h"
#include "threads.h"

using namespace grpo::cpu;
using namespace grpo::cpu::testing;

namespace {

// Runs `jobs` parallel_for calls over [0, n) and checks every index was visited once per call.
bool visits_each_once(int jobs, int64_t n, int64_t grain, int64_t chunks_per_thread) {
  std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
  for (int job = 0; job < jobs; ++job) {
    parallel_for(
        n, grain,
        [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) seen[size_t(i)].fetch_add(1, std::memory_order_relaxed);
        },
        chunks_per_thread);
    // Everything written by the job is visible here, before the next one starts.
    for (int64_t i = 0; i < n; ++i) {
      if (seen[size_t(i)].load() != job + 1) return false;
    }
  }
  return true;
}

}  // namespace

TEST(thread_pool_jobs_back_to_back) {
  std::printf("  threads: %d\n", num_threads());
  CHECK(visits_each_once(2000, 37, 1, 4));      // tiny jobs, as fast as they come
  CHECK(visits_each_once(50, 100000, 7, 256));  // many chunks per thread
  CHECK(visits_each_once(20, 5, 10, 4));        // n <= grain: inline
}

TEST(thread_pool_two_callers) {
  // Two threads issuing jobs at once: one holds the pool, the other runs its job inline; both complete.
  bool ok[2] = {false, false};
  std::thread other([&] { ok[1] = visits_each_once(300, 4096, 16, 8); });
  ok[0] = visits_each_once(300, 4096, 16, 8);
  other.join();
  CHECK(ok[0]);
  CHECK(ok[1]);
}
