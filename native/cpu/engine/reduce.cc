// reduce: inputs are viewed as [outer, R, inner] (R = the reduced dims) after a transpose when the reduced dims
// are not one contiguous group. Bodies that are one commutative op run as typed loops; select-style bodies over
// (value, index) pairs (argmax/argmin) run from a decision table probed at compile time; anything else runs the
// scalar interpreter.
// GCC vectorises loops with unknown trip counts only at -O3, and loops with float compares only without
// trapping math (values are unchanged; FP exception flags are not part of our semantics).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math")
#endif
#include <algorithm>
#include <array>

#include "layout.h"
#include "reduce_runners.h"
#include "scalar_ops.h"
#include "scalar_program.h"
#include "steps.h"
#include "threads.h"

namespace grpo::cpu {

namespace {

using ir::OpKind;

struct ReduceShape {
  int64_t outer = 1, reduced = 1, inner = 1;
  bool needs_transpose = false;
  CopyPlan transpose;  // per operand element size 1; rebuilt per operand below
  std::vector<int64_t> perm_dims, perm_strides;  // kept dims then reduced dims, with the input's strides
};

ReduceShape reduce_shape(const std::vector<int64_t>& dims, const std::vector<int64_t>& reduce_dims) {
  ReduceShape s;
  std::vector<bool> is_reduced(dims.size(), false);
  for (int64_t d : reduce_dims) is_reduced[d] = true;
  // Groups of non-trivial dims: the direct form needs at most one reduced group.
  int groups = 0, state = -1;
  bool seen_reduced = false;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] == 1) continue;
    int kind = is_reduced[d] ? 1 : 0;
    if (kind != state) {
      if (kind == 1) ++groups;
      state = kind;
    }
    if (kind == 1) {
      s.reduced *= dims[d];
      seen_reduced = true;
    } else if (seen_reduced) {
      s.inner *= dims[d];
    } else {
      s.outer *= dims[d];
    }
  }
  if (groups > 1) {
    s.needs_transpose = true;
    s.outer = s.reduced = 1;
    s.inner = 1;
    std::vector<int64_t> strides = row_major_strides(dims);
    for (int pass = 0; pass < 2; ++pass) {
      for (size_t d = 0; d < dims.size(); ++d) {
        if (is_reduced[d] != (pass == 1)) continue;
        s.perm_dims.push_back(dims[d]);
        s.perm_strides.push_back(strides[d]);
        (pass == 0 ? s.outer : s.reduced) *= dims[d];
      }
    }
  }
  return s;
}

enum class Simple { kNone, kAdd, kMul, kMax, kMin, kAnd, kOr, kXor };

Simple classify_simple(const ir::Region& body) {
  if (body.ops.size() != 2 || body.args.size() != 2) return Simple::kNone;
  const ir::Op& op = body.ops[0];
  const ir::Op& ret = body.ops[1];
  if (op.operands.size() != 2 || ret.operands.size() != 1 || ret.operands[0] != op.results[0]) return Simple::kNone;
  bool args_ok = (op.operands[0] == body.args[0] && op.operands[1] == body.args[1]) ||
                 (op.operands[0] == body.args[1] && op.operands[1] == body.args[0]);
  if (!args_ok) return Simple::kNone;
  switch (op.kind) {
    case OpKind::kAdd: return Simple::kAdd;
    case OpKind::kMul: return Simple::kMul;
    case OpKind::kMax: return Simple::kMax;
    case OpKind::kMin: return Simple::kMin;
    case OpKind::kAnd: return Simple::kAnd;
    case OpKind::kOr: return Simple::kOr;
    case OpKind::kXor: return Simple::kXor;
    default: return Simple::kNone;
  }
}

// ---------------------------------------------------------------- simple (one op) reductions
template <class C, Simple S>
inline C combine(C a, C b) {
  if constexpr (S == Simple::kAdd) return ops::AddOp::f(a, b);
  else if constexpr (S == Simple::kMul) return ops::MulOp::f(a, b);
  else if constexpr (S == Simple::kMax) return ops::MaxOp::f(a, b);
  else if constexpr (S == Simple::kMin) return ops::MinOp::f(a, b);
  else if constexpr (S == Simple::kAnd) return ops::AndOp::f(a, b);
  else if constexpr (S == Simple::kOr) return ops::OrOp::f(a, b);
  else return ops::XorOp::f(a, b);
}

