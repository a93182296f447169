// reduce, dot_general, gather, scatter and while with hand-computed cases.
#include <cmath>
#include <limits>

#include "test_harness.h"

using namespace grpo::cpu;
using namespace grpo::cpu::testing;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string reduce_module(const std::string& in_type, const std::string& out_type, const std::string& dims,
                          const std::string& body_op, const std::string& elem = "f32") {
  const std::string s = "tensor<" + elem + ">";
  return module("%x: " + in_type + ", %init: " + s, out_type,
                "    %r = \"stablehlo.reduce\"(%x, %init) ({\n"
                "    ^bb0(%a: " + s + ", %b: " + s + "):\n"
                "      %c = \"stablehlo." + body_op + "\"(%a, %b) : (" + s + ", " + s + ") -> " + s + "\n"
                "      \"stablehlo.return\"(%c) : (" + s + ") -> ()\n"
                "    }) {dimensions = array<i64: " + dims + ">} : (" + in_type + ", " + s + ") -> " + out_type + "\n"
                "    \"func.return\"(%r) : (" + out_type + ") -> ()");
}

std::vector<double> iota_values(int n, double scale = 1) {
  std::vector<double> v(n);
  for (int i = 0; i < n; ++i) v[i] = i * scale;
  return v;
}

// argmax over dim 1 of [rows, cols] values with the tie-break of the shared example (GT, or EQ and lower index).
std::string argmax_module(const std::string& direction, int rows, int cols, const char* init = "0xFF800000") {
  const std::string vt = "tensor<" + std::to_string(rows) + "x" + std::to_string(cols) + "xf32>";
  const std::string it = "tensor<" + std::to_string(rows) + "x" + std::to_string(cols) + "xi32>";
  const std::string ot = "tensor<" + std::to_string(rows) + "xi32>";
  return module("%x: " + vt, ot,
                "    %iota = \"stablehlo.iota\"() {iota_dimension = 1 : i64} : () -> " + it + "\n"
                "    %init = \"stablehlo.constant\"() {value = dense<" + std::string(init) + "> : tensor<f32>} : () -> tensor<f32>\n"
                "    %zero = \"stablehlo.constant\"() {value = dense<0> : tensor<i32>} : () -> tensor<i32>\n"
                "    %r:2 = \"stablehlo.reduce\"(%x, %iota, %init, %zero) ({\n"
                "    ^bb0(%av: tensor<f32>, %ai: tensor<i32>, %bv: tensor<f32>, %bi: tensor<i32>):\n"
                "      %gt = \"stablehlo.compare\"(%av, %bv) {comparison_direction = #stablehlo<comparison_direction " +
                    direction + ">} : (tensor<f32>, tensor<f32>) -> tensor<i1>\n"
                "      %eq = \"stablehlo.compare\"(%av, %bv) {comparison_direction = #stablehlo<comparison_direction EQ>} : (tensor<f32>, tensor<f32>) -> tensor<i1>\n"
                "      %lt = \"stablehlo.compare\"(%ai, %bi) {comparison_direction = #stablehlo<comparison_direction LT>} : (tensor<i32>, tensor<i32>) -> tensor<i1>\n"
                "      %tie = \"stablehlo.and\"(%eq, %lt) : (tensor<i1>, tensor<i1>) -> tensor<i1>\n"
                "      %pick = \"stablehlo.or\"(%gt, %tie) : (tensor<i1>, tensor<i1>) -> tensor<i1>\n"
                "      %v = \"stablehlo.select\"(%pick, %av, %bv) : (tensor<i1>, tensor<f32>, tensor<f32>) -> tensor<f32>\n"
                "      %i = \"stablehlo.select\"(%pick, %ai, %bi) : (tensor<i1>, tensor<i32>, tensor<i32>) -> tensor<i32>\n"
                "      \"stablehlo.return\"(%v, %i) : (tensor<f32>, tensor<i32>) -> ()\n"
                "    }) {dimensions = array<i64: 1>} : (" + vt + ", " + it + ", tensor<f32>, tensor<i32>) -> (tensor<" +
                    std::to_string(rows) + "xf32>, " + ot + ")\n"
                "    \"func.return\"(%r#1) : (" + ot + ") -> ()");
}

}  // namespace

