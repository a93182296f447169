// Steps for data movement ops (reshape, broadcast, transpose, reverse, slice, dynamic slices, concatenate, pad)
// and for iota and constant.
// GCC vectorises loops with unknown trip counts only at -O3, and loops with float compares only without
// trapping math (values are unchanged; FP exception flags are not part of our semantics).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math")
#endif
#include <algorithm>

#include "attrs.h"
#include "kernels.h"
#include "layout.h"
#include "steps.h"
#include "threads.h"

namespace grpo::cpu {

namespace {

using ir::OpKind;

std::unique_ptr<Step> lambda_step(std::function<void(RunContext&, const Step&)> fn) {
  auto step = std::make_unique<LambdaStep>();
  step->fn = std::move(fn);
  return step;
}

std::unique_ptr<Step> alias_step() {
  return lambda_step([](RunContext& ctx, const Step& s) {
    for (size_t i = 0; i < s.outputs.size(); ++i) ctx.alias(s.outputs[i], s.inputs[i]);
  });
}

// Output <- the plan applied to (input + byte offset).
std::unique_ptr<Step> copy_step(CopyPlan plan, int64_t src_offset_elems, size_t out_bytes) {
  const int64_t offset = src_offset_elems * int64_t(plan.elem_size);
  return lambda_step([plan = std::move(plan), offset, out_bytes](RunContext& ctx, const Step& s) {
    const char* src = static_cast<const char*>(ctx.in(s.inputs[0])) + offset;
    void* dst = ctx.alloc(s.outputs[0], out_bytes);
    run_copy(plan, src, dst);
  });
}

template <class T>
T iota_value(int64_t k) {
  T v;
  if constexpr (std::is_same_v<T, bf16>) v.bits = float_to_bf16(float(k));
  else v = T(k);
  return v;
}

// y[o, k, i] = k for o < outer, k < n, i < inner, over the engine's threads. An iota along the last axis (inner
// 1: the column index of an argmax over a [B, V] vocabulary, 8 MB at B = 8) is written as runs of consecutive k
// that the compiler vectorises, rather than one fill call per element.
template <class T>
void iota_fill(void* out, int64_t outer, int64_t n, int64_t inner) {
  T* y = static_cast<T*>(out);
  parallel_for(outer * n, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(inner, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1;) {
      const int64_t o = r / n, k0 = r - o * n, k1 = std::min(n, k0 + (r1 - r));
      if (inner == 1) {
        T* row = y + o * n;
        for (int64_t k = k0; k < k1; ++k) row[k] = iota_value<T>(k);
      } else {
        for (int64_t k = k0; k < k1; ++k) std::fill_n(y + (o * n + k) * inner, inner, iota_value<T>(k));
      }
      r += k1 - k0;
    }
  });
}

std::unique_ptr<Step> make_dynamic_slice(const ir::Function& fn, const ir::Op& op) {
  const TensorType& in = value_type(fn, op.operands[0]);
  const TensorType& out = value_type(fn, op.results[0]);
  std::vector<int64_t> strides = row_major_strides(in.dims);
  CopyPlan plan = make_copy_plan(dtype_size(in.dtype), out.dims, strides, row_major_strides(out.dims));
  std::vector<DType> index_types;
  for (size_t i = 1; i < op.operands.size(); ++i) index_types.push_back(value_type(fn, op.operands[i]).dtype);
  const size_t out_bytes = out.byte_size();
  return lambda_step([=](RunContext& ctx, const Step& s) {
    int64_t offset = 0;
    for (size_t d = 0; d < strides.size(); ++d) {
      int64_t start = read_scalar_index(ctx, s.inputs[d + 1], index_types[d]);
      offset += clamp64(start, 0, in.dims[d] - out.dims[d]) * strides[d];
    }
    const char* src = static_cast<const char*>(ctx.in(s.inputs[0])) + offset * int64_t(plan.elem_size);
    run_copy(plan, src, ctx.alloc(s.outputs[0], out_bytes));
  });
}

std::unique_ptr<Step> make_dynamic_update_slice(const ir::Function& fn, const ir::Op& op) {
  const TensorType& in = value_type(fn, op.operands[0]);
  const TensorType& upd = value_type(fn, op.operands[1]);
  std::vector<int64_t> strides = row_major_strides(in.dims);
  CopyPlan plan = make_copy_plan(dtype_size(in.dtype), upd.dims, row_major_strides(upd.dims), strides);
  std::vector<DType> index_types;
  for (size_t i = 2; i < op.operands.size(); ++i) index_types.push_back(value_type(fn, op.operands[i]).dtype);
  const size_t bytes = in.byte_size();
  return lambda_step([=](RunContext& ctx, const Step& s) {
    int64_t offset = 0;
    for (size_t d = 0; d < strides.size(); ++d) {
      int64_t start = read_scalar_index(ctx, s.inputs[d + 2], index_types[d]);
      offset += clamp64(start, 0, in.dims[d] - upd.dims[d]) * strides[d];
    }
    const void* operand = ctx.in(s.inputs[0]);
    const void* update = ctx.in(s.inputs[1]);
    bool in_place = false;
    void* out = ctx.alloc_reuse(s, 0, bytes, {0}, &in_place);
    if (!in_place) std::memcpy(out, operand, bytes);
    run_copy(plan, update, static_cast<char*>(out) + offset * int64_t(plan.elem_size));
  });
}

std::unique_ptr<Step> make_pad(const ir::Function& fn, const ir::Op& op) {
  const TensorType& in = value_type(fn, op.operands[0]);
  const TensorType& out = value_type(fn, op.results[0]);
  auto lo = ir::int_list_attr(op, "edge_padding_low");
  auto interior = ir::int_list_attr(op, "interior_padding");
  std::vector<int64_t> in_strides = row_major_strides(in.dims), out_strides = row_major_strides(out.dims);
  // Operand element i of a dim lands at lo + i * (interior + 1); keep the i that land inside the result.
  // Paddings may be near +-2^63 (only the padded size must fit), so positions are computed in 128 bits; the
  // offsets are formed only when something is copied, and then every position lies inside a tensor.
  using Wide = __int128;
  std::vector<int64_t> counts, src_strides, dst_strides;
  Wide src_offset = 0, dst_offset = 0;
  bool empty = false;
  for (size_t d = 0; d < in.dims.size(); ++d) {
    const Wide step = Wide(interior[d]) + 1;
    const Wide first = lo[d] >= 0 ? Wide(0) : (-Wide(lo[d]) + step - 1) / step;
    Wide last = Wide(in.dims[d]) - 1;  // inclusive
    if (last >= 0) {
      const Wide max_pos = Wide(out.dims[d]) - 1 - lo[d];
      last = std::min(last, max_pos < 0 ? Wide(-1) : max_pos / step);
    }
    const Wide count = last - first + 1;
    empty = empty || count <= 0;
    counts.push_back(count <= 0 ? 0 : int64_t(count));
    if (count > 0) {  // then first < in.dims[d] and lo + first * step is a position in the result
      src_offset += first * in_strides[d];
      dst_offset += (lo[d] + first * step) * out_strides[d];
    }
    src_strides.push_back(in_strides[d]);
    dst_strides.push_back(empty ? 0 : int64_t(Wide(out_strides[d]) * step));
  }
  if (empty) src_offset = dst_offset = 0;
  CopyPlan plan = make_copy_plan(dtype_size(in.dtype), counts, src_strides, dst_strides);
  const size_t es = dtype_size(in.dtype);
  const int64_t total = out.num_elements();
  const size_t bytes = out.byte_size();
  return lambda_step([=](RunContext& ctx, const Step& s) {
    void* y = ctx.alloc(s.outputs[0], bytes);
    fill_elements(y, ctx.in(s.inputs[1]), es, total);
    if (plan.count > 0) {
      run_copy(plan, static_cast<const char*>(ctx.in(s.inputs[0])) + int64_t(src_offset) * int64_t(es),
               static_cast<char*>(y) + int64_t(dst_offset) * int64_t(es));
    }
  });
}

std::unique_ptr<Step> make_constant(const ir::Op& op) {
  const ir::DenseData& data = *op.attr("value")->dense;
  const TensorType type = data.type;
  if (data.splat) {
    std::vector<uint8_t> element = data.bytes;
    const int64_t n = type.num_elements();
    const size_t es = dtype_size(type.dtype);
    // Splats are filled per run: the result is writable, so e.g. a scatter into zeros needs no copy.
    return lambda_step([=](RunContext& ctx, const Step& s) {
      void* y = ctx.alloc(s.outputs[0], type.byte_size());
      fill_elements(y, element.data(), es, n);
    });
  }
  auto storage = std::make_shared<Storage>(type.byte_size(), Storage::Uninitialized{});
  if (!data.bytes.empty()) std::memcpy(storage->data(), data.bytes.data(), data.bytes.size());
  return lambda_step([storage](RunContext& ctx, const Step& s) {
    ctx.bind(s.outputs[0], ctx.new_buf(storage, /*writable=*/false));
  });
}

}  // namespace

