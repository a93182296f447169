// The reduce loops that need a body analysis: select-style (argmax/argmin) and the generic interpreter.
#pragma once

#include <functional>

#include "runtime.h"

namespace grpo::cpu {

// Runs a reduce over inputs laid out as [outer, R, inner]; inits are scalars; outputs are [outer, inner].
using ReduceRunner = std::function<void(const std::vector<const void*>& inputs, const std::vector<const void*>& inits,
                                        const std::vector<void*>& outputs, RunContext& ctx, int64_t outer, int64_t R,
                                        int64_t inner)>;

// A body over (value, index) pairs that only compares and selects: nullptr (empty) when the body is anything else.
// positional: the index operand is an iota along the one reduced dim, not materialised (index = position).
ReduceRunner make_select_reduce(const ir::Function& fn, const ir::Op& op, bool positional);
// The largest f32 of b[0, len) with NaN ignored (b[0] when all are NaN), and whether any element is NaN; vectorised.
float block_max_ignoring_nan(const float* b, int64_t len, bool* any_nan);
// Any body, one element at a time through the scalar interpreter.
ReduceRunner make_generic_reduce(const ir::Function& fn, const ir::Op& op);

}  // namespace grpo::cpu
