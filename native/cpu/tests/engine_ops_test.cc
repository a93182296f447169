// Elementwise and layout op families with small hand-computed cases.
#include <limits>

#include "test_harness.h"

using namespace grpo::cpu;
using namespace grpo::cpu::testing;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// One-op module: `%r = "stablehlo.OP"(args) {attrs} : (types) -> result`.
std::string one_op(const std::string& op, const std::vector<std::string>& arg_types, const std::string& result,
                   const std::string& attrs = "") {
  std::string params, operands, types;
  for (size_t i = 0; i < arg_types.size(); ++i) {
    params += (i ? ", " : "") + std::string("%a") + std::to_string(i) + ": " + arg_types[i];
    operands += (i ? ", " : "") + std::string("%a") + std::to_string(i);
    types += (i ? ", " : "") + arg_types[i];
  }
  std::string body = "    %r = \"stablehlo." + op + "\"(" + operands + ") " + (attrs.empty() ? "" : "{" + attrs + "} ") +
                     ": (" + types + ") -> " + result + "\n    \"func.return\"(%r) : (" + result + ") -> ()";
  return module(params, result, body);
}

Tensor run1(const std::string& text, const std::vector<Tensor>& args) { return run_module(text, args)[0]; }

}  // namespace

TEST(unary_float_ops) {
  const std::string t = "tensor<4xf32>";
  Tensor x = f32({4}, {-1.5, 0, 0.5, 2});
  CHECK_CLOSE(run1(one_op("negate", {t}, t), {x}), 1e-6, {1.5, 0, -0.5, -2});
  CHECK_CLOSE(run1(one_op("exponential", {t}, t), {x}), 1e-6, {std::exp(-1.5), 1, std::exp(0.5), std::exp(2)});
  CHECK_CLOSE(run1(one_op("log_plus_one", {t}, t), {x}), 1e-6, {kNaN, 0, std::log1p(0.5), std::log1p(2)});
  CHECK_CLOSE(run1(one_op("tanh", {t}, t), {x}), 1e-6, {std::tanh(-1.5), 0, std::tanh(0.5), std::tanh(2)});
  CHECK_CLOSE(run1(one_op("logistic", {t}, t), {x}), 1e-6,
              {1 / (1 + std::exp(1.5)), 0.5, 1 / (1 + std::exp(-0.5)), 1 / (1 + std::exp(-2))});
  CHECK_CLOSE(run1(one_op("abs", {t}, t), {x}), 1e-6, {1.5, 0, 0.5, 2});
  CHECK_CLOSE(run1(one_op("floor", {t}, t), {x}), 1e-6, {-2, 0, 0, 2});
  CHECK_CLOSE(run1(one_op("sine", {t}, t), {x}), 1e-6, {std::sin(-1.5), 0, std::sin(0.5), std::sin(2)});
  CHECK_CLOSE(run1(one_op("cosine", {t}, t), {x}), 1e-6, {std::cos(-1.5), 1, std::cos(0.5), std::cos(2)});
  Tensor p = f32({4}, {4, 0, 0.25, 9});
  CHECK_CLOSE(run1(one_op("sqrt", {t}, t), {p}), 1e-6, {2, 0, 0.5, 3});
  CHECK_CLOSE(run1(one_op("rsqrt", {t}, t), {p}), 1e-6, {0.5, kInf, 2, 1.0 / 3});
  CHECK_CLOSE(run1(one_op("log", {t}, t), {p}), 1e-6, {std::log(4), -kInf, std::log(0.25), std::log(9)});
  // sign keeps NaN and the sign of zero.
  Tensor s = run1(one_op("sign", {"tensor<5xf32>"}, "tensor<5xf32>"), {f32({5}, {-3, -0.0, 0, 7, kNaN})});
  CHECK_VALUES(s, {-1, 0, 0, 1, kNaN});
  CHECK(std::signbit(static_cast<float*>(s.storage->data())[1]));
  // bf16 computes in f32 and rounds.
  Tensor b = make_tensor(DType::kBF16, {2}, {1.0, 2.0});
  CHECK_VALUES(run1(one_op("exponential", {"tensor<2xbf16>"}, "tensor<2xbf16>"), {b}),
               {bf16_to_float(float_to_bf16(std::exp(1.0f))), bf16_to_float(float_to_bf16(std::exp(2.0f)))});
}

