// The CPU's peak f32 multiply-add rate, the arithmetic ceiling of the engine's dot kernels: THREADS threads at
// once, each running twelve independent chains of fused multiply-adds on the widest vectors the CPU has (AVX-512,
// else AVX2 with FMA). Twelve chains cover an FMA latency of up to six cycles at two per cycle, so the loop is
// bound by the FMA units' throughput alone. The chains are written in assembly so that no compiler can shorten
// them. The best of REPS timed runs counts (a shared machine's descheduling only slows a run down).
// GRPO_XLA_CPU_SIMD=avx2 (or scalar) caps the instruction set as it caps the engine's kernels.
// Usage: fma_peak THREADS [REPS]; prints one JSON line: {"isa":..,"threads":..,"seconds":..,"gflops":..}, with
// "isa": "none" and "gflops": null on a CPU with neither instruction set.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

constexpr int kChains = 12;

// The loop for register prefix R ("zmm" or "ymm"): registers 0-11 are the chains, 12 and 13 their operands, all
// zero (zero times zero plus zero stays zero: no denormals, no overflow).
#define FMA_CHAINS_ASM(R)                                                                                       \
  "vxorps %%xmm0, %%xmm0, %%xmm0\n\t"                                                                         \
  "vmovaps %%" R "0, %%" R "1\n\t vmovaps %%" R "0, %%" R "2\n\t vmovaps %%" R "0, %%" R "3\n\t"             \
  "vmovaps %%" R "0, %%" R "4\n\t vmovaps %%" R "0, %%" R "5\n\t vmovaps %%" R "0, %%" R "6\n\t"             \
  "vmovaps %%" R "0, %%" R "7\n\t vmovaps %%" R "0, %%" R "8\n\t vmovaps %%" R "0, %%" R "9\n\t"             \
  "vmovaps %%" R "0, %%" R "10\n\t vmovaps %%" R "0, %%" R "11\n\t vmovaps %%" R "0, %%" R "12\n\t"          \
  "vmovaps %%" R "0, %%" R "13\n\t"                                                                            \
  "1:\n\t"                                                                                                     \
  "vfmadd231ps %%" R "12, %%" R "13, %%" R "0\n\t vfmadd231ps %%" R "12, %%" R "13, %%" R "1\n\t"              \
  "vfmadd231ps %%" R "12, %%" R "13, %%" R "2\n\t vfmadd231ps %%" R "12, %%" R "13, %%" R "3\n\t"              \
  "vfmadd231ps %%" R "12, %%" R "13, %%" R "4\n\t vfmadd231ps %%" R "12, %%" R "13, %%" R "5\n\t"              \
  "vfmadd231ps %%" R "12, %%" R "13, %%" R "6\n\t vfmadd231ps %%" R "12, %%" R "13, %%" R "7\n\t"              \
  "vfmadd231ps %%" R "12, %%" R "13, %%" R "8\n\t vfmadd231ps %%" R "12, %%" R "13, %%" R "9\n\t"              \
  "vfmadd231ps %%" R "12, %%" R "13, %%" R "10\n\t vfmadd231ps %%" R "12, %%" R "13, %%" R "11\n\t"            \
  "dec %0\n\t"                                                                                                 \
  "jnz 1b\n\t"                                                                                                 \
  "vzeroupper"

#define FMA_CHAINS_CLOBBERS                                                                                 \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", \
      "xmm13", "cc"

// `iterations` rounds of twelve 512-bit FMAs (16 lanes, 2 FLOP each per FMA).
__attribute__((target("avx512f"))) void chains_avx512(long iterations) {
  asm volatile(FMA_CHAINS_ASM("zmm") : "+r"(iterations) : : FMA_CHAINS_CLOBBERS);
}

// The same with 256-bit FMAs (8 lanes).
__attribute__((target("avx2,fma"))) void chains_avx2(long iterations) {
  asm volatile(FMA_CHAINS_ASM("ymm") : "+r"(iterations) : : FMA_CHAINS_CLOBBERS);
}

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc >= 2 ? std::atoi(argv[1]) : 0;
  const int reps = argc >= 3 ? std::atoi(argv[2]) : 5;
  if (argc < 2 || argc > 3 || threads < 1 || threads > 1024 || reps < 1) {
    std::fprintf(stderr, "usage: fma_peak THREADS [REPS]\n");
    return 2;
  }
  const char* cap = std::getenv("GRPO_XLA_CPU_SIMD");
  const bool allow512 = cap == nullptr || std::strcmp(cap, "avx512") == 0;
  const bool allow256 = allow512 || std::strcmp(cap, "avx2") == 0;
  __builtin_cpu_init();
  const bool avx512 = allow512 && __builtin_cpu_supports("avx512f");
  const bool avx2 = allow256 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!avx512 && !avx2) {
    std::printf("{\"isa\":\"none\",\"threads\":%d,\"seconds\":null,\"gflops\":null}\n", threads);
    return 0;
  }
  const int lanes = avx512 ? 16 : 8;
  void (*chains)(long) = avx512 ? chains_avx512 : chains_avx2;
  // About 0.05 s a run at 4 GHz and two FMAs a cycle.
  const long iterations = 35'000'000;
  chains(iterations / 10);  // the clock settles
  double best = 1e30;
  for (int rep = 0; rep < reps; ++rep) {
    std::vector<std::thread> pool;
    const double start = now();
    for (int t = 0; t < threads; ++t) pool.emplace_back(chains, iterations);
    for (std::thread& t : pool) t.join();
    best = std::min(best, now() - start);
  }
  const double flops = double(threads) * double(iterations) * kChains * lanes * 2;
  std::printf("{\"isa\":\"%s\",\"threads\":%d,\"seconds\":%.6f,\"gflops\":%.3f}\n", avx512 ? "avx512" : "avx2", threads,
              best, flops / best / 1e9);
  return 0;
}