TEST(reduce_simple_bodies) {
  Tensor x = f32({2, 3, 4}, iota_values(24));
  // Sum over the last dim, the first dim, the middle dim, and two non-adjacent dims (needs a transpose).
  CHECK_VALUES(run_module(reduce_module("tensor<2x3x4xf32>", "tensor<2x3xf32>", "2", "add"), {x, f32({}, {0})})[0],
               {6, 22, 38, 54, 70, 86});
  CHECK_VALUES(run_module(reduce_module("tensor<2x3x4xf32>", "tensor<3x4xf32>", "0", "add"), {x, f32({}, {0})})[0],
               {12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34});
  CHECK_VALUES(run_module(reduce_module("tensor<2x3x4xf32>", "tensor<2x4xf32>", "1", "add"), {x, f32({}, {1})})[0],
               {13, 16, 19, 22, 49, 52, 55, 58});
  CHECK_VALUES(run_module(reduce_module("tensor<2x3x4xf32>", "tensor<3xf32>", "0, 2", "add"), {x, f32({}, {0})})[0],
               {6 + 54, 22 + 70, 38 + 86});
  CHECK_VALUES(run_module(reduce_module("tensor<2x3x4xf32>", "tensor<f32>", "0, 1, 2", "maximum"), {x, f32({}, {-1})})[0],
               {23});
  CHECK_VALUES(run_module(reduce_module("tensor<2x3xf32>", "tensor<2xf32>", "1", "minimum"),
                          {f32({2, 3}, {3, kNaN, 1, 4, 5, 6}), f32({}, {100})})[0],
               {kNaN, 4});
  CHECK_VALUES(run_module(reduce_module("tensor<2x3xi32>", "tensor<3xi32>", "0", "multiply", "i32"),
                          {i32({2, 3}, {1, 2, 3, 4, 5, 6}), i32({}, {1})})[0],
               {4, 10, 18});
  CHECK_VALUES(run_module(reduce_module("tensor<2x2xi1>", "tensor<2xi1>", "1", "and", "i1"),
                          {make_tensor(DType::kPred, {2, 2}, {1, 1, 1, 0}), make_tensor(DType::kPred, {}, {1})})[0],
               {1, 0});
  CHECK_VALUES(run_module(reduce_module("tensor<2x2xi1>", "tensor<2xi1>", "1", "or", "i1"),
                          {make_tensor(DType::kPred, {2, 2}, {0, 0, 1, 0}), make_tensor(DType::kPred, {}, {0})})[0],
               {0, 1});
  // Reducing a size-0 dim gives the init value; a long row goes through the blocked parallel path.
  CHECK_VALUES(run_module(reduce_module("tensor<2x0xf32>", "tensor<2xf32>", "1", "add"), {f32({2, 0}, {}), f32({}, {5})})[0],
               {5, 5});
  const int n = 300000;
  Tensor ones = f32({n}, {1});
  CHECK_VALUES(run_module(reduce_module("tensor<300000xf32>", "tensor<f32>", "0", "add"), {ones, f32({}, {0.5})})[0],
               {n + 0.5});
  Tensor bf = make_tensor(DType::kBF16, {2, 2}, {1, 2, 3, 4});
  CHECK_VALUES(run_module(reduce_module("tensor<2x2xbf16>", "tensor<2xbf16>", "1", "add", "bf16"),
                          {bf, make_tensor(DType::kBF16, {}, {0})})[0],
               {3, 7});
}

