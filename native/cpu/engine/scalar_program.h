// A region of rank-0 ops (a reduce or scatter body) compiled to a register program. It runs one element at a
// time with the same elementwise kernels (n = 1), for bodies that have no fast path.
#pragma once

#include <memory>
#include <vector>

#include "kernels.h"
#include "runtime.h"

namespace grpo::cpu {

class ScalarProgram {
 public:
  // Throws CompileError for ops that are not scalar-capable. Values of enclosing regions that the body reads
  // (captured, rank 0) are loaded from the run's slots by load_captured().
  ScalarProgram(const ir::Function& fn, const ir::Region& region);

  // Registers hold one element each (in their low bytes). Arguments are registers 0..num_args-1.
  std::vector<uint64_t> initial_registers() const { return initial_; }
  void load_captured(const RunContext& ctx, uint64_t* regs) const;
  void run(uint64_t* regs) const;

  int num_args() const { return num_args_; }
  const std::vector<int>& result_registers() const { return results_; }
  const std::vector<int>& captured_values() const { return captured_; }

 private:
  enum class Kind { kUnary, kBinary, kSelect, kClamp, kCopy };
  struct Instr {
    Kind kind;
    UnaryFn unary = nullptr;
    BinaryFn binary = nullptr;
    ClampFn clamp = nullptr;
    size_t elem_size = 0;
    int a = 0, b = 0, c = 0, out = 0;
  };
  int num_args_ = 0;
  std::vector<Instr> code_;
  std::vector<int> results_;
  std::vector<uint64_t> initial_;
  std::vector<int> captured_;           // outer value ids
  std::vector<int> captured_registers_;  // where each is loaded
  std::vector<size_t> captured_sizes_;
};

}  // namespace grpo::cpu
