// Select-style reductions (argmax/argmin) and the generic interpreted reduction.
//
// A select-style body only compares its arguments pairwise (values with values, indices with indices) and picks
// one whole (value, index) pair. Its choice then depends only on the order relation of the two values (less,
// equal, greater, or which side is NaN) and of the two indices, so running the body once per relation class at
// compile time yields a complete decision table: the loop then needs no interpreter. This covers argmax and argmin
// with any tie-break and NaN policy the body spells out.
// GCC vectorises loops with unknown trip counts only at -O3, and loops with float compares only without
// trapping math (values are unchanged; FP exception flags are not part of our semantics).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math")
#endif
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "reduce_runners.h"
#include "scalar_program.h"
#include "threads.h"

namespace grpo::cpu {

// The largest f32 of b[0, len) with NaN ignored (b[0] when all are NaN), and whether any is NaN. GCC does not
// vectorise this as a plain loop (the compares become branches), so it is written in vector extensions, 16 lanes,
// and compiled per SIMD width (function multiversioning, as the f32 log and tanh loops).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
float block_max_ignoring_nan(const float* b, int64_t len, bool* any_nan) {
  typedef float VF __attribute__((vector_size(64)));
  typedef int32_t VI __attribute__((vector_size(64)));
  constexpr int64_t kLanes = 16;
  VF m;
  for (int64_t k = 0; k < kLanes; ++k) m[k] = b[0];
  VI nan = {};
  int64_t i = 0;
  for (; i + kLanes <= len; i += kLanes) {
    VF v;
    std::memcpy(&v, b + i, sizeof v);
    m = v > m ? v : m;  // a NaN v leaves m
    nan |= v != v;
  }
  float best = b[0];
  bool bad = false;
  for (int64_t k = 0; k < kLanes; ++k) {
    best = m[k] > best ? m[k] : best;
    bad = bad || nan[k] != 0;
  }
  for (; i < len; ++i) {
    best = b[i] > best ? b[i] : best;
    bad = bad || b[i] != b[i];
  }
  *any_nan = bad;
  return best;
}

namespace {

using ir::OpKind;

constexpr int kIndexClasses = 3;

template <class V>
inline int value_class(V a, V b) {
  if (a < b) return 0;
  if (a == b) return 1;
  if (a > b) return 2;
  bool a_nan = a != a, b_nan = b != b;
  return a_nan ? (b_nan ? 5 : 3) : 4;
}

template <class V>
inline auto comparable(V x) {
  if constexpr (std::is_same_v<V, bf16>) return bf16_to_float(x.bits);
  else return x;
}

// kPositional: the index operand is an iota along the (single) reduced dim that the planner did not materialise;
// the index of element r of a row is r.
template <class V, class I, bool kPositional>
void select_reduce_loop(const std::array<uint8_t, 18>& take_elem, const void* values_raw, const void* indices_raw,
                        const void* init_v, const void* init_i, void* out_v_raw, void* out_i_raw, int64_t outer,
                        int64_t R, int64_t inner) {
  const V* values = static_cast<const V*>(values_raw);
  const I* indices = static_cast<const I*>(indices_raw);
  V* out_v = static_cast<V*>(out_v_raw);
  I* out_i = static_cast<I*>(out_i_raw);
  const V v0 = *static_cast<const V*>(init_v);
  const I i0 = *static_cast<const I*>(init_i);
  parallel_for(outer * inner, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(R, 1)), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t o = t / inner, j = t % inner;
      V best_v = v0;
      I best_i = i0;
      auto best_c = comparable(best_v);
      const int64_t base = o * R * inner + j;
      for (int64_t r = 0; r < R; ++r) {
        const V ev = values[base + r * inner];
        I ei;
        if constexpr (kPositional) ei = I(r);
        else ei = indices[base + r * inner];
        const auto ec = comparable(ev);
        int cls = value_class(best_c, ec) * kIndexClasses + (best_i < ei ? 0 : best_i == ei ? 1 : 2);
        if (take_elem[cls]) {
          best_v = ev;
          best_i = ei;
          best_c = ec;
        }
      }
      out_v[t] = best_v;
      out_i[t] = best_i;
    }
  });
}