TEST(integer_arithmetic_semantics) {
  const std::string t = "tensor<6xi32>";
  Tensor a = i32({6}, {7, -7, 7, -7, 5, -2147483648.0});
  Tensor b = i32({6}, {2, 2, -2, 0, 0, -1});
  CHECK_VALUES(run1(one_op("divide", {t, t}, t), {a, b}), {3, -3, -3, -1, -1, -2147483648.0});
  CHECK_VALUES(run1(one_op("remainder", {t, t}, t), {a, b}), {1, -1, 1, -7, 5, 0});
  CHECK_VALUES(run1(one_op("add", {t, t}, t), {i32({6}, {2147483647, 1, 0, 0, 0, 0}), i32({6}, {1, 1, 0, 0, 0, 0})}),
               {-2147483648.0, 2, 0, 0, 0, 0});
  CHECK_VALUES(run1(one_op("power", {t, t}, t), {i32({6}, {2, -2, 3, 1, -1, 2}), i32({6}, {10, 3, 0, -5, -3, -1})}),
               {1024, -8, 1, 1, -1, 0});
  CHECK_VALUES(run1(one_op("negate", {t}, t), {a}), {-7, 7, -7, 7, -5, -2147483648.0});
  CHECK_VALUES(run1(one_op("abs", {t}, t), {a}), {7, 7, 7, 7, 5, -2147483648.0});
  CHECK_VALUES(run1(one_op("sign", {t}, t), {a}), {1, -1, 1, -1, 1, -1});
  CHECK_VALUES(run1(one_op("maximum", {t, t}, t), {a, b}), {7, 2, 7, 0, 5, -1});
  CHECK_VALUES(run1(one_op("not", {t}, t), {a}), {-8, 6, -8, 6, -6, 2147483647});
  const std::string u = "tensor<3xui32>";
  CHECK_VALUES(run1(one_op("divide", {u, u}, u), {u32({3}, {7, 7, 4294967295.0}), u32({3}, {2, 0, 2})}),
               {3, 4294967295.0, 2147483647});
  CHECK_VALUES(run1(one_op("subtract", {u, u}, u), {u32({3}, {0, 5, 1}), u32({3}, {1, 2, 1})}), {4294967295.0, 3, 0});
}

TEST(float_binary_semantics) {
  const std::string t = "tensor<5xf32>";
  Tensor a = f32({5}, {1, kNaN, -0.0, 5.5, -5.5});
  Tensor b = f32({5}, {kNaN, 2, 0.0, 2, 2});
  Tensor mx = run1(one_op("maximum", {t, t}, t), {a, b});
  CHECK_VALUES(mx, {kNaN, kNaN, 0, 5.5, 2});
  CHECK(!std::signbit(static_cast<float*>(mx.storage->data())[2]));
  Tensor mn = run1(one_op("minimum", {t, t}, t), {a, b});
  CHECK_VALUES(mn, {kNaN, kNaN, 0, 2, -5.5});
  CHECK(std::signbit(static_cast<float*>(mn.storage->data())[2]));
  CHECK_VALUES(run1(one_op("remainder", {t, t}, t), {a, b}), {kNaN, kNaN, kNaN, 1.5, -1.5});
  CHECK_CLOSE(run1(one_op("power", {t, t}, t), {f32({5}, {2, 4, -2, 0, 9}), f32({5}, {10, 0.5, 3, 0, -0.5})}), 1e-6,
              {1024, 2, -8, 1, 1.0 / 3});
  CHECK_CLOSE(run1(one_op("divide", {t, t}, t), {f32({5}, {1, -1, 0, 3, 1}), f32({5}, {0, 0, 0, 2, 4})}), 1e-6,
              {kInf, -kInf, kNaN, 1.5, 0.25});
}

