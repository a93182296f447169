// gather and scatter with the general StableHLO index semantics. Per index vector the work is one strided window
// copy (gather; a row memcpy for embedding lookups) or one window update (scatter).
// GCC vectorises loops with unknown trip counts only at -O3, and loops with float compares only without
// trapping math (values are unchanged; FP exception flags are not part of our semantics).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math")
#endif
#include <algorithm>

#include "attrs.h"
#include "layout.h"
#include "scalar_ops.h"
#include "scalar_program.h"
#include "steps.h"
#include "threads.h"

namespace grpo::cpu {

namespace {

using ir::OpKind;

// How the batch positions of a gather result (or the scatter positions of the updates) walk the index tensor.
struct IndexWalk {
  std::vector<int64_t> sizes;           // batch shape, in order
  std::vector<int64_t> index_strides;   // element stride in the index tensor per batch dim
  std::vector<int64_t> other_strides;   // element stride in the result (gather) or updates (scatter) per batch dim
  int64_t vector_stride = 0;            // stride of index_vector_dim (0 when it is implicit)
  int64_t count = 1;

  // Offsets of batch element b in the index tensor and the other tensor.
  void locate(int64_t b, int64_t* index_offset, int64_t* other_offset) const {
    int64_t io = 0, oo = 0;
    for (int d = int(sizes.size()) - 1; d >= 0; --d) {
      int64_t i = b % sizes[d];
      b /= sizes[d];
      io += i * index_strides[d];
      oo += i * other_strides[d];
    }
    *index_offset = io;
    *other_offset = oo;
  }
};

IndexWalk make_walk(const TensorType& indices, int64_t ivd, const std::vector<int64_t>& other_dims_for_batch,
                    const std::vector<int64_t>& other_strides) {
  IndexWalk w;
  std::vector<int64_t> istrides = row_major_strides(indices.dims);
  size_t k = 0;
  for (int64_t d = 0; d < int64_t(indices.dims.size()); ++d) {
    if (d == ivd) {
      w.vector_stride = istrides[d];
      continue;
    }
    w.sizes.push_back(indices.dims[d]);
    w.index_strides.push_back(istrides[d]);
    w.other_strides.push_back(other_strides[other_dims_for_batch[k++]]);
    w.count *= indices.dims[d];
  }
  return w;
}

bool contains(const std::vector<int64_t>& v, int64_t x) { return std::find(v.begin(), v.end(), x) != v.end(); }

}  // namespace

std::unique_ptr<Step> make_gather_step(const ir::Function& fn, const ir::Op& op) {
  const TensorType& operand = value_type(fn, op.operands[0]);
  const TensorType& indices = value_type(fn, op.operands[1]);
  const TensorType& result = value_type(fn, op.results[0]);
  const ir::GatherDims g = ir::gather_dims(op);
  const std::vector<int64_t> op_strides = row_major_strides(operand.dims);
  const std::vector<int64_t> res_strides = row_major_strides(result.dims);
  std::vector<int64_t> batch_positions, window_dims, window_src, window_dst;
  for (int64_t d = 0; d < int64_t(result.dims.size()); ++d) {
    if (!contains(g.offset_dims, d)) batch_positions.push_back(d);
  }
  size_t oi = 0;
  for (int64_t d = 0; d < int64_t(operand.dims.size()); ++d) {
    if (contains(g.collapsed_slice_dims, d)) continue;
    window_dims.push_back(g.slice_sizes[d]);
    window_src.push_back(op_strides[d]);
    window_dst.push_back(res_strides[g.offset_dims[oi++]]);
  }
  const size_t es = dtype_size(operand.dtype);
  CopyPlan window = make_copy_plan(es, window_dims, window_src, window_dst);
  IndexWalk walk = make_walk(indices, g.index_vector_dim, batch_positions, res_strides);
  std::vector<int64_t> map_stride, map_max;
  for (int64_t d : g.start_index_map) {
    map_stride.push_back(op_strides[d]);
    map_max.push_back(operand.dims[d] - g.slice_sizes[d]);
  }
  const DType index_dtype = indices.dtype;
  const size_t bytes = result.byte_size();
  auto step = std::make_unique<LambdaStep>();
  step->fn = [=](RunContext& ctx, const Step& s) {
    const char* src = static_cast<const char*>(ctx.in(s.inputs[0]));
    const void* idx = ctx.in(s.inputs[1]);
    char* dst = static_cast<char*>(ctx.alloc(s.outputs[0], bytes));
    if (window.count == 0 || walk.count == 0) return;
    parallel_for(walk.count, std::max<int64_t>(1, kParallelGrain / window.count), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        int64_t io, ro;
        walk.locate(b, &io, &ro);
        int64_t offset = 0;
        for (size_t k = 0; k < map_stride.size(); ++k) {
          int64_t start = read_int(idx, index_dtype, io + int64_t(k) * walk.vector_stride);
          offset += clamp64(start, 0, map_max[k]) * map_stride[k];
        }
        run_copy(window, src + offset * int64_t(es), dst + ro * int64_t(es));
      }
    });
  };
  return step;
}

