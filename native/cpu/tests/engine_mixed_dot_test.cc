// The mixed-precision dot kernels (issue 7): every instruction set this CPU has, both weight layouts, bf16 and
// f32 weights, row counts that hit the full, pair and single row blocks, and K and N that leave vector and block
// tails; then the same products through compiled modules, where convert(bf16 -> f32) feeding a dot_general is
// fused into the dot. The oracle is a double-precision product of the widened values.
#include <random>

#include "mixed_dot.h"
#include "test_harness.h"

using namespace grpo::cpu;
using namespace grpo::cpu::testing;

namespace {

struct Problem {
  int64_t M, N, K;
  bool n_major;  // weight stored N x K
  bool bf16;
  int64_t lda, ldw, ldc;
  std::vector<float> A;
  std::vector<uint16_t> w16;  // bf16 bits
  std::vector<float> w32;
  std::vector<double> want;  // M x N
  std::vector<double> scale;  // sum |a| |w| per output, for the tolerance
};

// bf16 values with all 7 mantissa bits in use and both signs, so a dropped byte, a swapped byte order or a
// shift by the wrong amount changes the product far beyond rounding.
uint16_t random_bf16(std::mt19937& rng) {
  std::uniform_int_distribution<int> mantissa(0, 127), exponent(120, 130), sign(0, 1);
  return uint16_t((sign(rng) << 15) | (exponent(rng) << 7) | mantissa(rng));
}

Problem make_problem(int64_t M, int64_t N, int64_t K, bool n_major, bool bf16, uint32_t seed) {
  Problem p{M, N, K, n_major, bf16, K + 3, (n_major ? K : N) + 5, N + 2, {}, {}, {}, {}, {}};
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  p.A.assign(size_t(M * p.lda), 1e30f);  // padding past K must never be read
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t k = 0; k < K; ++k) p.A[m * p.lda + k] = u(rng);
  }
  const int64_t rows = n_major ? N : K, cols = n_major ? K : N;
  p.w16.assign(size_t(rows * p.ldw), 0x7f80);  // +inf in the padding
  p.w32.assign(size_t(rows * p.ldw), 1e30f);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const uint16_t bits = random_bf16(rng);
      p.w16[r * p.ldw + c] = bits;
      p.w32[r * p.ldw + c] = u(rng);
    }
  }
  p.want.assign(size_t(M * N), 0.0);
  p.scale.assign(size_t(M * N), 0.0);
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t k = 0; k < K; ++k) {
        const int64_t at = n_major ? n * p.ldw + k : k * p.ldw + n;
        const double w = bf16 ? double(bf16_to_float(p.w16[at])) : double(p.w32[at]);
        p.want[m * N + n] += double(p.A[m * p.lda + k]) * w;
        p.scale[m * N + n] += std::fabs(double(p.A[m * p.lda + k]) * w);
      }
    }
  }
  return p;
}

WeightView view_of(const Problem& p) {
  WeightView w;
  w.data = p.bf16 ? static_cast<const void*>(p.w16.data()) : static_cast<const void*>(p.w32.data());
  w.type = p.bf16 ? WeightType::kBF16 : WeightType::kF32;
  w.k_stride = p.n_major ? 1 : p.ldw;
  w.n_stride = p.n_major ? p.ldw : 1;
  return w;
}