TEST(bitwise_and_shifts) {
  const std::string u = "tensor<5xui32>";
  Tensor a = u32({5}, {1, 0x80000000u, 0xffffffffu, 3, 12});
  Tensor s = u32({5}, {31, 1, 32, 0, 100});
  CHECK_VALUES(run1(one_op("shift_left", {u, u}, u), {a, s}), {2147483648.0, 0, 0, 3, 0});
  CHECK_VALUES(run1(one_op("shift_right_logical", {u, u}, u), {a, s}), {0, 1073741824.0, 0, 3, 0});
  CHECK_VALUES(run1(one_op("shift_right_arithmetic", {u, u}, u), {a, s}), {0, 3221225472.0, 4294967295.0, 3, 0});
  const std::string t = "tensor<4xi32>";
  CHECK_VALUES(run1(one_op("shift_right_arithmetic", {t, t}, t), {i32({4}, {-8, -8, 8, -1}), i32({4}, {1, 40, 40, -1})}),
               {-4, -1, 0, -1});
  CHECK_VALUES(run1(one_op("shift_right_logical", {t, t}, t), {i32({4}, {-8, 16, 16, 1}), i32({4}, {28, 2, -1, 0})}),
               {15, 4, 0, 1});
  CHECK_VALUES(run1(one_op("and", {u, u}, u), {u32({5}, {12, 12, 0, 1, 7}), u32({5}, {10, 3, 9, 1, 2})}), {8, 0, 0, 1, 2});
  CHECK_VALUES(run1(one_op("or", {u, u}, u), {u32({5}, {12, 12, 0, 1, 7}), u32({5}, {10, 3, 9, 1, 2})}),
               {14, 15, 9, 1, 7});
  CHECK_VALUES(run1(one_op("xor", {u, u}, u), {u32({5}, {12, 12, 0, 1, 7}), u32({5}, {10, 3, 9, 1, 2})}),
               {6, 15, 9, 0, 5});
  const std::string p = "tensor<4xi1>";
  Tensor x = make_tensor(DType::kPred, {4}, {0, 0, 1, 1});
  Tensor y = make_tensor(DType::kPred, {4}, {0, 1, 0, 1});
  CHECK_VALUES(run1(one_op("and", {p, p}, p), {x, y}), {0, 0, 0, 1});
  CHECK_VALUES(run1(one_op("or", {p, p}, p), {x, y}), {0, 1, 1, 1});
  CHECK_VALUES(run1(one_op("xor", {p, p}, p), {x, y}), {0, 1, 1, 0});
  CHECK_VALUES(run1(one_op("not", {p}, p), {x}), {1, 1, 0, 0});
  CHECK_VALUES(run1(one_op("add", {p, p}, p), {x, y}), {0, 1, 1, 1});
}

TEST(compare_directions_and_types) {
  const std::string t = "tensor<4xf32>", r = "tensor<4xi1>";
  Tensor a = f32({4}, {1, 2, kNaN, -0.0});
  Tensor b = f32({4}, {2, 2, kNaN, 0.0});
  auto cmp = [&](const char* dir, const char* type) {
    return one_op("compare", {t, t}, r,
                  std::string("comparison_direction = #stablehlo<comparison_direction ") + dir + ">" +
                      (type ? std::string(", compare_type = #stablehlo<comparison_type ") + type + ">" : ""));
  };
  CHECK_VALUES(run1(cmp("LT", "FLOAT"), {a, b}), {1, 0, 0, 0});
  CHECK_VALUES(run1(cmp("LE", nullptr), {a, b}), {1, 1, 0, 1});
  CHECK_VALUES(run1(cmp("EQ", "FLOAT"), {a, b}), {0, 1, 0, 1});
  CHECK_VALUES(run1(cmp("NE", "FLOAT"), {a, b}), {1, 0, 1, 0});
  CHECK_VALUES(run1(cmp("GT", "FLOAT"), {a, b}), {0, 0, 0, 0});
  CHECK_VALUES(run1(cmp("GE", "FLOAT"), {a, b}), {0, 1, 0, 1});
  // Total order: -0 < +0 and NaN equals itself.
  CHECK_VALUES(run1(cmp("LT", "TOTALORDER"), {a, b}), {1, 0, 0, 1});
  CHECK_VALUES(run1(cmp("EQ", "TOTALORDER"), {a, b}), {0, 1, 1, 0});
  const std::string u = "tensor<2xui32>";
  CHECK_VALUES(run1(one_op("compare", {u, u}, "tensor<2xi1>",
                           "comparison_direction = #stablehlo<comparison_direction LT>, "
                           "compare_type = #stablehlo<comparison_type UNSIGNED>"),
                    {u32({2}, {1, 0xffffffffu}), u32({2}, {0xffffffffu, 1})}),
               {1, 0});
}

