// OpenBLAS is opened with dlopen, never linked: it reads OPENBLAS_CORETYPE once, when it loads, and on this
// machine its own detection picks a slow kernel ("Prescott"), so the core type must be set before it loads.
#if !__has_include(<cblas.h>)
#error "OpenBLAS headers not found: install the Debian package libopenblas-dev"
#endif
#include <cblas.h>
#include <dlfcn.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "blas.h"
#include "engine.h"
#include "threads.h"

namespace grpo::cpu {

namespace {

using SgemmFn = decltype(&cblas_sgemm);

struct BlasLibrary {
  SgemmFn sgemm = nullptr;
  std::string description;
};

const char* core_type_from_cpuid() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
    return "SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return nullptr;
}

BlasLibrary load_blas() {
  configure_blas_once();
  BlasLibrary lib;
  for (const char* name : {"libopenblas.so.0", "libopenblas.so", "libblas.so.3"}) {
    void* handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!handle) continue;
    auto fn = reinterpret_cast<SgemmFn>(dlsym(handle, "cblas_sgemm"));
    if (!fn) {
      dlclose(handle);
      continue;
    }
    lib.sgemm = fn;
    using SetThreadsFn = void (*)(int);
    using StringFn = char* (*)();
    if (auto set_threads = reinterpret_cast<SetThreadsFn>(dlsym(handle, "openblas_set_num_threads"))) {
      set_threads(num_threads());
    }
    auto get_config = reinterpret_cast<StringFn>(dlsym(handle, "openblas_get_config"));
    auto get_core = reinterpret_cast<StringFn>(dlsym(handle, "openblas_get_corename"));
    if (get_config) {
      // "OpenBLAS 0.3.21 DYNAMIC_ARCH ..." -> "OpenBLAS 0.3.21"
      std::string config = get_config();
      size_t second_space = config.find(' ', config.find(' ') + 1);
      lib.description = config.substr(0, second_space);
      if (get_core) lib.description += std::string(" (core ") + get_core() + ")";
    } else {
      lib.description = std::string("BLAS from ") + name;
    }
    return lib;
  }
  lib.description = "built-in sgemm (no BLAS library found)";
  return lib;
}

const BlasLibrary& library() {
  static const BlasLibrary lib = load_blas();
  return lib;
}

// The fallback: B is packed per K-block into a contiguous panel, then each row of C accumulates
// a(m, k) * panel row k, an inner loop over n the compiler vectorises. Rows of C are split across threads.
void builtin_sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  const int64_t a_ms = trans_a ? 1 : lda, a_ks = trans_a ? lda : 1;
  const int64_t b_ks = trans_b ? 1 : ldb, b_ns = trans_b ? ldb : 1;
  for (int64_t m = 0; m < M; ++m) {
    float* c = C + m * ldc;
    for (int64_t n = 0; n < N; ++n) c[n] = beta == 0 ? 0.0f : beta * c[n];
  }
  constexpr int64_t kBlockK = 256;
  std::vector<float> panel;
  for (int64_t k0 = 0; k0 < K; k0 += kBlockK) {
    const int64_t kc = std::min(kBlockK, K - k0);
    panel.resize(size_t(kc * N));
    for (int64_t k = 0; k < kc; ++k) {
      for (int64_t n = 0; n < N; ++n) panel[k * N + n] = B[(k0 + k) * b_ks + n * b_ns];
    }
    parallel_for(M, std::max<int64_t>(1, 65536 / std::max<int64_t>(kc * N, 1)), [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; ++m) {
        float* c = C + m * ldc;
        for (int64_t k = 0; k < kc; ++k) {
          const float a = alpha * A[m * a_ms + (k0 + k) * a_ks];
          const float* p = panel.data() + k * N;
          for (int64_t n = 0; n < N; ++n) c[n] += a * p[n];
        }
      }
    });
  }
}

}  // namespace

void configure_blas_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (std::getenv("OPENBLAS_CORETYPE")) return;  // the user's choice wins
    if (const char* core = core_type_from_cpuid()) setenv("OPENBLAS_CORETYPE", core, 0);
  });
}

std::string blas_description() { return library().description; }

bool blas_loaded() { return library().sgemm != nullptr; }

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  const BlasLibrary& lib = library();
  const bool fits = M <= INT_MAX && N <= INT_MAX && K <= INT_MAX && lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX;
  if (lib.sgemm && fits && K > 0) {
    lib.sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, int(M), int(N),
              int(K), alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
    return;
  }
  builtin_sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace grpo::cpu