// Every output within f32 rounding of the double product; C's row padding untouched.
void check_product(const Problem& p, const std::vector<float>& C, const std::string& what, int line) {
  ++g_checks;
  for (int64_t m = 0; m < p.M; ++m) {
    for (int64_t n = 0; n < p.ldc; ++n) {
      const float got = C[m * p.ldc + n];
      if (n >= p.N) {
        if (got != -7.0f) {
          ++g_failures;
          std::fprintf(stderr, "[%s] line %d: %s wrote C padding at (%lld, %lld)\n", g_current_test, line,
                       what.c_str(), (long long)m, (long long)n);
          return;
        }
        continue;
      }
      const double want = p.want[m * p.N + n];
      // f32 rounding grows like sqrt(K) for blocked sums; a bf16 widened wrong (a lost mantissa bit, swapped
      // bytes) errs by 2^-9 of each term or far more, which the small-K cases see plainly.
      const double tol = 3e-7 * std::sqrt(double(std::max<int64_t>(p.K, 1))) * p.scale[m * p.N + n] + 1e-30;
      if (!(std::fabs(double(got) - want) <= tol)) {
        ++g_failures;
        std::fprintf(stderr, "[%s] line %d: %s M=%lld N=%lld K=%lld: C(%lld, %lld) = %.9g, want %.9g\n",
                     g_current_test, line, what.c_str(), (long long)p.M, (long long)p.N, (long long)p.K,
                     (long long)m, (long long)n, got, want);
        return;
      }
    }
  }
}

std::string describe(const std::string& isa, const Problem& p) {
  return isa + (p.bf16 ? " bf16" : " f32") + (p.n_major ? " NxK" : " KxN");
}

}  // namespace

TEST(mixed_dot_small_rows_every_lane) {
  int lanes = 0;
  uint32_t seed = 1;
  for (const std::string isa : {"avx512", "avx2", "scalar"}) {
    bool supported = true;
    for (bool n_major : {true, false}) {
      for (bool bf16 : {true, false}) {
        // M: every row block and remainder of every lane, and one past the few-row limit (the horizontal sums
        // run eight accumulators at a time where eight remain).
        for (int64_t M : {1, 2, 3, 4, 5, 6, 7, 8, 9}) {
          // K: below, at and past the vector widths (8, 16) with tails, and (113) an odd count of vectors past
          // the single-row kernels' two-vector steps; N: past the 64-output split and the 4-row / 4-vector blocks
          // with tails.
          for (auto [N, K] : {std::pair<int64_t, int64_t>{1, 1}, {3, 5}, {70, 17}, {131, 64}, {67, 129}, {200, 33},
                              {9, 113}}) {
            Problem p = make_problem(M, N, K, n_major, bf16, seed++);
            std::vector<float> C(size_t(M * p.ldc), -7.0f);
            supported = small_rows_dot_on(isa, M, N, K, p.A.data(), p.lda, view_of(p), C.data(), p.ldc);
            if (!supported) break;
            check_product(p, C, describe(isa, p), __LINE__);
          }
        }
      }
    }
    if (supported) ++lanes;
    std::printf("  mixed dot lane %s: %s\n", isa.c_str(), supported ? "checked" : "not on this CPU");
  }
  CHECK(lanes >= 1);
}

TEST(mixed_dot_small_rows_split_over_threads) {
  // Weights large enough that the outputs are split into several chunks over the engine's threads (chunk edges
  // at multiples of 48 weight rows or 64 columns, here with a ragged last chunk), with odd M and a K tail.
  uint32_t seed = 50;
  for (const std::string isa : {"avx512", "avx2", "scalar"}) {
    for (bool n_major : {true, false}) {
      for (bool bf16 : {true, false}) {
        for (int64_t M : {1, 3, 6, 8}) {
          const int64_t N = 1001, K = 97;
          Problem p = make_problem(M, N, K, n_major, bf16, seed++);
          std::vector<float> C(size_t(M * p.ldc), -7.0f);
          if (!small_rows_dot_on(isa, M, N, K, p.A.data(), p.lda, view_of(p), C.data(), p.ldc)) break;
          check_product(p, C, describe(isa, p) + " split", __LINE__);
        }
      }
    }
  }
}