TEST(select_clamp) {
  const std::string t = "tensor<3xf32>";
  Tensor a = f32({3}, {1, 2, 3}), b = f32({3}, {-1, -2, -3});
  CHECK_VALUES(run1(one_op("select", {"tensor<3xi1>", t, t}, t), {make_tensor(DType::kPred, {3}, {1, 0, 1}), a, b}),
               {1, -2, 3});
  CHECK_VALUES(run1(one_op("select", {"tensor<i1>", t, t}, t), {make_tensor(DType::kPred, {}, {0}), a, b}), {-1, -2, -3});
  CHECK_VALUES(run1(one_op("clamp", {"tensor<f32>", t, "tensor<f32>"}, t), {f32({}, {0}), f32({3}, {-5, 0.5, 5}), f32({}, {1})}),
               {0, 0.5, 1});
  CHECK_VALUES(run1(one_op("clamp", {t, t, t}, t), {f32({3}, {0, 1, 2}), f32({3}, {-5, 0.5, 5}), f32({3}, {1, 2, 3})}),
               {0, 1, 3});
  CHECK_VALUES(run1(one_op("clamp", {"tensor<i32>", "tensor<3xi32>", "tensor<i32>"}, "tensor<3xi32>"),
                    {i32({}, {-1}), i32({3}, {-5, 0, 5}), i32({}, {2})}),
               {-1, 0, 2});
}

TEST(convert_rounding) {
  // f32 -> bf16: round to nearest even, NaN kept.
  // 1 + 2^-8 is a tie between 1 and 1 + 2^-7: even mantissa wins (1). 1 + 3*2^-8 ties up to 1 + 2^-6.
  Tensor x = f32({5}, {1.0 + 1.0 / 256, 1.0 + 3.0 / 256, 1.0 + 1.0 / 256 + 1.0 / 65536, kNaN, -kInf});
  Tensor b = run1(one_op("convert", {"tensor<5xf32>"}, "tensor<5xbf16>"), {x});
  CHECK_VALUES(b, {1.0, 1.0 + 4.0 / 256, 1.0 + 2.0 / 256, kNaN, -kInf});
  // float -> int truncates toward zero, saturating; NaN -> 0.
  Tensor f = f32({6}, {2.7, -2.7, 3e10, -3e10, kNaN, -0.5});
  CHECK_VALUES(run1(one_op("convert", {"tensor<6xf32>"}, "tensor<6xi32>"), {f}),
               {2, -2, 2147483647, -2147483648.0, 0, 0});
  CHECK_VALUES(run1(one_op("convert", {"tensor<6xf32>"}, "tensor<6xui32>"), {f}), {2, 0, 4294967295.0, 0, 0, 0});
  // int -> bf16 rounds once to nearest even: 257 is a tie between 256 and 258 -> 256; 259 -> 260.
  // 2^25 + 2^17 + 1 is just above a bf16 tie; via f32 it would first round onto the tie and then down.
  Tensor ints = i32({4}, {257, 259, -259, 33554432 + 131072 + 1});
  CHECK_VALUES(run1(one_op("convert", {"tensor<4xi32>"}, "tensor<4xbf16>"), {ints}), {256, 260, -260, 33816576});
  // -> i1 is x != 0.
  CHECK_VALUES(run1(one_op("convert", {"tensor<4xf32>"}, "tensor<4xi1>"), {f32({4}, {0, -0.0, 0.1, kNaN})}), {0, 0, 1, 1});
  CHECK_VALUES(run1(one_op("convert", {"tensor<3xi1>"}, "tensor<3xf32>"), {make_tensor(DType::kPred, {3}, {1, 0, 1})}),
               {1, 0, 1});
  CHECK_VALUES(run1(one_op("convert", {"tensor<2xi32>"}, "tensor<2xui32>"), {i32({2}, {-1, 5})}), {4294967295.0, 5});
  CHECK_VALUES(run1(one_op("convert", {"tensor<2xui32>"}, "tensor<2xf32>"), {u32({2}, {4294967295.0, 5})}),
               {4294967296.0, 5});
  CHECK_VALUES(run1(one_op("convert", {"tensor<2xi64>"}, "tensor<2xi32>"), {make_tensor(DType::kS64, {2}, {4294967297.0, -1})}),
               {1, -1});
}

TEST(bitcast_convert) {
  Tensor bits = run1(one_op("bitcast_convert", {"tensor<2xf32>"}, "tensor<2xui32>"), {f32({2}, {1.0, -2.0})});
  CHECK_VALUES(bits, {1065353216.0, 3221225472.0});
  CHECK_VALUES(run1(one_op("bitcast_convert", {"tensor<2xi32>"}, "tensor<2xf32>"), {i32({2}, {1065353216, 0})}), {1, 0});
}

