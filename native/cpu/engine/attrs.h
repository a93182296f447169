// Typed views of op attributes, shared by the type checker and the planner.
#pragma once

#include "ir.h"

namespace grpo::cpu::ir {

[[noreturn]] void op_error(const Op& op, const std::string& message);  // "line L, column C: 'op' message"

std::vector<int64_t> int_list_attr(const Op& op, const char* name, bool required = true);
int64_t int_attr(const Op& op, const char* name);

enum class CompareDirection { kEQ, kNE, kGE, kGT, kLE, kLT };
enum class CompareType { kDefault, kFloat, kTotalOrder, kSigned, kUnsigned };
CompareDirection compare_direction(const Op& op);
CompareType compare_type(const Op& op);

// StableHLO's per-operand dot precision. The engine multiplies in f32 (or wider) whatever is asked, which is
// what HIGHEST promises; DEFAULT and HIGH only permit a device to be less exact, so honouring all three with
// f32 arithmetic is correct. The values are kept so the plan can say what the module asked for.
enum class DotPrecision { kDefault, kHigh, kHighest };

struct DotDims {
  std::vector<int64_t> lhs_batch, rhs_batch, lhs_contract, rhs_contract;
  // precision_config: empty when absent, else one entry per operand.
  std::vector<DotPrecision> precision;
};
DotDims dot_dims(const Op& op);

struct GatherDims {
  std::vector<int64_t> offset_dims, collapsed_slice_dims, start_index_map, slice_sizes;
  int64_t index_vector_dim = 0;
};
GatherDims gather_dims(const Op& op);

struct ScatterDims {
  std::vector<int64_t> update_window_dims, inserted_window_dims, scatter_dims_to_operand_dims;
  int64_t index_vector_dim = 0;
};
ScatterDims scatter_dims(const Op& op);

}  // namespace grpo::cpu::ir
