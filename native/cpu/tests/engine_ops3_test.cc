// gather, scatter, while, donation and error messages.
#include <functional>

#include "test_harness.h"

using namespace grpo::cpu;
using namespace grpo::cpu::testing;

namespace {

std::string gather_module(const std::string& ot, const std::string& it, const std::string& rt, const std::string& dims,
                          const std::string& sizes) {
  return module("%x: " + ot + ", %i: " + it, rt,
                "    %g = \"stablehlo.gather\"(%x, %i) {dimension_numbers = #stablehlo.gather<" + dims +
                    ">, slice_sizes = array<i64: " + sizes + ">, indices_are_sorted = false} : (" + ot + ", " + it +
                    ") -> " + rt + "\n    \"func.return\"(%g) : (" + rt + ") -> ()");
}

std::string scatter_module(const std::string& ot, const std::string& it, const std::string& ut, const std::string& dims,
                           const std::string& body_op = "add", const std::string& elem = "f32") {
  const std::string s = "tensor<" + elem + ">";
  std::string body = body_op == "replace"
                         ? "      \"stablehlo.return\"(%q) : (" + s + ") -> ()\n"
                         : "      %s = \"stablehlo." + body_op + "\"(%p, %q) : (" + s + ", " + s + ") -> " + s +
                               "\n      \"stablehlo.return\"(%s) : (" + s + ") -> ()\n";
  return module("%x: " + ot + ", %i: " + it + ", %u: " + ut, ot,
                "    %r = \"stablehlo.scatter\"(%x, %i, %u) ({\n    ^bb0(%p: " + s + ", %q: " + s + "):\n" + body +
                    "    }) {scatter_dimension_numbers = #stablehlo.scatter<" + dims +
                    ">, indices_are_sorted = false, unique_indices = false} : (" + ot + ", " + it + ", " + ut + ") -> " +
                    ot + "\n    \"func.return\"(%r) : (" + ot + ") -> ()");
}

std::vector<double> w_values() { return {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23}; }

}  // namespace

TEST(gather_layouts) {
  Tensor w = f32({3, 4}, w_values());
  // Embedding lookup; out-of-range starts clamp (5 -> 2, -1 -> 0).
  CHECK_VALUES(run_module(gather_module("tensor<3x4xf32>", "tensor<3x1xi32>", "tensor<3x4xf32>",
                                        "offset_dims = [1], collapsed_slice_dims = [0], start_index_map = [0], index_vector_dim = 1",
                                        "1, 4"),
                          {w, i32({3, 1}, {1, 5, -1})})[0],
               {10, 11, 12, 13, 20, 21, 22, 23, 0, 1, 2, 3});
  // Implicit index vector (index_vector_dim = rank of the indices).
  CHECK_VALUES(run_module(gather_module("tensor<3x4xf32>", "tensor<2xi32>", "tensor<2x4xf32>",
                                        "offset_dims = [1], collapsed_slice_dims = [0], start_index_map = [0], index_vector_dim = 1",
                                        "1, 4"),
                          {w, i32({2}, {2, 0})})[0],
               {20, 21, 22, 23, 0, 1, 2, 3});
  // Offset dim before the batch dim: result[c][b] = w[ids[b]][c].
  CHECK_VALUES(run_module(gather_module("tensor<3x4xf32>", "tensor<2xi32>", "tensor<4x2xf32>",
                                        "offset_dims = [0], collapsed_slice_dims = [0], start_index_map = [0], index_vector_dim = 1",
                                        "1, 4"),
                          {w, i32({2}, {2, 0})})[0],
               {20, 0, 21, 1, 22, 2, 23, 3});
  // Two-component index vectors picking single elements; index_vector_dim = 0.
  CHECK_VALUES(run_module(gather_module("tensor<3x4xf32>", "tensor<2x3xi64>", "tensor<3xf32>",
                                        "offset_dims = [], collapsed_slice_dims = [0, 1], start_index_map = [0, 1], index_vector_dim = 0",
                                        "1, 1"),
                          {w, make_tensor(DType::kS64, {2, 3}, {0, 2, 1, 1, 3, 9})})[0],
               {1, 23, 13});
  // 2x3 windows starting at rows 0 and 3 (clamped to 1), columns from start_index_map = [1] (col 1 clamps to 1).
  CHECK_VALUES(run_module(gather_module("tensor<3x4xf32>", "tensor<2x2xi32>", "tensor<2x2x3xf32>",
                                        "offset_dims = [1, 2], collapsed_slice_dims = [], start_index_map = [0, 1], index_vector_dim = 1",
                                        "2, 3"),
                          {w, i32({2, 2}, {0, 0, 3, 1})})[0],
               {0, 1, 2, 10, 11, 12, 11, 12, 13, 21, 22, 23});
}

