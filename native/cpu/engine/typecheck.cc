// Shape and element-type rules of every supported op (facts from the StableHLO spec's constraints).
#include <algorithm>
#include <set>

#include "attrs.h"

namespace grpo::cpu::ir {

namespace {

class Checker {
 public:
  explicit Checker(const Function& f) : f_(f) {}

  void check_function() {
    if (f_.param_aliases.size() != f_.params.size()) throw CompileError("internal: alias list size");
    for (size_t i = 0; i < f_.params.size(); ++i) {
      int alias = f_.param_aliases[i];
      if (alias < 0) continue;
      const Value& p = f_.values[f_.params[i]];
      if (alias >= int(f_.result_types.size())) {
        throw CompileError(where(p.loc) + ": tf.aliasing_output = " + std::to_string(alias) + " of " + p.name +
                           " names no result (there are " + std::to_string(f_.result_types.size()) + ")");
      }
      if (f_.result_types[alias].byte_size() != p.type.byte_size()) {
        throw CompileError(where(p.loc) + ": " + p.name + " of type " + p.type.to_string() + " is aliased to result " +
                           std::to_string(alias) + " of type " + f_.result_types[alias].to_string() +
                           " with a different size");
      }
    }
    check_region(f_.body);
    const Op& ret = f_.body.ops.back();
    std::vector<TensorType> types = operand_types(ret);
    if (types != f_.result_types) {
      op_error(ret, "returns (" + list(types) + ") but @" + f_.name + " declares (" + list(f_.result_types) + ")");
    }
  }

 private:
  const Function& f_;

  const TensorType& type(int value) const { return f_.values[value].type; }
  std::vector<TensorType> operand_types(const Op& op) const {
    std::vector<TensorType> t;
    for (int v : op.operands) t.push_back(type(v));
    return t;
  }
  std::vector<TensorType> result_types(const Op& op) const {
    std::vector<TensorType> t;
    for (int v : op.results) t.push_back(type(v));
    return t;
  }
  static std::string list(const std::vector<TensorType>& types) {
    std::string s;
    for (size_t i = 0; i < types.size(); ++i) s += (i ? ", " : "") + types[i].to_string();
    return s;
  }

  void check_region(const Region& region) {
    for (const Op& op : region.ops) check_op(op);
  }

  void arity(const Op& op, size_t operands, size_t results) {
    if (op.operands.size() != operands || op.results.size() != results) {
      op_error(op, "takes " + std::to_string(operands) + " operand(s) and gives " + std::to_string(results) +
                       " result(s), not " + std::to_string(op.operands.size()) + " and " +
                       std::to_string(op.results.size()));
    }
  }
  void expect_result(const Op& op, const TensorType& inferred, int index = 0) {
    const TensorType& declared = type(op.results[index]);
    if (!(declared == inferred)) {
      op_error(op, "result type " + declared.to_string() + " does not match the inferred " + inferred.to_string() +
                       " (operands: " + list(operand_types(op)) + ")");
    }
  }
  void expect_scalar_int(const Op& op, int value, const char* what) {
    const TensorType& t = type(value);
    if (!t.dims.empty() || !is_int(t.dtype)) {
      op_error(op, std::string(what) + " must be a scalar integer tensor, not " + t.to_string());
    }
  }
  static void check_permutation_like(const Op& op, const std::vector<int64_t>& dims, int64_t rank, const char* what,
                                     bool sorted = false) {
    std::set<int64_t> seen;
    for (size_t i = 0; i < dims.size(); ++i) {
      int64_t d = dims[i];
      if (d < 0 || d >= rank || !seen.insert(d).second || (sorted && i > 0 && d < dims[i - 1])) {
        op_error(op, std::string("has invalid ") + what + " [" + join_ints(dims) + "] for rank " + std::to_string(rank));
      }
    }
  }