// issue 7: f32 max over long rows takes a vectorised pass; NaN and zero maxima keep the in-order fold's answer.
TEST(reduce_max_long_rows) {
  const int rows = 4, cols = 3001;
  std::vector<double> v(rows * cols);
  for (int i = 0; i < rows * cols; ++i) v[i] = -double((i * 7919) % 1013) - 1;
  v[0 * cols + 3000] = 7.5;                                    // in the tail after the 16-lane blocks
  v[1 * cols + 1500] = kNaN;                                   // NaN propagates
  v[1 * cols + 10] = 100;
  for (int c = 0; c < cols; c += 7) v[2 * cols + c] = c % 2 ? 0.0 : -0.0;  // the maximum is a zero: +0 wins
  for (int c = 0; c < cols; ++c) v[3 * cols + c] = -std::numeric_limits<double>::infinity();
  Tensor out = run_module(reduce_module("tensor<4x3001xf32>", "tensor<4xf32>", "1", "maximum"),
                          {f32({rows, cols}, v), f32({}, {-std::numeric_limits<double>::infinity()})})[0];
  const float* got = static_cast<const float*>(out.storage->data());
  CHECK(got[0] == 7.5f);
  CHECK(std::isnan(got[1]));
  CHECK(got[2] == 0.0f && !std::signbit(got[2]));
  CHECK(std::isinf(got[3]) && got[3] < 0);
  // The init takes part: a larger init wins over every row.
  CHECK_VALUES(run_module(reduce_module("tensor<4x3001xf32>", "tensor<4xf32>", "1", "maximum"),
                          {f32({rows, cols}, v), f32({}, {1000})})[0], {1000, kNaN, 1000, 1000});
}

TEST(reduce_argmax_and_argmin) {
  Tensor x = f32({3, 4}, {1, 5, 5, 2, -1, -3, -3, -2, 0, kNaN, 7, 7});
  // This body lets a NaN element replace the accumulator but never keep it against the next number.
  CHECK_VALUES(run_module(argmax_module("GT", 3, 4), {x})[0], {1, 0, 2});
  CHECK_VALUES(run_module(argmax_module("LT", 3, 4, "0x7F800000"), {x})[0], {0, 1, 2});  // argmin, +inf init
  // A wider case, checked against a plain loop.
  const int rows = 5, cols = 1000;
  std::vector<double> v(rows * cols);
  for (int i = 0; i < rows * cols; ++i) v[i] = double((i * 7919) % 1013);
  std::vector<double> want;
  for (int r = 0; r < rows; ++r) {
    int best = 0;
    for (int c = 1; c < cols; ++c) {
      if (v[r * cols + c] > v[r * cols + best]) best = c;
    }
    want.push_back(best);
  }
  CHECK_VALUES(run_module(argmax_module("GT", rows, cols), {f32({rows, cols}, v)})[0], want);
}