TEST(scatter_layouts) {
  const std::string rows = "update_window_dims = [1], inserted_window_dims = [0], scatter_dims_to_operand_dims = [0], "
                           "index_vector_dim = 1";
  Tensor zeros = f32({3, 4}, {0});
  Tensor upd = f32({3, 4}, {1, 2, 3, 4, 10, 20, 30, 40, 100, 200, 300, 400});
  // Duplicate indices accumulate.
  CHECK_VALUES(run_module(scatter_module("tensor<3x4xf32>", "tensor<3x1xi32>", "tensor<3x4xf32>", rows),
                          {zeros, i32({3, 1}, {2, 0, 2}), upd})[0],
               {10, 20, 30, 40, 0, 0, 0, 0, 101, 202, 303, 404});
  // Out-of-bounds rows are skipped, not clamped.
  CHECK_VALUES(run_module(scatter_module("tensor<3x4xf32>", "tensor<3x1xi32>", "tensor<3x4xf32>", rows),
                          {zeros, i32({3, 1}, {5, 1, -1}), upd})[0],
               {0, 0, 0, 0, 10, 20, 30, 40, 0, 0, 0, 0});
  // A window that sticks out is skipped whole (XLA's behaviour on every backend); one that fits is applied.
  CHECK_VALUES(run_module(scatter_module("tensor<5xf32>", "tensor<2x1xi32>", "tensor<2x3xf32>",
                                         "update_window_dims = [1], inserted_window_dims = [], "
                                         "scatter_dims_to_operand_dims = [0], index_vector_dim = 1"),
                          {f32({5}, {1, 1, 1, 1, 1}), i32({2, 1}, {3, 2}), f32({2, 3}, {5, 6, 7, 8, 9, 10})})[0],
               {1, 1, 9, 10, 11});
  // Scalar updates with an implicit index vector.
  const std::string scalars = "update_window_dims = [], inserted_window_dims = [0], scatter_dims_to_operand_dims = [0], "
                              "index_vector_dim = 1";
  CHECK_VALUES(run_module(scatter_module("tensor<4xi32>", "tensor<3xi32>", "tensor<3xi32>", scalars, "add", "i32"),
                          {i32({4}, {1, 1, 1, 1}), i32({3}, {3, 0, 3}), i32({3}, {5, 6, 7})})[0],
               {7, 1, 1, 13});
  // Replace body, and a body without a fast path (subtract: current - update).
  CHECK_VALUES(run_module(scatter_module("tensor<4xf32>", "tensor<2xi32>", "tensor<2xf32>", scalars, "replace"),
                          {f32({4}, {1, 2, 3, 4}), i32({2}, {1, 2}), f32({2}, {-5, -6})})[0],
               {1, -5, -6, 4});
  CHECK_VALUES(run_module(scatter_module("tensor<4xf32>", "tensor<2xi32>", "tensor<2xf32>", scalars, "subtract"),
                          {f32({4}, {1, 2, 3, 4}), i32({2}, {1, 1}), f32({2}, {0.5, 0.25})})[0],
               {1, 1.25, 3, 4});
  // Two-component indices into a [2,3] operand, windows of one column ([2] updates each of size 1).
  CHECK_VALUES(run_module(scatter_module("tensor<2x3xf32>", "tensor<2x2xi32>", "tensor<2xf32>",
                                         "update_window_dims = [], inserted_window_dims = [0, 1], "
                                         "scatter_dims_to_operand_dims = [1, 0], index_vector_dim = 1"),
                          {f32({2, 3}, {0}), i32({2, 2}, {2, 1, 0, 0}), f32({2}, {7, 8})})[0],
               {8, 0, 0, 0, 0, 7});
  // bf16 add.
  CHECK_VALUES(run_module(scatter_module("tensor<3xbf16>", "tensor<1xi32>", "tensor<1xbf16>", scalars, "add", "bf16"),
                          {make_tensor(DType::kBF16, {3}, {1, 2, 3}), i32({1}, {2}), make_tensor(DType::kBF16, {1}, {0.5})})[0],
               {1, 2, 3.5});
}

