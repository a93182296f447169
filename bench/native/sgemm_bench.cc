// Raw OpenBLAS sgemm throughput, the ceiling for our CPU plugin's dot_general: dlopens libopenblas the way
// the engine does (so OPENBLAS_CORETYPE from the environment applies) and times C = A x B for square sizes.
// Usage: sgemm_bench N REPS [N REPS ...]; prints one JSON line per size: {"n":..,"seconds":..,"gflops":..}.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

// The cblas_sgemm signature, with the CBLAS enum values for row-major, no transpose.
using SgemmFn = void (*)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a,
                         int lda, const float* b, int ldb, float beta, float* c, int ldc);
constexpr int kRowMajor = 101;
constexpr int kNoTrans = 111;

class AlignedFloats {
 public:
  explicit AlignedFloats(size_t count)
      : data_(static_cast<float*>(std::aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64))) {}
  ~AlignedFloats() { std::free(data_); }
  AlignedFloats(const AlignedFloats&) = delete;
  AlignedFloats& operator=(const AlignedFloats&) = delete;
  float& operator[](size_t i) { return data_[i]; }
  float* data() { return data_; }

 private:
  float* data_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc % 2 != 1) {
    std::fprintf(stderr, "usage: sgemm_bench N REPS [N REPS ...]\n");
    return 2;
  }
  void* library = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) library = dlopen("libopenblas.so", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    std::fprintf(stderr, "cannot load OpenBLAS: %s (apt-get install libopenblas-dev)\n", dlerror());
    return 1;
  }
  auto sgemm = reinterpret_cast<SgemmFn>(dlsym(library, "cblas_sgemm"));
  if (sgemm == nullptr) {
    std::fprintf(stderr, "OpenBLAS has no cblas_sgemm\n");
    return 1;
  }
  for (int arg = 1; arg + 1 < argc; arg += 2) {
    int n = std::atoi(argv[arg]);
    int reps = std::max(1, std::atoi(argv[arg + 1]));
    // 64-byte aligned like the engine's storage: a malloc'd block is 16 bytes off a cache line, which
    // slows AVX-512 stores into C measurably.
    size_t count = static_cast<size_t>(n) * n;
    AlignedFloats a(count), b(count), c(count);
    for (size_t i = 0; i < count; ++i) {
      a[i] = static_cast<float>((i * 7919) % 1000) / 1000.0f - 0.5f;
      b[i] = static_cast<float>((i * 104729) % 1000) / 1000.0f - 0.5f;
    }
    sgemm(kRowMajor, kNoTrans, kNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);  // warm-up
    std::vector<double> times;
    for (int rep = 0; rep < reps; ++rep) {
      auto start = std::chrono::steady_clock::now();
      sgemm(kRowMajor, kNoTrans, kNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
      times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    double median = times[times.size() / 2];
    double gflops = 2.0 * n * n * static_cast<double>(n) / median / 1e9;
    std::printf("{\"n\":%d,\"reps\":%d,\"seconds\":%.6f,\"gflops\":%.2f}\n", n, reps, median, gflops);
    std::fflush(stdout);
  }
  return 0;
}
