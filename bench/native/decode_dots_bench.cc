// The weight dots of one Gemma3-1B decode step through the engine's few-row kernel, timed beside the read
// bandwidth of the same process: per layer q (1024 x 1152), k and v (256 x 1152), o (1152 x 1024), gate and up
// (6912 x 1152), down (1152 x 6912), 26 layers, then the tied 262144 x 1152 logits; every weight [out, in] in its
// own buffer, as the model stores them. A step reads each weight once, so weight bytes per second against the
// bandwidth is the figure the decode targets are stated in, without the rest of the decode loop around it.
//   decode_dots_bench [--dtype=bf16|f32] [--rows=8] [--steps=6] [--rounds=3] [--shape=OUTxIN --count=C]
//                     [--lanes=avx512,pairs:2,...]
// Prints, per round, ms per step and weight GB/s, then the bandwidth (an f32 sum over 1 GiB on every thread).
// --lanes times several kernels in the same rounds, one after the other: a lane of the engine by name
// (avx512, avx2, scalar) or pairs:P, the VDPBF16PS kernel of bf16_pairs.cc with P bf16 parts per activation
// (bf16 weights, AVX512_BF16 CPUs). Each lane's best step is printed with its ratio to the first lane's, and
// its error against a double-precision product (relative to sum |x w|) on the first and the deepest weight.
// Without --lanes, the lane small_rows_dot picks runs. GRPO_XLA_CPU_THREADS=1 and a --shape that fits in cache
// measure one core's arithmetic.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bf16_pairs.h"
#include "engine.h"
#include "mixed_dot.h"
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
  Storage buffer(size_t(bytes), Storage::Uninitialized{});  // placed as the weights are
  float* x = static_cast<float*>(buffer.data());
  for (int64_t i = 0; i < n; ++i) x[i] = float(i % 1021);
  double best = 1e30;
  for (int rep = 0; rep < 6; ++rep) {
    std::vector<double> partial(64, 0.0);
    const double start = now();
    parallel_for(n, n / 64, [&](int64_t b, int64_t e) {
      float s[16] = {};
      int64_t i = b;
      for (; i + 16 <= e; i += 16) {
        for (int j = 0; j < 16; ++j) s[j] += x[i + j];
      }
      for (; i < e; ++i) s[0] += x[i];
      float t = 0;
      for (float v : s) t += v;
      partial[size_t(b * 64 / n)] += t;
    });
    const double seconds = now() - start;
    if (rep > 0) best = std::min(best, seconds);
  }
  return double(bytes) / best;
}

// A kernel to time: a lane of the engine, or the pair kernel with `passes` parts ("pairs").
struct Lane {
  std::string name;
  int passes;
};

std::vector<Lane> parse_lanes(const std::string& text) {
  std::vector<Lane> lanes;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find(',', at);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(at, end - at);
    const size_t colon = item.find(':');
    lanes.push_back({item.substr(0, colon), colon == std::string::npos ? 2 : std::stoi(item.substr(colon + 1))});
    at = end + 1;
  }
  return lanes;
}

// C[M, out] = A x W^T through `lane` (null: the lane small_rows_dot picks); false when the CPU lacks it.
bool run_dot(const Lane* lane, int64_t M, Shape s, const void* weight, bool bf16, const float* A, float* C) {
  WeightView view;
  view.data = weight;
  view.type = bf16 ? WeightType::kBF16 : WeightType::kF32;
  view.k_stride = 1;
  view.n_stride = s.in;
  if (lane == nullptr) {
    small_rows_dot(M, s.out, s.in, A, s.in, view, C, s.out);
    return true;
  }
  if (lane->name != "pairs") return small_rows_dot_on(lane->name, M, s.out, s.in, A, s.in, view, C, s.out);
  __builtin_cpu_init();
  if (!bf16 || !__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
      !__builtin_cpu_supports("avx512bf16")) {
    return false;
  }
  bench::pairs_dot(lane->passes, M, s.out, s.in, A, s.in, static_cast<const uint16_t*>(weight), s.in, C, s.out);
  return true;
}