// The decision table of argmax with NaN as the largest value and the first index winning ties (two NaNs tie),
// the body src/ops/reduce.ts lowers. Entries where both indices are equal are left out: along a row only the
// init and element 0 share an index, and those two are combined through the body's own table.
bool is_first_nan_max_table(const std::array<uint8_t, 18>& table) {
  // take the element when: it is larger, it ties with a lower index, it is the only NaN, or both are NaN and its
  // index is lower. Value classes: 0 a<b, 1 a==b, 2 a>b, 3 only a NaN, 4 only b NaN, 5 both NaN.
  static constexpr uint8_t want[6][2] = {{1, 1}, {0, 1}, {0, 0}, {0, 0}, {1, 1}, {0, 1}};
  for (int vc = 0; vc < 6; ++vc) {
    if (table[vc * kIndexClasses + 0] != want[vc][0] || table[vc * kIndexClasses + 2] != want[vc][1]) return false;
  }
  return true;
}

// Position of a row's largest f32 under that order: the first NaN if any, else the first of the largest values.
// Per block of kBlock: the vectorised max and NaN flag, then a rescan of the block, still in L1, only when it holds
// a NaN or beats the best so far; one pass over the row from memory.
int64_t first_nan_max_position(const float* x, int64_t n) {
  constexpr int64_t kBlock = 2048;
  int64_t best = 0;
  float best_value = x[0];
  if (best_value != best_value) return 0;
  for (int64_t lo = 0; lo < n; lo += kBlock) {
    const int64_t len = std::min(kBlock, n - lo);
    const float* b = x + lo;
    bool any_nan = false;
    const float block_max = block_max_ignoring_nan(b, len, &any_nan);
    if (any_nan) {
      for (int64_t j = 0; j < len; ++j) {
        if (b[j] != b[j]) return lo + j;  // no earlier block held a NaN
      }
    }
    if (block_max > best_value) {
      for (int64_t j = 0; j < len; ++j) {
        if (b[j] == block_max) {
          best = lo + j;
          best_value = b[j];
          break;
        }
      }
    }
  }
  return best;
}

// Rows of f32 values with positional indices under the first-NaN-max table: the largest element of each row by
// first_nan_max_position, then that element against the init through the table. The table is a total order on
// (value, index) pairs once indices differ, so this is the result of folding init, x[0], x[1], ... in order.
template <class I>
void first_nan_max_rows(const std::array<uint8_t, 18>& table, const float* values, float v0, I i0, float* out_v,
                        I* out_i, int64_t rows, int64_t R) {
  parallel_for(rows, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(R, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t row = r0; row < r1; ++row) {
      const float* x = values + row * R;
      const int64_t p = first_nan_max_position(x, R);
      const float ev = x[p];
      const I ei = I(p);
      const int cls = value_class(v0, ev) * kIndexClasses + (i0 < ei ? 0 : i0 == ei ? 1 : 2);
      const bool take = table[cls];
      out_v[row] = take ? ev : v0;
      out_i[row] = take ? ei : i0;
    }
  });
}

