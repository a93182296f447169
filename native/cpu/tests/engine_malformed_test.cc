// Malformed modules (issue 6.1) and type rules (issue 6.3): each must be a CompileError naming the line and
// column of the op at fault, never a crash, a wrapped integer or an allocation failure. The op under test is
// always on line 3 of the module (module.../func.func... take lines 1 and 2).
#include <cstdint>

#include "test_harness.h"

using namespace grpo::cpu;
using namespace grpo::cpu::testing;

namespace {

std::string one_op(const std::string& params, const std::string& result, const std::string& op,
                   const std::string& ret = "%r") {
  return module(params, result, "    " + op + "\n    \"func.return\"(" + ret + ") : (" + result + ") -> ()");
}

const char* kAt3 = "line 3, column 5";

}  // namespace

TEST(malformed_operand_counts) {
  // Zero operands where the check used to read operands[0] first.
  CHECK_COMPILE_ERROR(one_op("", "tensor<2xf32>",
                             "%r = \"stablehlo.dynamic_slice\"() {slice_sizes = array<i64: 2>} : () -> tensor<2xf32>"),
                      {kAt3, "dynamic_slice", "operand"});
  CHECK_COMPILE_ERROR(one_op("", "tensor<2xf32>", "%r = \"stablehlo.dynamic_update_slice\"() : () -> tensor<2xf32>"),
                      {kAt3, "dynamic_update_slice", "operand"});
  CHECK_COMPILE_ERROR(one_op("%a: tensor<2xf32>", "tensor<2xf32>",
                             "%r = \"stablehlo.dynamic_update_slice\"(%a) : (tensor<2xf32>) -> tensor<2xf32>"),
                      {kAt3, "dynamic_update_slice"});
  CHECK_COMPILE_ERROR(one_op("", "tensor<2xf32>",
                             "%r = \"stablehlo.concatenate\"() {dimension = 0 : i64} : () -> tensor<2xf32>"),
                      {kAt3, "concatenate"});
  CHECK_COMPILE_ERROR(one_op("", "tensor<2xi1>",
                             "%r = \"stablehlo.compare\"() {comparison_direction = #stablehlo<comparison_direction LT>}"
                             " : () -> tensor<2xi1>"),
                      {kAt3, "compare", "operand"});
  CHECK_COMPILE_ERROR(one_op("", "tensor<2xf32>", "%r = \"stablehlo.add\"() : () -> tensor<2xf32>"), {kAt3, "add"});
  CHECK_COMPILE_ERROR(one_op("%a: tensor<2xf32>", "tensor<2xf32>",
                             "%r = \"stablehlo.dot_general\"(%a) {dot_dimension_numbers = #stablehlo.dot<>} : "
                             "(tensor<2xf32>) -> tensor<2xf32>"),
                      {kAt3, "dot_general"});
  CHECK_COMPILE_ERROR(one_op("%a: tensor<2xf32>", "tensor<2xf32>",
                             "%r = \"stablehlo.select\"(%a, %a) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>"),
                      {kAt3, "select"});
}

TEST(malformed_results_and_regions) {
  // Ops that need regions, given none (or none of the operands they index).
  CHECK_COMPILE_ERROR(one_op("", "tensor<f32>", "%r = \"stablehlo.scatter\"() : () -> tensor<f32>"),
                      {kAt3, "scatter", "needs N inputs"});
  CHECK_COMPILE_ERROR(one_op("", "tensor<f32>", "%r = \"stablehlo.reduce\"() {dimensions = array<i64>} : () -> tensor<f32>"),
                      {kAt3, "reduce", "needs N inputs"});
  CHECK_COMPILE_ERROR(one_op("%a: tensor<f32>, %b: tensor<f32>", "tensor<f32>",
                             "%r = \"stablehlo.reduce\"(%a, %b) {dimensions = array<i64>} : (tensor<f32>, tensor<f32>) "
                             "-> tensor<f32>"),
                      {kAt3, "reduce", "one body"});
  CHECK_COMPILE_ERROR(one_op("%a: tensor<f32>", "tensor<f32>",
                             "%r = \"stablehlo.while\"(%a) : (tensor<f32>) -> tensor<f32>"),
                      {kAt3, "while", "cond"});
  // A result count that does not match: the unary check used to index results[0] of a zero-result op.
  CHECK_COMPILE_ERROR(module("%a: tensor<2xf32>", "tensor<2xf32>",
                             "    \"stablehlo.exponential\"(%a) : (tensor<2xf32>) -> ()\n"
                             "    \"func.return\"(%a) : (tensor<2xf32>) -> ()"),
                      {kAt3, "exponential", "result"});
  CHECK_COMPILE_ERROR(one_op("", "tensor<2xf32>", "%r = \"stablehlo.iota\"() : () -> tensor<2xf32>"),
                      {kAt3, "iota", "iota_dimension"});
  CHECK_COMPILE_ERROR(one_op("", "tensor<2xf32>", "%r = \"stablehlo.constant\"() : () -> tensor<2xf32>"),
                      {kAt3, "constant", "value"});
}

