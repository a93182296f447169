// Op names, attribute accessors and positions of the parsed form.
#include "ir.h"

#include <unordered_map>

namespace grpo::cpu::ir {

std::string where(SourceLoc loc) {
  return "line " + std::to_string(loc.line) + ", column " + std::to_string(loc.column);
}

bool lookup_op(std::string_view name, OpKind* kind) {
  static const std::unordered_map<std::string_view, OpKind> table = {
      {"stablehlo.negate", OpKind::kNegate},
      {"stablehlo.exponential", OpKind::kExp},
      {"stablehlo.log", OpKind::kLog},
      {"stablehlo.log_plus_one", OpKind::kLog1p},
      {"stablehlo.tanh", OpKind::kTanh},
      {"stablehlo.logistic", OpKind::kLogistic},
      {"stablehlo.sqrt", OpKind::kSqrt},
      {"stablehlo.rsqrt", OpKind::kRsqrt},
      {"stablehlo.abs", OpKind::kAbs},
      {"stablehlo.sign", OpKind::kSign},
      {"stablehlo.floor", OpKind::kFloor},
      {"stablehlo.sine", OpKind::kSin},
      {"stablehlo.cosine", OpKind::kCos},
      {"stablehlo.not", OpKind::kNot},
      {"stablehlo.add", OpKind::kAdd},
      {"stablehlo.subtract", OpKind::kSub},
      {"stablehlo.multiply", OpKind::kMul},
      {"stablehlo.divide", OpKind::kDiv},
      {"stablehlo.power", OpKind::kPow},
      {"stablehlo.maximum", OpKind::kMax},
      {"stablehlo.minimum", OpKind::kMin},
      {"stablehlo.remainder", OpKind::kRem},
      {"stablehlo.and", OpKind::kAnd},
      {"stablehlo.or", OpKind::kOr},
      {"stablehlo.xor", OpKind::kXor},
      {"stablehlo.shift_left", OpKind::kShiftLeft},
      {"stablehlo.shift_right_logical", OpKind::kShiftRightLogical},
      {"stablehlo.shift_right_arithmetic", OpKind::kShiftRightArithmetic},
      {"stablehlo.compare", OpKind::kCompare},
      {"stablehlo.select", OpKind::kSelect},
      {"stablehlo.clamp", OpKind::kClamp},
      {"stablehlo.convert", OpKind::kConvert},
      {"stablehlo.bitcast_convert", OpKind::kBitcastConvert},
      {"stablehlo.broadcast_in_dim", OpKind::kBroadcastInDim},
      {"stablehlo.reshape", OpKind::kReshape},
      {"stablehlo.transpose", OpKind::kTranspose},
      {"stablehlo.slice", OpKind::kSlice},
      {"stablehlo.dynamic_slice", OpKind::kDynamicSlice},
      {"stablehlo.dynamic_update_slice", OpKind::kDynamicUpdateSlice},
      {"stablehlo.concatenate", OpKind::kConcatenate},
      {"stablehlo.pad", OpKind::kPad},
      {"stablehlo.iota", OpKind::kIota},
      {"stablehlo.constant", OpKind::kConstant},
      {"stablehlo.reverse", OpKind::kReverse},
      {"stablehlo.reduce", OpKind::kReduce},
      {"stablehlo.dot_general", OpKind::kDotGeneral},
      {"stablehlo.gather", OpKind::kGather},
      {"stablehlo.scatter", OpKind::kScatter},
      {"stablehlo.while", OpKind::kWhile},
      {"stablehlo.optimization_barrier", OpKind::kOptimizationBarrier},
      {"stablehlo.return", OpKind::kReturn},
      {"func.return", OpKind::kReturn},
  };
  auto it = table.find(name);
  if (it == table.end()) return false;
  *kind = it->second;
  return true;
}

bool is_unary_elementwise(OpKind k) { return k >= OpKind::kNegate && k <= OpKind::kNot; }
bool is_binary_elementwise(OpKind k) { return k >= OpKind::kAdd && k <= OpKind::kShiftRightArithmetic; }

const Attribute* Attribute::field(std::string_view name) const {
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return &items[i];
  }
  return nullptr;
}

bool Attribute::as_ints(std::vector<int64_t>* out) const {
  if (kind == Kind::kIntArray) {
    *out = ints;
    return true;
  }
  if (kind == Kind::kList) {
    out->clear();
    for (const Attribute& item : items) {
      if (item.kind != Kind::kInteger) return false;
      out->push_back(item.integer);
    }
    return true;
  }
  return false;
}

const Attribute* Op::attr(std::string_view attr_name) const {
  for (size_t i = 0; i < attr_names.size(); ++i) {
    if (attr_names[i] == attr_name) return &attr_values[i];
  }
  return nullptr;
}

}  // namespace grpo::cpu::ir
