// bench_engine [sizes...]: dot_general through the engine vs the same sgemm called directly, plus a few
// bandwidth-bound ops. Prints GFLOP/s and the ratio (the target is >= 0.85 for 1024..4096).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include <cmath>

#include "blas.h"
#include "kernels.h"
#include "test_util.h"

using namespace grpo::cpu;
using namespace grpo::cpu::testing;

namespace {

double seconds_best(int reps, const std::function<void()>& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

std::string matmul_module(int n, bool trans_rhs) {
  std::string t = "tensor<" + std::to_string(n) + "x" + std::to_string(n) + "xf32>";
  return "module {\n func.func @main(%a: " + t + ", %b: " + t + ") -> " + t + " {\n" +
         "  %c = \"stablehlo.dot_general\"(%a, %b) {dot_dimension_numbers = #stablehlo.dot<lhs_contracting_dimensions = "
         "[1], rhs_contracting_dimensions = [" + (trans_rhs ? "1" : "0") + "]>} : (" + t + ", " + t + ") -> " + t +
         "\n  \"func.return\"(%c) : (" + t + ") -> ()\n }\n}\n";
}

std::string unary_module(const std::string& op, int n) {
  std::string t = "tensor<" + std::to_string(n) + "xf32>";
  return "module {\n func.func @main(%a: " + t + ") -> " + t + " {\n  %c = \"stablehlo." + op + "\"(%a) : (" + t +
         ") -> " + t + "\n  \"func.return\"(%c) : (" + t + ") -> ()\n }\n}\n";
}

}  // namespace

int main(int argc, char** argv) {
  configure_blas_once();
  std::printf("BLAS: %s, threads: %d\n", blas_description().c_str(), num_threads());
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
  if (sizes.empty()) sizes = {1024, 2048};
  for (int n : sizes) {
    Tensor a = make_tensor(DType::kF32, {n, n}, {0.5, -0.25, 1.0});
    Tensor b = make_tensor(DType::kF32, {n, n}, {0.125, 1.0, -0.5, 2.0});
    std::vector<float> c(size_t(n) * n);
    const int reps = n >= 4096 ? 3 : 6;
    const double flops = 2.0 * n * n * n;
    for (bool trans : {false, true}) {
      // Raw: the call the engine should make (row-major, B transposed when its contracting dim is the last).
      // Raw and engine runs alternate so load from other processes hits both alike.
      auto exe = compile(matmul_module(n, trans));
      double raw = 1e30, ours = 1e30;
      for (int r = 0; r < reps; ++r) {
        raw = std::min(raw, seconds_best(1, [&] {
                         sgemm(false, trans, n, n, n, 1.0f, static_cast<const float*>(a.storage->data()), n,
                               static_cast<const float*>(b.storage->data()), n, 0.0f, c.data(), n);
                       }));
        ours = std::min(ours, seconds_best(1, [&] { exe->run({a, b}, {false, false}); }));
      }
      std::printf("dot %dx%d%s: engine %.1f GFLOP/s, raw sgemm %.1f GFLOP/s, ratio %.2f\n", n, n,
                  trans ? " (rhs transposed)" : "", flops / ours / 1e9, flops / raw / 1e9, raw / ours);
    }
  }
  const int m = 1 << 22;
  Tensor x = make_tensor(DType::kF32, {m}, {0.5, -0.25, 1.0});
  for (const char* op : {"negate", "exponential", "tanh", "log"}) {
    auto exe = compile(unary_module(op, m));
    double t = seconds_best(5, [&] { exe->run({x}, {false}); });
    std::printf("%s on %d f32: %.2f ms (%.2f GB/s)\n", op, m, t * 1e3, 8.0 * m / t / 1e9);
  }
  // The kernels tanh and log replaced: libm per element on one thread, against the new kernel on one thread.
  Tensor pos = make_tensor(DType::kF32, {m}, {0.5, 0.25, 3.0, 1e-3});
  std::vector<float> y(m);
  const float* xp = static_cast<const float*>(pos.storage->data());
  struct Pair {
    const char* name;
    float (*libm)(float);
    void (*kernel)(const void*, void*, int64_t);
  };
  for (const Pair& p : {Pair{"tanh", [](float v) { return std::tanh(v); }, &tanh_f32_kernel},
                        Pair{"log", [](float v) { return std::log(v); }, &log_f32_kernel}}) {
    double libm = seconds_best(5, [&] {
      for (int i = 0; i < m; ++i) y[i] = p.libm(xp[i]);
    });
    double ours = seconds_best(5, [&] { p.kernel(xp, y.data(), m); });
    std::printf("%s, one thread: libm per element %.0f Melem/s, engine kernel %.0f Melem/s (x%.1f)\n", p.name,
                m / libm / 1e6, m / ours / 1e6, libm / ours);
  }
  return 0;
}
