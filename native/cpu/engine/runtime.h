// What a compiled program is made of (Steps in Blocks) and the per-run state they execute against.
#pragma once

#include <deque>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ir.h"

namespace grpo::cpu {

// One buffer as the run sees it. Several values can share a Buf (zero-copy reshape, while carries); `refs`
// counts the slots and carries that hold it. A step may write into an input in place only when the input dies
// at that step, the Buf is writable (the run owns it) and no other slot holds it.
struct Buf {
  std::shared_ptr<Storage> storage;
  int refs = 0;
  bool writable = false;
  int donated_param = -1;  // the donated parameter whose storage this is
};

class RunContext;

struct Step {
  virtual ~Step() = default;
  virtual void execute(RunContext& ctx) const = 0;

  std::string op_name;
  ir::SourceLoc loc;
  std::vector<int> inputs;           // value ids read (operands)
  std::vector<int> outputs;          // value ids written
  std::vector<uint8_t> input_dies;   // per operand position: its value's last use in this block is this step
  std::vector<int> release_after;    // values (owned by this block) whose last use is this step
};

struct Block {
  std::vector<int> args;
  std::vector<int> release_at_entry;  // arguments nobody reads
  std::vector<std::unique_ptr<Step>> steps;
  std::vector<int> returns;         // operands of the terminator
  std::vector<int> release_at_end;  // owned values still held after the terminator (the returned ones)
};

struct DonationTarget {
  int value = -1;  // the value returned as the aliased result
  std::shared_ptr<Storage> storage;
};

class RunContext {
 public:
  explicit RunContext(size_t num_values);
  ~RunContext();

  const void* in(int value) const { return slots_[value]->storage->data(); }
  Buf* buf(int value) const { return slots_[value]; }

  // A fresh writable buffer for `value` (from the run's pool, or a donated parameter meant for it).
  void* alloc(int value, size_t bytes);
  // Like alloc, but first tries to take over the storage of one of the step's operands (positions in
  // `candidates`) that dies here and is exclusively owned; `reused` (if given) says whether that happened.
  void* alloc_reuse(const Step& step, int output_position, size_t bytes, std::initializer_list<int> candidates,
                    bool* reused = nullptr);
  // `out` becomes another name for the storage of `in` (no copy).
  void alias(int out, int in);
  void bind(int value, Buf* buf);  // takes one more reference
  Buf* new_buf(std::shared_ptr<Storage> storage, bool writable);
  void release(int value);
  void unref(Buf* buf);

  void run_block(const Block& block);

  std::vector<DonationTarget> donation_targets;  // filled by the executable for donated, aliased parameters
  std::vector<std::pair<int, int>> donation_waiting;  // (param value id, result value id) not yet released

 private:
  std::vector<Buf*> slots_;
  std::deque<Buf> bufs_;
  std::vector<Buf*> free_bufs_;
  // Storage released during this run, by size, reusable by an allocation of that size.
  std::map<size_t, std::vector<std::shared_ptr<Storage>>> pool_;
  size_t pool_entries_ = 0, pool_bytes_ = 0;
  // A decode step releases thousands of small arrays: with a few dozen entries the pool filled with them, and the
  // sampler's 8 MB arrays were allocated afresh (and page-faulted in) every step.
  static constexpr size_t kPoolMaxEntries = 1024;
  static constexpr size_t kPoolMaxBytes = size_t(64) << 20;
};

// A Step whose behaviour is a lambda built by the planner with everything precomputed.
struct LambdaStep : Step {
  std::function<void(RunContext&, const Step&)> fn;
  void execute(RunContext& ctx) const override { fn(ctx, *this); }
};

// Reads a scalar integer operand (a dynamic index).
inline int64_t read_scalar_index(const RunContext& ctx, int value, DType dtype) {
  return read_int(ctx.in(value), dtype, 0);
}

}  // namespace grpo::cpu