TEST(malformed_attribute_sizes_and_dims) {
  const std::string p = "%a: tensor<2x3xf32>";
  auto op1 = [&](const std::string& result, const std::string& text) {
    return one_op(p, result, "%r = " + text + " : (tensor<2x3xf32>) -> " + result);
  };
  CHECK_COMPILE_ERROR(op1("tensor<3x2xf32>", "\"stablehlo.transpose\"(%a) {permutation = array<i64: 1>}"),
                      {kAt3, "permutation"});
  CHECK_COMPILE_ERROR(op1("tensor<3x2xf32>", "\"stablehlo.transpose\"(%a) {permutation = array<i64: 1, 2>}"),
                      {kAt3, "permutation"});
  CHECK_COMPILE_ERROR(op1("tensor<2x3xf32>", "\"stablehlo.reverse\"(%a) {dimensions = array<i64: 5>}"),
                      {kAt3, "dimensions"});
  CHECK_COMPILE_ERROR(op1("tensor<2x3xf32>", "\"stablehlo.reverse\"(%a) {dimensions = array<i64: -1>}"),
                      {kAt3, "dimensions"});
  CHECK_COMPILE_ERROR(op1("tensor<2x3x4xf32>", "\"stablehlo.broadcast_in_dim\"(%a) {broadcast_dimensions = array<i64: 0, 3>}"),
                      {kAt3, "broadcast_dimensions"});
  CHECK_COMPILE_ERROR(op1("tensor<2x3x4xf32>", "\"stablehlo.broadcast_in_dim\"(%a) {broadcast_dimensions = array<i64: 0>}"),
                      {kAt3, "broadcast_dimensions"});
  CHECK_COMPILE_ERROR(op1("tensor<1x3xf32>",
                          "\"stablehlo.slice\"(%a) {start_indices = array<i64: 0>, limit_indices = array<i64: 1, 3>}"),
                      {kAt3, "one entry per dim"});
  CHECK_COMPILE_ERROR(op1("tensor<1x3xf32>", "\"stablehlo.slice\"(%a) {start_indices = array<i64: 0, 0>, limit_indices = "
                                             "array<i64: 1, 3>, strides = array<i64: 1, 0>}"),
                      {kAt3, "invalid range"});
  CHECK_COMPILE_ERROR(op1("tensor<2x3xf32>", "\"stablehlo.dynamic_slice\"(%a) {slice_sizes = array<i64: 2, 3>}"),
                      {kAt3, "start index"});
  CHECK_COMPILE_ERROR(op1("tensor<2x3xf32>", "\"stablehlo.pad\"(%a, %a) {edge_padding_low = array<i64: 0>}"),
                      {"line 3"});
  CHECK_COMPILE_ERROR(one_op("%a: tensor<2x3xf32>, %z: tensor<f32>", "tensor<f32>",
                             "%r = \"stablehlo.reduce\"(%a, %z) ({\n"
                             "    ^bb0(%x: tensor<f32>, %y: tensor<f32>):\n"
                             "      \"stablehlo.return\"(%x) : (tensor<f32>) -> ()\n"
                             "    }) {dimensions = array<i64: 0, 7>} : (tensor<2x3xf32>, tensor<f32>) -> tensor<f32>"),
                      {kAt3, "dimensions"});
  CHECK_COMPILE_ERROR(one_op("%a: tensor<2x3xf32>, %i: tensor<1x1xi32>", "tensor<1x3xf32>",
                             "%r = \"stablehlo.gather\"(%a, %i) {dimension_numbers = #stablehlo.gather<offset_dims = [1], "
                             "collapsed_slice_dims = [4], start_index_map = [0], index_vector_dim = 1>, slice_sizes = "
                             "array<i64: 1, 3>} : (tensor<2x3xf32>, tensor<1x1xi32>) -> tensor<1x3xf32>"),
                      {kAt3, "collapsed_slice_dims"});
  CHECK_COMPILE_ERROR(one_op("%a: tensor<2x3xf32>, %i: tensor<1x1xi32>", "tensor<1x3xf32>",
                             "%r = \"stablehlo.gather\"(%a, %i) {dimension_numbers = #stablehlo.gather<offset_dims = [1], "
                             "collapsed_slice_dims = [0], start_index_map = [0], index_vector_dim = 1>, slice_sizes = "
                             "array<i64: 1>} : (tensor<2x3xf32>, tensor<1x1xi32>) -> tensor<1x3xf32>"),
                      {kAt3, "slice_sizes"});
  CHECK_COMPILE_ERROR(one_op("%a: tensor<2x3xf32>", "tensor<2x2xf32>",
                             "%r = \"stablehlo.dot_general\"(%a, %a) {dot_dimension_numbers = #stablehlo.dot<"
                             "lhs_contracting_dimensions = [9], rhs_contracting_dimensions = [1]>} : (tensor<2x3xf32>, "
                             "tensor<2x3xf32>) -> tensor<2x2xf32>"),
                      {kAt3, "lhs dimensions"});
}