namespace {

// argmax as src/ops/reduce.ts lowers it: NaN is the largest value, ties and two NaNs go to the lower index. With
// `keep_iota` the iota is also returned, so the planner must materialise it (the table loop over stored indices);
// without, the reduce reads each index from its position (and f32 rows take the blocked scan).
std::string nan_argmax_module(int rows, int cols, bool keep_iota, const char* init = "0xFF800000") {
  const std::string vt = "tensor<" + std::to_string(rows) + "x" + std::to_string(cols) + "xf32>";
  const std::string it = "tensor<" + std::to_string(rows) + "x" + std::to_string(cols) + "xi32>";
  const std::string ot = "tensor<" + std::to_string(rows) + "xi32>";
  const std::string f = "tensor<f32>", i = "tensor<i32>", b = "tensor<i1>";
  auto cmp = [&](const std::string& r, const std::string& x, const std::string& y, const char* dir, const std::string& t) {
    return "      " + r + " = \"stablehlo.compare\"(" + x + ", " + y +
           ") {comparison_direction = #stablehlo<comparison_direction " + dir + ">} : (" + t + ", " + t + ") -> " + b + "\n";
  };
  auto bin = [&](const std::string& r, const char* op, const std::string& x, const std::string& y) {
    return "      " + r + " = \"stablehlo." + op + "\"(" + x + ", " + y + ") : (" + b + ", " + b + ") -> " + b + "\n";
  };
  auto neg = [&](const std::string& r, const std::string& x) {
    return "      " + r + " = \"stablehlo.not\"(" + x + ") : (" + b + ") -> " + b + "\n";
  };
  return module("%x: " + vt, keep_iota ? "(" + ot + ", " + it + ")" : ot,
                "    %iota = \"stablehlo.iota\"() {iota_dimension = 1 : i64} : () -> " + it + "\n"
                "    %init = \"stablehlo.constant\"() {value = dense<" + std::string(init) + "> : " + f + "} : () -> " + f + "\n"
                "    %zero = \"stablehlo.constant\"() {value = dense<0> : " + i + "} : () -> " + i + "\n"
                "    %r:2 = \"stablehlo.reduce\"(%x, %iota, %init, %zero) ({\n"
                "    ^bb0(%av: " + f + ", %ai: " + i + ", %bv: " + f + ", %bi: " + i + "):\n" +
                cmp("%gt", "%av", "%bv", "GT", f) + cmp("%eq", "%av", "%bv", "EQ", f) + cmp("%lt", "%ai", "%bi", "LT", i) +
                bin("%tie", "and", "%eq", "%lt") + bin("%w0", "or", "%gt", "%tie") + cmp("%an", "%av", "%av", "NE", f) +
                cmp("%bn", "%bv", "%bv", "NE", f) + bin("%both", "and", "%an", "%bn") + neg("%nbn", "%bn") +
                bin("%aonly", "and", "%an", "%nbn") + bin("%ntie", "and", "%both", "%lt") + bin("%w1", "and", "%w0", "%nbn") +
                bin("%w2", "or", "%ntie", "%w1") + bin("%wins", "or", "%aonly", "%w2") +
                "      %v = \"stablehlo.select\"(%wins, %av, %bv) : (" + b + ", " + f + ", " + f + ") -> " + f + "\n"
                "      %k = \"stablehlo.select\"(%wins, %ai, %bi) : (" + b + ", " + i + ", " + i + ") -> " + i + "\n"
                "      \"stablehlo.return\"(%v, %k) : (" + f + ", " + i + ") -> ()\n"
                "    }) {dimensions = array<i64: 1>} : (" + vt + ", " + it + ", " + f + ", " + i + ") -> (tensor<" +
                    std::to_string(rows) + "xf32>, " + ot + ")\n" +
                (keep_iota ? "    \"func.return\"(%r#1, %iota) : (" + ot + ", " + it + ") -> ()"
                           : "    \"func.return\"(%r#1) : (" + ot + ") -> ()"));
}

// The first NaN of a row, else the first of its largest values (init -inf at index 0 never wins alone).
std::vector<double> plain_nan_argmax(const std::vector<double>& v, int rows, int cols) {
  std::vector<double> want;
  for (int r = 0; r < rows; ++r) {
    int best = 0;
    for (int c = 1; c < cols; ++c) {
      const double x = v[r * cols + c], y = v[r * cols + best];
      if (std::isnan(y)) break;
      if (std::isnan(x) || x > y) best = c;
    }
    want.push_back(best);
  }
  return want;
}

}  // namespace

