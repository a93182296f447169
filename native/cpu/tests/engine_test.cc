// Engine tests: known answers of the shared example module, donation and error messages. Op families are
// tested in engine_ops_test.cc and engine_ops2_test.cc (linked into the same program).
#include <atomic>
#include <thread>

#include "test_harness.h"

using namespace grpo::cpu;
using namespace grpo::cpu::testing;

namespace {

// /work/shared/facts/stablehlo-example.mlir, copied verbatim.
const char* kExample = R"mlir(// A module in the generic syntax the project emits, covering the primitive set. It parses and verifies with
// upstream StableHLO (1.13) and runs in its reference interpreter.
module attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func @main(%x: tensor<2x3xf32>, %w: tensor<3x4xf32> {tf.aliasing_output = 1 : i32}, %ids: tensor<2xi32>, %key: tensor<2xui32>) -> (tensor<2xi32>, tensor<3x4xf32>, tensor<2x4xf32>, tensor<f32>, tensor<2xui32>, tensor<2x4xbf16>) {
    // matmul: [2,3] x [3,4] -> [2,4]
    %0 = "stablehlo.dot_general"(%x, %w) {dot_dimension_numbers = #stablehlo.dot<lhs_contracting_dimensions = [1], rhs_contracting_dimensions = [0]>} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
    // elementwise with an explicit broadcast of a scalar
    %half = "stablehlo.constant"() {value = dense<5.000000e-01> : tensor<f32>} : () -> tensor<f32>
    %hb = "stablehlo.broadcast_in_dim"(%half) {broadcast_dimensions = array<i64>} : (tensor<f32>) -> tensor<2x4xf32>
    %1 = "stablehlo.multiply"(%0, %hb) : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %2 = "stablehlo.tanh"(%1) : (tensor<2x4xf32>) -> tensor<2x4xf32>
    // argmax over axis 1: variadic reduce over (values, indices)
    %iota = "stablehlo.iota"() {iota_dimension = 1 : i64} : () -> tensor<2x4xi32>
    %ninf = "stablehlo.constant"() {value = dense<0xFF800000> : tensor<f32>} : () -> tensor<f32>
    %zero_i = "stablehlo.constant"() {value = dense<0> : tensor<i32>} : () -> tensor<i32>
    %am:2 = "stablehlo.reduce"(%2, %iota, %ninf, %zero_i) ({
    ^bb0(%av: tensor<f32>, %ai: tensor<i32>, %bv: tensor<f32>, %bi: tensor<i32>):
      %gt = "stablehlo.compare"(%av, %bv) {comparison_direction = #stablehlo<comparison_direction GT>, compare_type = #stablehlo<comparison_type FLOAT>} : (tensor<f32>, tensor<f32>) -> tensor<i1>
      %eq = "stablehlo.compare"(%av, %bv) {comparison_direction = #stablehlo<comparison_direction EQ>, compare_type = #stablehlo<comparison_type FLOAT>} : (tensor<f32>, tensor<f32>) -> tensor<i1>
      %lt = "stablehlo.compare"(%ai, %bi) {comparison_direction = #stablehlo<comparison_direction LT>, compare_type = #stablehlo<comparison_type SIGNED>} : (tensor<i32>, tensor<i32>) -> tensor<i1>
      %tie = "stablehlo.and"(%eq, %lt) : (tensor<i1>, tensor<i1>) -> tensor<i1>
      %pick = "stablehlo.or"(%gt, %tie) : (tensor<i1>, tensor<i1>) -> tensor<i1>
      %v = "stablehlo.select"(%pick, %av, %bv) : (tensor<i1>, tensor<f32>, tensor<f32>) -> tensor<f32>
      %i = "stablehlo.select"(%pick, %ai, %bi) : (tensor<i1>, tensor<i32>, tensor<i32>) -> tensor<i32>
      "stablehlo.return"(%v, %i) : (tensor<f32>, tensor<i32>) -> ()
    }) {dimensions = array<i64: 1>} : (tensor<2x4xf32>, tensor<2x4xi32>, tensor<f32>, tensor<i32>) -> (tensor<2xf32>, tensor<2xi32>)
    // gather rows of w by ids (an embedding lookup): [3,4] at [2] -> [2,4]
    %idsc = "stablehlo.reshape"(%ids) : (tensor<2xi32>) -> tensor<2x1xi32>
    %emb = "stablehlo.gather"(%w, %idsc) {dimension_numbers = #stablehlo.gather<offset_dims = [1], collapsed_slice_dims = [0], start_index_map = [0], index_vector_dim = 1>, slice_sizes = array<i64: 1, 4>, indices_are_sorted = false} : (tensor<3x4xf32>, tensor<2x1xi32>) -> tensor<2x4xf32>
    // scatter-add the rows back (the gather's gradient)
    %zw = "stablehlo.constant"() {value = dense<0.000000e+00> : tensor<3x4xf32>} : () -> tensor<3x4xf32>
    %gw = "stablehlo.scatter"(%zw, %idsc, %emb) ({
    ^bb0(%p: tensor<f32>, %q: tensor<f32>):
      %s = "stablehlo.add"(%p, %q) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      "stablehlo.return"(%s) : (tensor<f32>) -> ()
    }) {scatter_dimension_numbers = #stablehlo.scatter<update_window_dims = [1], inserted_window_dims = [0], scatter_dims_to_operand_dims = [0], index_vector_dim = 1>, indices_are_sorted = false, unique_indices = false} : (tensor<3x4xf32>, tensor<2x1xi32>, tensor<2x4xf32>) -> tensor<3x4xf32>
    %w2 = "stablehlo.add"(%w, %gw) : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
    // a while loop carrying a counter and an accumulator: sum of 0..4 = 10
    %c0 = "stablehlo.constant"() {value = dense<0> : tensor<i32>} : () -> tensor<i32>
    %acc0 = "stablehlo.constant"() {value = dense<0.000000e+00> : tensor<f32>} : () -> tensor<f32>
    %loop:2 = "stablehlo.while"(%c0, %acc0) ({
    ^bb0(%i: tensor<i32>, %acc: tensor<f32>):
      %five = "stablehlo.constant"() {value = dense<5> : tensor<i32>} : () -> tensor<i32>
      %cond = "stablehlo.compare"(%i, %five) {comparison_direction = #stablehlo<comparison_direction LT>, compare_type = #stablehlo<comparison_type SIGNED>} : (tensor<i32>, tensor<i32>) -> tensor<i1>
      "stablehlo.return"(%cond) : (tensor<i1>) -> ()
    }, {
    ^bb0(%i: tensor<i32>, %acc: tensor<f32>):
      %one = "stablehlo.constant"() {value = dense<1> : tensor<i32>} : () -> tensor<i32>
      %fi = "stablehlo.convert"(%i) : (tensor<i32>) -> tensor<f32>
      %acc2 = "stablehlo.add"(%acc, %fi) : (tensor<f32>, tensor<f32>) -> tensor<f32>
      %i2 = "stablehlo.add"(%i, %one) : (tensor<i32>, tensor<i32>) -> tensor<i32>
      "stablehlo.return"(%i2, %acc2) : (tensor<i32>, tensor<f32>) -> ()
    }) : (tensor<i32>, tensor<f32>) -> (tensor<i32>, tensor<f32>)
    // u32 bit ops as threefry uses them: rotate left by 13
    %k13 = "stablehlo.constant"() {value = dense<13> : tensor<2xui32>} : () -> tensor<2xui32>
    %k19 = "stablehlo.constant"() {value = dense<19> : tensor<2xui32>} : () -> tensor<2xui32>
    %shl = "stablehlo.shift_left"(%key, %k13) : (tensor<2xui32>, tensor<2xui32>) -> tensor<2xui32>
    %shr = "stablehlo.shift_right_logical"(%key, %k19) : (tensor<2xui32>, tensor<2xui32>) -> tensor<2xui32>
    %rot = "stablehlo.or"(%shl, %shr) : (tensor<2xui32>, tensor<2xui32>) -> tensor<2xui32>
    %mix = "stablehlo.xor"(%rot, %key) : (tensor<2xui32>, tensor<2xui32>) -> tensor<2xui32>
    // KV-cache style write: put %emb into a [2,8] buffer at column 2, then bf16 storage
    %buf = "stablehlo.constant"() {value = dense<0.000000e+00> : tensor<2x8xf32>} : () -> tensor<2x8xf32>
    %col = "stablehlo.constant"() {value = dense<2> : tensor<i32>} : () -> tensor<i32>
    %upd = "stablehlo.dynamic_update_slice"(%buf, %emb, %zero_i, %col) : (tensor<2x8xf32>, tensor<2x4xf32>, tensor<i32>, tensor<i32>) -> tensor<2x8xf32>
    %win = "stablehlo.dynamic_slice"(%upd, %zero_i, %col) {slice_sizes = array<i64: 2, 4>} : (tensor<2x8xf32>, tensor<i32>, tensor<i32>) -> tensor<2x4xf32>
    %bf = "stablehlo.convert"(%win) : (tensor<2x4xf32>) -> tensor<2x4xbf16>
    "func.return"(%am#1, %w2, %2, %loop#1, %mix, %bf) : (tensor<2xi32>, tensor<3x4xf32>, tensor<2x4xf32>, tensor<f32>, tensor<2xui32>, tensor<2x4xbf16>) -> ()
  }
}
)mlir";

}  // namespace

TEST(example_module_known_answers) {
  Tensor x = f32({2, 3}, {1, 2, 3, -1, 0.5, 2});
  std::vector<double> w_values = {0.1, 0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, 0.9, 1.0, -1.1, 1.2};
  Tensor w = f32({3, 4}, w_values);
  Tensor ids = i32({2}, {2, 0});
  Tensor key = u32({2}, {0, 42});
  auto exe = compile(kExample);
  CHECK(exe->result_aliases()[1] == 1);
  auto r = exe->run({x, w, ids, key}, {false, false, false, false});
  CHECK(r.size() == 6);
  CHECK_VALUES(r[0], {3, 3});
  std::vector<double> w2 = w_values;
  for (int c = 0; c < 4; ++c) {
    w2[c] *= 2;
    w2[8 + c] *= 2;
  }
  CHECK_CLOSE(r[1], 1e-6, w2);
  CHECK_CLOSE(r[2], 2e-6, {0.956237, 0.761594, -0.664037, 0.992631, 0.750893, 0.635149, -0.791338, 0.833655});
  CHECK_VALUES(r[3], {10});
  CHECK_VALUES(r[4], {0, 344106});
  std::vector<double> window;
  for (int row : {2, 0}) {
    for (int c = 0; c < 4; ++c) window.push_back(bf16_to_float(float_to_bf16(float(w_values[row * 4 + c]))));
  }
  CHECK_VALUES(r[5], window);
  CHECK(r[5].type.dtype == DType::kBF16);
  // The caller's w was not donated: it must be untouched.
  CHECK_CLOSE(w, 1e-7, w_values);
}

TEST(example_module_donation) {
  std::vector<double> w_values = {0.1, 0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, 0.9, 1.0, -1.1, 1.2};
  Tensor w = f32({3, 4}, w_values);
  auto exe = compile(kExample);
  auto r = exe->run({f32({2, 3}, {1, 2, 3, -1, 0.5, 2}), w, i32({2}, {2, 0}), u32({2}, {0, 42})},
                    {false, true, false, false});
  CHECK(r[1].storage == w.storage);  // w2 lands in the donated buffer
  CHECK_CLOSE(r[1], 1e-6, {0.2, 0.4, 0.6, 0.8, 0.5, -0.6, 0.7, 0.8, 1.8, 2.0, -2.2, 2.4});
}

TEST(concurrent_runs_of_one_executable) {
  // run() may be called from several threads at once (the plugin runs executions off the JS thread).
  auto exe = compile(kExample);
  std::vector<double> w_values = {0.1, 0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, 0.9, 1.0, -1.1, 1.2};
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto r = exe->run({f32({2, 3}, {1, 2, 3, -1, 0.5, 2}), f32({3, 4}, w_values), i32({2}, {2, 0}), u32({2}, {0, 42})},
                          {false, i % 2 == 1, false, false});
        if (values_of(r[0]) != std::vector<double>{3, 3} || values_of(r[3]) != std::vector<double>{10} ||
            values_of(r[4]) != std::vector<double>{0, 344106}) {
          ++bad;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(bad == 0);
}

int main() {
  int failed_tests = 0;
  for (const TestCase& t : registry()) {
    g_current_test = t.name;
    int before = g_failures;
    try {
      t.fn();
    } catch (const std::exception& e) {
      ++g_failures;
      std::fprintf(stderr, "[%s] unexpected exception: %s\n", t.name, e.what());
    }
    if (g_failures != before) ++failed_tests;
  }
  std::printf("%zu tests, %d checks, %d failures (%d tests failed)\n", registry().size(), g_checks, g_failures,
              failed_tests);
  return g_failures == 0 ? 0 : 1;
}