TEST(while_three_carried_values_and_captures) {
  // Carries (i, s, v); the cond reads the captured %n, the body the captured %step.
  std::string text = module(
      "%n: tensor<i32>, %step: tensor<3xf32>, %v0: tensor<3xf32>", "(tensor<i32>, tensor<f32>, tensor<3xf32>)",
      "    %i0 = \"stablehlo.constant\"() {value = dense<0> : tensor<i32>} : () -> tensor<i32>\n"
      "    %s0 = \"stablehlo.constant\"() {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>\n"
      "    %w:3 = \"stablehlo.while\"(%i0, %s0, %v0) ({\n"
      "    ^bb0(%i: tensor<i32>, %s: tensor<f32>, %v: tensor<3xf32>):\n"
      "      %c = \"stablehlo.compare\"(%i, %n) {comparison_direction = #stablehlo<comparison_direction LT>} : (tensor<i32>, tensor<i32>) -> tensor<i1>\n"
      "      \"stablehlo.return\"(%c) : (tensor<i1>) -> ()\n"
      "    }, {\n"
      "    ^bb0(%i: tensor<i32>, %s: tensor<f32>, %v: tensor<3xf32>):\n"
      "      %one = \"stablehlo.constant\"() {value = dense<1> : tensor<i32>} : () -> tensor<i32>\n"
      "      %fi = \"stablehlo.convert\"(%i) : (tensor<i32>) -> tensor<f32>\n"
      "      %s2 = \"stablehlo.add\"(%s, %fi) : (tensor<f32>, tensor<f32>) -> tensor<f32>\n"
      "      %v2 = \"stablehlo.add\"(%v, %step) : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>\n"
      "      %i2 = \"stablehlo.add\"(%i, %one) : (tensor<i32>, tensor<i32>) -> tensor<i32>\n"
      "      \"stablehlo.return\"(%i2, %s2, %v2) : (tensor<i32>, tensor<f32>, tensor<3xf32>) -> ()\n"
      "    }) : (tensor<i32>, tensor<f32>, tensor<3xf32>) -> (tensor<i32>, tensor<f32>, tensor<3xf32>)\n"
      "    \"func.return\"(%w#0, %w#1, %w#2) : (tensor<i32>, tensor<f32>, tensor<3xf32>) -> ()");
  Tensor v0 = f32({3}, {1, 2, 3});
  auto r = run_module(text, {i32({}, {4}), f32({3}, {0.5, -1, 2}), v0});
  CHECK_VALUES(r[0], {4});
  CHECK_VALUES(r[1], {6});
  CHECK_VALUES(r[2], {3, -2, 11});
  CHECK_VALUES(v0, {1, 2, 3});  // the initial carry was the caller's: untouched
  // Zero iterations return the initial values (as copies the caller may own).
  r = run_module(text, {i32({}, {0}), f32({3}, {0.5, -1, 2}), v0});
  CHECK_VALUES(r[2], {1, 2, 3});
  CHECK(r[2].storage != v0.storage);
}

TEST(donation_reuses_argument_storage) {
  // w <- w - 0.5 * g, with w donated: no new buffer survives the run.
  std::string sgd = module(
      "%w: tensor<64x64xf32> {tf.aliasing_output = 0 : i32}, %g: tensor<64x64xf32>", "tensor<64x64xf32>",
      "    %h = \"stablehlo.constant\"() {value = dense<5.000000e-01> : tensor<64x64xf32>} : () -> tensor<64x64xf32>\n"
      "    %d = \"stablehlo.multiply\"(%g, %h) : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>\n"
      "    %n = \"stablehlo.subtract\"(%w, %d) : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>\n"
      "    \"func.return\"(%n) : (tensor<64x64xf32>) -> ()");
  auto exe = compile(sgd);
  CHECK(exe->result_aliases() == std::vector<int>{0});
  Tensor w = f32({64, 64}, {2});
  Tensor g = f32({64, 64}, {1});
  const int64_t before = bytes_in_use(), count_before = live_storage_count();
  auto r = exe->run({w, g}, {true, false});
  CHECK(bytes_in_use() == before);
  CHECK(live_storage_count() == count_before);
  CHECK(r[0].storage == w.storage);
  CHECK_VALUES(r[0], std::vector<double>(64 * 64, 1.5));
  CHECK_VALUES(g, std::vector<double>(64 * 64, 1));
  // Without donation the result is new and w is left alone.
  Tensor w2 = f32({64, 64}, {2});
  r = exe->run({w2, g}, {false, false});
  CHECK(r[0].storage != w2.storage);
  CHECK_VALUES(w2, std::vector<double>(64 * 64, 2));
}

// Blocks of 2 MiB and more start on a 2 MiB boundary (for transparent huge pages), smaller ones on 64 bytes; either
// is zeroed when asked, and the byte counts come back on release.
TEST(storage_alignment_and_accounting) {
  const int64_t before = bytes_in_use();
  for (size_t bytes : {size_t(100), size_t(2) << 20, (size_t(5) << 20) + 12}) {
    {
      Storage s(bytes);
      const auto address = reinterpret_cast<uintptr_t>(s.data());
      CHECK(address % 64 == 0);
      if (bytes >= (size_t(2) << 20)) CHECK(address % (size_t(2) << 20) == 0);
      CHECK(bytes_in_use() == before + int64_t(bytes));
      const auto* p = static_cast<const unsigned char*>(s.data());
      bool zero = true;
      for (size_t i = 0; i < bytes; i += 4093) zero = zero && p[i] == 0;
      CHECK(zero && p[bytes - 1] == 0);
      std::memset(s.data(), 0xab, bytes);  // every byte is writable, to the last one
    }
    CHECK(bytes_in_use() == before);
  }
}