// The sampler's greedy argmax over [B, V] logits (issue 7): the index from the position, never an iota tensor.
TEST(reduce_argmax_positional_index) {
  const double inf = std::numeric_limits<double>::infinity();
  // Rows longer than a 2048-element block and not a multiple of 16, so blocks, lanes and tails all matter.
  const int rows = 10, cols = 5000;
  std::vector<double> v(rows * cols);
  for (int i = 0; i < rows * cols; ++i) v[i] = double((i * 7919) % 1013) - 500;
  auto at = [&](int r, int c) -> double& { return v[r * cols + c]; };
  at(0, 4321) = 900; at(0, 4999) = 900;                   // tie in the tail of the last block: first wins
  at(1, 10) = 900; at(1, 3000) = 900;                     // tie across blocks
  at(2, 2047) = 901; at(2, 2048) = 901;                   // tie across a block edge
  at(3, 4000) = kNaN; at(3, 4500) = kNaN; at(3, 5) = 2e3; // first NaN beats a larger number before it
  at(4, 0) = kNaN;                                        // NaN first
  at(5, 4999) = kNaN;                                     // NaN last
  for (int c = 0; c < cols; ++c) at(6, c) = -inf;          // all -inf: index 0
  for (int c = 0; c < cols; ++c) at(7, c) = c % 2 ? 0.0 : -0.0;  // +0 and -0 tie: index 0
  at(8, 4999) = 1e4;                                      // largest in the tail
  for (int c = 0; c < cols; ++c) at(9, c) = c == 3 ? inf : -inf;
  const std::vector<double> want = plain_nan_argmax(v, rows, cols);
  CHECK_VALUES(run_module(nan_argmax_module(rows, cols, false), {f32({rows, cols}, v)})[0], want);
  auto kept = run_module(nan_argmax_module(rows, cols, true), {f32({rows, cols}, v)});
  CHECK_VALUES(kept[0], want);
  std::vector<double> idx(rows * cols);
  for (int i = 0; i < rows * cols; ++i) idx[i] = i % cols;
  CHECK_VALUES(kept[1], idx);
  // Rows shorter than one vector of lanes.
  const std::vector<double> small = {3, kNaN, 3, -1, 2, 2};
  CHECK_VALUES(run_module(nan_argmax_module(2, 3, false), {f32({2, 3}, small)})[0], {1, 1});
  // The init takes part: a +inf init at index 0 beats every finite row (the table decides init against x[0]).
  CHECK_VALUES(run_module(nan_argmax_module(2, 3, false, "0x7F800000"), {f32({2, 3}, {1, 2, 3, 4, kNaN, 5})})[0],
               {0, 1});
  // A body without the NaN rule has no blocked scan: the table loop with positional indices.
  std::vector<double> plain(5 * 1000);
  for (int i = 0; i < 5000; ++i) plain[i] = double((i * 7919) % 1013);
  CHECK_VALUES(run_module(argmax_module("GT", 5, 1000), {f32({5, 1000}, plain)})[0],
               plain_nan_argmax(plain, 5, 1000));
}