TEST(broadcast_reshape_transpose) {
  CHECK_VALUES(run1(one_op("broadcast_in_dim", {"tensor<3xf32>"}, "tensor<2x3xf32>", "broadcast_dimensions = array<i64: 1>"),
                    {f32({3}, {1, 2, 3})}),
               {1, 2, 3, 1, 2, 3});
  CHECK_VALUES(run1(one_op("broadcast_in_dim", {"tensor<2xf32>"}, "tensor<2x3xf32>", "broadcast_dimensions = array<i64: 0>"),
                    {f32({2}, {1, 2})}),
               {1, 1, 1, 2, 2, 2});
  CHECK_VALUES(run1(one_op("broadcast_in_dim", {"tensor<2x1xf32>"}, "tensor<3x2x2xf32>",
                           "broadcast_dimensions = array<i64: 1, 2>"),
                    {f32({2, 1}, {1, 2})}),
               {1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2});
  CHECK_VALUES(run1(one_op("broadcast_in_dim", {"tensor<f32>"}, "tensor<2x2xf32>", "broadcast_dimensions = array<i64>"),
                    {f32({}, {7})}),
               {7, 7, 7, 7});
  // A broadcast that permutes dims is a transpose.
  CHECK_VALUES(run1(one_op("broadcast_in_dim", {"tensor<2x2xf32>"}, "tensor<2x2xf32>",
                           "broadcast_dimensions = array<i64: 1, 0>"),
                    {f32({2, 2}, {1, 2, 3, 4})}),
               {1, 3, 2, 4});
  CHECK_VALUES(run1(one_op("reshape", {"tensor<2x3xf32>"}, "tensor<3x2xf32>"), {f32({2, 3}, {1, 2, 3, 4, 5, 6})}),
               {1, 2, 3, 4, 5, 6});
  std::vector<double> v(24);
  for (int i = 0; i < 24; ++i) v[i] = i;
  // [2,3,4] -> permutation [2,0,1] -> [4,2,3]: out[k][i][j] = in[i][j][k].
  std::vector<double> want;
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) want.push_back(i * 12 + j * 4 + k);
  CHECK_VALUES(run1(one_op("transpose", {"tensor<2x3x4xf32>"}, "tensor<4x2x3xf32>", "permutation = array<i64: 2, 0, 1>"),
                    {f32({2, 3, 4}, v)}),
               want);
  // A big 2-D transpose goes through the tiled path.
  std::vector<double> big(40 * 33);
  for (size_t i = 0; i < big.size(); ++i) big[i] = double(i);
  std::vector<double> big_t;
  for (int c = 0; c < 33; ++c)
    for (int r = 0; r < 40; ++r) big_t.push_back(r * 33 + c);
  CHECK_VALUES(run1(one_op("transpose", {"tensor<40x33xi32>"}, "tensor<33x40xi32>", "permutation = array<i64: 1, 0>"),
                    {i32({40, 33}, big)}),
               big_t);
  CHECK_VALUES(run1(one_op("reverse", {"tensor<2x3xf32>"}, "tensor<2x3xf32>", "dimensions = array<i64: 1>"),
                    {f32({2, 3}, {1, 2, 3, 4, 5, 6})}),
               {3, 2, 1, 6, 5, 4});
}