TEST(donation_through_while_kv_cache) {
  // A KV-cache style loop: write row i of the donated cache each iteration.
  std::string text = module(
      "%cache: tensor<4x3xf32> {tf.aliasing_output = 0 : i32}, %row: tensor<1x3xf32>", "tensor<4x3xf32>",
      "    %i0 = \"stablehlo.constant\"() {value = dense<0> : tensor<i32>} : () -> tensor<i32>\n"
      "    %w:2 = \"stablehlo.while\"(%i0, %cache) ({\n"
      "    ^bb0(%i: tensor<i32>, %c: tensor<4x3xf32>):\n"
      "      %n = \"stablehlo.constant\"() {value = dense<4> : tensor<i32>} : () -> tensor<i32>\n"
      "      %lt = \"stablehlo.compare\"(%i, %n) {comparison_direction = #stablehlo<comparison_direction LT>} : (tensor<i32>, tensor<i32>) -> tensor<i1>\n"
      "      \"stablehlo.return\"(%lt) : (tensor<i1>) -> ()\n"
      "    }, {\n"
      "    ^bb0(%i: tensor<i32>, %c: tensor<4x3xf32>):\n"
      "      %zero = \"stablehlo.constant\"() {value = dense<0> : tensor<i32>} : () -> tensor<i32>\n"
      "      %fi = \"stablehlo.convert\"(%i) : (tensor<i32>) -> tensor<f32>\n"
      "      %b = \"stablehlo.broadcast_in_dim\"(%fi) {broadcast_dimensions = array<i64>} : (tensor<f32>) -> tensor<1x3xf32>\n"
      "      %u = \"stablehlo.add\"(%row, %b) : (tensor<1x3xf32>, tensor<1x3xf32>) -> tensor<1x3xf32>\n"
      "      %c2 = \"stablehlo.dynamic_update_slice\"(%c, %u, %i, %zero) : (tensor<4x3xf32>, tensor<1x3xf32>, tensor<i32>, tensor<i32>) -> tensor<4x3xf32>\n"
      "      %one = \"stablehlo.constant\"() {value = dense<1> : tensor<i32>} : () -> tensor<i32>\n"
      "      %i2 = \"stablehlo.add\"(%i, %one) : (tensor<i32>, tensor<i32>) -> tensor<i32>\n"
      "      \"stablehlo.return\"(%i2, %c2) : (tensor<i32>, tensor<4x3xf32>) -> ()\n"
      "    }) : (tensor<i32>, tensor<4x3xf32>) -> (tensor<i32>, tensor<4x3xf32>)\n"
      "    \"func.return\"(%w#1) : (tensor<4x3xf32>) -> ()");
  auto exe = compile(text);
  Tensor cache = f32({4, 3}, {0});
  Tensor row = f32({1, 3}, {10, 20, 30});
  const int64_t before = bytes_in_use();
  auto r = exe->run({cache, row}, {true, false});
  CHECK(r[0].storage == cache.storage);
  CHECK(bytes_in_use() == before);
  CHECK_VALUES(r[0], {10, 20, 30, 11, 21, 31, 12, 22, 32, 13, 23, 33});
  // Not donated: same answer in a new buffer, cache untouched.
  Tensor cache2 = f32({4, 3}, {0});
  r = exe->run({cache2, row}, {false, false});
  CHECK(r[0].storage != cache2.storage);
  CHECK_VALUES(cache2, std::vector<double>(12, 0));
  CHECK_VALUES(r[0], {10, 20, 30, 11, 21, 31, 12, 22, 32, 13, 23, 33});
}

TEST(results_never_share_storage) {
  std::string text = module("%a: tensor<2xf32>", "(tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<1x2xf32>)",
                            "    %c = \"stablehlo.constant\"() {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>\n"
                            "    %r = \"stablehlo.reshape\"(%a) : (tensor<2xf32>) -> tensor<1x2xf32>\n"
                            "    \"func.return\"(%a, %a, %c, %r) : (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<1x2xf32>) -> ()");
  auto exe = compile(text);
  Tensor a = f32({2}, {3, 4});
  auto r = exe->run({a}, {false});
  CHECK(r[0].storage != a.storage && r[1].storage != a.storage && r[3].storage != a.storage);
  CHECK(r[0].storage != r[1].storage);
  auto r2 = exe->run({a}, {false});
  CHECK(r2[2].storage != r[2].storage);  // the constant is copied out, never handed over
  CHECK_VALUES(r[3], {3, 4});
  CHECK_VALUES(r2[2], {1, 2});
}