namespace {

// Visits every element of a box: f(offset in updates, offset in operand), both in elements.
template <class F>
void for_box(size_t d, const std::vector<int64_t>& count, const std::vector<int64_t>& upd_stride,
             const std::vector<int64_t>& op_stride, int64_t uo, int64_t oo, F& f) {
  const int64_t n = count[d], us = upd_stride[d], os = op_stride[d];
  if (d + 1 == count.size()) {
    for (int64_t i = 0; i < n; ++i) f(uo + i * us, oo + i * os);
    return;
  }
  for (int64_t i = 0; i < n; ++i) for_box(d + 1, count, upd_stride, op_stride, uo + i * us, oo + i * os, f);
}

enum class Combine { kGeneric, kReplace, kAdd, kMul, kMax, kMin, kAnd, kOr };

Combine classify_update(const ir::Region& body) {
  if (body.args.size() != 2) return Combine::kGeneric;
  if (body.ops.size() == 1 && body.ops[0].operands.size() == 1 && body.ops[0].operands[0] == body.args[1]) {
    return Combine::kReplace;
  }
  if (body.ops.size() != 2) return Combine::kGeneric;
  const ir::Op& op = body.ops[0];
  if (op.operands.size() != 2 || body.ops[1].operands.size() != 1 || body.ops[1].operands[0] != op.results[0]) {
    return Combine::kGeneric;
  }
  // The body is applied as body(current, update); commutative ops may name them in either order.
  bool both = (op.operands[0] == body.args[0] && op.operands[1] == body.args[1]) ||
              (op.operands[0] == body.args[1] && op.operands[1] == body.args[0]);
  if (!both) return Combine::kGeneric;
  switch (op.kind) {
    case OpKind::kAdd: return Combine::kAdd;
    case OpKind::kMul: return Combine::kMul;
    case OpKind::kMax: return Combine::kMax;
    case OpKind::kMin: return Combine::kMin;
    case OpKind::kAnd: return Combine::kAnd;
    case OpKind::kOr: return Combine::kOr;
    default: return Combine::kGeneric;
  }
}

template <class T, Combine C>
void combine_element(T* dst, const T* src) {
  using V = std::conditional_t<std::is_same_v<T, bf16>, float, T>;
  V a, b;
  if constexpr (std::is_same_v<T, bf16>) {
    a = bf16_to_float(dst->bits);
    b = bf16_to_float(src->bits);
  } else {
    a = *dst;
    b = *src;
  }
  V r;
  if constexpr (C == Combine::kReplace) r = b;
  else if constexpr (C == Combine::kAdd) r = ops::AddOp::f(a, b);
  else if constexpr (C == Combine::kMul) r = ops::MulOp::f(a, b);
  else if constexpr (C == Combine::kMax) r = ops::MaxOp::f(a, b);
  else if constexpr (C == Combine::kMin) r = ops::MinOp::f(a, b);
  else if constexpr (C == Combine::kAnd && !std::is_same_v<V, float>) r = ops::AndOp::f(a, b);
  else if constexpr (C == Combine::kOr && !std::is_same_v<V, float>) r = ops::OrOp::f(a, b);
  else r = a;
  if constexpr (std::is_same_v<T, bf16>) dst->bits = float_to_bf16(r);
  else *dst = r;
}

}  // namespace