TEST(slices_and_dynamic_slices) {
  std::vector<double> v(20);
  for (int i = 0; i < 20; ++i) v[i] = i;
  Tensor x = f32({4, 5}, v);
  CHECK_VALUES(run1(one_op("slice", {"tensor<4x5xf32>"}, "tensor<2x2xf32>",
                           "start_indices = array<i64: 1, 0>, limit_indices = array<i64: 4, 4>, strides = array<i64: 2, 3>"),
                    {x}),
               {5, 8, 15, 18});
  const std::string ds = "slice_sizes = array<i64: 2, 3>";
  auto dyn = [&](double r, double c) {
    std::string text = module("%x: tensor<4x5xf32>, %r: tensor<i32>, %c: tensor<i32>", "tensor<2x3xf32>",
                              "    %s = \"stablehlo.dynamic_slice\"(%x, %r, %c) {" + ds +
                                  "} : (tensor<4x5xf32>, tensor<i32>, tensor<i32>) -> tensor<2x3xf32>\n"
                                  "    \"func.return\"(%s) : (tensor<2x3xf32>) -> ()");
    return run_module(text, {x, i32({}, {r}), i32({}, {c})})[0];
  };
  CHECK_VALUES(dyn(1, 1), {6, 7, 8, 11, 12, 13});
  CHECK_VALUES(dyn(7, -3), {10, 11, 12, 15, 16, 17});  // clamped to (2, 0)
  std::string dus = module("%x: tensor<4x5xf32>, %u: tensor<2x2xf32>, %r: tensor<i64>, %c: tensor<i64>", "tensor<4x5xf32>",
                           "    %s = \"stablehlo.dynamic_update_slice\"(%x, %u, %r, %c) : (tensor<4x5xf32>, tensor<2x2xf32>, "
                           "tensor<i64>, tensor<i64>) -> tensor<4x5xf32>\n"
                           "    \"func.return\"(%s) : (tensor<4x5xf32>) -> ()");
  Tensor u = f32({2, 2}, {-1, -2, -3, -4});
  std::vector<double> want = v;
  want[13] = -1, want[14] = -2, want[18] = -3, want[19] = -4;  // start (9, 3) clamps to (2, 3)
  Tensor r = run_module(dus, {x, u, make_tensor(DType::kS64, {}, {9}), make_tensor(DType::kS64, {}, {3})})[0];
  CHECK_VALUES(r, want);
  CHECK_VALUES(x, v);  // not donated: untouched
}

TEST(concatenate_pad_iota) {
  std::string cat = module("%a: tensor<2x1xf32>, %b: tensor<2x2xf32>", "tensor<2x3xf32>",
                           "    %c = \"stablehlo.concatenate\"(%a, %b) {dimension = 1 : i64} : (tensor<2x1xf32>, "
                           "tensor<2x2xf32>) -> tensor<2x3xf32>\n    \"func.return\"(%c) : (tensor<2x3xf32>) -> ()");
  CHECK_VALUES(run_module(cat, {f32({2, 1}, {1, 2}), f32({2, 2}, {3, 4, 5, 6})})[0], {1, 3, 4, 2, 5, 6});
  // pad [1,2,3] with low 1, high 2, interior 1 -> [0,1,0,2,0,3,0,0]
  CHECK_VALUES(run1(one_op("pad", {"tensor<3xf32>", "tensor<f32>"}, "tensor<8xf32>",
                           "edge_padding_low = array<i64: 1>, edge_padding_high = array<i64: 2>, interior_padding = array<i64: 1>"),
                    {f32({3}, {1, 2, 3}), f32({}, {0})}),
               {0, 1, 0, 2, 0, 3, 0, 0});
  // Negative edges cut into the interior-padded operand: [1,9,2,9,3] with low -2, high -1 -> [2,9].
  CHECK_VALUES(run1(one_op("pad", {"tensor<3xf32>", "tensor<f32>"}, "tensor<2xf32>",
                           "edge_padding_low = array<i64: -2>, edge_padding_high = array<i64: -1>, interior_padding = array<i64: 1>"),
                    {f32({3}, {1, 2, 3}), f32({}, {9})}),
               {2, 9});
  // 2-D: [[1,2],[3,4]] low (0,1) high (1,-1) interior (1,0) -> [[0,1],[0,0],[0,3],[0,0]] with pad 0.
  CHECK_VALUES(run1(one_op("pad", {"tensor<2x2xi32>", "tensor<i32>"}, "tensor<4x2xi32>",
                           "edge_padding_low = array<i64: 0, 1>, edge_padding_high = array<i64: 1, -1>, interior_padding = array<i64: 1, 0>"),
                    {i32({2, 2}, {1, 2, 3, 4}), i32({}, {0})}),
               {0, 1, 0, 0, 0, 3, 0, 0});
  CHECK_VALUES(run1(one_op("iota", {}, "tensor<2x3xi32>", "iota_dimension = 1 : i64"), {}), {0, 1, 2, 0, 1, 2});
  CHECK_VALUES(run1(one_op("iota", {}, "tensor<3x2xf32>", "iota_dimension = 0 : i64"), {}), {0, 0, 1, 1, 2, 2});
  CHECK_VALUES(run1(one_op("iota", {}, "tensor<3xbf16>", "iota_dimension = 0 : i64"), {}), {0, 1, 2});
}

