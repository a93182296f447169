// Strided copies: the one primitive behind broadcast, transpose, slice, pad, concatenate, dynamic slices,
// reverse and gather windows. Plans are built at compile time; a run only walks them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace grpo::cpu {

struct CopyPlan {
  size_t elem_size = 4;
  std::vector<int64_t> dims;         // coalesced, size-1 dims dropped; innermost last
  std::vector<int64_t> src_strides;  // in elements; 0 repeats (broadcast), negative walks backwards (reverse)
  std::vector<int64_t> dst_strides;
  int64_t count = 0;
  bool tile_2d = false;  // the two innermost dims are a transpose: copy them in cache-sized tiles
};

CopyPlan make_copy_plan(size_t elem_size, std::vector<int64_t> dims, std::vector<int64_t> src_strides,
                        std::vector<int64_t> dst_strides);

// Copies plan.count elements from src (base of element 0) to dst. Splits big copies across threads.
void run_copy(const CopyPlan& plan, const void* src, void* dst);

}  // namespace grpo::cpu