// Is every op of the body a pairwise compare / boolean logic / select of arguments?
bool is_select_style(const ir::Function& fn, const ir::Region& body) {
  const std::vector<int>& a = body.args;
  std::vector<int> bools;
  auto is_bool_value = [&](int v) { return std::find(bools.begin(), bools.end(), v) != bools.end(); };
  auto is_arg = [&](int v) { return std::find(a.begin(), a.end(), v) != a.end(); };
  std::vector<int> picked;  // values that are one of the arguments, chosen by selects
  auto is_pick = [&](int v) { return is_arg(v) || std::find(picked.begin(), picked.end(), v) != picked.end(); };
  for (const ir::Op& op : body.ops) {
    switch (op.kind) {
      case OpKind::kReturn:
        for (int v : op.operands) {
          if (!is_pick(v)) return false;
        }
        return true;
      case OpKind::kCompare: {
        if (ir::compare_type(op) == ir::CompareType::kTotalOrder) return false;
        int x = op.operands[0], y = op.operands[1];
        bool values = (x == a[0] || x == a[2]) && (y == a[0] || y == a[2]);
        bool indices = (x == a[1] || x == a[3]) && (y == a[1] || y == a[3]);
        if (!values && !indices) return false;
        bools.push_back(op.results[0]);
        break;
      }
      case OpKind::kAnd: case OpKind::kOr: case OpKind::kXor: case OpKind::kNot:
        for (int v : op.operands) {
          if (!is_bool_value(v)) return false;
        }
        bools.push_back(op.results[0]);
        break;
      case OpKind::kConstant:
        if (fn.values[op.results[0]].type.dtype != DType::kPred) return false;
        bools.push_back(op.results[0]);
        break;
      case OpKind::kSelect: {
        if (!is_bool_value(op.operands[0])) return false;
        int x = op.operands[1], y = op.operands[2];
        if (is_bool_value(x) && is_bool_value(y)) {
          bools.push_back(op.results[0]);
        } else if (is_pick(x) && is_pick(y)) {
          picked.push_back(op.results[0]);
        } else {
          return false;
        }
        break;
      }
      default: return false;
    }
  }
  return false;
}

template <class V>
void representative_values(int cls, V* a, V* b) {
  auto make = [](double x) -> V {
    if constexpr (std::is_same_v<V, bf16>) return bf16{float_to_bf16(float(x))};
    else return V(x);
  };
  const double nan = std::nan("");
  static const double pairs[6][2] = {{1, 2}, {2, 2}, {2, 1}, {nan, 1}, {1, nan}, {nan, nan}};
  *a = make(pairs[cls][0]);
  *b = make(pairs[cls][1]);
}

template <class V, class I>
ReduceRunner build_select_reduce(const ScalarProgram& program, bool positional) {
  constexpr int kValueClasses = kIsFloat<V> ? 6 : 3;
  std::array<uint8_t, 18> table{};
  std::vector<uint64_t> regs = program.initial_registers();
  const std::vector<int>& res = program.result_registers();
  for (int vc = 0; vc < kValueClasses; ++vc) {
    for (int ic = 0; ic < kIndexClasses; ++ic) {
      V av, bv;
      representative_values<V>(vc, &av, &bv);
      const I ai = I(ic == 0 ? 0 : 1), bi = I(ic == 2 ? 0 : 1);
      std::fill(regs.begin(), regs.end(), 0);
      regs = program.initial_registers();
      std::memcpy(&regs[0], &av, sizeof(V));
      std::memcpy(&regs[1], &ai, sizeof(I));
      std::memcpy(&regs[2], &bv, sizeof(V));
      std::memcpy(&regs[3], &bi, sizeof(I));
      program.run(regs.data());
      V rv;
      I ri;
      std::memcpy(&rv, &regs[res[0]], sizeof(V));
      std::memcpy(&ri, &regs[res[1]], sizeof(I));
      bool is_a = std::memcmp(&rv, &av, sizeof(V)) == 0 && ri == ai;
      bool is_b = std::memcmp(&rv, &bv, sizeof(V)) == 0 && ri == bi;
      if (!is_a && !is_b) return nullptr;  // the pair got mixed: not a consistent selection
      table[vc * kIndexClasses + ic] = !is_a;
    }
  }
  if (!positional) {
    return [table](const std::vector<const void*>& in, const std::vector<const void*>& init,
                   const std::vector<void*>& out, RunContext&, int64_t outer, int64_t R, int64_t inner) {
      select_reduce_loop<V, I, false>(table, in[0], in[1], init[0], init[1], out[0], out[1], outer, R, inner);
    };
  }
  const bool first_nan_max = std::is_same_v<V, float> && is_first_nan_max_table(table);
  return [table, first_nan_max](const std::vector<const void*>& in, const std::vector<const void*>& init,
                                const std::vector<void*>& out, RunContext&, int64_t outer, int64_t R, int64_t inner) {
    if constexpr (std::is_same_v<V, float>) {
      if (first_nan_max && inner == 1) {
        first_nan_max_rows<I>(table, static_cast<const float*>(in[0]), *static_cast<const float*>(init[0]),
                              *static_cast<const I*>(init[1]), static_cast<float*>(out[0]), static_cast<I*>(out[1]),
                              outer, R);
        return;
      }
    }
    select_reduce_loop<V, I, true>(table, in[0], nullptr, init[0], init[1], out[0], out[1], outer, R, inner);
  };
}

}  // namespace