TEST(mixed_dot_small_rows_deep_k_slices) {
  // Rows too deep for the activations of 4-8 rows of A to stay in L1: the N x K kernel sweeps K in slices and
  // adds each slice's sums into C. K leaves a vector tail in the last slice; N leaves a row-block tail.
  uint32_t seed = 80;
  for (const std::string isa : {"avx512", "avx2", "scalar"}) {
    for (bool bf16 : {true, false}) {
      for (int64_t M : {4, 5, 8}) {
        const int64_t N = 61, K = 3001;
        Problem p = make_problem(M, N, K, true, bf16, seed++);
        std::vector<float> C(size_t(M * p.ldc), -7.0f);
        if (!small_rows_dot_on(isa, M, N, K, p.A.data(), p.lda, view_of(p), C.data(), p.ldc)) break;
        check_product(p, C, describe(isa, p) + " deep", __LINE__);
      }
    }
  }
}

TEST(mixed_dot_small_rows_zero_k) {
  // An empty contraction is a zero product, not untouched memory.
  Problem p = make_problem(3, 9, 0, true, true, 5);
  std::vector<float> C(size_t(3 * p.ldc), -7.0f);
  small_rows_dot(3, 9, 0, p.A.data(), p.lda, view_of(p), C.data(), p.ldc);
  check_product(p, C, "zero K", __LINE__);
}

TEST(mixed_dot_panels) {
  // Large enough that the weight splits into several widened panels (16 MiB of f32 each: three here), on both
  // layouts, with K > N (panels along K, accumulated) and K < N (panels of outputs); M past the few-row limit.
  uint32_t seed = 100;
  for (bool n_major : {true, false}) {
    for (bool bf16 : {true, false}) {
      for (bool deep : {true, false}) {
        const int64_t M = 11, N = deep ? 700 : 13000, K = deep ? 13000 : 700;
        Problem p = make_problem(M, N, K, n_major, bf16, seed++);
        std::vector<float> C(size_t(M * p.ldc), -7.0f);
        panel_dot(M, N, K, p.A.data(), p.lda, view_of(p), C.data(), p.ldc);
        check_product(p, C, std::string("panels") + (bf16 ? " bf16" : " f32") + (n_major ? " NxK" : " KxN"), __LINE__);
      }
    }
  }
}

TEST(mixed_dot_widen_every_lane) {
  // The panels' widening on each instruction set: every bf16 bit pattern becomes the f32 with those bits on top
  // and zeros below (NaNs, infinities, subnormals and signed zeros included), rows read at a stride past their
  // length, widths below one vector, at a vector, and with tails after whole vectors.
  std::mt19937 rng(11);
  for (const std::string isa : {"avx512", "avx2", "scalar"}) {
    bool supported = true;
    for (int64_t cols : {1, 7, 8, 15, 16, 17, 33, 700}) {
      const int64_t rows = cols == 700 ? 100 : 37, ld = cols + 5;
      std::vector<uint16_t> src(size_t(rows * ld));
      for (uint16_t& v : src) v = uint16_t(rng());
      if (cols == 700) {
        // The 100 x 700 elements read hold all 65,536 patterns, in order (the 5 skipped per row stay random).
        for (int64_t p = 0; p < 65536; ++p) src[size_t(p / cols * ld + p % cols)] = uint16_t(p);
      }
      std::vector<float> dst(size_t(rows * cols), -7.0f);
      supported = widen_bf16_on(isa, src.data(), ld, rows, cols, dst.data());
      if (!supported) break;
      int64_t wrong = 0;
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
          uint32_t bits;
          std::memcpy(&bits, &dst[size_t(r * cols + c)], 4);
          if (bits != uint32_t(src[size_t(r * ld + c)]) << 16) ++wrong;
        }
      }
      if (wrong != 0) std::fprintf(stderr, "  %s widen, %lld columns: %lld wrong\n", isa.c_str(), (long long)cols, (long long)wrong);
      CHECK(wrong == 0);
    }
    std::printf("  widen lane %s: %s\n", isa.c_str(), supported ? "checked" : "not on this CPU");
  }
}