  // The spec's rule: SIGNED for signed integers, UNSIGNED for unsigned integers and i1, FLOAT or TOTALORDER for
  // floats. An absent compare_type takes the element type's own.
  static void check_compare_type(const Op& op, CompareType ct, DType d) {
    bool ok = true;
    switch (ct) {
      case CompareType::kDefault: return;
      case CompareType::kFloat: case CompareType::kTotalOrder: ok = is_float(d); break;
      case CompareType::kSigned: ok = is_signed_int(d); break;
      case CompareType::kUnsigned: ok = d == DType::kU32 || d == DType::kPred; break;
    }
    if (!ok) {
      static const char* const kNames[] = {"", "FLOAT", "TOTALORDER", "SIGNED", "UNSIGNED"};
      op_error(op, std::string("compare_type ") + kNames[int(ct)] + " contradicts the element type " + dtype_name(d));
    }
  }

  // Shape arithmetic on attribute values from the module text: an overflow is a CompileError, never a wrap.
  static int64_t checked_add(const Op& op, int64_t a, int64_t b, const char* what) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r)) op_error(op, std::string(what) + " overflows 64 bits");
    return r;
  }
  static int64_t checked_mul(const Op& op, int64_t a, int64_t b, const char* what) {
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r)) op_error(op, std::string(what) + " overflows 64 bits");
    return r;
  }
  // Ops with a variable operand count: their count is checked before any operand is looked at.
  void need_operands(const Op& op, size_t at_least) {
    if (op.operands.size() < at_least || op.results.size() != 1) {
      op_error(op, "needs at least " + std::to_string(at_least) + " operand(s) and one result, not " +
                       std::to_string(op.operands.size()) + " and " + std::to_string(op.results.size()));
    }
  }

  void check_elementwise_dtype(const Op& op, DType d) {
    const bool f = is_float(d), i = is_int(d), b = d == DType::kPred;
    bool ok = true;
    switch (op.kind) {
      case OpKind::kNegate: case OpKind::kAbs: case OpKind::kSign: ok = f || i; break;
      case OpKind::kNot: case OpKind::kAnd: case OpKind::kOr: case OpKind::kXor: ok = i || b; break;
      case OpKind::kShiftLeft: case OpKind::kShiftRightLogical:
      case OpKind::kShiftRightArithmetic: ok = i; break;
      case OpKind::kAdd: case OpKind::kMul: case OpKind::kMax: case OpKind::kMin: ok = true; break;
      case OpKind::kSub: case OpKind::kDiv: case OpKind::kRem: case OpKind::kPow: ok = f || i; break;
      default: ok = f; break;  // transcendental and rounding ops
    }
    if (!ok) op_error(op, std::string("does not support element type ") + dtype_name(d));
  }

  void check_op(const Op& op) {
    const OpKind k = op.kind;
    if (is_unary_elementwise(k)) {
      arity(op, 1, 1);
      check_elementwise_dtype(op, type(op.operands[0]).dtype);
      expect_result(op, type(op.operands[0]));
      return;
    }
    if (is_binary_elementwise(k)) {
      arity(op, 2, 1);
      const TensorType& a = type(op.operands[0]);
      const TensorType& b = type(op.operands[1]);
      if (!(a == b)) op_error(op, "operand types differ: " + a.to_string() + " vs " + b.to_string());
      check_elementwise_dtype(op, a.dtype);
      expect_result(op, a);
      return;
    }
    switch (k) {
      case OpKind::kCompare: {
        arity(op, 2, 1);
        const TensorType& a = type(op.operands[0]);
        if (!(a == type(op.operands[1]))) {
          op_error(op, "operand types differ: " + a.to_string() + " vs " + type(op.operands[1]).to_string());
        }
        compare_direction(op);
        check_compare_type(op, compare_type(op), a.dtype);
        expect_result(op, TensorType{DType::kPred, a.dims});
        return;
      }
      case OpKind::kSelect: {
        arity(op, 3, 1);
        const TensorType& p = type(op.operands[0]);
        const TensorType& a = type(op.operands[1]);
        if (p.dtype != DType::kPred || !(p.dims.empty() || p.dims == a.dims)) {
          op_error(op, "predicate " + p.to_string() + " must be i1, scalar or shaped like " + a.to_string());
        }
        if (!(a == type(op.operands[2]))) {
          op_error(op, "branch types differ: " + a.to_string() + " vs " + type(op.operands[2]).to_string());
        }
        expect_result(op, a);
        return;
      }
      case OpKind::kClamp: {
        arity(op, 3, 1);
        const TensorType& x = type(op.operands[1]);
        for (int i : {0, 2}) {
          const TensorType& m = type(op.operands[i]);
          if (m.dtype != x.dtype || !(m.dims.empty() || m.dims == x.dims)) {
            op_error(op, "bound " + m.to_string() + " must be a scalar or match " + x.to_string());
          }
        }
        expect_result(op, x);
        return;
      }
      case OpKind::kConvert: {
        arity(op, 1, 1);
        TensorType out = type(op.results[0]);
        out.dims = type(op.operands[0]).dims;
        expect_result(op, out);
        return;
      }
      case OpKind::kBitcastConvert: {
        arity(op, 1, 1);
        const TensorType& in = type(op.operands[0]);
        const TensorType& out = type(op.results[0]);
        if (in.dims != out.dims || dtype_size(in.dtype) != dtype_size(out.dtype) || in.dtype == DType::kPred ||
            out.dtype == DType::kPred) {
          op_error(op, "only converts between types of one bit width and shape: " + in.to_string() + " -> " +
                           out.to_string());
        }
        return;
      }
      case OpKind::kBroadcastInDim: {
        arity(op, 1, 1);
        const TensorType& in = type(op.operands[0]);
        const TensorType& out = type(op.results[0]);
        std::vector<int64_t> dims = int_list_attr(op, "broadcast_dimensions");
        if (dims.size() != in.dims.size()) op_error(op, "broadcast_dimensions must have one entry per operand dim");
        check_permutation_like(op, dims, int64_t(out.dims.size()), "broadcast_dimensions");
        for (size_t i = 0; i < dims.size(); ++i) {
          if (in.dims[i] != 1 && in.dims[i] != out.dims[dims[i]]) {
            op_error(op, "cannot broadcast " + in.to_string() + " to " + out.to_string() + " with dimensions [" +
                             join_ints(dims) + "]");
          }
        }
        if (in.dtype != out.dtype) op_error(op, "changes the element type");
        return;
      }
      case OpKind::kReshape: {
        arity(op, 1, 1);
        const TensorType& in = type(op.operands[0]);
        const TensorType& out = type(op.results[0]);
        if (in.dtype != out.dtype || in.num_elements() != out.num_elements()) {
          op_error(op, "cannot reshape " + in.to_string() + " to " + out.to_string());
        }
        return;
      }
      case OpKind::kTranspose: {
        arity(op, 1, 1);
        const TensorType& in = type(op.operands[0]);
        std::vector<int64_t> perm = int_list_attr(op, "permutation");
        if (perm.size() != in.dims.size()) op_error(op, "permutation must have one entry per dim");
        check_permutation_like(op, perm, int64_t(in.dims.size()), "permutation");
        TensorType out{in.dtype, {}};
        for (int64_t p : perm) out.dims.push_back(in.dims[p]);
        expect_result(op, out);
        return;
      }
      case OpKind::kReverse: {
        arity(op, 1, 1);
        check_permutation_like(op, int_list_attr(op, "dimensions"), int64_t(type(op.operands[0]).dims.size()),
                               "dimensions");
        expect_result(op, type(op.operands[0]));
        return;
      }
      case OpKind::kSlice: {
        arity(op, 1, 1);
        const TensorType& in = type(op.operands[0]);
        auto start = int_list_attr(op, "start_indices");
        auto limit = int_list_attr(op, "limit_indices");
        auto strides = int_list_attr(op, "strides", false);
        if (strides.empty()) strides.assign(in.dims.size(), 1);
        size_t r = in.dims.size();
        if (start.size() != r || limit.size() != r || strides.size() != r) {
          op_error(op, "start/limit/strides must have one entry per dim");
        }
        TensorType out{in.dtype, {}};
        for (size_t d = 0; d < r; ++d) {
          if (start[d] < 0 || start[d] > limit[d] || limit[d] > in.dims[d] || strides[d] <= 0) {
            op_error(op, "has an invalid range in dimension " + std::to_string(d) + " of " + in.to_string());
          }
          // ceil((limit - start) / stride) without forming limit - start + stride - 1, which can overflow.
          out.dims.push_back(limit[d] == start[d] ? 0 : (limit[d] - start[d] - 1) / strides[d] + 1);
        }
        expect_result(op, out);
        return;
      }
      case OpKind::kDynamicSlice: {
        need_operands(op, 1);
        const TensorType& in = type(op.operands[0]);
        if (op.operands.size() != in.dims.size() + 1 || op.results.size() != 1) {
          op_error(op, "needs the operand and one start index per dimension");
        }
        for (size_t i = 1; i < op.operands.size(); ++i) expect_scalar_int(op, op.operands[i], "a start index");
        auto sizes = int_list_attr(op, "slice_sizes");
        if (sizes.size() != in.dims.size()) op_error(op, "slice_sizes must have one entry per dim");
        for (size_t d = 0; d < sizes.size(); ++d) {
          if (sizes[d] < 0 || sizes[d] > in.dims[d]) op_error(op, "slice_sizes exceed " + in.to_string());
        }
        expect_result(op, TensorType{in.dtype, sizes});
        return;
      }
      case OpKind::kDynamicUpdateSlice: {
        need_operands(op, 2);
        const TensorType& in = type(op.operands[0]);
        if (op.operands.size() != in.dims.size() + 2 || op.results.size() != 1) {
          op_error(op, "needs the operand, the update and one start index per dimension");
        }
        const TensorType& upd = type(op.operands[1]);
        if (upd.dtype != in.dtype || upd.dims.size() != in.dims.size()) {
          op_error(op, "update " + upd.to_string() + " does not fit " + in.to_string());
        }
        for (size_t d = 0; d < in.dims.size(); ++d) {
          if (upd.dims[d] > in.dims[d]) op_error(op, "update " + upd.to_string() + " is larger than " + in.to_string());
        }
        for (size_t i = 2; i < op.operands.size(); ++i) expect_scalar_int(op, op.operands[i], "a start index");
        expect_result(op, in);
        return;
      }
      case OpKind::kConcatenate: {
        if (op.operands.empty() || op.results.size() != 1) op_error(op, "needs at least one operand");
        int64_t dim = int_attr(op, "dimension");
        TensorType out = type(op.operands[0]);
        if (dim < 0 || dim >= int64_t(out.dims.size())) op_error(op, "has an invalid dimension");
        out.dims[dim] = 0;
        for (int v : op.operands) {
          const TensorType& t = type(v);
          bool ok = t.dtype == out.dtype && t.dims.size() == out.dims.size();
          for (size_t d = 0; ok && d < t.dims.size(); ++d) ok = int64_t(d) == dim || t.dims[d] == out.dims[d];
          if (!ok) op_error(op, "operands do not match: " + list(operand_types(op)));
          out.dims[dim] = checked_add(op, out.dims[dim], t.dims[dim], "the concatenated dimension");
        }
        expect_result(op, out);
        return;
      }
      case OpKind::kPad: {
        arity(op, 2, 1);
        const TensorType& in = type(op.operands[0]);
        const TensorType& pv = type(op.operands[1]);
        if (!pv.dims.empty() || pv.dtype != in.dtype) op_error(op, "padding value must be a scalar of the same type");
        auto lo = int_list_attr(op, "edge_padding_low");
        auto hi = int_list_attr(op, "edge_padding_high");
        auto interior = int_list_attr(op, "interior_padding");
        size_t r = in.dims.size();
        if (lo.size() != r || hi.size() != r || interior.size() != r) op_error(op, "paddings need one entry per dim");
        TensorType out{in.dtype, {}};
        for (size_t d = 0; d < r; ++d) {
          if (interior[d] < 0) op_error(op, "interior padding must not be negative");
          const char* what = "the padded size";
          checked_add(op, interior[d], 1, what);  // the planner steps by interior + 1
          int64_t n = checked_mul(op, std::max<int64_t>(in.dims[d] - 1, 0), interior[d], what);
          n = checked_add(op, checked_add(op, n, in.dims[d], what), checked_add(op, lo[d], hi[d], what), what);
          if (n < 0) op_error(op, "pads dimension " + std::to_string(d) + " to a negative size");
          out.dims.push_back(n);
        }
        expect_result(op, out);
        return;
      }
      case OpKind::kIota: {
        arity(op, 0, 1);
        int64_t d = int_attr(op, "iota_dimension");
        const TensorType& out = type(op.results[0]);
        if (d < 0 || d >= int64_t(out.dims.size())) op_error(op, "has an invalid iota_dimension");
        if (out.dtype == DType::kPred) op_error(op, "does not support i1");
        return;
      }
      case OpKind::kConstant: {
        arity(op, 0, 1);
        const Attribute* v = op.attr("value");
        if (!v || v->kind != Attribute::Kind::kDense) op_error(op, "needs a dense 'value' attribute");
        expect_result(op, v->dense->type);
        return;
      }
      case OpKind::kOptimizationBarrier: {
        if (op.operands.size() != op.results.size()) op_error(op, "needs one result per operand");
        for (size_t i = 0; i < op.operands.size(); ++i) expect_result(op, type(op.operands[i]), int(i));
        return;
      }
      case OpKind::kReturn: return;
      case OpKind::kReduce: return check_reduce(op);
      case OpKind::kDotGeneral: return check_dot(op);
      case OpKind::kGather: return check_gather(op);
      case OpKind::kScatter: return check_scatter(op);
      case OpKind::kWhile: return check_while(op);
      default: op_error(op, "has no type rule");
    }
  }

  // Region arguments and returned types: (args) -> (returns)
  void check_region_signature(const Op& op, const Region& r, const std::vector<TensorType>& args,
                              const std::vector<TensorType>& returns, const char* what) {
    std::vector<TensorType> actual_args;
    for (int v : r.args) actual_args.push_back(type(v));
    if (actual_args != args) {
      op_error(op, std::string(what) + " takes (" + list(actual_args) + ") but should take (" + list(args) + ")");
    }
    check_region(r);
    std::vector<TensorType> actual_returns = operand_types(r.ops.back());
    if (actual_returns != returns) {
      op_error(op, std::string(what) + " returns (" + list(actual_returns) + ") but should return (" + list(returns) +
                       ")");
    }
  }

  void check_reduce(const Op& op) {
    size_t n = op.operands.size() / 2;
    if (n == 0 || op.operands.size() != 2 * n || op.results.size() != n || op.regions.size() != 1) {
      op_error(op, "needs N inputs, N init values, N results and one body");
    }
    const TensorType& first = type(op.operands[0]);
    auto dims = int_list_attr(op, "dimensions");
    check_permutation_like(op, dims, int64_t(first.dims.size()), "dimensions");
    std::vector<TensorType> scalars;
    for (size_t i = 0; i < n; ++i) {
      const TensorType& in = type(op.operands[i]);
      const TensorType& init = type(op.operands[n + i]);
      if (in.dims != first.dims) op_error(op, "inputs have different shapes: " + list(operand_types(op)));
      if (!init.dims.empty() || init.dtype != in.dtype) {
        op_error(op, "init value " + init.to_string() + " must be a scalar of the input's element type");
      }
      TensorType out{in.dtype, {}};
      for (size_t d = 0; d < in.dims.size(); ++d) {
        if (std::find(dims.begin(), dims.end(), int64_t(d)) == dims.end()) out.dims.push_back(in.dims[d]);
      }
      expect_result(op, out, int(i));
      scalars.push_back(TensorType{in.dtype, {}});
    }
    std::vector<TensorType> args = scalars;
    args.insert(args.end(), scalars.begin(), scalars.end());
    check_region_signature(op, op.regions[0], args, scalars, "the reduce body");
  }

  void check_dot(const Op& op) {
    arity(op, 2, 1);
    const TensorType& a = type(op.operands[0]);
    const TensorType& b = type(op.operands[1]);
    DotDims d = dot_dims(op);
    if (d.lhs_batch.size() != d.rhs_batch.size() || d.lhs_contract.size() != d.rhs_contract.size()) {
      op_error(op, "needs as many batching (and contracting) dimensions on each side");
    }
    std::vector<int64_t> lhs_used = d.lhs_batch, rhs_used = d.rhs_batch;
    lhs_used.insert(lhs_used.end(), d.lhs_contract.begin(), d.lhs_contract.end());
    rhs_used.insert(rhs_used.end(), d.rhs_contract.begin(), d.rhs_contract.end());
    check_permutation_like(op, lhs_used, int64_t(a.dims.size()), "lhs dimensions");
    check_permutation_like(op, rhs_used, int64_t(b.dims.size()), "rhs dimensions");
    TensorType out{type(op.results[0]).dtype, {}};
    for (size_t i = 0; i < d.lhs_batch.size(); ++i) {
      if (a.dims[d.lhs_batch[i]] != b.dims[d.rhs_batch[i]]) op_error(op, "batch dimension sizes differ");
      out.dims.push_back(a.dims[d.lhs_batch[i]]);
    }
    for (size_t i = 0; i < d.lhs_contract.size(); ++i) {
      if (a.dims[d.lhs_contract[i]] != b.dims[d.rhs_contract[i]]) {
        op_error(op, "contracting dimension sizes differ: " + a.to_string() + " x " + b.to_string());
      }
    }
    for (size_t i = 0; i < a.dims.size(); ++i) {
      if (std::find(lhs_used.begin(), lhs_used.end(), int64_t(i)) == lhs_used.end()) out.dims.push_back(a.dims[i]);
    }
    for (size_t i = 0; i < b.dims.size(); ++i) {
      if (std::find(rhs_used.begin(), rhs_used.end(), int64_t(i)) == rhs_used.end()) out.dims.push_back(b.dims[i]);
    }
    // Operands of one element type; the result may widen (bf16 x bf16 -> f32, i32 x i32 -> i64) but stays in
    // the operands' kind: an integer dot is exact integer arithmetic, never sgemm.
    const DType rd = out.dtype;
    auto kind = [](DType t) { return is_float(t) ? 0 : is_int(t) ? 1 : 2; };
    if (a.dtype != b.dtype) op_error(op, "operand element types differ: " + a.to_string() + " x " + b.to_string());
    if (kind(rd) != kind(a.dtype)) {
      op_error(op, std::string("result element type ") + dtype_name(rd) + " does not suit " + dtype_name(a.dtype) +
                       " operands");
    }
    expect_result(op, out);
  }

  void check_gather(const Op& op) {
    arity(op, 2, 1);
    const TensorType& operand = type(op.operands[0]);
    const TensorType& indices = type(op.operands[1]);
    GatherDims g = gather_dims(op);
    const int64_t rank = int64_t(operand.dims.size());
    if (!is_int(indices.dtype)) op_error(op, "start indices must be integers");
    if (int64_t(g.slice_sizes.size()) != rank) op_error(op, "slice_sizes must have one entry per operand dim");
    check_permutation_like(op, g.collapsed_slice_dims, rank, "collapsed_slice_dims", true);
    check_permutation_like(op, g.start_index_map, rank, "start_index_map");
    const int64_t ivd = g.index_vector_dim;
    if (ivd < 0 || ivd > int64_t(indices.dims.size())) op_error(op, "has an invalid index_vector_dim");
    int64_t index_len = ivd < int64_t(indices.dims.size()) ? indices.dims[ivd] : 1;
    if (int64_t(g.start_index_map.size()) != index_len) op_error(op, "start_index_map size != index vector size");
    for (int64_t d = 0; d < rank; ++d) {
      if (g.slice_sizes[d] < 0 || g.slice_sizes[d] > operand.dims[d]) op_error(op, "slice_sizes exceed the operand");
    }
    for (int64_t d : g.collapsed_slice_dims) {
      if (g.slice_sizes[d] > 1) op_error(op, "collapsed_slice_dims must have slice size 1");
    }
    std::vector<int64_t> batch, offset;
    for (int64_t d = 0; d < int64_t(indices.dims.size()); ++d) {
      if (d != ivd) batch.push_back(indices.dims[d]);
    }
    for (int64_t d = 0; d < rank; ++d) {
      if (std::find(g.collapsed_slice_dims.begin(), g.collapsed_slice_dims.end(), d) == g.collapsed_slice_dims.end()) {
        offset.push_back(g.slice_sizes[d]);
      }
    }
    const int64_t out_rank = int64_t(batch.size() + offset.size());
    if (g.offset_dims.size() != offset.size()) op_error(op, "offset_dims size does not match the slice rank");
    check_permutation_like(op, g.offset_dims, out_rank, "offset_dims", true);
    TensorType out{operand.dtype, std::vector<int64_t>(out_rank)};
    size_t bi = 0, oi = 0;
    for (int64_t d = 0; d < out_rank; ++d) {
      bool is_offset = std::find(g.offset_dims.begin(), g.offset_dims.end(), d) != g.offset_dims.end();
      out.dims[d] = is_offset ? offset[oi++] : batch[bi++];
    }
    expect_result(op, out);
  }

  void check_scatter(const Op& op) {
    size_t n = op.operands.empty() ? 0 : (op.operands.size() - 1) / 2;
    if (n == 0 || op.operands.size() != 2 * n + 1 || op.results.size() != n || op.regions.size() != 1) {
      op_error(op, "needs N inputs, the indices, N updates, N results and one update body");
    }
    const TensorType& input = type(op.operands[0]);
    const TensorType& indices = type(op.operands[n]);
    const TensorType& updates = type(op.operands[n + 1]);
    ScatterDims s = scatter_dims(op);
    const int64_t rank = int64_t(input.dims.size());
    if (!is_int(indices.dtype)) op_error(op, "scatter indices must be integers");
    check_permutation_like(op, s.update_window_dims, int64_t(updates.dims.size()), "update_window_dims", true);
    check_permutation_like(op, s.inserted_window_dims, rank, "inserted_window_dims", true);
    check_permutation_like(op, s.scatter_dims_to_operand_dims, rank, "scatter_dims_to_operand_dims");
    if (int64_t(s.update_window_dims.size() + s.inserted_window_dims.size()) != rank) {
      op_error(op, "update_window_dims + inserted_window_dims must cover the input rank");
    }
    const int64_t ivd = s.index_vector_dim;
    if (ivd < 0 || ivd > int64_t(indices.dims.size())) op_error(op, "has an invalid index_vector_dim");
    int64_t index_len = ivd < int64_t(indices.dims.size()) ? indices.dims[ivd] : 1;
    if (int64_t(s.scatter_dims_to_operand_dims.size()) != index_len) {
      op_error(op, "scatter_dims_to_operand_dims size != index vector size");
    }
    std::vector<int64_t> scatter_sizes, window_bounds;
    for (int64_t d = 0; d < int64_t(indices.dims.size()); ++d) {
      if (d != ivd) scatter_sizes.push_back(indices.dims[d]);
    }
    for (int64_t d = 0; d < rank; ++d) {
      auto& ins = s.inserted_window_dims;
      if (std::find(ins.begin(), ins.end(), d) == ins.end()) window_bounds.push_back(input.dims[d]);
    }
    size_t si = 0, wi = 0;
    bool ok = updates.dims.size() == scatter_sizes.size() + window_bounds.size();
    for (int64_t d = 0; ok && d < int64_t(updates.dims.size()); ++d) {
      auto& uw = s.update_window_dims;
      if (std::find(uw.begin(), uw.end(), d) != uw.end()) {
        ok = updates.dims[d] <= window_bounds[wi++];
      } else {
        ok = updates.dims[d] == scatter_sizes[si++];
      }
    }
    if (!ok) op_error(op, "updates " + updates.to_string() + " do not fit input " + input.to_string() + " and indices " +
                              indices.to_string());
    std::vector<TensorType> scalars;
    for (size_t i = 0; i < n; ++i) {
      const TensorType& in = type(op.operands[i]);
      const TensorType& up = type(op.operands[n + 1 + i]);
      if (in.dims != input.dims || up.dims != updates.dims || up.dtype != in.dtype) {
        op_error(op, "inputs and updates must match: " + list(operand_types(op)));
      }
      expect_result(op, in, int(i));
      scalars.push_back(TensorType{in.dtype, {}});
    }
    std::vector<TensorType> args = scalars;
    args.insert(args.end(), scalars.begin(), scalars.end());
    check_region_signature(op, op.regions[0], args, scalars, "the update body");
  }

  void check_while(const Op& op) {
    if (op.regions.size() != 2 || op.operands.size() != op.results.size()) {
      op_error(op, "needs a cond and a body region and one result per operand");
    }
    std::vector<TensorType> carry = operand_types(op);
    if (result_types(op) != carry) op_error(op, "result types must equal operand types (" + list(carry) + ")");
    check_region_signature(op, op.regions[0], carry, {TensorType{DType::kPred, {}}}, "the cond region");
    check_region_signature(op, op.regions[1], carry, carry, "the body region");
  }
};

}  // namespace

void type_check(const Function& function) { Checker(function).check_function(); }

}  // namespace grpo::cpu::ir