TEST(reduce_generic_body) {
  // A body with no fast path: sum of squares-ish accumulate a + b*b (not associative, but well defined in order).
  std::string text = module(
      "%x: tensor<2x3xf32>", "tensor<2xf32>",
      "    %zero = \"stablehlo.constant\"() {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>\n"
      "    %r = \"stablehlo.reduce\"(%x, %zero) ({\n"
      "    ^bb0(%a: tensor<f32>, %b: tensor<f32>):\n"
      "      %sq = \"stablehlo.multiply\"(%b, %b) : (tensor<f32>, tensor<f32>) -> tensor<f32>\n"
      "      %s = \"stablehlo.add\"(%a, %sq) : (tensor<f32>, tensor<f32>) -> tensor<f32>\n"
      "      \"stablehlo.return\"(%s) : (tensor<f32>) -> ()\n"
      "    }) {dimensions = array<i64: 1>} : (tensor<2x3xf32>, tensor<f32>) -> tensor<2xf32>\n"
      "    \"func.return\"(%r) : (tensor<2xf32>) -> ()");
  CHECK_VALUES(run_module(text, {f32({2, 3}, {1, 2, 3, -1, 0, 2})})[0], {14, 5});
  // Variadic (sum, count of positives) with a captured outer scalar as the threshold.
  std::string text2 = module(
      "%x: tensor<4xf32>, %t: tensor<f32>", "(tensor<f32>, tensor<i32>)",
      "    %z = \"stablehlo.constant\"() {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>\n"
      "    %zi = \"stablehlo.constant\"() {value = dense<0> : tensor<i32>} : () -> tensor<i32>\n"
      "    %ones = \"stablehlo.constant\"() {value = dense<1> : tensor<4xi32>} : () -> tensor<4xi32>\n"
      "    %r:2 = \"stablehlo.reduce\"(%x, %ones, %z, %zi) ({\n"
      "    ^bb0(%a: tensor<f32>, %ac: tensor<i32>, %b: tensor<f32>, %bc: tensor<i32>):\n"
      "      %s = \"stablehlo.add\"(%a, %b) : (tensor<f32>, tensor<f32>) -> tensor<f32>\n"
      "      %pos = \"stablehlo.compare\"(%b, %t) {comparison_direction = #stablehlo<comparison_direction GT>} : (tensor<f32>, tensor<f32>) -> tensor<i1>\n"
      "      %inc = \"stablehlo.add\"(%ac, %bc) : (tensor<i32>, tensor<i32>) -> tensor<i32>\n"
      "      %c = \"stablehlo.select\"(%pos, %inc, %ac) : (tensor<i1>, tensor<i32>, tensor<i32>) -> tensor<i32>\n"
      "      \"stablehlo.return\"(%s, %c) : (tensor<f32>, tensor<i32>) -> ()\n"
      "    }) {dimensions = array<i64: 0>} : (tensor<4xf32>, tensor<4xi32>, tensor<f32>, tensor<i32>) -> (tensor<f32>, tensor<i32>)\n"
      "    \"func.return\"(%r#0, %r#1) : (tensor<f32>, tensor<i32>) -> ()");
  auto r = run_module(text2, {f32({4}, {1, -2, 3, 0.5}), f32({}, {0.75})});
  CHECK_VALUES(r[0], {2.5});
  CHECK_VALUES(r[1], {2});
}

namespace {

std::string dot_module(const std::string& lt, const std::string& rt, const std::string& ot, const std::string& dims) {
  return module("%a: " + lt + ", %b: " + rt, ot,
                "    %r = \"stablehlo.dot_general\"(%a, %b) {dot_dimension_numbers = #stablehlo.dot<" + dims +
                    ">, precision_config = [#stablehlo<precision DEFAULT>, #stablehlo<precision DEFAULT>]} : (" + lt +
                    ", " + rt + ") -> " + ot + "\n    \"func.return\"(%r) : (" + ot + ") -> ()");
}

// Reference: out[b, m, n] = sum_k A(b, m, k) * B(b, k, n) through accessor functions.
std::vector<double> reference_dot(int B, int M, int N, int K, const std::function<double(int, int, int)>& a,
                                  const std::function<double(int, int, int)>& b) {
  std::vector<double> out;
  for (int bi = 0; bi < B; ++bi)
    for (int m = 0; m < M; ++m)
      for (int n = 0; n < N; ++n) {
        double s = 0;
        for (int k = 0; k < K; ++k) s += a(bi, m, k) * b(bi, k, n);
        out.push_back(s);
      }
  return out;
}

}  // namespace