namespace {

// x [B, M, K] f32 times a weight w given as bf16 and converted in the graph, contracting `w_contract` of w
// ([N, K] when 1, [K, N] when 0); optionally the converted weight is also returned (then it cannot be fused).
std::string convert_dot_module(int64_t Bt, int64_t M, int64_t N, int64_t K, int w_contract, bool also_return) {
  auto t = [](std::vector<int64_t> d, const std::string& e) {
    std::string s = "tensor<";
    for (int64_t x : d) s += std::to_string(x) + "x";
    return s + e + ">";
  };
  const std::vector<int64_t> wd = w_contract == 1 ? std::vector<int64_t>{N, K} : std::vector<int64_t>{K, N};
  const std::string xt = t({Bt, M, K}, "f32"), w16 = t(wd, "bf16"), w32 = t(wd, "f32"), yt = t({Bt, M, N}, "f32");
  const std::string results = also_return ? "(" + yt + ", " + w32 + ")" : yt;
  return module("%x: " + xt + ", %w: " + w16, results,
                "    %wf = \"stablehlo.convert\"(%w) : (" + w16 + ") -> " + w32 +
                    "\n    %y = \"stablehlo.dot_general\"(%x, %wf) {dot_dimension_numbers = #stablehlo.dot<"
                    "lhs_contracting_dimensions = [2], rhs_contracting_dimensions = [" + std::to_string(w_contract) +
                    "]>} : (" + xt + ", " + w32 + ") -> " + yt + "\n    \"func.return\"(%y" +
                    (also_return ? ", %wf) : (" + yt + ", " + w32 + ")" : ") : (" + yt + ")") + " -> ()");
}

}  // namespace

TEST(mixed_dot_fused_convert_modules) {
  // Through the planner: decode-sized (M = 1, 8 over a batch of 2) and prefill-sized (M = 40) rows, both weight
  // layouts, the convert fused or (when its result is also returned) run on its own.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t M : {1, 8, 40}) {
    for (int w_contract : {1, 0}) {
      for (bool also_return : {false, true}) {
        const int64_t Bt = 2, N = 77, K = 45;
        std::vector<double> x(size_t(Bt * M * K)), w(size_t(N * K));
        for (double& v : x) v = u(rng);
        for (double& v : w) v = bf16_to_float(random_bf16(rng));
        std::vector<double> want(size_t(Bt * M * N), 0.0);
        for (int64_t b = 0; b < Bt; ++b) {
          for (int64_t m = 0; m < M; ++m) {
            for (int64_t n = 0; n < N; ++n) {
              for (int64_t k = 0; k < K; ++k) {
                const double wv = w_contract == 1 ? w[n * K + k] : w[k * N + n];
                want[(b * M + m) * N + n] += float(x[(b * M + m) * K + k]) * wv;
              }
            }
          }
        }
        const std::vector<int64_t> wd = w_contract == 1 ? std::vector<int64_t>{N, K} : std::vector<int64_t>{K, N};
        auto out = run_module(convert_dot_module(Bt, M, N, K, w_contract, also_return),
                              {f32({Bt, M, K}, x), make_tensor(DType::kBF16, wd, w)});
        CHECK_CLOSE(out[0], 2e-5, want);
        if (also_return) CHECK_VALUES(out[1], w);
        if (!also_return) {
          // Fused: the program is one step (the dot); with the converted weight also returned, two.
          const int64_t fused = compile(convert_dot_module(Bt, M, N, K, w_contract, false))->code_size_bytes();
          const int64_t apart = compile(convert_dot_module(Bt, M, N, K, w_contract, true))->code_size_bytes();
          CHECK(apart == 2 * fused);
        }
      }
    }
  }
}

