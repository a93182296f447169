// The parsed form of a module: one function, its values, ops, regions and attributes, with text positions.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common.h"

namespace grpo::cpu::ir {

struct SourceLoc {
  int line = 0;
  int column = 0;
};

std::string where(SourceLoc loc);  // "line 3, column 5"

enum class OpKind {
  // unary elementwise
  kNegate, kExp, kLog, kLog1p, kTanh, kLogistic, kSqrt, kRsqrt, kAbs, kSign, kFloor, kSin, kCos, kNot,
  // binary elementwise
  kAdd, kSub, kMul, kDiv, kPow, kMax, kMin, kRem, kAnd, kOr, kXor, kShiftLeft, kShiftRightLogical,
  kShiftRightArithmetic,
  // other elementwise
  kCompare, kSelect, kClamp, kConvert, kBitcastConvert,
  // layout
  kBroadcastInDim, kReshape, kTranspose, kSlice, kDynamicSlice, kDynamicUpdateSlice, kConcatenate, kPad, kIota,
  kConstant, kReverse,
  // the rest
  kReduce, kDotGeneral, kGather, kScatter, kWhile, kOptimizationBarrier, kReturn,
};

// Maps "stablehlo.add" to kAdd; false for an op the engine does not know.
bool lookup_op(std::string_view name, OpKind* kind);
bool is_unary_elementwise(OpKind k);
bool is_binary_elementwise(OpKind k);

// A dense constant: its type and the little-endian bytes of every element (or of one element when splat).
struct DenseData {
  TensorType type;
  bool splat = false;
  std::vector<uint8_t> bytes;
};

struct Attribute {
  enum class Kind { kInteger, kFloat, kBool, kString, kIntArray, kDense, kEnum, kStruct, kList, kDict, kUnit, kOther };
  Kind kind = Kind::kOther;
  SourceLoc loc;
  int64_t integer = 0;
  double floating = 0;
  bool boolean = false;
  std::string text;                   // string value; enum text "comparison_direction LT"; struct name
  std::vector<int64_t> ints;          // array<i64: ...>
  std::vector<std::string> names;     // struct fields / dict keys
  std::vector<Attribute> items;       // struct field values / dict values / list items
  std::shared_ptr<DenseData> dense;

  const Attribute* field(std::string_view name) const;  // struct or dict member
  // Integer list from array<i64: ..> or [1, 2]; false if the attribute is neither.
  bool as_ints(std::vector<int64_t>* out) const;
};

struct Region;

struct Op {
  std::string name;  // "stablehlo.add"
  OpKind kind = OpKind::kReturn;
  SourceLoc loc;     // start of the statement
  std::vector<int> operands;
  std::vector<int> results;
  std::vector<Region> regions;
  std::vector<std::string> attr_names;
  std::vector<Attribute> attr_values;

  const Attribute* attr(std::string_view attr_name) const;
};

struct Region {
  SourceLoc loc;
  std::vector<int> args;
  std::vector<Op> ops;  // the last one is the terminator (stablehlo.return / func.return)
};

struct Value {
  TensorType type;
  std::string name;  // "%x" or "%x#1"
  SourceLoc loc;
};

struct Function {
  std::string name;
  std::vector<int> params;
  std::vector<int> param_aliases;  // tf.aliasing_output per parameter, -1 when absent
  std::vector<TensorType> result_types;
  Region body;
  std::vector<Value> values;  // indexed by value id; ids are unique across all nested regions
};

// Parses a module and returns its @main (or its only function). Throws CompileError with line and column.
Function parse_module(const std::string& text);

// Checks every op's operand and result types against its shape rule. Throws CompileError.
void type_check(const Function& function);

}  // namespace grpo::cpu::ir
