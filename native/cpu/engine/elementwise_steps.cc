// Steps for elementwise ops: pick the kernel at compile time, write in place into a dying operand when the sizes
// allow, split big arrays across the thread pool.
// GCC vectorises loops with unknown trip counts only at -O3, and loops with float compares only without
// trapping math (values are unchanged; FP exception flags are not part of our semantics).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math")
#endif
#include <algorithm>
#include <cstring>

#include "attrs.h"
#include "kernels.h"
#include "steps.h"
#include "threads.h"

namespace grpo::cpu {

namespace {

using ir::OpKind;

const char* at(const void* p, int64_t offset) { return static_cast<const char*>(p) + offset; }
char* at(void* p, int64_t offset) { return static_cast<char*>(p) + offset; }

std::unique_ptr<Step> lambda_step(std::function<void(RunContext&, const Step&)> fn) {
  auto step = std::make_unique<LambdaStep>();
  step->fn = std::move(fn);
  return step;
}

// The kernel of a binary elementwise op or a compare on operands of `in_dtype` (an error at the op if none).
BinaryFn binary_or_compare_kernel(const ir::Op& op, DType in_dtype) {
  BinaryFn kernel = op.kind == OpKind::kCompare ? compare_kernel(ir::compare_direction(op), ir::compare_type(op), in_dtype)
                                                : binary_kernel(op.kind, in_dtype);
  if (!kernel) ir::op_error(op, std::string("has no kernel for ") + dtype_name(in_dtype));
  return kernel;
}

// dst = `count` copies of the `es`-byte element at src, in doubling runs (a row of 512 floats: ten copies, where
// one memcpy per element took a microsecond, more than the op itself on the short rows of a decode step).
void fill_copies(char* dst, const void* src, size_t es, int64_t count) {
  if (count <= 0) return;
  std::memcpy(dst, src, es);
  for (int64_t filled = 1; filled < count;) {
    const int64_t k = std::min(filled, count - filled);
    std::memcpy(dst + filled * es, dst, size_t(k) * es);
    filled += k;
  }
}

}  // namespace

std::unique_ptr<Step> make_elementwise_step(const ir::Function& fn, const ir::Op& op) {
  const TensorType& out_type = value_type(fn, op.results[0]);
  const int64_t n = out_type.num_elements();
  const size_t out_bytes = out_type.byte_size();
  const size_t out_es = dtype_size(out_type.dtype);

  if (ir::is_unary_elementwise(op.kind) || op.kind == OpKind::kConvert) {
    const DType in_dtype = value_type(fn, op.operands[0]).dtype;
    const size_t in_es = dtype_size(in_dtype);
    if (op.kind == OpKind::kConvert && in_dtype == out_type.dtype) {
      return lambda_step([](RunContext& ctx, const Step& s) { ctx.alias(s.outputs[0], s.inputs[0]); });
    }
    UnaryFn kernel = op.kind == OpKind::kConvert ? convert_kernel(in_dtype, out_type.dtype)
                                                 : unary_kernel(op.kind, in_dtype);
    if (!kernel) ir::op_error(op, std::string("has no kernel for ") + dtype_name(in_dtype));
    return lambda_step([=](RunContext& ctx, const Step& s) {
      const void* x = ctx.in(s.inputs[0]);
      void* y = in_es == out_es ? ctx.alloc_reuse(s, 0, out_bytes, {0}) : ctx.alloc(s.outputs[0], out_bytes);
      parallel_for(n, kParallelGrain, [&](int64_t b, int64_t e) { kernel(at(x, b * in_es), at(y, b * out_es), e - b); });
    });
  }

  if (ir::is_binary_elementwise(op.kind) || op.kind == OpKind::kCompare) {
    const DType in_dtype = value_type(fn, op.operands[0]).dtype;
    const size_t in_es = dtype_size(in_dtype);
    const BinaryFn kernel = binary_or_compare_kernel(op, in_dtype);
    return lambda_step([=](RunContext& ctx, const Step& s) {
      const void* a = ctx.in(s.inputs[0]);
      const void* b = ctx.in(s.inputs[1]);
      void* y = in_es == out_es ? ctx.alloc_reuse(s, 0, out_bytes, {0, 1}) : ctx.alloc(s.outputs[0], out_bytes);
      parallel_for(n, kParallelGrain, [&](int64_t lo, int64_t hi) {
        kernel(at(a, lo * in_es), at(b, lo * in_es), at(y, lo * out_es), hi - lo);
      });
    });
  }

  switch (op.kind) {
    case OpKind::kSelect: {
      const int64_t pred_step = value_type(fn, op.operands[0]).dims.empty() ? 0 : 1;
      return lambda_step([=](RunContext& ctx, const Step& s) {
        const bool* pred = static_cast<const bool*>(ctx.in(s.inputs[0]));
        const void* a = ctx.in(s.inputs[1]);
        const void* b = ctx.in(s.inputs[2]);
        if (pred_step == 0) {
          // A scalar predicate picks a whole operand: share it instead of copying.
          ctx.alias(s.outputs[0], *pred ? s.inputs[1] : s.inputs[2]);
          return;
        }
        void* y = ctx.alloc_reuse(s, 0, out_bytes, {1, 2});
        parallel_for(n, kParallelGrain, [&](int64_t lo, int64_t hi) {
          select_kernel(out_es, pred + lo, 1, at(a, lo * out_es), at(b, lo * out_es), at(y, lo * out_es), hi - lo);
        });
      });
    }
    case OpKind::kClamp: {
      const int64_t lo_step = value_type(fn, op.operands[0]).dims.empty() ? 0 : 1;
      const int64_t hi_step = value_type(fn, op.operands[2]).dims.empty() ? 0 : 1;
      ClampFn kernel = clamp_kernel(out_type.dtype);
      return lambda_step([=](RunContext& ctx, const Step& s) {
        const void* lo = ctx.in(s.inputs[0]);
        const void* x = ctx.in(s.inputs[1]);
        const void* hi = ctx.in(s.inputs[2]);
        void* y = ctx.alloc_reuse(s, 0, out_bytes, {1});
        parallel_for(n, kParallelGrain, [&](int64_t b, int64_t e) {
          kernel(at(lo, b * lo_step * out_es), lo_step, at(x, b * out_es), at(hi, b * hi_step * out_es), hi_step,
                 at(y, b * out_es), e - b);
        });
      });
    }
    case OpKind::kBitcastConvert:
      return lambda_step([](RunContext& ctx, const Step& s) { ctx.alias(s.outputs[0], s.inputs[0]); });
    default: ir::op_error(op, "is not an elementwise op");
  }
}

BroadcastOperand classify_broadcast_operand(const ir::Function& fn, const ir::Op& broadcast) {
  BroadcastOperand none;
  const TensorType& src = value_type(fn, broadcast.operands[0]);
  const std::vector<int64_t>& out = value_type(fn, broadcast.results[0]).dims;
  const std::vector<int64_t> bdims = ir::int_list_attr(broadcast, "broadcast_dimensions");
  // The source's stride along each output dim (0 where it is repeated).
  std::vector<int64_t> stride(out.size(), 0);
  const std::vector<int64_t> src_strides = row_major_strides(src.dims);
  for (size_t i = 0; i < bdims.size(); ++i) {
    if (src.dims[i] != 1) stride[bdims[i]] = src_strides[i];
  }
  const int64_t src_count = src.num_elements();
  const int rank = int(out.size());
  for (int p = 0; p <= rank; ++p) {
    // Output dims [0, p) and [p, rank): one group follows the source row-major, the other repeats it.
    auto follows = [&](int lo, int hi) {
      int64_t expect = 1, count = 1;
      for (int d = hi - 1; d >= lo; --d) {
        if (out[d] != 1 && stride[d] != expect) return false;
        expect *= out[d];
        count *= out[d];
      }
      return count == src_count;
    };
    auto repeats = [&](int lo, int hi) {
      for (int d = lo; d < hi; ++d) {
        if (out[d] != 1 && stride[d] != 0) return false;
      }
      return true;
    };
    int64_t inner = 1;
    for (int d = p; d < rank; ++d) inner *= out[d];
    if (inner < 16) continue;
    if (follows(0, p) && repeats(p, rank)) return BroadcastOperand{BroadcastOperand::kPerRow, -1, inner};
    if (repeats(0, p) && follows(p, rank)) return BroadcastOperand{BroadcastOperand::kEveryRow, -1, inner};
  }
  return none;
}

std::unique_ptr<Step> make_broadcast_binary_step(const ir::Function& fn, const ir::Op& op, const BroadcastOperand& b) {
  const TensorType& out_type = value_type(fn, op.results[0]);
  const int64_t n = out_type.num_elements();
  const size_t out_bytes = out_type.byte_size();
  const size_t out_es = dtype_size(out_type.dtype);
  const DType in_dtype = value_type(fn, op.operands[0]).dtype;
  const size_t in_es = dtype_size(in_dtype);
  const BinaryFn kernel = binary_or_compare_kernel(op, in_dtype);
  const int full = 1 - b.position;  // the operand with the output's shape
  const int64_t inner = b.inner;
  const bool per_row = b.kind == BroadcastOperand::kPerRow;
  return lambda_step([=](RunContext& ctx, const Step& s) {
    const void* x = ctx.in(s.inputs[full]);
    const void* src = ctx.in(s.inputs[b.position]);
    void* y = in_es == out_es ? ctx.alloc_reuse(s, 0, out_bytes, {full}) : ctx.alloc(s.outputs[0], out_bytes);
    auto call = [&](const void* xs, const void* bs, void* ys, int64_t count) {
      if (full == 0) kernel(xs, bs, ys, count);
      else kernel(bs, xs, ys, count);
    };
    parallel_for(n, kParallelGrain, [&](int64_t lo, int64_t hi) {
      // One source element for a whole row: a run of copies of it (no longer than the row) stands in for the row.
      constexpr int64_t kSplat = 512;
      const int64_t splat_len = std::min(kSplat, inner);
      alignas(64) char splat[kSplat * 8];
      int64_t splat_row = -1;
      for (int64_t pos = lo; pos < hi;) {
        const int64_t row = pos / inner, col = pos % inner;
        const int64_t len = std::min(hi - pos, inner - col);
        if (!per_row) {
          call(at(x, pos * in_es), at(src, col * in_es), at(y, pos * out_es), len);
        } else {
          if (splat_row != row) {
            fill_copies(splat, at(src, row * in_es), in_es, splat_len);
            splat_row = row;
          }
          for (int64_t c = 0; c < len; c += splat_len) {
            const int64_t m = std::min(splat_len, len - c);
            call(at(x, (pos + c) * in_es), splat, at(y, (pos + c) * out_es), m);
          }
        }
        pos += len;
      }
    });
  });
}

}  // namespace grpo::cpu