namespace {

// A train step's two reads of a frozen weight: y = x W^T (forward) and dx = dy W (the input's cotangent), from one
// convert of the bf16 W [N, K]. With `also_return`, the converted weight is returned as well (then it is written).
std::string two_dot_module(int64_t M, int64_t N, int64_t K, bool also_return) {
  const std::string d = std::to_string(M) + "x", xt = "tensor<" + d + std::to_string(K) + "xf32>",
                    yt = "tensor<" + d + std::to_string(N) + "xf32>",
                    w16 = "tensor<" + std::to_string(N) + "x" + std::to_string(K) + "xbf16>",
                    w32 = "tensor<" + std::to_string(N) + "x" + std::to_string(K) + "xf32>";
  const std::string results = also_return ? "(" + yt + ", " + xt + ", " + w32 + ")" : "(" + yt + ", " + xt + ")";
  return module("%x: " + xt + ", %dy: " + yt + ", %w: " + w16, results,
                "    %wf = \"stablehlo.convert\"(%w) : (" + w16 + ") -> " + w32 +
                    "\n    %y = \"stablehlo.dot_general\"(%x, %wf) {dot_dimension_numbers = #stablehlo.dot<"
                    "lhs_contracting_dimensions = [1], rhs_contracting_dimensions = [1]>} : (" + xt + ", " + w32 +
                    ") -> " + yt +
                    "\n    %dx = \"stablehlo.dot_general\"(%dy, %wf) {dot_dimension_numbers = #stablehlo.dot<"
                    "lhs_contracting_dimensions = [1], rhs_contracting_dimensions = [0]>} : (" + yt + ", " + w32 +
                    ") -> " + xt + "\n    \"func.return\"(%y, %dx" +
                    (also_return ? ", %wf) : " + results : ") : " + results) + " -> ()");
}

}  // namespace

TEST(mixed_dot_fused_convert_read_by_two_dots) {
  // One convert read by two dots, each reading the weight along another dim: both read the bf16 weight, and the
  // f32 copy is never written (two steps, not three), at few rows (the streaming kernels, both layouts) and at
  // prefill height (panels). Returning the converted weight keeps the convert as its own step.
  std::mt19937 rng(21);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t M : {3, 40}) {
    for (bool also_return : {false, true}) {
      const int64_t N = 70, K = 53;
      std::vector<double> x(size_t(M * K)), dy(size_t(M * N)), w(size_t(N * K));
      for (double& v : x) v = u(rng);
      for (double& v : dy) v = u(rng);
      for (double& v : w) v = bf16_to_float(random_bf16(rng));
      std::vector<double> want_y(size_t(M * N), 0.0), want_dx(size_t(M * K), 0.0);
      for (int64_t m = 0; m < M; ++m) {
        for (int64_t n = 0; n < N; ++n) {
          for (int64_t k = 0; k < K; ++k) {
            want_y[m * N + n] += float(x[m * K + k]) * w[n * K + k];
            want_dx[m * K + k] += float(dy[m * N + n]) * w[n * K + k];
          }
        }
      }
      auto out = run_module(two_dot_module(M, N, K, also_return),
                            {f32({M, K}, x), f32({M, N}, dy), make_tensor(DType::kBF16, {N, K}, w)});
      CHECK_CLOSE(out[0], 2e-5, want_y);
      CHECK_CLOSE(out[1], 2e-5, want_dx);
      if (also_return) CHECK_VALUES(out[2], w);
    }
    const int64_t fused = compile(two_dot_module(M, 70, 53, false))->code_size_bytes();
    const int64_t apart = compile(two_dot_module(M, 70, 53, true))->code_size_bytes();
    CHECK(2 * apart == 3 * fused);
  }
}

