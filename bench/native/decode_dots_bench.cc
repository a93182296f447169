// The weight dots of one Gemma3-1B decode step through the engine's few-row kernel, timed beside the read
// bandwidth of the same process: per layer q (1024 x 1152), k and v (256 x 1152), o (1152 x 1024), gate and up
// (6912 x 1152), down (1152 x 6912), 26 layers, then the tied 262144 x 1152 logits; every weight [out, in] in its
// own buffer, as the model stores them. A step reads each weight once, so weight bytes per second against the
// bandwidth is the figure the decode targets are stated in, without the rest of the decode loop around it.
//   decode_dots_bench [--dtype=bf16|f32] [--rows=8] [--steps=6] [--rounds=3] [--shape=OUTxIN --count=C]
// Prints, per round, ms per step and weight GB/s, then the bandwidth (an f32 sum over 1 GiB on every thread).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "mixed_dot.h"
#include "engine.h"
#include "threads.h"

using namespace grpo::cpu;

namespace {

struct Shape {
  int64_t out, in;
};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string option(int argc, char** argv, const std::string& name, const std::string& fallback) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) return argv[i] + prefix.size();
  }
  return fallback;
}

// Bytes per second of an f32 sum over `bytes` split over the engine's threads (the best of five).
double bandwidth(int64_t bytes) {
  const int64_t n = bytes / 4;
  std::vector<float> x(size_t(n), 1.0f);
  double best = 1e30;
  for (int rep = 0; rep < 6; ++rep) {
    std::vector<double> partial(64, 0.0);
    const double start = now();
    parallel_for(n, n / 64, [&](int64_t b, int64_t e) {
      float s[16] = {};
      int64_t i = b;
      for (; i + 16 <= e; i += 16) {
        for (int j = 0; j < 16; ++j) s[j] += x[size_t(i + j)];
      }
      for (; i < e; ++i) s[0] += x[size_t(i)];
      float t = 0;
      for (float v : s) t += v;
      partial[size_t(b * 64 / n)] += t;
    });
    const double seconds = now() - start;
    if (rep > 0) best = std::min(best, seconds);
  }
  return double(bytes) / best;
}

}  // namespace

int main(int argc, char** argv) {
  const bool bf16 = option(argc, argv, "dtype", "bf16") == "bf16";
  const int64_t M = std::stoll(option(argc, argv, "rows", "8"));
  const int steps = std::stoi(option(argc, argv, "steps", "6"));
  const int rounds = std::stoi(option(argc, argv, "rounds", "3"));
  std::vector<Shape> shapes;
  // --shape=OUTxIN --count=C: C weights of one shape instead (e.g. small enough to stay in cache).
  const std::string one = option(argc, argv, "shape", "");
  const int count = std::stoi(option(argc, argv, "count", "1"));
  for (int c = 0; !one.empty() && c < count; ++c) {
    shapes.push_back({std::stoll(one.substr(0, one.find('x'))), std::stoll(one.substr(one.find('x') + 1))});
  }
  for (int layer = 0; one.empty() && layer < 26; ++layer) {
    for (Shape s : {Shape{1024, 1152}, Shape{256, 1152}, Shape{256, 1152}, Shape{1152, 1024}, Shape{6912, 1152},
                    Shape{6912, 1152}, Shape{1152, 6912}}) {
      shapes.push_back(s);
    }
  }
  if (one.empty()) shapes.push_back({262144, 1152});
  const size_t es = bf16 ? 2 : 4;
  std::vector<std::unique_ptr<uint8_t[]>> weights;
  int64_t total_bytes = 0, max_out = 0;
  uint32_t state = 1;
  for (const Shape& s : shapes) {
    const size_t bytes = size_t(s.out * s.in) * es;
    weights.emplace_back(new uint8_t[bytes]);
    // Small random values with a random sign: bf16 as the top half of an f32, f32 as such.
    for (size_t i = 0; i < bytes; i += es) {
      state = state * 1664525u + 1013904223u;
      const float v = float(int32_t(state) >> 8) * 1e-9f;
      uint32_t bits;
      std::memcpy(&bits, &v, 4);
      if (bf16) {
        const uint16_t top = uint16_t(bits >> 16);
        std::memcpy(weights.back().get() + i, &top, 2);
      } else {
        std::memcpy(weights.back().get() + i, &bits, 4);
      }
    }
    total_bytes += int64_t(bytes);
    max_out = std::max(max_out, s.out);
  }
  std::vector<float> A(size_t(M * 6912)), C(size_t(M * max_out));
  for (size_t i = 0; i < A.size(); ++i) A[i] = float(int(i % 17) - 8) * 0.125f;
  std::printf("%s weights, %.2f GB per step, M = %lld, lane %s\n", bf16 ? "bf16" : "f32", total_bytes / 1e9,
              (long long)M, small_rows_isa().c_str());
  double best = 1e30;  // the least disturbed round, on a shared machine
  for (int round = 0; round < rounds; ++round) {
    double start = 0;
    for (int step = -1; step < steps; ++step) {
      if (step == 0) start = now();  // step -1 warms the pool and the pages
      for (size_t w = 0; w < shapes.size(); ++w) {
        WeightView view;
        view.data = weights[w].get();
        view.type = bf16 ? WeightType::kBF16 : WeightType::kF32;
        view.k_stride = 1;
        view.n_stride = shapes[w].in;
        small_rows_dot(M, shapes[w].out, shapes[w].in, A.data(), shapes[w].in, view, C.data(), shapes[w].out);
      }
    }
    const double per_step = (now() - start) / steps;
    best = std::min(best, per_step);
    std::printf("round %d: %.2f ms per step, weights %.2f GB/s\n", round, per_step * 1e3, total_bytes / per_step / 1e9);
  }
  std::printf("best: %.2f ms per step, weights %.2f GB/s\n", best * 1e3, total_bytes / best / 1e9);
  std::printf("bandwidth: %.2f GB/s (f32 sum over 1 GiB, %d threads)\n", bandwidth(int64_t(1) << 30) / 1e9,
              num_threads());
  return 0;
}