TEST(execute_errors) {
  auto exe = compile(module("%a: tensor<2xf32>", "tensor<2xf32>", "    \"func.return\"(%a) : (tensor<2xf32>) -> ()"));
  bool threw = false;
  try {
    exe->run({}, {});
  } catch (const ExecuteError&) {
    threw = true;
  }
  CHECK(threw);
  threw = false;
  try {
    exe->run({i32({2}, {1, 2})}, {false});
  } catch (const ExecuteError& e) {
    threw = std::string(e.what()).find("tensor<2xi32>") != std::string::npos;
  }
  CHECK(threw);
}

TEST(compile_errors_name_line_and_column) {
  CHECK_COMPILE_ERROR(module("%a: tensor<2xf32>, %b: tensor<2xf32>", "tensor<2xf32>",
                             "    %0 = \"stablehlo.add\"(%a %b) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>\n"
                             "    \"func.return\"(%0) : (tensor<2xf32>) -> ()"),
                      {"line 3, column 29", "expected ')' but found '%b'"});
  CHECK_COMPILE_ERROR(module("%a: tensor<2xf32>", "tensor<2xf32>",
                             "    %0 = \"stablehlo.fft\"(%a) : (tensor<2xf32>) -> tensor<2xf32>\n"
                             "    \"func.return\"(%0) : (tensor<2xf32>) -> ()"),
                      {"unsupported op 'stablehlo.fft' at line 3, column 5"});
  CHECK_COMPILE_ERROR(module("%a: tensor<2xf32>, %b: tensor<3xf32>", "tensor<2xf32>",
                             "\n    %0 = \"stablehlo.add\"(%a, %b) : (tensor<2xf32>, tensor<3xf32>) -> tensor<2xf32>\n"
                             "    \"func.return\"(%0) : (tensor<2xf32>) -> ()"),
                      {"line 4, column 5", "'stablehlo.add'", "tensor<2xf32>", "tensor<3xf32>"});
  CHECK_COMPILE_ERROR(module("%a: tensor<2xf32>", "tensor<2xf32>",
                             "    %0 = \"stablehlo.negate\"(%zz) : (tensor<2xf32>) -> tensor<2xf32>\n"
                             "    \"func.return\"(%0) : (tensor<2xf32>) -> ()"),
                      {"line 3, column 29", "use of undefined value '%zz'"});
  CHECK_COMPILE_ERROR(module("%a: tensor<2xf32>", "tensor<2xf32>",
                             "    %0 = \"stablehlo.negate\"(%a) : (tensor<3xf32>) -> tensor<3xf32>\n"
                             "    \"func.return\"(%0) : (tensor<3xf32>) -> ()"),
                      {"line 3, column 29", "tensor<2xf32>", "tensor<3xf32>"});
  CHECK_COMPILE_ERROR(module("%a: tensor<2xf32>", "tensor<3xf32>", "    \"func.return\"(%a) : (tensor<2xf32>) -> ()"),
                      {"line 3, column 5", "'func.return'", "tensor<3xf32>"});
  CHECK_COMPILE_ERROR(module("%a: tensor<2xf16>", "tensor<2xf16>", "    \"func.return\"(%a) : (tensor<2xf16>) -> ()"),
                      {"line 2, column 32", "unsupported element type 'f16'"});
  CHECK_COMPILE_ERROR(module("", "tensor<2xf32>",
                             "    %c = \"stablehlo.constant\"() {value = dense<[1.0, 2.0, 3.0]> : tensor<2xf32>} : () -> tensor<2xf32>\n"
                             "    \"func.return\"(%c) : (tensor<2xf32>) -> ()"),
                      {"line 3, column", "3 elements", "tensor<2xf32>"});
  CHECK_COMPILE_ERROR(module("%a: tensor<2x3xf32>", "tensor<3x3xf32>",
                             "    %t = \"stablehlo.transpose\"(%a) {permutation = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x3xf32>\n"
                             "    \"func.return\"(%t) : (tensor<3x3xf32>) -> ()"),
                      {"line 3, column 5", "'stablehlo.transpose'", "tensor<3x2xf32>"});
  CHECK_COMPILE_ERROR("module {\n  func.func @main() -> tensor<f32> {\n", {"line 3, column 1", "expected"});
  CHECK_COMPILE_ERROR(module("%a: tensor<2xf32>", "tensor<2xf32>",
                             "    %0 = \"stablehlo.add\"(%a, %a) {x = } : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>\n"
                             "    \"func.return\"(%0) : (tensor<2xf32>) -> ()"),
                      {"line 3, column 39", "expected an attribute value"});
}