TEST(malformed_integer_literals) {
  auto iota = [](const std::string& dim, const std::string& type) {
    return one_op("", type, "%r = \"stablehlo.iota\"() {iota_dimension = " + dim + " : i64} : () -> " + type);
  };
  // 2^63 and 2^64 used to wrap to INT64_MIN and 0 (the latter a valid dimension).
  CHECK_COMPILE_ERROR(iota("9223372036854775808", "tensor<2xi32>"), {"line 3", "is out of range"});
  CHECK_COMPILE_ERROR(iota("18446744073709551616", "tensor<2xi32>"), {"line 3", "is out of range"});
  CHECK_COMPILE_ERROR(iota("-9223372036854775809", "tensor<2xi32>"), {"line 3", "is out of range"});
  // INT64_MIN itself parses (negating it was undefined) and is then an invalid dimension.
  CHECK_COMPILE_ERROR(iota("-9223372036854775808", "tensor<2xi32>"), {kAt3, "iota_dimension"});
  // A leading 0 is decimal: 010 is 10, out of range for rank 10 (as octal it would have been 8).
  const std::string rank10 = "tensor<1x1x1x1x1x1x1x1x1x2xi32>";
  CHECK_COMPILE_ERROR(iota("010", rank10), {kAt3, "iota_dimension"});
  // 09 is 9 (base-0 parsing read it as 0 and stopped at the 9).
  CHECK_VALUES(run_module(iota("09", rank10), {})[0], {0, 1});
  CHECK_VALUES(run_module(iota("0x9", rank10), {})[0], {0, 1});
  // Dense integer literals: decimal with leading zeros, and i64 bounds.
  auto constant = [](const std::string& lit, const std::string& type) {
    return one_op("", type, "%r = \"stablehlo.constant\"() {value = dense<" + lit + "> : " + type + "} : () -> " + type);
  };
  CHECK_VALUES(run_module(constant("[010, -010]", "tensor<2xi32>"), {})[0], {10, -10});
  CHECK_VALUES(run_module(constant("-9223372036854775808", "tensor<i64>"), {})[0], {-9223372036854775808.0});
  CHECK_COMPILE_ERROR(constant("-9223372036854775809", "tensor<i64>"), {"line 3", "invalid i64 literal"});
  CHECK_COMPILE_ERROR(constant("18446744073709551616", "tensor<i64>"), {"line 3", "invalid i64 literal"});
  CHECK_VALUES(run_module(constant("[08, 09]", "tensor<2xi32>"), {})[0], {8, 9});  // base 0 rejected these
}

