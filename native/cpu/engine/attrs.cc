// Reading typed attributes out of an op's attribute dictionary, with errors that name the op.
#include "attrs.h"

namespace grpo::cpu::ir {

void op_error(const Op& op, const std::string& message) {
  throw CompileError(where(op.loc) + ": '" + op.name + "' " + message);
}

std::vector<int64_t> int_list_attr(const Op& op, const char* name, bool required) {
  std::vector<int64_t> out;
  const Attribute* a = op.attr(name);
  if (!a) {
    if (required) op_error(op, std::string("needs the attribute '") + name + "'");
    return out;
  }
  if (a->kind == Attribute::Kind::kDense && a->dense && a->dense->type.dims.size() <= 1 &&
      (a->dense->type.dtype == DType::kS64 || a->dense->type.dtype == DType::kS32)) {
    // The older `dense<[..]> : tensor<Nxi64>` spelling.
    const DenseData& d = *a->dense;
    int64_t n = d.type.num_elements();
    for (int64_t i = 0; i < n; ++i) out.push_back(read_int(d.bytes.data(), d.type.dtype, d.splat ? 0 : i));
    return out;
  }
  if (!a->as_ints(&out)) op_error(op, std::string("attribute '") + name + "' must be an integer list");
  return out;
}

int64_t int_attr(const Op& op, const char* name) {
  const Attribute* a = op.attr(name);
  if (!a) op_error(op, std::string("needs the attribute '") + name + "'");
  if (a->kind != Attribute::Kind::kInteger) op_error(op, std::string("attribute '") + name + "' must be an integer");
  return a->integer;
}

CompareDirection compare_direction(const Op& op) {
  const Attribute* a = op.attr("comparison_direction");
  if (!a) op_error(op, "needs the attribute 'comparison_direction'");
  const std::string& t = a->text;
  std::string word = t.substr(t.find_last_of(' ') + 1);
  if (word == "EQ") return CompareDirection::kEQ;
  if (word == "NE") return CompareDirection::kNE;
  if (word == "GE") return CompareDirection::kGE;
  if (word == "GT") return CompareDirection::kGT;
  if (word == "LE") return CompareDirection::kLE;
  if (word == "LT") return CompareDirection::kLT;
  op_error(op, "has an unknown comparison_direction '" + t + "'");
}

CompareType compare_type(const Op& op) {
  const Attribute* a = op.attr("compare_type");
  if (!a) return CompareType::kDefault;
  const std::string& t = a->text;
  std::string word = t.substr(t.find_last_of(' ') + 1);
  if (word == "FLOAT") return CompareType::kFloat;
  if (word == "TOTALORDER") return CompareType::kTotalOrder;
  if (word == "SIGNED") return CompareType::kSigned;
  if (word == "UNSIGNED") return CompareType::kUnsigned;
  op_error(op, "has an unknown compare_type '" + t + "'");
}

namespace {

const Attribute& struct_attr(const Op& op, const char* name, const char* struct_name) {
  const Attribute* a = op.attr(name);
  if (!a) op_error(op, std::string("needs the attribute '") + name + "'");
  if (a->kind != Attribute::Kind::kStruct || a->text != struct_name) {
    op_error(op, std::string("attribute '") + name + "' must be a #" + struct_name + "<...>");
  }
  return *a;
}

std::vector<int64_t> struct_ints(const Op& op, const Attribute& s, const char* field) {
  std::vector<int64_t> out;
  const Attribute* f = s.field(field);
  if (f && !f->as_ints(&out)) op_error(op, std::string("field '") + field + "' must be an integer list");
  return out;
}

int64_t struct_int(const Op& op, const Attribute& s, const char* field) {
  const Attribute* f = s.field(field);
  if (!f) return 0;
  if (f->kind != Attribute::Kind::kInteger) op_error(op, std::string("field '") + field + "' must be an integer");
  return f->integer;
}

void reject_batching(const Op& op, const Attribute& s, const char* a, const char* b) {
  if (!struct_ints(op, s, a).empty() || !struct_ints(op, s, b).empty()) {
    op_error(op, std::string("with ") + a + " is not supported");
  }
}

// precision_config is absent or a list of exactly two `#stablehlo<precision X>` (one per operand).
std::vector<DotPrecision> dot_precision(const Op& op) {
  std::vector<DotPrecision> out;
  const Attribute* a = op.attr("precision_config");
  if (!a) return out;
  const auto fail = [&](const Attribute& at, const std::string& what) {
    throw CompileError(where(at.loc) + ": '" + op.name + "' attribute 'precision_config' " + what);
  };
  if (a->kind != Attribute::Kind::kList) fail(*a, "must be a list of two #stablehlo<precision X>");
  if (a->items.size() != 2) {
    fail(*a, "must have one entry per operand (2), got " + std::to_string(a->items.size()));
  }
  for (const Attribute& item : a->items) {
    const std::string& t = item.text;
    if (item.kind != Attribute::Kind::kEnum || t.rfind("precision ", 0) != 0) {
      fail(item, "entries must be #stablehlo<precision DEFAULT|HIGH|HIGHEST>");
    }
    std::string word = t.substr(t.find_last_of(' ') + 1);
    if (word == "DEFAULT") out.push_back(DotPrecision::kDefault);
    else if (word == "HIGH") out.push_back(DotPrecision::kHigh);
    else if (word == "HIGHEST") out.push_back(DotPrecision::kHighest);
    else fail(item, "has an unknown precision '" + word + "' (expected DEFAULT, HIGH or HIGHEST)");
  }
  return out;
}

}  // namespace

DotDims dot_dims(const Op& op) {
  const Attribute& s = struct_attr(op, "dot_dimension_numbers", "stablehlo.dot");
  DotDims d;
  d.lhs_batch = struct_ints(op, s, "lhs_batching_dimensions");
  d.rhs_batch = struct_ints(op, s, "rhs_batching_dimensions");
  d.lhs_contract = struct_ints(op, s, "lhs_contracting_dimensions");
  d.rhs_contract = struct_ints(op, s, "rhs_contracting_dimensions");
  d.precision = dot_precision(op);
  return d;
}

GatherDims gather_dims(const Op& op) {
  const Attribute& s = struct_attr(op, "dimension_numbers", "stablehlo.gather");
  reject_batching(op, s, "operand_batching_dims", "start_indices_batching_dims");
  GatherDims d;
  d.offset_dims = struct_ints(op, s, "offset_dims");
  d.collapsed_slice_dims = struct_ints(op, s, "collapsed_slice_dims");
  d.start_index_map = struct_ints(op, s, "start_index_map");
  d.index_vector_dim = struct_int(op, s, "index_vector_dim");
  d.slice_sizes = int_list_attr(op, "slice_sizes");
  return d;
}

ScatterDims scatter_dims(const Op& op) {
  const Attribute& s = struct_attr(op, "scatter_dimension_numbers", "stablehlo.scatter");
  reject_batching(op, s, "input_batching_dims", "scatter_indices_batching_dims");
  ScatterDims d;
  d.update_window_dims = struct_ints(op, s, "update_window_dims");
  d.inserted_window_dims = struct_ints(op, s, "inserted_window_dims");
  d.scatter_dims_to_operand_dims = struct_ints(op, s, "scatter_dims_to_operand_dims");
  d.index_vector_dim = struct_int(op, s, "index_vector_dim");
  return d;
}

}  // namespace grpo::cpu::ir