TEST(mixed_dot_bf16_operand_and_result) {
  // bf16 operands straight into the dot (no convert), the lhs contracted on its first dim (read transposed),
  // and a bf16 result: [K, M] x [N, K] -> [M, N].
  const int64_t M = 3, N = 40, K = 50;
  std::vector<double> x(size_t(K * M)), w(size_t(N * K));
  for (size_t i = 0; i < x.size(); ++i) x[i] = double(int64_t(i % 7) - 3) / 4.0;
  for (size_t i = 0; i < w.size(); ++i) w[i] = double(int64_t(i % 11) - 5) / 8.0;
  std::vector<double> want(size_t(M * N), 0.0);
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t k = 0; k < K; ++k) want[m * N + n] += x[k * M + m] * w[n * K + k];
    }
  }
  const std::string xt = "tensor<50x3xbf16>", wt = "tensor<40x50xbf16>", yt = "tensor<3x40xbf16>";
  auto out = run_module(module("%x: " + xt + ", %w: " + wt, yt,
                               "    %y = \"stablehlo.dot_general\"(%x, %w) {dot_dimension_numbers = #stablehlo.dot<"
                               "lhs_contracting_dimensions = [0], rhs_contracting_dimensions = [1]>} : (" + xt + ", " +
                                   wt + ") -> " + yt + "\n    \"func.return\"(%y) : (" + yt + ") -> ()"),
                        {make_tensor(DType::kBF16, {K, M}, x), make_tensor(DType::kBF16, {N, K}, w)});
  // Products of multiples of 1/32 summed exactly in f32; the bf16 result rounds to 8 significant bits.
  CHECK_CLOSE(out[0], 1.0 / 128, want);
}

TEST(mixed_dot_fused_convert_in_while_body) {
  // The decode loop's shape: a bf16 weight captured by a while body, converted there and multiplied into the
  // carried row each iteration (x <- x W^T, 3 times). The fused convert reads a value of the enclosing block.
  const int64_t K = 200;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<double> w(static_cast<size_t>(K * K)), x(static_cast<size_t>(K));
  for (double& v : w) v = bf16_to_float(uint16_t(random_bf16(rng) & 0x7fff)) / 256;  // positive: no cancellation
  for (double& v : x) v = u(rng);
  std::vector<double> want = x;
  for (int it = 0; it < 3; ++it) {
    std::vector<double> next(size_t(K), 0.0);
    for (int64_t n = 0; n < K; ++n) {
      for (int64_t k = 0; k < K; ++k) next[n] += want[k] * w[n * K + k];
    }
    want = next;
  }
  const std::string xt = "tensor<1x200xf32>", wt = "tensor<200x200xbf16>", wf = "tensor<200x200xf32>";
  const std::string text = module(
      "%x0: " + xt + ", %w: " + wt, xt,
      "    %i0 = \"stablehlo.constant\"() {value = dense<0> : tensor<i32>} : () -> tensor<i32>\n"
      "    %r:2 = \"stablehlo.while\"(%i0, %x0) ({\n"
      "    ^bb0(%i: tensor<i32>, %x: " + xt + "):\n"
      "      %n = \"stablehlo.constant\"() {value = dense<3> : tensor<i32>} : () -> tensor<i32>\n"
      "      %lt = \"stablehlo.compare\"(%i, %n) {comparison_direction = #stablehlo<comparison_direction LT>} : (tensor<i32>, tensor<i32>) -> tensor<i1>\n"
      "      \"stablehlo.return\"(%lt) : (tensor<i1>) -> ()\n"
      "    }, {\n"
      "    ^bb0(%i: tensor<i32>, %x: " + xt + "):\n"
      "      %wc = \"stablehlo.convert\"(%w) : (" + wt + ") -> " + wf + "\n"
      "      %y = \"stablehlo.dot_general\"(%x, %wc) {dot_dimension_numbers = #stablehlo.dot<lhs_contracting_dimensions = [1], rhs_contracting_dimensions = [1]>} : (" + xt + ", " + wf + ") -> " + xt + "\n"
      "      %one = \"stablehlo.constant\"() {value = dense<1> : tensor<i32>} : () -> tensor<i32>\n"
      "      %i2 = \"stablehlo.add\"(%i, %one) : (tensor<i32>, tensor<i32>) -> tensor<i32>\n"
      "      \"stablehlo.return\"(%i2, %y) : (tensor<i32>, " + xt + ") -> ()\n"
      "    }) : (tensor<i32>, " + xt + ") -> (tensor<i32>, " + xt + ")\n"
      "    \"func.return\"(%r#1) : (" + xt + ") -> ()");
  Tensor weight = make_tensor(DType::kBF16, {K, K}, w);
  auto out = run_module(text, {f32({1, K}, x), weight});
  CHECK_CLOSE(out[0], 1e-5, want);
  CHECK_VALUES(weight, w);  // the weight is read, never written
}

