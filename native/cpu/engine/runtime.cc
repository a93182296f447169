// Buffer bookkeeping of one run: slots, reference counts, in-place reuse and the run-local storage pool.
#include "runtime.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

namespace grpo::cpu {

namespace {

// GRPO_XLA_CPU_PROFILE=1: every step's wall time, summed per op and source line, printed to stderr at exit (the
// 400 costliest, or the N costliest with GRPO_XLA_CPU_PROFILE=N for N > 1, then totals per op). A while step's
// time includes its body's, so a sum over the totals counts a loop's body twice. For finding where a program's
// time goes.
class Profile {
 public:
  static Profile* get() {
    static Profile* p = std::getenv("GRPO_XLA_CPU_PROFILE") ? new Profile() : nullptr;
    return p;
  }
  void add(const Step& step, double seconds) {
    std::lock_guard<std::mutex> lock(mutex_);
    Entry& e = entries_[step.op_name + " at line " + std::to_string(step.loc.line)];
    e.seconds += seconds;
    ++e.calls;
  }

 private:
  struct Entry {
    double seconds = 0;
    int64_t calls = 0;
  };
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;

  Profile() {
    std::atexit([] { get()->print(); });
  }
  void print() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::pair<std::string, Entry>> sorted(entries_.begin(), entries_.end());
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
    std::fprintf(stderr, "engine profile (seconds, calls, op):\n");
    const long asked = std::atol(std::getenv("GRPO_XLA_CPU_PROFILE"));
    const size_t lines = asked > 1 ? size_t(asked) : 400;
    for (size_t i = 0; i < sorted.size() && i < lines; ++i) {
      std::fprintf(stderr, "%10.6f %8lld  %s\n", sorted[i].second.seconds, (long long)sorted[i].second.calls,
                   sorted[i].first.c_str());
    }
    // The list above is cut (a decode loop body alone has more than 400 lines); the totals per op are not.
    std::map<std::string, Entry> per_op;
    for (const auto& [where, e] : entries_) {
      Entry& total = per_op[where.substr(0, where.find(" at line "))];
      total.seconds += e.seconds;
      total.calls += e.calls;
    }
    std::fprintf(stderr, "engine profile per op (seconds, calls, op):\n");
    for (const auto& [op, e] : per_op) std::fprintf(stderr, "%10.3f %8lld  %s\n", e.seconds, (long long)e.calls, op.c_str());
  }
};

}  // namespace

RunContext::RunContext(size_t num_values) : slots_(num_values, nullptr) {}

RunContext::~RunContext() = default;

Buf* RunContext::new_buf(std::shared_ptr<Storage> storage, bool writable) {
  Buf* b;
  if (!free_bufs_.empty()) {
    b = free_bufs_.back();
    free_bufs_.pop_back();
  } else {
    bufs_.emplace_back();
    b = &bufs_.back();
  }
  b->storage = std::move(storage);
  b->refs = 0;
  b->writable = writable;
  b->donated_param = -1;
  return b;
}

void RunContext::bind(int value, Buf* buf) {
  ++buf->refs;
  slots_[value] = buf;
}

void RunContext::alias(int out, int in) { bind(out, slots_[in]); }

void* RunContext::alloc(int value, size_t bytes) {
  for (DonationTarget& t : donation_targets) {
    if (t.value == value && t.storage && t.storage->size() == bytes) {
      Buf* b = new_buf(std::move(t.storage), true);
      t.storage.reset();
      bind(value, b);
      return b->storage->data();
    }
  }
  std::shared_ptr<Storage> storage;
  if (auto it = pool_.find(bytes); it != pool_.end()) {
    storage = std::move(it->second.back());
    it->second.pop_back();
    if (it->second.empty()) pool_.erase(it);
    pool_bytes_ -= bytes;
    --pool_entries_;
  }
  if (!storage) storage = std::make_shared<Storage>(bytes, Storage::Uninitialized{});
  Buf* b = new_buf(std::move(storage), true);
  bind(value, b);
  return b->storage->data();
}

void* RunContext::alloc_reuse(const Step& step, int output_position, size_t bytes,
                              std::initializer_list<int> candidates, bool* reused) {
  const int out = step.outputs[output_position];
  for (const DonationTarget& t : donation_targets) {
    if (t.value == out && t.storage) return alloc(out, bytes);  // the donated buffer beats any reuse
  }
  for (int position : candidates) {
    if (!step.input_dies[position]) continue;
    const int in = step.inputs[position];
    Buf* b = slots_[in];
    if (!b || !b->writable || b->refs != 1 || b->storage->size() != bytes) continue;
    // The reference moves from the dying operand to the output.
    slots_[in] = nullptr;
    slots_[out] = b;
    if (reused) *reused = true;
    return b->storage->data();
  }
  if (reused) *reused = false;
  return alloc(out, bytes);
}

void RunContext::unref(Buf* b) {
  if (--b->refs > 0) return;
  if (b->donated_param >= 0) {
    // A donated parameter that dies before its aliased result is computed: keep its storage for that result.
    for (auto& [param_value, result_value] : donation_waiting) {
      if (param_value != b->donated_param) continue;
      for (DonationTarget& t : donation_targets) {
        if (t.value == result_value && !t.storage) t.storage = b->storage;
      }
    }
  } else if (b->writable && b->storage.use_count() == 1 && b->storage->size() <= kPoolMaxBytes) {
    // Kept (bounded) for the same-sized allocations a while loop makes every iteration; freed at the run's end.
    // Smaller blocks make room for a larger one: malloc serves small sizes from its free lists, while a block
    // of megabytes comes back from the kernel and is faulted in page by page (a decode step's 8 MB sampler
    // arrays were, once the pool had filled with its thousands of small ones).
    const size_t size = b->storage->size();
    auto full = [&] { return pool_entries_ >= kPoolMaxEntries || pool_bytes_ + size > kPoolMaxBytes; };
    while (full() && !pool_.empty() && pool_.begin()->first < size) {
      auto smallest = pool_.begin();
      pool_bytes_ -= smallest->first;
      --pool_entries_;
      smallest->second.pop_back();
      if (smallest->second.empty()) pool_.erase(smallest);
    }
    if (!full()) {
      pool_bytes_ += size;
      ++pool_entries_;
      pool_[size].push_back(std::move(b->storage));
    }
  }
  b->storage.reset();
  free_bufs_.push_back(b);
}

void RunContext::release(int value) {
  Buf* b = slots_[value];
  if (!b) return;
  slots_[value] = nullptr;
  unref(b);
}

void RunContext::run_block(const Block& block) {
  for (int v : block.release_at_entry) release(v);
  Profile* profile = Profile::get();
  for (const auto& step : block.steps) {
    if (profile) {
      const auto start = std::chrono::steady_clock::now();
      step->execute(*this);
      profile->add(*step, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    } else {
      step->execute(*this);
    }
    for (int v : step->release_after) release(v);
  }
}

}  // namespace grpo::cpu