// Shapes and numbers come from untrusted text: one too large to allocate, or whose size overflows 64 bits, is
// a CompileError at its position, not an allocation failure at run time or a silently wrapped size.
TEST(compile_errors_for_out_of_range_sizes_and_numbers) {
  CHECK_COMPILE_ERROR(module("%a: tensor<100000000000000xf32>", "tensor<100000000000000xf32>",
                             "    \"func.return\"(%a) : (tensor<100000000000000xf32>) -> ()"),
                      {"line 2, column 23", "tensor<100000000000000xf32> needs 400000000000000 bytes", "memory"});
  CHECK_COMPILE_ERROR(module("", "tensor<4294967296x4294967296x16xf32>",
                             "    %c = \"stablehlo.constant\"() {value = dense<1.0> : tensor<4294967296x4294967296x16xf32>} : "
                             "() -> tensor<4294967296x4294967296x16xf32>\n"
                             "    \"func.return\"(%c) : (tensor<4294967296x4294967296x16xf32>) -> ()"),
                      {"line 2, column", "overflows 64 bits"});
  CHECK_COMPILE_ERROR(module("%a: tensor<99999999999999999999xf32>", "tensor<f32>", ""),
                      {"line 2, column 30", "integer 99999999999999999999 is out of range"});
  CHECK_COMPILE_ERROR(module("", "tensor<2xi32>",
                             "    %c = \"stablehlo.iota\"() {iota_dimension = 99999999999999999999 : i64} : () -> tensor<2xi32>\n"
                             "    \"func.return\"(%c) : (tensor<2xi32>) -> ()"),
                      {"line 3, column 47", "number 99999999999999999999 is out of range"});
  CHECK_COMPILE_ERROR(module("%a: tensor<2xf32>", "tensor<2xf32>",
                             "    %0:2 = \"stablehlo.optimization_barrier\"(%a, %a) : (tensor<2xf32>, tensor<2xf32>) -> "
                             "(tensor<2xf32>, tensor<2xf32>)\n"
                             "    \"func.return\"(%0#4294967296) : (tensor<2xf32>) -> ()"),
                      {"result number 4294967296 of '%0' is out of range"});
}

TEST(deep_nesting_is_a_compile_error) {
  // Regression: 200000 nested '[' overflowed the parser's stack (a crash of the compiling process).
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  CHECK_COMPILE_ERROR(module("", "tensor<f32>",
                             "    %c = \"stablehlo.constant\"() {value = dense<0.0> : tensor<f32>, x = " + deep +
                                 "} : () -> tensor<f32>\n"
                                 "    \"func.return\"(%c) : (tensor<f32>) -> ()"),
                      {"line 3, column", "nesting deeper than 256 levels"});
  const std::string dense = std::string(300, '[') + "1.0" + std::string(300, ']');
  CHECK_COMPILE_ERROR(module("", "tensor<f32>",
                             "    %c = \"stablehlo.constant\"() {value = dense<" + dense +
                                 "> : tensor<f32>} : () -> tensor<f32>\n"
                                 "    \"func.return\"(%c) : (tensor<f32>) -> ()"),
                      {"nesting deeper than 256 levels"});
}

TEST(syntax_variants) {
  // Pretty return, comments, unknown attributes, names with odd characters, a single unparenthesised result type.
  std::string text =
      "// leading comment\n"
      "module @m attributes {mhlo.num_partitions = 1 : i32, mhlo.frontend_attributes = {a = \"b\"}} {\n"
      "  func.func public @main(%arg-0.x$: tensor<2xf32> {jax.buffer_donor = true, mhlo.sharding = \"{replicated}\"}) -> "
      "(tensor<2xf32> {jax.result_info = \"\"}) {\n"
      "    %half.1 = \"stablehlo.constant\"() {value = dense<5.0e-01> : tensor<2xf32>} : () -> tensor<2xf32> // trailing\n"
      "    %m = \"stablehlo.multiply\"(%arg-0.x$, %half.1) {mhlo.sharding = \"{replicated}\"} : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>\n"
      "    return %m : tensor<2xf32>\n"
      "  }\n"
      "}\n";
  CHECK_VALUES(run_module(text, {f32({2}, {2, 4})})[0], {1, 2});
}