// A decode step's attention products, small batched f32 dots of a few rows (they now take the few-row kernels):
// scores q [B, 1, KV, G, H] x keys [B, S, KV, H] over H, and values p [B, 1, KV, G, S] x [B, S, KV, H] over S,
// batched over B and the KV head, against a double-precision oracle.
TEST(mixed_dot_small_batched_attention) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (auto [B, KV, G, S, H] : {std::array<int64_t, 5>{8, 1, 4, 19, 256}, {3, 2, 2, 7, 40}, {2, 1, 8, 33, 16}}) {
    const std::string sh = std::to_string(B) + "x1x" + std::to_string(KV) + "x" + std::to_string(G) + "x";
    const std::string kt = "tensor<" + std::to_string(B) + "x" + std::to_string(S) + "x" + std::to_string(KV) + "x" +
                           std::to_string(H) + "xf32>";
    std::vector<double> q(size_t(B * KV * G * H)), keys(size_t(B * S * KV * H)), p(size_t(B * KV * G * S));
    for (double& v : q) v = u(rng);
    for (double& v : keys) v = u(rng);
    for (double& v : p) v = u(rng);
    // scores[b, kv, g, s] = sum_h q[b, 0, kv, g, h] keys[b, s, kv, h]; out[b, kv, g, h] = sum_s p[b, 0, kv, g, s] keys[b, s, kv, h]
    std::vector<double> scores(size_t(B * KV * G * S), 0.0), mixed(size_t(B * KV * G * H), 0.0);
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t kv = 0; kv < KV; ++kv) {
        for (int64_t g = 0; g < G; ++g) {
          for (int64_t s = 0; s < S; ++s) {
            for (int64_t h = 0; h < H; ++h) {
              const double key = keys[((b * S + s) * KV + kv) * H + h];
              scores[((b * KV + kv) * G + g) * S + s] += q[((b * KV + kv) * G + g) * H + h] * key;
              mixed[((b * KV + kv) * G + g) * H + h] += p[((b * KV + kv) * G + g) * S + s] * key;
            }
          }
        }
      }
    }
    // lhs [B, 1, KV, G, inner] x keys over the keys' dim `contract`, batched over (0, 2): [B, KV, 1, G, free].
    auto batched = [&](int64_t inner, int64_t free, int contract, const std::vector<double>& lhs) {
      const std::string lt = "tensor<" + sh + std::to_string(inner) + "xf32>";
      const std::string ot = "tensor<" + std::to_string(B) + "x" + std::to_string(KV) + "x1x" + std::to_string(G) +
                             "x" + std::to_string(free) + "xf32>";
      return run_module(
          module("%l: " + lt + ", %k: " + kt, ot,
                 "    %o = \"stablehlo.dot_general\"(%l, %k) {dot_dimension_numbers = #stablehlo.dot<"
                 "lhs_batching_dimensions = [0, 2], rhs_batching_dimensions = [0, 2], lhs_contracting_dimensions = [4], "
                 "rhs_contracting_dimensions = [" + std::to_string(contract) + "]>} : (" + lt + ", " + kt + ") -> " + ot +
                     "\n    \"func.return\"(%o) : (" + ot + ") -> ()"),
          {f32({B, 1, KV, G, inner}, lhs), f32({B, S, KV, H}, keys)})[0];
    };
    CHECK_CLOSE(batched(H, S, 3, q), 1e-5 * double(H), scores);
    CHECK_CLOSE(batched(S, H, 1, p), 1e-5 * double(S), mixed);
  }
}