ReduceRunner make_select_reduce(const ir::Function& fn, const ir::Op& op, bool positional) {
  const ir::Region& body = op.regions[0];
  if (body.args.size() != 4 || !is_select_style(fn, body)) return nullptr;
  ScalarProgram program(fn, body);
  if (!program.captured_values().empty()) return nullptr;
  const DType vt = fn.values[body.args[0]].type.dtype;
  const DType it = fn.values[body.args[1]].type.dtype;
  if (!is_int(it) || vt == DType::kPred) return nullptr;
  return dispatch_dtype(vt, [&](auto vtag) -> ReduceRunner {
    using V = decltype(vtag);
    if constexpr (kIsBool<V>) {
      return nullptr;
    } else {
      return dispatch_dtype(it, [&](auto itag) -> ReduceRunner {
        using I = decltype(itag);
        if constexpr (kIsInt<I>) return build_select_reduce<V, I>(program, positional);
        else return nullptr;
      });
    }
  });
}

ReduceRunner make_generic_reduce(const ir::Function& fn, const ir::Op& op) {
  auto program = std::make_shared<ScalarProgram>(fn, op.regions[0]);
  const size_t n = op.operands.size() / 2;
  std::vector<size_t> sizes;
  for (size_t i = 0; i < n; ++i) sizes.push_back(dtype_size(fn.values[op.operands[i]].type.dtype));
  return [program, n, sizes](const std::vector<const void*>& in, const std::vector<const void*>& init,
                             const std::vector<void*>& out, RunContext& ctx, int64_t outer, int64_t R,
                             int64_t inner) {
    std::vector<uint64_t> start = program->initial_registers();
    program->load_captured(ctx, start.data());
    const std::vector<int>& res = program->result_registers();
    parallel_for(outer * inner, std::max<int64_t>(1, 4096 / std::max<int64_t>(R, 1)), [&](int64_t t0, int64_t t1) {
      std::vector<uint64_t> regs = start;
      std::vector<uint64_t> acc(n);
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t o = t / inner, j = t % inner;
        for (size_t k = 0; k < n; ++k) {
          acc[k] = 0;
          std::memcpy(&acc[k], init[k], sizes[k]);
        }
        for (int64_t r = 0; r < R; ++r) {
          const int64_t e = (o * R + r) * inner + j;
          for (size_t k = 0; k < n; ++k) {
            regs[k] = acc[k];
            regs[n + k] = 0;
            std::memcpy(&regs[n + k], static_cast<const char*>(in[k]) + e * int64_t(sizes[k]), sizes[k]);
          }
          program->run(regs.data());
          for (size_t k = 0; k < n; ++k) acc[k] = regs[res[k]];
        }
        for (size_t k = 0; k < n; ++k) std::memcpy(static_cast<char*>(out[k]) + t * int64_t(sizes[k]), &acc[k], sizes[k]);
      }
    });
  };
}

}  // namespace grpo::cpu