namespace {

// `op`(lhs, rhs) where one side is broadcast_in_dim(%s) to `out` dims: `bcast_first` puts the broadcast on the left.
// With `also_return` the broadcast is returned too, so it is written out as before (no fusion).
std::string broadcast_binary_module(const std::string& st, const std::string& xt, const std::string& yt,
                                    const std::string& bdims, const std::string& op, bool bcast_first,
                                    bool also_return = false, const std::string& extra = "") {
  const std::string lhs = bcast_first ? "%b" : "%x", rhs = bcast_first ? "%x" : "%b";
  return module("%s: " + st + ", %x: " + xt, also_return ? "(" + yt + ", " + xt + ")" : yt,
                "    %b = \"stablehlo.broadcast_in_dim\"(%s) {broadcast_dimensions = array<i64: " + bdims + ">} : (" + st +
                    ") -> " + xt + "\n    %y = \"stablehlo." + op + "\"(" + lhs + ", " + rhs + ")" + extra + " : (" + xt +
                    ", " + xt + ") -> " + yt + "\n" +
                    (also_return ? "    \"func.return\"(%y, %b) : (" + yt + ", " + xt + ") -> ()"
                                 : "    \"func.return\"(%y) : (" + yt + ") -> ()"));
}

}  // namespace

// issue 7: a broadcast read by one binary op is not written out; the op reads its source per row.
TEST(binary_ops_read_broadcast_sources) {
  // [3, 1] -> [3, 40000] per row (rows cross the threads' chunks and the 512-element splat), [40000] -> [3, 40000].
  const int B = 3, V = 40000;
  std::vector<double> x(B * V), col(B), row(V);
  for (int i = 0; i < B * V; ++i) x[i] = double((i * 37) % 101) * 0.5 - 20;
  for (int b = 0; b < B; ++b) col[b] = 3.25 * (b + 1);
  for (int v = 0; v < V; ++v) row[v] = double(v % 13) - 6;
  const std::string xt = "tensor<3x40000xf32>";
  std::vector<double> want_col_sub(B * V), want_sub_col(B * V), want_row_sub(B * V), want_lt(B * V);
  for (int b = 0; b < B; ++b) {
    for (int v = 0; v < V; ++v) {
      const int i = b * V + v;
      want_col_sub[i] = float(col[b]) - float(x[i]);
      want_sub_col[i] = float(x[i]) - float(col[b]);
      want_row_sub[i] = float(row[v]) - float(x[i]);
      want_lt[i] = x[i] < col[b];
    }
  }
  for (bool keep : {false, true}) {
    CHECK_VALUES(run_module(broadcast_binary_module("tensor<3x1xf32>", xt, xt, "0, 1", "subtract", true, keep),
                            {f32({B, 1}, col), f32({B, V}, x)})[0], want_col_sub);
    CHECK_VALUES(run_module(broadcast_binary_module("tensor<3xf32>", xt, xt, "0", "subtract", false, keep),
                            {f32({B}, col), f32({B, V}, x)})[0], want_sub_col);
    CHECK_VALUES(run_module(broadcast_binary_module("tensor<40000xf32>", xt, xt, "1", "subtract", true, keep),
                            {f32({V}, row), f32({B, V}, x)})[0], want_row_sub);
    // A compare writes bools: output elements are narrower than the inputs.
    CHECK_VALUES(run_module(broadcast_binary_module("tensor<3xf32>", xt, "tensor<3x40000xi1>", "0", "compare", false,
                                                    keep, " {comparison_direction = #stablehlo<comparison_direction LT>}"),
                            {f32({B}, col), f32({B, V}, x)})[0], want_lt);
  }
  // Rows shorter than the 512-element splat (19: the attention scores of a decode step) and rows that take a whole
  // splat and then part of one (1000): every row must see its own source element, over its whole length.
  for (int inner : {19, 1000}) {
    const int rows = 6;
    std::vector<double> xs(rows * inner), src(rows), want(rows * inner);
    for (int i = 0; i < rows * inner; ++i) xs[i] = double(i % 17) + 1;
    for (int r = 0; r < rows; ++r) src[r] = 0.5 * (r + 2);
    for (int i = 0; i < rows * inner; ++i) want[i] = float(xs[i]) / float(src[i / inner]);
    const std::string t = "tensor<6x" + std::to_string(inner) + "xf32>";
    CHECK_VALUES(run_module(broadcast_binary_module("tensor<6x1xf32>", t, t, "0, 1", "divide", false),
                            {f32({rows, 1}, src), f32({rows, inner}, xs)})[0], want);
  }
  // A transposing broadcast ([2, 3] -> [3, 2, 40]: source dims to output dims 1 and 0) is neither row form.
  std::vector<double> s = {1, 2, 3, 4, 5, 6}, x2(3 * 2 * 40, 0.5), want2(3 * 2 * 40);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 2; ++j) {
      for (int k = 0; k < 40; ++k) want2[(i * 2 + j) * 40 + k] = s[j * 3 + i] * 0.5;
    }
  }
  CHECK_VALUES(run_module(broadcast_binary_module("tensor<2x3xf32>", "tensor<3x2x40xf32>", "tensor<3x2x40xf32>", "1, 0",
                                                  "multiply", false),
                          {f32({2, 3}, s), f32({3, 2, 40}, x2)})[0], want2);
  // [2, 1, 40] -> [2, 3, 40] repeats the middle dim: neither form either.
  std::vector<double> s3(80), x3(240, 2), want3(240);
  for (int i = 0; i < 80; ++i) s3[i] = i;
  for (int a = 0; a < 2; ++a) {
    for (int m = 0; m < 3; ++m) {
      for (int k = 0; k < 40; ++k) want3[(a * 3 + m) * 40 + k] = s3[a * 40 + k] + 2;
    }
  }
  CHECK_VALUES(run_module(broadcast_binary_module("tensor<2x1x40xf32>", "tensor<2x3x40xf32>", "tensor<2x3x40xf32>",
                                                  "0, 1, 2", "add", true),
                          {f32({2, 1, 40}, s3), f32({2, 3, 40}, x3)})[0], want3);
}