template <class T>
using Compute = std::conditional_t<std::is_same_v<T, bf16>, float, T>;
template <class T>
inline Compute<T> load(const T& x) {
  if constexpr (std::is_same_v<T, bf16>) return bf16_to_float(x.bits);
  else return x;
}
template <class T>
inline T store(Compute<T> x) {
  if constexpr (std::is_same_v<T, bf16>) return bf16{float_to_bf16(x)};
  else return x;
}

// Folds n contiguous elements. f32 sums use 8 interleaved accumulators so the loop vectorises; the order is
// then fixed by n alone (not by the thread count), so results are reproducible. bf16 sums accumulate in f32
// strictly in order and round once (the rule in docs/DECISIONS.md, which the reference device follows too).
template <class T, Simple S>
Compute<T> fold_row(const T* x, int64_t n, Compute<T> acc) {
  using C = Compute<T>;
  if constexpr ((S == Simple::kAdd) && std::is_same_v<T, float>) {
    if (n >= 16) {
      C lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int64_t i = 0;
      for (; i + 8 <= n; i += 8) {
        for (int k = 0; k < 8; ++k) lanes[k] += load(x[i + k]);
      }
      C sum = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
      acc = acc + sum;
      for (; i < n; ++i) acc = acc + load(x[i]);
      return acc;
    }
  }
  if constexpr ((S == Simple::kMax) && std::is_same_v<T, float>) {
    // The vectorised max is the fold's value unless a NaN (which one propagates) or a zero (+0 beats -0) decides.
    if (n >= 64) {
      bool any_nan = false;
      const float m = block_max_ignoring_nan(x, n, &any_nan);
      if (!any_nan && m != 0.0f) return combine<C, S>(acc, m);
    }
  }
  for (int64_t i = 0; i < n; ++i) acc = combine<C, S>(acc, load(x[i]));
  return acc;
}

template <class T, Simple S>
void reduce_simple(const void* in_raw, const void* init_raw, void* out_raw, int64_t outer, int64_t R, int64_t inner) {
  using C = Compute<T>;
  const T* in = static_cast<const T*>(in_raw);
  T* out = static_cast<T*>(out_raw);
  const C init = load(*static_cast<const T*>(init_raw));
  if (inner == 1) {
    constexpr int64_t kBlock = 1 << 16;
    if (outer == 1 && R > 2 * kBlock && !std::is_same_v<T, bf16>) {
      // One long row: fixed-size blocks folded in parallel, then combined in order.
      const int64_t blocks = (R + kBlock - 1) / kBlock;
      std::vector<C> partial(blocks);
      parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) {
          int64_t lo = b * kBlock, n = std::min(R, lo + kBlock) - lo;
          partial[b] = fold_row<T, S>(in + lo, n - 1, load(in[lo]));
        }
      });
      C acc = init;
      for (C p : partial) acc = combine<C, S>(acc, p);
      out[0] = store<T>(acc);
      return;
    }
    parallel_for(outer, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(R, 1)), [&](int64_t o0, int64_t o1) {
      for (int64_t o = o0; o < o1; ++o) out[o] = store<T>(fold_row<T, S>(in + o * R, R, init));
    });
    return;
  }
  // Columns: accumulate whole rows of `inner` elements, which vectorises and keeps the order per column.
  constexpr int64_t kCols = 1024;
  const int64_t col_blocks = (inner + kCols - 1) / kCols;
  parallel_for(outer * col_blocks, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(R * kCols, 1)),
               [&](int64_t t0, int64_t t1) {
                 std::vector<C> acc(kCols);
                 for (int64_t t = t0; t < t1; ++t) {
                   const int64_t o = t / col_blocks, c0 = (t % col_blocks) * kCols;
                   const int64_t nc = std::min(inner, c0 + kCols) - c0;
                   std::fill_n(acc.begin(), nc, init);
                   for (int64_t r = 0; r < R; ++r) {
                     const T* row = in + (o * R + r) * inner + c0;
                     for (int64_t c = 0; c < nc; ++c) acc[c] = combine<C, S>(acc[c], load(row[c]));
                   }
                   for (int64_t c = 0; c < nc; ++c) out[o * inner + c0 + c] = store<T>(acc[c]);
                 }
               });
}

using SimpleFn = void (*)(const void*, const void*, void*, int64_t, int64_t, int64_t);