TEST(malformed_shape_arithmetic) {
  // A slice stride near INT64_MAX: limit - start + stride - 1 used to overflow.
  const std::string big_stride =
      one_op("%a: tensor<4xf32>", "tensor<1xf32>",
             "%r = \"stablehlo.slice\"(%a) {start_indices = array<i64: 1>, limit_indices = array<i64: 4>, strides = "
             "array<i64: 9223372036854775807>} : (tensor<4xf32>) -> tensor<1xf32>");
  CHECK_VALUES(run_module(big_stride, {f32({4}, {1, 2, 3, 4})})[0], {2});
  // Paddings whose sum overflows.
  CHECK_COMPILE_ERROR(one_op("%a: tensor<2xf32>, %z: tensor<f32>", "tensor<2xf32>",
                             "%r = \"stablehlo.pad\"(%a, %z) {edge_padding_low = array<i64: 9223372036854775807>, "
                             "edge_padding_high = array<i64: 9223372036854775807>, interior_padding = array<i64: 0>} : "
                             "(tensor<2xf32>, tensor<f32>) -> tensor<2xf32>"),
                      {kAt3, "overflows"});
  CHECK_COMPILE_ERROR(one_op("%a: tensor<3xf32>, %z: tensor<f32>", "tensor<3xf32>",
                             "%r = \"stablehlo.pad\"(%a, %z) {edge_padding_low = array<i64: 0>, edge_padding_high = "
                             "array<i64: 0>, interior_padding = array<i64: 9223372036854775807>} : "
                             "(tensor<3xf32>, tensor<f32>) -> tensor<3xf32>"),
                      {kAt3, "overflows"});
  // Extreme but legal paddings (the padded size is 0 or 1): must run, not read out of bounds.
  const std::string extreme =
      one_op("%a: tensor<1xf32>, %z: tensor<f32>", "tensor<0xf32>",
             "%r = \"stablehlo.pad\"(%a, %z) {edge_padding_low = array<i64: -9223372036854775808>, "
             "edge_padding_high = array<i64: 9223372036854775807>, interior_padding = array<i64: 0>} : "
             "(tensor<1xf32>, tensor<f32>) -> tensor<0xf32>");
  CHECK(run_module(extreme, {f32({1}, {5}), f32({}, {0})})[0].type.num_elements() == 0);
  const std::string shifted =
      one_op("%a: tensor<2xf32>, %z: tensor<f32>", "tensor<1xf32>",
             "%r = \"stablehlo.pad\"(%a, %z) {edge_padding_low = array<i64: -1>, edge_padding_high = array<i64: 0>, "
             "interior_padding = array<i64: 9223372036854775806>} : (tensor<2xf32>, tensor<f32>) -> tensor<1xf32>");
  CHECK_COMPILE_ERROR(shifted, {kAt3, "pad"});  // 2 + (2-1)*(2^63-2) - 1 overflows
  // Concatenating shapes whose summed dimension overflows int64 (each operand alone is a legal empty tensor).
  const std::string t = "tensor<1152921504606846976x0xf32>";
  std::string ops = "%a, %a, %a, %a", types = t + ", " + t + ", " + t + ", " + t;
  CHECK_COMPILE_ERROR(one_op("%a: " + t, "tensor<0x0xf32>",
                             "%r = \"stablehlo.concatenate\"(" + ops + ", " + ops + ") {dimension = 0 : i64} : (" +
                                 types + ", " + types + ") -> tensor<0x0xf32>"),
                      {kAt3, "overflows"});
  // Types whose byte size overflows 64 bits: a CompileError at the type, never a bad_alloc.
  CHECK_COMPILE_ERROR(one_op("%a: tensor<4294967296x4294967296xf32>", "tensor<4294967296x4294967296xf32>",
                             "%r = \"stablehlo.negate\"(%a) : (tensor<4294967296x4294967296xf32>) -> "
                             "tensor<4294967296x4294967296xf32>"),
                      {"line 2", "overflows 64 bits"});
  CHECK_COMPILE_ERROR(one_op("", "tensor<4611686018427387904x2xbf16>",
                             "%r = \"stablehlo.constant\"() {value = dense<0.0> : tensor<4611686018427387904x2xbf16>} : "
                             "() -> tensor<4611686018427387904x2xbf16>"),
                      {"line 2", "overflows 64 bits"});
  CHECK_COMPILE_ERROR(one_op("", "tensor<2xf32>",
                             "%r = \"stablehlo.constant\"() {value = dense<0.0> : tensor<99999999999999999999xf32>} : "
                             "() -> tensor<2xf32>"),
                      {"line 3", "is out of range"});
}

