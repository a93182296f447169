// Steps for elementwise ops: pick the kernel at compile time, write in place into a dying operand when the sizes
// allow, split big arrays across the thread pool.
// GCC vectorises loops with unknown trip counts only at -O3, and loops with float compares only without
// trapping math (values are unchanged; FP exception flags are not part of our semantics).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math")
#endif
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
    BinaryFn kernel = op.kind == OpKind::kCompare
                          ? compare_kernel(ir::compare_direction(op), ir::compare_type(op), in_dtype)
                          : binary_kernel(op.kind, in_dtype);
    if (!kernel) ir::op_error(op, std::string("has no kernel for ") + dtype_name(in_dtype));
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

}  // namespace grpo::cpu