// The largest |C - exact| / sum_k |x_k w_k| over the first 96 outputs of each row, exact in double.
double relative_error(int64_t M, Shape s, const uint8_t* weight, bool bf16, const float* A, const float* C) {
  double worst = 0;
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < std::min<int64_t>(s.out, 96); ++n) {
      double exact = 0, scale = 0;
      for (int64_t k = 0; k < s.in; ++k) {
        float w;
        if (bf16) {
          uint16_t top;
          std::memcpy(&top, weight + 2 * (n * s.in + k), 2);
          const uint32_t bits = uint32_t(top) << 16;
          std::memcpy(&w, &bits, 4);
        } else {
          std::memcpy(&w, weight + 4 * (n * s.in + k), 4);
        }
        exact += double(A[m * s.in + k]) * double(w);
        scale += std::fabs(double(A[m * s.in + k]) * double(w));
      }
      worst = std::max(worst, std::fabs(double(C[m * s.out + n]) - exact) / scale);
    }
  }
  return worst;
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
  // Engine storage, as the model's weights have (2 MiB-aligned blocks on transparent huge pages).
  std::vector<std::unique_ptr<Storage>> weights;
  int64_t total_bytes = 0, max_out = 0;
  uint32_t state = 1;
  for (const Shape& s : shapes) {
    const size_t bytes = size_t(s.out * s.in) * es;
    weights.emplace_back(new Storage(bytes, Storage::Uninitialized{}));
    // Small random values with a random sign: bf16 as the top half of an f32, f32 as such.
    for (size_t i = 0; i < bytes; i += es) {
      state = state * 1664525u + 1013904223u;
      const float v = float(int32_t(state) >> 8) * 1e-9f;
      uint32_t bits;
      std::memcpy(&bits, &v, 4);
      if (bf16) {
        const uint16_t top = uint16_t(bits >> 16);
        std::memcpy(static_cast<uint8_t*>(weights.back()->data()) + i, &top, 2);
      } else {
        std::memcpy(static_cast<uint8_t*>(weights.back()->data()) + i, &bits, 4);
      }
    }
    total_bytes += int64_t(bytes);
    max_out = std::max(max_out, s.out);
  }
  // Activations with all 24 bits of the significand in use (a value with few bits is exact in bf16 and would
  // hide the error of rounding it), of either sign, and a few orders of magnitude apart.
  std::vector<float> A(size_t(M * 6912)), C(size_t(M * max_out));
  for (float& a : A) {
    state = state * 1664525u + 1013904223u;
    a = std::ldexp(float(int32_t(state) >> 7), -24 - int(state & 7));
  }
  const double gflop = 2.0 * double(M) * double(total_bytes / int64_t(es)) / 1e9;
  std::printf("%s weights, %.2f GB per step (%.2f GFLOP), M = %lld, %d threads, lane picked: %s\n",
              bf16 ? "bf16" : "f32", total_bytes / 1e9, gflop, (long long)M, num_threads(),
              small_rows_isa().c_str());
  const std::vector<Lane> lanes = parse_lanes(option(argc, argv, "lanes", ""));
  const size_t cases = std::max<size_t>(lanes.size(), 1);
  auto lane_at = [&](size_t l) { return lanes.empty() ? nullptr : &lanes[l]; };
  auto lane_name = [&](size_t l) {
    if (lanes.empty()) return small_rows_isa();
    std::string name = lanes[l].name;
    if (name == "pairs") name.append(":").append(std::to_string(lanes[l].passes));
    return name;
  };
  size_t deepest = 0;
  for (size_t w = 0; w < shapes.size(); ++w) {
    if (shapes[w].in > shapes[deepest].in) deepest = w;
  }
  for (size_t l = 0; l < cases; ++l) {
    std::printf("%s: error / sum |x w|:", lane_name(l).c_str());
    for (size_t w : {size_t(0), deepest}) {
      if (!run_dot(lane_at(l), M, shapes[w], weights[w]->data(), bf16, A.data(), C.data())) {
        std::fprintf(stderr, "\nlane %s is not on this CPU (or needs bf16 weights)\n", lane_name(l).c_str());
        return 1;
      }
      std::printf(" %.3g (K = %lld)", relative_error(M, shapes[w], static_cast<const uint8_t*>(weights[w]->data()), bf16, A.data(), C.data()),
                  (long long)shapes[w].in);
    }
    std::printf("\n");
  }
  std::vector<double> best(cases, 1e30);  // the least disturbed round, on a shared machine
  for (int round = 0; round < rounds; ++round) {
    for (size_t l = 0; l < cases; ++l) {
      double start = 0;
      for (int step = -1; step < steps; ++step) {
        if (step == 0) start = now();  // step -1 warms the pool and the pages
        for (size_t w = 0; w < shapes.size(); ++w) {
          run_dot(lane_at(l), M, shapes[w], weights[w]->data(), bf16, A.data(), C.data());
        }
      }
      const double per_step = (now() - start) / steps;
      best[l] = std::min(best[l], per_step);
      std::printf("round %d %s: %.2f ms per step, weights %.2f GB/s\n", round, lane_name(l).c_str(), per_step * 1e3,
                  total_bytes / per_step / 1e9);
    }
  }
  for (size_t l = 0; l < cases; ++l) {
    std::printf("best %s: %.3f ms per step, weights %.2f GB/s, %.1f GFLOP/s, time %.3f x the first lane's\n",
                lane_name(l).c_str(), best[l] * 1e3, total_bytes / best[l] / 1e9, gflop / best[l], best[l] / best[0]);
  }
  std::printf("bandwidth: %.2f GB/s (f32 sum over 1 GiB, %d threads)\n", bandwidth(int64_t(1) << 30) / 1e9,
              num_threads());
  return 0;
}
