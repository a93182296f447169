// The worker pool behind parallel_for. Between jobs a worker first spins for a short while (kSpin) and then
// sleeps on a condition variable; the caller takes part in every job, so one thread means no worker at all.
// The spin is for decode, which runs ~200 dots a step back to back, most of them well under a millisecond: a
// futex wake and a wait for the last worker to report back cost microseconds each, paid twice per dot.
#include "threads.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "engine.h"

namespace grpo::cpu {

int num_threads() {
  static const int count = [] {
    if (const char* env = std::getenv("GRPO_XLA_CPU_THREADS")) {
      int n = std::atoi(env);
      if (n > 0) return std::min(n, 256);
    }
    unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : int(hw);
  }();
  return count;
}

namespace {

// How long a worker watches for the next job, and the caller for the end of its job, before sleeping: long
// enough to span the gap between two dots of a decode step, short enough to cost nothing measurable when the
// engine goes idle.
constexpr std::chrono::microseconds kSpin{100};

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until ready() or kSpin has passed; true when ready() held.
template <class F>
bool spin_until(F&& ready) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  while (true) {
    for (int i = 0; i < 64; ++i) {
      if (ready()) return true;
      cpu_relax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return ready();
  }
}

class Pool {
 public:
  Pool() {
    int workers = num_threads() - 1;
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { worker(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
  }

  int workers() const { return int(threads_.size()); }

  // Only one job at a time; a concurrent caller runs its job inline (returns false).
  bool try_run(int64_t chunks, int64_t n, void (*body)(void*, int64_t, int64_t), void* ctx) {
    std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
    if (!busy.owns_lock()) return false;
    {
      // A worker that woke late for the previous job must leave work() before its fields change.
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [this] { return active_ == 0; });
      body_ = body;
      ctx_ = ctx;
      n_ = n;
      chunks_ = chunks;
      next_.store(0);
      pending_.store(chunks);
      ++generation_;
    }
    wake_.notify_all();
    work();
    if (spin_until([this] { return pending_.load() == 0 && active_.load() == 0; })) return true;
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_.load() == 0 && active_ == 0; });
    return true;
  }

 private:
  std::vector<std::thread> threads_;
  std::mutex busy_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> active_{0};          // workers inside work(); changed under mutex_, read by spinners without it
  std::atomic<uint64_t> generation_{0};  // bumped under mutex_ per job
  void (*body_)(void*, int64_t, int64_t) = nullptr;
  void* ctx_ = nullptr;
  int64_t n_ = 0, chunks_ = 0;
  std::atomic<int64_t> next_{0}, pending_{0};

  void work() {
    while (true) {
      int64_t c = next_.fetch_add(1);
      if (c >= chunks_) return;
      int64_t begin = n_ * c / chunks_, end = n_ * (c + 1) / chunks_;
      body_(ctx_, begin, end);
      if (pending_.fetch_sub(1) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_all();
      }
    }
  }

  void worker() {
    uint64_t seen = 0;
    while (true) {
      spin_until([&] { return stopping_.load() || generation_.load() != seen; });
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
        ++active_;
      }
      work();
      std::lock_guard<std::mutex> lock(mutex_);
      if (--active_ == 0) done_.notify_all();
    }
  }
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: workers may outlive static destruction order
  return *p;
}

}  // namespace

void parallel_for_raw(int64_t n, int64_t grain, void (*body)(void*, int64_t, int64_t), void* ctx,
                      int64_t chunks_per_thread) {
  int threads = num_threads();
  int64_t chunks = std::min<int64_t>((n + grain - 1) / grain, int64_t(threads) * chunks_per_thread);
  if (threads <= 1 || chunks <= 1 || !pool().try_run(chunks, n, body, ctx)) body(ctx, 0, n);
}

}  // namespace grpo::cpu
