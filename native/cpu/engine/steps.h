// Factories that turn one op into a Step with everything precomputed. The planner fills in the Step's
// inputs, outputs and liveness afterwards.
#pragma once

#include <memory>

#include "runtime.h"

namespace grpo::cpu {

std::unique_ptr<Step> make_elementwise_step(const ir::Function& fn, const ir::Op& op);
std::unique_ptr<Step> make_layout_step(const ir::Function& fn, const ir::Op& op);
// positional_index: a two-operand select-style reduce whose index operand was an iota along its one reduced dim,
// left out by the planner (operand 1 then repeats operand 0 and is not read).
std::unique_ptr<Step> make_reduce_step(const ir::Function& fn, const ir::Op& op, bool positional_index = false);
std::unique_ptr<Step> make_dot_step(const ir::Function& fn, const ir::Op& op);
std::unique_ptr<Step> make_gather_step(const ir::Function& fn, const ir::Op& op);
std::unique_ptr<Step> make_scatter_step(const ir::Function& fn, const ir::Op& op);

inline const TensorType& value_type(const ir::Function& fn, int value) { return fn.values[value].type; }

}  // namespace grpo::cpu