template <Simple S>
SimpleFn pick_simple(DType dtype) {
  return dispatch_dtype(dtype, [](auto tag) -> SimpleFn {
    using T = decltype(tag);
    using C = Compute<T>;
    constexpr bool bitwise = S == Simple::kAnd || S == Simple::kOr || S == Simple::kXor;
    if constexpr (bitwise && std::is_same_v<C, float>) return nullptr;
    else return &reduce_simple<T, S>;
  });
}

SimpleFn simple_kernel(Simple s, DType dtype) {
  switch (s) {
    case Simple::kAdd: return pick_simple<Simple::kAdd>(dtype);
    case Simple::kMul: return pick_simple<Simple::kMul>(dtype);
    case Simple::kMax: return pick_simple<Simple::kMax>(dtype);
    case Simple::kMin: return pick_simple<Simple::kMin>(dtype);
    case Simple::kAnd: return pick_simple<Simple::kAnd>(dtype);
    case Simple::kOr: return pick_simple<Simple::kOr>(dtype);
    case Simple::kXor: return pick_simple<Simple::kXor>(dtype);
    default: return nullptr;
  }
}

}  // namespace

std::unique_ptr<Step> make_reduce_step(const ir::Function& fn, const ir::Op& op, bool positional_index) {
  const size_t n = op.operands.size() / 2;
  const TensorType& in_type = value_type(fn, op.operands[0]);
  const ReduceShape shape = reduce_shape(in_type.dims, ir::int_list_attr(op, "dimensions"));
  std::vector<size_t> out_bytes, elem_sizes;
  std::vector<CopyPlan> transposes;
  for (size_t i = 0; i < n; ++i) {
    // A positional index operand stands in for an iota the planner dropped: its type is the init's.
    const TensorType& t = value_type(fn, op.operands[n + i]);
    elem_sizes.push_back(dtype_size(t.dtype));
    out_bytes.push_back(value_type(fn, op.results[i]).byte_size());
    if (shape.needs_transpose) {
      transposes.push_back(make_copy_plan(elem_sizes.back(), shape.perm_dims, shape.perm_strides,
                                          row_major_strides(shape.perm_dims)));
    }
  }

  ReduceRunner runner;
  Simple simple = n == 1 ? classify_simple(op.regions[0]) : Simple::kNone;
  SimpleFn simple_fn = simple == Simple::kNone ? nullptr : simple_kernel(simple, in_type.dtype);
  if (simple_fn) {
    runner = [simple_fn](const std::vector<const void*>& in, const std::vector<const void*>& init,
                         const std::vector<void*>& out, RunContext&, int64_t outer, int64_t R, int64_t inner) {
      simple_fn(in[0], init[0], out[0], outer, R, inner);
    };
  }
  if (!runner && n == 2) runner = make_select_reduce(fn, op, positional_index);
  if (positional_index && !runner) ir::op_error(op, "has a positional index but no select-style body");
  if (!runner) runner = make_generic_reduce(fn, op);

  const int64_t in_count = in_type.num_elements();
  auto step = std::make_unique<LambdaStep>();
  step->fn = [=](RunContext& ctx, const Step& s) {
      std::vector<const void*> inputs(n), inits(n);
      std::vector<void*> outputs(n);
      std::vector<std::shared_ptr<Storage>> temps;
      for (size_t i = 0; i < n; ++i) {
        inputs[i] = positional_index && i == 1 ? nullptr : ctx.in(s.inputs[i]);
        inits[i] = ctx.in(s.inputs[n + i]);
        if (shape.needs_transpose) {
          temps.push_back(std::make_shared<Storage>(size_t(in_count) * elem_sizes[i], Storage::Uninitialized{}));
          run_copy(transposes[i], inputs[i], temps.back()->data());
          inputs[i] = temps.back()->data();
        }
      }
      for (size_t i = 0; i < n; ++i) outputs[i] = ctx.alloc(s.outputs[i], out_bytes[i]);
      if (shape.outer * shape.inner == 0) return;
      if (shape.reduced == 0 || in_count == 0) {
        for (size_t i = 0; i < n; ++i) {
          fill_elements(outputs[i], inits[i], elem_sizes[i], int64_t(out_bytes[i] / elem_sizes[i]));
        }
        return;
      }
      runner(inputs, inits, outputs, ctx, shape.outer, shape.reduced, shape.inner);
  };
  return step;
}

}  // namespace grpo::cpu