TEST(dot_general_layouts) {
  Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = f32({3, 2}, {1, 0, 0, 1, 1, 1});
  CHECK_VALUES(run_module(dot_module("tensor<2x3xf32>", "tensor<3x2xf32>", "tensor<2x2xf32>",
                                     "lhs_contracting_dimensions = [1], rhs_contracting_dimensions = [0]"),
                          {a, b})[0],
               {4, 5, 10, 11});
  // lhs transposed (contract dim 0), rhs transposed (contract dim 1).
  CHECK_VALUES(run_module(dot_module("tensor<3x2xf32>", "tensor<2x3xf32>", "tensor<2x2xf32>",
                                     "lhs_contracting_dimensions = [0], rhs_contracting_dimensions = [1]"),
                          {f32({3, 2}, {1, 4, 2, 5, 3, 6}), f32({2, 3}, {1, 0, 1, 0, 1, 1})})[0],
               {4, 5, 10, 11});
  // Sizes above the small-product threshold go through sgemm with every transpose combination.
  const int M = 40, N = 36, K = 50;
  std::vector<double> av(M * K), bv(K * N);
  for (int i = 0; i < M * K; ++i) av[i] = ((i * 37) % 17 - 8) * 0.125;
  for (int i = 0; i < K * N; ++i) bv[i] = ((i * 53) % 13 - 6) * 0.25;
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      // Store A as [M,K] or [K,M], B as [K,N] or [N,K]; the math is the same.
      std::vector<double> as(M * K), bs(K * N);
      for (int m = 0; m < M; ++m)
        for (int k = 0; k < K; ++k) as[ta ? k * M + m : m * K + k] = av[m * K + k];
      for (int k = 0; k < K; ++k)
        for (int n = 0; n < N; ++n) bs[tb ? n * K + k : k * N + n] = bv[k * N + n];
      std::string lt = ta ? "tensor<50x40xf32>" : "tensor<40x50xf32>";
      std::string rt = tb ? "tensor<36x50xf32>" : "tensor<50x36xf32>";
      std::string dims = std::string("lhs_contracting_dimensions = [") + (ta ? "0" : "1") +
                         "], rhs_contracting_dimensions = [" + (tb ? "1" : "0") + "]";
      Tensor r = run_module(dot_module(lt, rt, "tensor<40x36xf32>", dims),
                            {f32({ta ? K : M, ta ? M : K}, as), f32({tb ? N : K, tb ? K : N}, bs)})[0];
      CHECK_CLOSE(r, 1e-5, reference_dot(1, M, N, K, [&](int, int m, int k) { return av[m * K + k]; },
                                         [&](int, int k, int n) { return bv[k * N + n]; }));
    }
  }
}