TEST(compare_type_matches_element_type) {
  auto cmp = [](const std::string& elem, const std::string& ct) {
    const std::string t = "tensor<2x" + elem + ">";
    return one_op("%a: " + t, "tensor<2xi1>",
                  "%r = \"stablehlo.compare\"(%a, %a) {comparison_direction = #stablehlo<comparison_direction LT>, "
                  "compare_type = #stablehlo<comparison_type " + ct + ">} : (" + t + ", " + t + ") -> tensor<2xi1>");
  };
  // issue 6.3: contradictions are errors with the position.
  CHECK_COMPILE_ERROR(cmp("ui32", "SIGNED"), {kAt3, "compare_type SIGNED", "ui32"});
  CHECK_COMPILE_ERROR(cmp("i32", "UNSIGNED"), {kAt3, "compare_type UNSIGNED", "i32"});
  CHECK_COMPILE_ERROR(cmp("i64", "FLOAT"), {kAt3, "compare_type FLOAT"});
  CHECK_COMPILE_ERROR(cmp("i32", "TOTALORDER"), {kAt3, "TOTALORDER"});
  CHECK_COMPILE_ERROR(cmp("f32", "SIGNED"), {kAt3, "SIGNED", "f32"});
  CHECK_COMPILE_ERROR(cmp("bf16", "UNSIGNED"), {kAt3, "UNSIGNED"});
  CHECK_COMPILE_ERROR(cmp("i1", "SIGNED"), {kAt3, "SIGNED", "i1"});
  // What the spec allows still compiles and runs.
  CHECK_VALUES(run_module(cmp("f32", "TOTALORDER"), {f32({2}, {1, 2})})[0], {0, 0});
  CHECK_VALUES(run_module(cmp("bf16", "FLOAT"), {make_tensor(DType::kBF16, {2}, {1, 2})})[0], {0, 0});
  CHECK_VALUES(run_module(cmp("i1", "UNSIGNED"), {make_tensor(DType::kPred, {2}, {1, 0})})[0], {0, 0});
  CHECK_VALUES(run_module(cmp("ui32", "UNSIGNED"), {u32({2}, {1, 2})})[0], {0, 0});
  CHECK_VALUES(run_module(cmp("i64", "SIGNED"), {make_tensor(DType::kS64, {2}, {1, 2})})[0], {0, 0});
}

TEST(dot_general_result_type_matches_operands) {
  auto dot = [](const std::string& a, const std::string& b, const std::string& r) {
    const std::string ta = "tensor<2x2x" + a + ">", tb = "tensor<2x2x" + b + ">", tr = "tensor<2x2x" + r + ">";
    return one_op("%a: " + ta + ", %b: " + tb, tr,
                  "%r = \"stablehlo.dot_general\"(%a, %b) {dot_dimension_numbers = #stablehlo.dot<"
                  "lhs_contracting_dimensions = [1], rhs_contracting_dimensions = [0]>} : (" + ta + ", " + tb + ") -> " +
                      tr);
  };
  // issue 6.3: an integer dot with a float result used to go through sgemm.
  CHECK_COMPILE_ERROR(dot("i32", "i32", "f32"), {kAt3, "result element type f32", "i32"});
  CHECK_COMPILE_ERROR(dot("f32", "f32", "i32"), {kAt3, "result element type i32"});
  CHECK_COMPILE_ERROR(dot("bf16", "f32", "f32"), {kAt3, "operand element types differ"});
  CHECK_COMPILE_ERROR(dot("i1", "i1", "f32"), {kAt3, "result element type"});
  // Widening within a kind stays legal.
  Tensor a = make_tensor(DType::kBF16, {2, 2}, {1.5, 2, 3, 4});
  CHECK_VALUES(run_module(dot("bf16", "bf16", "f32"), {a, a})[0], {8.25, 11, 16.5, 22});
  CHECK_VALUES(run_module(dot("i32", "i32", "i64"), {i32({2, 2}, {1, -2, 3, 4}), i32({2, 2}, {5, 6, 7, 8})})[0],
               {-9, -10, 43, 50});
}

