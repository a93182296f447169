// The strided copy engine (see layout.h).
// GCC vectorises loops with unknown trip counts only at -O3, and loops with float compares only without
// trapping math (values are unchanged; FP exception flags are not part of our semantics).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math")
#endif
#include "layout.h"

#include <algorithm>
#include <cstring>

#include "threads.h"

namespace grpo::cpu {

CopyPlan make_copy_plan(size_t elem_size, std::vector<int64_t> dims, std::vector<int64_t> src_strides,
                        std::vector<int64_t> dst_strides) {
  CopyPlan p;
  p.elem_size = elem_size;
  p.count = 1;
  for (int64_t d : dims) p.count *= d;
  if (p.count == 0) return p;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == 1) continue;
    if (!p.dims.empty() && p.src_strides.back() == src_strides[i] * dims[i] &&
        p.dst_strides.back() == dst_strides[i] * dims[i]) {
      // Merge with the previous (outer) dim: together they walk memory like one longer dim.
      p.dims.back() *= dims[i];
      p.src_strides.back() = src_strides[i];
      p.dst_strides.back() = dst_strides[i];
      continue;
    }
    p.dims.push_back(dims[i]);
    p.src_strides.push_back(src_strides[i]);
    p.dst_strides.push_back(dst_strides[i]);
  }
  if (p.dims.empty()) {
    p.dims = {1};
    p.src_strides = {1};
    p.dst_strides = {1};
  }
  size_t r = p.dims.size();
  p.tile_2d = r >= 2 && p.dst_strides[r - 1] == 1 && p.src_strides[r - 1] != 1 && p.src_strides[r - 1] != 0 &&
              p.src_strides[r - 2] == 1 && p.dims[r - 1] >= 8 && p.dims[r - 2] >= 8;
  return p;
}

namespace {

constexpr int64_t kTile = 32;

template <class E>
void copy_inner(const CopyPlan& p, const E* src, E* dst) {
  const size_t r = p.dims.size();
  const int64_t n = p.dims[r - 1], ss = p.src_strides[r - 1], ds = p.dst_strides[r - 1];
  if (ss == 1 && ds == 1) {
    std::memcpy(dst, src, size_t(n) * sizeof(E));
  } else if (ss == 0 && ds == 1) {
    std::fill_n(dst, n, *src);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i * ds] = src[i * ss];
  }
}

template <class E>
void copy_tile_2d(const CopyPlan& p, const E* src, E* dst) {
  const size_t r = p.dims.size();
  const int64_t na = p.dims[r - 2], nb = p.dims[r - 1];
  const int64_t sa = p.src_strides[r - 2], sb = p.src_strides[r - 1];
  const int64_t da = p.dst_strides[r - 2], db = p.dst_strides[r - 1];
  for (int64_t a0 = 0; a0 < na; a0 += kTile) {
    const int64_t a1 = std::min(na, a0 + kTile);
    for (int64_t b0 = 0; b0 < nb; b0 += kTile) {
      const int64_t b1 = std::min(nb, b0 + kTile);
      for (int64_t a = a0; a < a1; ++a) {
        for (int64_t b = b0; b < b1; ++b) dst[a * da + b * db] = src[a * sa + b * sb];
      }
    }
  }
}

template <class E>
void copy_dims(const CopyPlan& p, size_t d, const E* src, E* dst) {
  const size_t r = p.dims.size();
  if (p.tile_2d && d == r - 2) return copy_tile_2d(p, src, dst);
  if (d == r - 1) return copy_inner(p, src, dst);
  const int64_t n = p.dims[d], ss = p.src_strides[d], ds = p.dst_strides[d];
  for (int64_t i = 0; i < n; ++i) copy_dims(p, d + 1, src + i * ss, dst + i * ds);
}

template <class E>
void copy_typed(const CopyPlan& p, const void* src_raw, void* dst_raw) {
  const E* src = static_cast<const E*>(src_raw);
  E* dst = static_cast<E*>(dst_raw);
  const size_t r = p.dims.size();
  const bool splittable = r >= 2 && !(p.tile_2d && r == 2);
  if (p.count < 2 * kParallelGrain || !splittable) {
    if (r == 1 || !splittable) return copy_dims(p, 0, src, dst);
    return copy_dims(p, 0, src, dst);
  }
  // Split the outermost dim across threads.
  const int64_t inner = p.count / p.dims[0];
  parallel_for(p.dims[0], std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(inner, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t i = begin; i < end; ++i) {
                   copy_dims(p, 1, src + i * p.src_strides[0], dst + i * p.dst_strides[0]);
                 }
               });
}

}  // namespace

void run_copy(const CopyPlan& plan, const void* src, void* dst) {
  if (plan.count == 0) return;
  switch (plan.elem_size) {
    case 1: return copy_typed<uint8_t>(plan, src, dst);
    case 2: return copy_typed<uint16_t>(plan, src, dst);
    case 4: return copy_typed<uint32_t>(plan, src, dst);
    default: return copy_typed<uint64_t>(plan, src, dst);
  }
}

}  // namespace grpo::cpu
