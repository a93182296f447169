// The worker pool behind parallel_for. Workers sleep on a condition variable between jobs; the caller takes
// part in every job, so one thread means no worker at all.
#include "threads.h"

#include <algorithm>
#include <atomic>
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
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return pending_.load() == 0 && active_ == 0; });
    return true;
  }

 private:
  std::vector<std::thread> threads_;
  std::mutex busy_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  bool stopping_ = false;
  int active_ = 0;  // workers inside work(), guarded by mutex_
  uint64_t generation_ = 0;
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

void parallel_for_raw(int64_t n, int64_t grain, void (*body)(void*, int64_t, int64_t), void* ctx) {
  int threads = num_threads();
  int64_t chunks = std::min<int64_t>((n + grain - 1) / grain, int64_t(threads) * 4);
  if (threads <= 1 || chunks <= 1 || !pool().try_run(chunks, n, body, ctx)) body(ctx, 0, n);
}

}  // namespace grpo::cpu