TEST(iota_split_over_threads) {
  // Large enough to be split over the engine's threads, with chunk edges inside rows: the argmax column index over
  // a vocabulary (last axis, runs of consecutive values) and a middle axis with equal values repeated inside.
  std::vector<double> last, middle;
  for (int o = 0; o < 3; ++o) {
    for (int k = 0; k < 70001; ++k) last.push_back(k);
  }
  for (int o = 0; o < 5; ++o) {
    for (int k = 0; k < 40000; ++k) middle.insert(middle.end(), {double(k), double(k)});
  }
  CHECK_VALUES(run1(one_op("iota", {}, "tensor<3x70001xi32>", "iota_dimension = 1 : i64"), {}), last);
  CHECK_VALUES(run1(one_op("iota", {}, "tensor<5x40000x2xf32>", "iota_dimension = 1 : i64"), {}), middle);
}

TEST(constants) {
  auto constant = [](const std::string& dense, const std::string& type) {
    return run_module(module("", type,
                             "    %c = \"stablehlo.constant\"() {value = " + dense + " : " + type + "} : () -> " + type +
                                 "\n    \"func.return\"(%c) : (" + type + ") -> ()"),
                      {})[0];
  };
  CHECK_VALUES(constant("dense<1.000000e+00>", "tensor<2xf32>"), {1, 1});
  CHECK_VALUES(constant("dense<-2.5>", "tensor<f32>"), {-2.5});
  CHECK_VALUES(constant("dense<0xFF800000>", "tensor<f32>"), {-kInf});
  CHECK_VALUES(constant("dense<0x7FC0>", "tensor<bf16>"), {kNaN});
  CHECK_VALUES(constant("dense<[[1.0, 2.0], [3.0, 4.0]]>", "tensor<2x2xf32>"), {1, 2, 3, 4});
  CHECK_VALUES(constant("dense<\"0x0000803F00000040\">", "tensor<2xf32>"), {1, 2});
  CHECK_VALUES(constant("dense<\"0x0000803F\">", "tensor<3xf32>"), {1, 1, 1});
  CHECK_VALUES(constant("dense<[true, false]>", "tensor<2xi1>"), {1, 0});
  CHECK_VALUES(constant("dense<true>", "tensor<i1>"), {1});
  CHECK_VALUES(constant("dense<[-1, 4294967295]>", "tensor<2xi32>"), {-1, -1});
  CHECK_VALUES(constant("dense<4294967295>", "tensor<ui32>"), {4294967295.0});
  CHECK_VALUES(constant("dense<-9000000000>", "tensor<i64>"), {-9000000000.0});
  CHECK_VALUES(constant("dense<1.5>", "tensor<2xbf16>"), {1.5, 1.5});
  CHECK_VALUES(constant("dense<[]>", "tensor<0xf32>"), {});
}

TEST(size_zero_and_scalars) {
  CHECK_VALUES(run1(one_op("add", {"tensor<0x3xf32>", "tensor<0x3xf32>"}, "tensor<0x3xf32>"), {f32({0, 3}, {}), f32({0, 3}, {})}),
               {});
  CHECK_VALUES(run1(one_op("add", {"tensor<f32>", "tensor<f32>"}, "tensor<f32>"), {f32({}, {1.5}), f32({}, {2})}), {3.5});
  CHECK_VALUES(run1(one_op("broadcast_in_dim", {"tensor<f32>"}, "tensor<0x2xf32>", "broadcast_dimensions = array<i64>"),
                    {f32({}, {1})}),
               {});
  CHECK_VALUES(run1(one_op("concatenate", {"tensor<0x2xf32>", "tensor<1x2xf32>"}, "tensor<1x2xf32>", "dimension = 0 : i64"),
                    {f32({0, 2}, {}), f32({1, 2}, {5, 6})}),
               {5, 6});
  CHECK_VALUES(run1(one_op("pad", {"tensor<0xf32>", "tensor<f32>"}, "tensor<2xf32>",
                           "edge_padding_low = array<i64: 1>, edge_padding_high = array<i64: 1>, interior_padding = array<i64: 3>"),
                    {f32({0}, {}), f32({}, {4})}),
               {4, 4});
  CHECK_VALUES(run1(one_op("transpose", {"tensor<0x3xf32>"}, "tensor<3x0xf32>", "permutation = array<i64: 1, 0>"),
                    {f32({0, 3}, {})}),
               {});
}