TEST(dot_general_batched) {
  // [B=2, M=2, K=3] x [B=2, K=3, N=2] batch dims first.
  std::vector<double> av = iota_values(12), bv = iota_values(12, 0.5);
  auto ref = reference_dot(2, 2, 2, 3, [&](int b, int m, int k) { return av[b * 6 + m * 3 + k]; },
                           [&](int b, int k, int n) { return bv[b * 6 + k * 2 + n]; });
  CHECK_VALUES(run_module(dot_module("tensor<2x2x3xf32>", "tensor<2x3x2xf32>", "tensor<2x2x2xf32>",
                                     "lhs_batching_dimensions = [0], rhs_batching_dimensions = [0], "
                                     "lhs_contracting_dimensions = [2], rhs_contracting_dimensions = [1]"),
                          {f32({2, 2, 3}, av), f32({2, 3, 2}, bv)})[0],
               ref);
  // Batch dim in the middle of the lhs ([M, B, K]) and last in the rhs ([K, N, B]).
  std::vector<double> a2(12), b2(12);
  for (int b = 0; b < 2; ++b)
    for (int m = 0; m < 2; ++m)
      for (int k = 0; k < 3; ++k) a2[m * 6 + b * 3 + k] = av[b * 6 + m * 3 + k];
  for (int b = 0; b < 2; ++b)
    for (int k = 0; k < 3; ++k)
      for (int n = 0; n < 2; ++n) b2[k * 4 + n * 2 + b] = bv[b * 6 + k * 2 + n];
  CHECK_VALUES(run_module(dot_module("tensor<2x2x3xf32>", "tensor<3x2x2xf32>", "tensor<2x2x2xf32>",
                                     "lhs_batching_dimensions = [1], rhs_batching_dimensions = [2], "
                                     "lhs_contracting_dimensions = [2], rhs_contracting_dimensions = [0]"),
                          {f32({2, 2, 3}, a2), f32({3, 2, 2}, b2)})[0],
               ref);
  // A big batched product whose lhs needs packing (contracting dims split around a free dim).
  const int B = 3, M = 33, K1 = 4, K2 = 10, N = 40;
  std::vector<double> a3(B * K1 * M * K2), b3(B * K1 * K2 * N);
  for (size_t i = 0; i < a3.size(); ++i) a3[i] = double((i * 31) % 7) - 3;
  for (size_t i = 0; i < b3.size(); ++i) b3[i] = double((i * 17) % 5) - 2;
  // lhs [B, K1, M, K2], rhs [B, K1, K2, N], contracting (K1, K2).
  auto r3 = reference_dot(B, M, N, K1 * K2,
                          [&](int b, int m, int k) { return a3[((b * K1 + k / K2) * M + m) * K2 + k % K2]; },
                          [&](int b, int k, int n) { return b3[((b * K1 + k / K2) * K2 + k % K2) * N + n]; });
  CHECK_CLOSE(run_module(dot_module("tensor<3x4x33x10xf32>", "tensor<3x4x10x40xf32>", "tensor<3x33x40xf32>",
                                    "lhs_batching_dimensions = [0], rhs_batching_dimensions = [0], "
                                    "lhs_contracting_dimensions = [1, 3], rhs_contracting_dimensions = [1, 2]"),
                         {f32({B, K1, M, K2}, a3), f32({B, K1, K2, N}, b3)})[0],
              1e-5, r3);
}

TEST(dot_general_dtypes) {
  Tensor a = make_tensor(DType::kBF16, {2, 2}, {1.5, 2, 3, 4});
  Tensor b = make_tensor(DType::kBF16, {2, 2}, {1, 1, 0.5, 2});
  const std::string dims = "lhs_contracting_dimensions = [1], rhs_contracting_dimensions = [0]";
  CHECK_VALUES(run_module(dot_module("tensor<2x2xbf16>", "tensor<2x2xbf16>", "tensor<2x2xbf16>", dims), {a, b})[0],
               {2.5, 5.5, 5, 11});
  CHECK_VALUES(run_module(dot_module("tensor<2x2xbf16>", "tensor<2x2xbf16>", "tensor<2x2xf32>", dims), {a, b})[0],
               {2.5, 5.5, 5, 11});
  CHECK_VALUES(run_module(dot_module("tensor<2x2xi32>", "tensor<2x2xi32>", "tensor<2x2xi32>", dims),
                          {i32({2, 2}, {1, -2, 3, 4}), i32({2, 2}, {5, 6, 7, 8})})[0],
               {-9, -10, 43, 50});
  // Vector dot (no free dims) and an outer product (no contracting dims).
  CHECK_VALUES(run_module(dot_module("tensor<3xf32>", "tensor<3xf32>", "tensor<f32>",
                                     "lhs_contracting_dimensions = [0], rhs_contracting_dimensions = [0]"),
                          {f32({3}, {1, 2, 3}), f32({3}, {4, 5, 6})})[0],
               {32});
  CHECK_VALUES(run_module(dot_module("tensor<2xf32>", "tensor<3xf32>", "tensor<2x3xf32>", ""),
                          {f32({2}, {1, 2}), f32({3}, {4, 5, 6})})[0],
               {4, 5, 6, 8, 10, 12});
  // Contracting a size-0 dim gives zeros.
  CHECK_VALUES(run_module(dot_module("tensor<2x0xf32>", "tensor<0x2xf32>", "tensor<2x2xf32>", dims),
                          {f32({2, 0}, {}), f32({0, 2}, {})})[0],
               {0, 0, 0, 0});
}