namespace {

// One broadcast_in_dim of %s to `xt` read by three ops: x * b, b - x and compare(x, b) LT; with `also_return` the
// broadcast is returned as well (then it is written out).
std::string broadcast_three_readers_module(const std::string& st, const std::string& xt, const std::string& bt,
                                           const std::string& bdims, bool also_return) {
  const std::string results =
      "(" + xt + ", " + xt + ", " + bt + (also_return ? ", " + xt : std::string()) + ")";
  return module("%s: " + st + ", %x: " + xt, results,
                "    %b = \"stablehlo.broadcast_in_dim\"(%s) {broadcast_dimensions = array<i64" +
                    (bdims.empty() ? std::string() : ": " + bdims) + ">} : (" + st + ") -> " + xt + "\n    %p = \"stablehlo.multiply\"(%x, %b) : (" + xt + ", " + xt + ") -> " +
                    xt + "\n    %q = \"stablehlo.subtract\"(%b, %x) : (" + xt + ", " + xt + ") -> " + xt +
                    "\n    %c = \"stablehlo.compare\"(%x, %b) {comparison_direction = "
                    "#stablehlo<comparison_direction LT>} : (" + xt + ", " + xt + ") -> " + bt +
                    "\n    \"func.return\"(%p, %q, %c" + (also_return ? ", %b" : std::string()) + ") : " + results +
                    " -> ()");
}

}  // namespace

// A broadcast read by several binary ops and compares (a train step's GeGLU constants, read by the forward and the
// backward pass) is not written out either: each reader reads its source, whichever side it is on. Scalar, per-row
// and every-row sources; the program has one step fewer than when the broadcast is also returned.
TEST(binary_ops_share_a_broadcast_source) {
  const int B = 3, V = 5000;
  std::vector<double> x(B * V), row(V), col(B);
  for (int i = 0; i < B * V; ++i) x[i] = double((i * 29) % 97) * 0.25 - 12;
  for (int v = 0; v < V; ++v) row[v] = double(v % 11) - 5;
  for (int b = 0; b < B; ++b) col[b] = 1.5 * (b + 1) - 3;
  const std::string xt = "tensor<3x5000xf32>", bt = "tensor<3x5000xi1>";
  struct Case {
    std::string st, bdims;
    std::vector<int64_t> dims;
    std::vector<double> src;
    std::function<double(int, int)> at;
  };
  const std::vector<Case> cases = {
      {"tensor<f32>", "", {}, {2.5}, [](int, int) { return 2.5; }},
      {"tensor<3x1xf32>", "0, 1", {B, 1}, col, [&](int b, int) { return col[b]; }},
      {"tensor<5000xf32>", "1", {V}, row, [&](int, int v) { return row[v]; }},
  };
  for (const Case& c : cases) {
    std::vector<double> want_p(B * V), want_q(B * V), want_c(B * V);
    for (int b = 0; b < B; ++b) {
      for (int v = 0; v < V; ++v) {
        const int i = b * V + v;
        const float s = float(c.at(b, v));
        want_p[i] = float(x[i]) * s;
        want_q[i] = s - float(x[i]);
        want_c[i] = float(x[i]) < s;
      }
    }
    for (bool keep : {false, true}) {
      auto out = run_module(broadcast_three_readers_module(c.st, xt, bt, c.bdims, keep),
                            {f32(c.dims, c.src), f32({B, V}, x)});
      CHECK_VALUES(out[0], want_p);
      CHECK_VALUES(out[1], want_q);
      CHECK_VALUES(out[2], want_c);
    }
    const int64_t fused = compile(broadcast_three_readers_module(c.st, xt, bt, c.bdims, false))->code_size_bytes();
    const int64_t apart = compile(broadcast_three_readers_module(c.st, xt, bt, c.bdims, true))->code_size_bytes();
    CHECK(4 * fused == 3 * apart);  // three steps against four
  }
}