std::unique_ptr<Step> make_scatter_step(const ir::Function& fn, const ir::Op& op) {
  const size_t n = (op.operands.size() - 1) / 2;
  const TensorType& input = value_type(fn, op.operands[0]);
  const TensorType& indices = value_type(fn, op.operands[n]);
  const TensorType& updates = value_type(fn, op.operands[n + 1]);
  const ir::ScatterDims sd = ir::scatter_dims(op);
  const std::vector<int64_t> op_strides = row_major_strides(input.dims);
  const std::vector<int64_t> upd_strides = row_major_strides(updates.dims);
  std::vector<int64_t> scatter_positions, window_sizes, window_upd_stride, window_op_dim;
  for (int64_t d = 0; d < int64_t(updates.dims.size()); ++d) {
    if (!contains(sd.update_window_dims, d)) scatter_positions.push_back(d);
  }
  size_t wi = 0;
  for (int64_t d = 0; d < int64_t(input.dims.size()); ++d) {
    if (contains(sd.inserted_window_dims, d)) continue;
    const int64_t ud = sd.update_window_dims[wi++];
    window_sizes.push_back(updates.dims[ud]);
    window_upd_stride.push_back(upd_strides[ud]);
    window_op_dim.push_back(d);
  }
  if (window_sizes.empty()) {  // a window of one element
    window_sizes.push_back(1);
    window_upd_stride.push_back(0);
    window_op_dim.push_back(-1);
  }
  std::vector<int64_t> window_op_stride;
  for (int64_t d : window_op_dim) window_op_stride.push_back(d < 0 ? 0 : op_strides[d]);
  const IndexWalk walk = make_walk(indices, sd.index_vector_dim, scatter_positions, upd_strides);
  const std::vector<int64_t> to_operand = sd.scatter_dims_to_operand_dims;
  const std::vector<int64_t> dims = input.dims;
  const DType index_dtype = indices.dtype;

  const Combine combine = n == 1 ? classify_update(op.regions[0]) : Combine::kGeneric;
  using ApplyFn = void (*)(void*, const void*, int64_t, int64_t);  // (operand, updates, op offset, upd offset)
  ApplyFn apply = nullptr;
  if (combine != Combine::kGeneric) {
    apply = dispatch_dtype(input.dtype, [&](auto tag) -> ApplyFn {
      using T = decltype(tag);
      auto pick = [&](auto c) -> ApplyFn {
        constexpr Combine kC = decltype(c)::value;
        return [](void* o, const void* u, int64_t oo, int64_t uo) {
          combine_element<T, kC>(static_cast<T*>(o) + oo, static_cast<const T*>(u) + uo);
        };
      };
      switch (combine) {
        case Combine::kReplace: return pick(std::integral_constant<Combine, Combine::kReplace>{});
        case Combine::kAdd: return pick(std::integral_constant<Combine, Combine::kAdd>{});
        case Combine::kMul: return pick(std::integral_constant<Combine, Combine::kMul>{});
        case Combine::kMax: return pick(std::integral_constant<Combine, Combine::kMax>{});
        case Combine::kMin: return pick(std::integral_constant<Combine, Combine::kMin>{});
        case Combine::kAnd: return kIsFloat<T> ? nullptr : pick(std::integral_constant<Combine, Combine::kAnd>{});
        case Combine::kOr: return kIsFloat<T> ? nullptr : pick(std::integral_constant<Combine, Combine::kOr>{});
        default: return nullptr;
      }
    });
  }
  std::shared_ptr<ScalarProgram> program;
  if (!apply) program = std::make_shared<ScalarProgram>(fn, op.regions[0]);

  std::vector<size_t> sizes, bytes;
  std::vector<bool> may_reuse;
  for (size_t k = 0; k < n; ++k) {
    const TensorType& t = value_type(fn, op.operands[k]);
    sizes.push_back(dtype_size(t.dtype));
    bytes.push_back(t.byte_size());
    // Writing in place is only safe when the input is not also read as indices or updates.
    may_reuse.push_back(std::count(op.operands.begin(), op.operands.end(), op.operands[k]) == 1);
  }

  auto step = std::make_unique<LambdaStep>();
  step->fn = [=](RunContext& ctx, const Step& s) {
    std::vector<char*> out(n);
    std::vector<const char*> upd(n);
    for (size_t k = 0; k < n; ++k) {
      const void* in = ctx.in(s.inputs[k]);
      upd[k] = static_cast<const char*>(ctx.in(s.inputs[n + 1 + k]));
      bool reused = false;
      out[k] = static_cast<char*>(may_reuse[k] ? ctx.alloc_reuse(s, int(k), bytes[k], {int(k)}, &reused)
                                               : ctx.alloc(s.outputs[k], bytes[k]));
      if (!reused) std::memcpy(out[k], in, bytes[k]);
    }
    const void* idx = ctx.in(s.inputs[n]);
    std::vector<uint64_t> regs;
    if (program) {
      regs = program->initial_registers();
      program->load_captured(ctx, regs.data());
    }
    std::vector<int64_t> start(dims.size(), 0), count(window_sizes.size());
    for (int64_t b = 0; b < walk.count; ++b) {
      int64_t io, uo;
      walk.locate(b, &io, &uo);
      std::fill(start.begin(), start.end(), 0);
      for (size_t k = 0; k < to_operand.size(); ++k) {
        start[to_operand[k]] = read_int(idx, index_dtype, io + int64_t(k) * walk.vector_stride);
      }
      // A window that does not fit inside the operand is skipped whole, as XLA does on every backend (the
      // StableHLO spec leaves out-of-bounds updates to the implementation).
      // Indices are run-time data (any int64): bounds are checked before they enter any arithmetic.
      bool empty = false;
      for (size_t d = 0; d < dims.size(); ++d) {
        bool windowed = std::find(window_op_dim.begin(), window_op_dim.end(), int64_t(d)) != window_op_dim.end();
        if (!windowed && (start[d] < 0 || start[d] >= dims[d])) empty = true;
      }
      for (size_t w = 0; w < window_sizes.size() && !empty; ++w) {
        if (window_op_dim[w] < 0) {
          count[w] = 1;
          continue;
        }
        const int64_t st = start[window_op_dim[w]], lim = dims[window_op_dim[w]];
        if (st < 0 || st > lim - window_sizes[w] || window_sizes[w] == 0) empty = true;
        count[w] = window_sizes[w];
      }
      if (empty) continue;
      int64_t oo = 0;
      for (size_t d = 0; d < dims.size(); ++d) oo += start[d] * op_strides[d];
      int64_t uo_box = uo, oo_box = oo;
      if (apply) {
        auto f = [&](int64_t u, int64_t o) { apply(out[0], upd[0], o, u); };
        for_box(0, count, window_upd_stride, window_op_stride, uo_box, oo_box, f);
      } else {
        const std::vector<int>& res = program->result_registers();
        auto f = [&](int64_t u, int64_t o) {
          for (size_t k = 0; k < n; ++k) {
            regs[k] = 0;
            regs[n + k] = 0;
            std::memcpy(&regs[k], out[k] + o * int64_t(sizes[k]), sizes[k]);
            std::memcpy(&regs[n + k], upd[k] + u * int64_t(sizes[k]), sizes[k]);
          }
          program->run(regs.data());
          for (size_t k = 0; k < n; ++k) std::memcpy(out[k] + o * int64_t(sizes[k]), &regs[res[k]], sizes[k]);
        };
        for_box(0, count, window_upd_stride, window_op_stride, uo_box, oo_box, f);
      }
    }
  };
  return step;
}

}  // namespace grpo::cpu