TEST(ops_nothing_emits_are_not_supported) {
  // issue 6.14: these had kernels but no primitive in src/ops lowers to them and no test covered them; they are
  // dropped, so a module using one gets a clear CompileError rather than an untested kernel.
  for (const char* name : {"exponential_minus_one", "cbrt", "ceil", "round_nearest_even", "round_nearest_afz", "tan",
                           "is_finite"}) {
    CHECK_COMPILE_ERROR(one_op("%a: tensor<2xf32>", "tensor<2xf32>",
                               std::string("%r = \"stablehlo.") + name + "\"(%a) : (tensor<2xf32>) -> tensor<2xf32>"),
                        {"unsupported op 'stablehlo." + std::string(name) + "'", "line 3"});
  }
  CHECK_COMPILE_ERROR(one_op("%a: tensor<2xi32>", "tensor<2xi32>",
                             "%r = \"stablehlo.popcnt\"(%a) : (tensor<2xi32>) -> tensor<2xi32>"),
                      {"unsupported op 'stablehlo.popcnt'", "line 3"});
  CHECK_COMPILE_ERROR(one_op("%a: tensor<2xf32>", "tensor<2xf32>",
                             "%r = \"stablehlo.atan2\"(%a, %a) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>"),
                      {"unsupported op 'stablehlo.atan2'", "line 3"});
}

TEST(scatter_indices_near_int64_limits_are_dropped) {
  // Run-time indices are data: a start of INT64_MAX used to overflow `start + window` and write far outside
  // the operand. Such windows are out of bounds and skipped whole, like any other.
  const std::string text = one_op(
      "%x: tensor<3x2xf32>, %i: tensor<3x1xi64>, %u: tensor<3x2xf32>", "tensor<3x2xf32>",
      "%r = \"stablehlo.scatter\"(%x, %i, %u) ({\n"
      "    ^bb0(%p: tensor<f32>, %q: tensor<f32>):\n"
      "      %s = \"stablehlo.add\"(%p, %q) : (tensor<f32>, tensor<f32>) -> tensor<f32>\n"
      "      \"stablehlo.return\"(%s) : (tensor<f32>) -> ()\n"
      "    }) {scatter_dimension_numbers = #stablehlo.scatter<update_window_dims = [1], inserted_window_dims = [0], "
      "scatter_dims_to_operand_dims = [0], index_vector_dim = 1>} : (tensor<3x2xf32>, tensor<3x1xi64>, "
      "tensor<3x2xf32>) -> tensor<3x2xf32>");
  Tensor idx = make_tensor(DType::kS64, {3, 1}, {});
  int64_t* ip = static_cast<int64_t*>(idx.storage->data());
  ip[0] = INT64_MAX;
  ip[1] = 1;
  ip[2] = INT64_MIN;
  CHECK_VALUES(run_module(text, {f32({3, 2}, {0}), idx, f32({3, 2}, {1, 2, 3, 4, 5, 6})})[0], {0, 0, 3, 4, 0, 0});
}

TEST(error_messages_quote_control_bytes_visibly) {
  // A NUL inside an op name used to end the message at the name (C strings stop there), hiding the position.
  const std::string name = std::string("stablehlo.a") + '\0' + "b\x01";
  CHECK_COMPILE_ERROR(one_op("%a: tensor<2xf32>", "tensor<2xf32>",
                             "%r = \"" + name + "\"(%a) : (tensor<2xf32>) -> tensor<2xf32>"),
                      {"unsupported op 'stablehlo.a\\x00b\\x01' at line 3, column 5"});
}