std::unique_ptr<Step> make_layout_step(const ir::Function& fn, const ir::Op& op) {
  switch (op.kind) {
    case OpKind::kReshape:
    case OpKind::kOptimizationBarrier: return alias_step();
    case OpKind::kConstant: return make_constant(op);
    case OpKind::kDynamicSlice: return make_dynamic_slice(fn, op);
    case OpKind::kDynamicUpdateSlice: return make_dynamic_update_slice(fn, op);
    case OpKind::kPad: return make_pad(fn, op);
    default: break;
  }
  const TensorType& out = value_type(fn, op.results[0]);
  const size_t es = dtype_size(out.dtype);
  const std::vector<int64_t> out_strides = row_major_strides(out.dims);
  switch (op.kind) {
    case OpKind::kBroadcastInDim: {
      const TensorType& in = value_type(fn, op.operands[0]);
      auto bdims = ir::int_list_attr(op, "broadcast_dimensions");
      bool identity = in.dims == out.dims;
      for (size_t i = 0; i < bdims.size(); ++i) identity = identity && bdims[i] == int64_t(i);
      if (identity) return alias_step();
      std::vector<int64_t> in_strides = row_major_strides(in.dims), src(out.dims.size(), 0);
      for (size_t i = 0; i < bdims.size(); ++i) {
        if (in.dims[i] == out.dims[bdims[i]]) src[bdims[i]] = in_strides[i];
      }
      return copy_step(make_copy_plan(es, out.dims, src, out_strides), 0, out.byte_size());
    }
    case OpKind::kTranspose: {
      const TensorType& in = value_type(fn, op.operands[0]);
      auto perm = ir::int_list_attr(op, "permutation");
      std::vector<int64_t> in_strides = row_major_strides(in.dims), src;
      bool identity = true;
      for (size_t i = 0; i < perm.size(); ++i) {
        src.push_back(in_strides[perm[i]]);
        identity = identity && perm[i] == int64_t(i);
      }
      if (identity) return alias_step();
      return copy_step(make_copy_plan(es, out.dims, src, out_strides), 0, out.byte_size());
    }
    case OpKind::kReverse: {
      auto dims = ir::int_list_attr(op, "dimensions");
      std::vector<int64_t> src = out_strides;
      int64_t offset = 0;
      for (int64_t d : dims) {
        if (out.dims[d] == 0) continue;
        offset += (out.dims[d] - 1) * out_strides[d];
        src[d] = -out_strides[d];
      }
      return copy_step(make_copy_plan(es, out.dims, src, out_strides), offset, out.byte_size());
    }
    case OpKind::kSlice: {
      const TensorType& in = value_type(fn, op.operands[0]);
      auto start = ir::int_list_attr(op, "start_indices");
      auto strides = ir::int_list_attr(op, "strides", false);
      if (strides.empty()) strides.assign(in.dims.size(), 1);
      std::vector<int64_t> in_strides = row_major_strides(in.dims), src;
      int64_t offset = 0;
      for (size_t d = 0; d < in.dims.size(); ++d) {
        offset += start[d] * in_strides[d];
        src.push_back(in_strides[d] * strides[d]);
      }
      if (in.dims == out.dims) return alias_step();
      return copy_step(make_copy_plan(es, out.dims, src, out_strides), offset, out.byte_size());
    }
    case OpKind::kConcatenate: {
      const int64_t dim = ir::int_attr(op, "dimension");
      std::vector<CopyPlan> plans;
      std::vector<int64_t> offsets;
      int64_t offset = 0;
      for (int v : op.operands) {
        const TensorType& in = value_type(fn, v);
        plans.push_back(make_copy_plan(es, in.dims, row_major_strides(in.dims), out_strides));
        offsets.push_back(offset * out_strides[dim] * int64_t(es));
        offset += in.dims[dim];
      }
      const size_t bytes = out.byte_size();
      return lambda_step([=](RunContext& ctx, const Step& s) {
        char* y = static_cast<char*>(ctx.alloc(s.outputs[0], bytes));
        for (size_t i = 0; i < plans.size(); ++i) run_copy(plans[i], ctx.in(s.inputs[i]), y + offsets[i]);
      });
    }
    case OpKind::kIota: {
      const int64_t d = ir::int_attr(op, "iota_dimension");
      int64_t outer = 1, inner = 1;
      for (int64_t i = 0; i < d; ++i) outer *= out.dims[i];
      for (size_t i = d + 1; i < out.dims.size(); ++i) inner *= out.dims[i];
      const int64_t n = out.dims[d];
      const DType dtype = out.dtype;
      const size_t bytes = out.byte_size();
      return lambda_step([=](RunContext& ctx, const Step& s) {
        void* y = ctx.alloc(s.outputs[0], bytes);
        dispatch_dtype(dtype, [&](auto tag) {
          using T = decltype(tag);
          if constexpr (!kIsBool<T>) iota_fill<T>(y, outer, n, inner);
        });
      });
    }
    default: ir::op_error(op, "is not a layout op");
  }
}

}  // namespace grpo::cpu
