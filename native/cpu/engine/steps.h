// Factories that turn one op into a Step with everything precomputed. The planner fills in the Step's
// inputs, outputs and liveness afterwards.
#pragma once

#include <memory>

#include "runtime.h"

namespace grpo::cpu {

std::unique_ptr<Step> make_elementwise_step(const ir::Function& fn, const ir::Op& op);

// A broadcast_in_dim read directly by a binary elementwise op instead of being written out: the output, viewed as
// [rows, inner], either takes source element `row` for a whole row (kPerRow: [B, 1] -> [B, V]) or the source
// row itself for every row (kEveryRow: [D] -> [B, D]).
struct BroadcastOperand {
  enum Kind { kNone, kPerRow, kEveryRow } kind = kNone;
  int position = -1;  // which operand of the binary op (0 or 1)
  int64_t inner = 0;
};
// The kind of `broadcast` (a broadcast_in_dim op) as such an operand; kNone when it is neither form or its rows are
// too short for a kernel call per row to pay.
BroadcastOperand classify_broadcast_operand(const ir::Function& fn, const ir::Op& broadcast);
// A binary elementwise op or compare whose operand `b.position` is the source of a broadcast of kind b.kind.
std::unique_ptr<Step> make_broadcast_binary_step(const ir::Function& fn, const ir::Op& op, const BroadcastOperand& b);
std::unique_ptr<Step> make_layout_step(const ir::Function& fn, const ir::Op& op);
// positional_index: a two-operand select-style reduce whose index operand was an iota along its one reduced dim,
// left out by the planner (operand 1 then repeats operand 0 and is not read).
std::unique_ptr<Step> make_reduce_step(const ir::Function& fn, const ir::Op& op, bool positional_index = false);
std::unique_ptr<Step> make_dot_step(const ir::Function& fn, const ir::Op& op);
std::unique_ptr<Step> make_gather_step(const ir::Function& fn, const ir::Op& op);
std::unique_ptr<Step> make_scatter_step(const ir::Function& fn, const ir::Op& op);

inline const TensorType& value_type(const ir::Function& fn, int value) { return fn.values[value].type; }

}  // namespace grpo::cpu
