// Element types, tensor types and the Storage blocks whose sizes the plugin reports as device memory.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <limits>
#include <new>

#include <sys/mman.h>
#include <unistd.h>

#include "common.h"

namespace grpo::cpu {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::kPred: return 1;
    case DType::kS32: return 4;
    case DType::kS64: return 8;
    case DType::kU32: return 4;
    case DType::kF32: return 4;
    case DType::kBF16: return 2;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::kPred: return "i1";
    case DType::kS32: return "i32";
    case DType::kS64: return "i64";
    case DType::kU32: return "ui32";
    case DType::kF32: return "f32";
    case DType::kBF16: return "bf16";
  }
  return "?";
}

int64_t TensorType::num_elements() const { return product(dims); }

size_t TensorType::byte_size() const { return size_t(num_elements()) * dtype_size(dtype); }

std::string TensorType::to_string() const {
  std::string s = "tensor<";
  for (int64_t d : dims) s += std::to_string(d) + "x";
  return s + dtype_name(dtype) + ">";
}

namespace {

int64_t physical_memory_bytes() {
  static const int64_t bytes = [] {
    long pages = sysconf(_SC_PHYS_PAGES);
    long page_size = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page_size > 0 ? int64_t(pages) * page_size : std::numeric_limits<int64_t>::max();
  }();
  return bytes;
}

}  // namespace

std::string tensor_size_error(const TensorType& type) {
  // A zero dim makes the tensor empty, but the other dims still enter stride products, so they must not overflow.
  int64_t bytes = int64_t(dtype_size(type.dtype));
  bool empty = false;
  for (int64_t d : type.dims) {
    if (d < 0) return type.to_string() + " has a negative dimension";
    if (d == 0) empty = true;
    if (d > 0 && __builtin_mul_overflow(bytes, d, &bytes)) {
      return type.to_string() + " is too large: its size in bytes overflows 64 bits";
    }
  }
  if (!empty && bytes > physical_memory_bytes()) {
    return type.to_string() + " needs " + std::to_string(bytes) + " bytes, more than this machine's " +
           std::to_string(physical_memory_bytes()) + " bytes of memory";
  }
  return "";
}

std::string join_ints(const std::vector<int64_t>& values) {
  std::string s;
  for (size_t i = 0; i < values.size(); ++i) s += (i ? ", " : "") + std::to_string(values[i]);
  return s;
}

namespace {

std::atomic<int64_t> g_bytes_in_use{0};
std::atomic<int64_t> g_peak_bytes{0};
std::atomic<int64_t> g_live_count{0};

std::atomic<int64_t> g_fail_countdown{0};

// Blocks of at least this many bytes start on a 2 MiB boundary, and their whole 2 MiB pages are offered to the
// kernel as transparent huge pages (where it offers them only on request). A decode step streams every weight
// once: with 4 KiB pages that is a TLB miss per 4 KiB and a hardware prefetcher that stops at each page's end;
// on 2 MiB pages the batch-8 bf16 weight dots ran 11-13% faster (docs/EXPERIMENTS.md). The partial last page is
// not advised, so under `madvise` no block takes more memory than before (under `always` the kernel decides).
constexpr size_t kHugePage = size_t(2) << 20;

void* allocate_aligned(size_t bytes) {
  if (g_fail_countdown.load(std::memory_order_relaxed) > 0 && g_fail_countdown.fetch_sub(1) == 1) {
    throw std::bad_alloc();
  }
  return allocate_block(bytes);
}

void track_allocation(size_t bytes) {
  int64_t now = g_bytes_in_use.fetch_add(int64_t(bytes)) + int64_t(bytes);
  int64_t peak = g_peak_bytes.load();
  while (now > peak && !g_peak_bytes.compare_exchange_weak(peak, now)) {
  }
  g_live_count.fetch_add(1);
}

}  // namespace

void* allocate_block(size_t bytes) {
  // aligned_alloc wants a multiple of the alignment; a zero-byte tensor still gets a distinct pointer.
  size_t rounded = std::max<size_t>(64, (bytes + 63) & ~size_t(63));
  const bool huge = bytes >= kHugePage;
  void* p = std::aligned_alloc(huge ? kHugePage : 64, huge ? (rounded + kHugePage - 1) & ~(kHugePage - 1) : rounded);
  if (!p) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // Advice only: where huge pages are off or none is free, the block keeps small pages.
  if (huge) madvise(p, bytes & ~(kHugePage - 1), MADV_HUGEPAGE);
#endif
  return p;
}

Storage::Storage(size_t bytes) : data_(allocate_aligned(bytes)), size_(bytes) {
  std::memset(data_, 0, bytes);
  track_allocation(bytes);
}

Storage::Storage(size_t bytes, Uninitialized) : data_(allocate_aligned(bytes)), size_(bytes) {
  track_allocation(bytes);
}

Storage::~Storage() {
  std::free(data_);
  g_bytes_in_use.fetch_sub(int64_t(size_));
  g_live_count.fetch_sub(1);
}

void fail_storage_allocation_after(int64_t n) { g_fail_countdown.store(n < 0 ? 0 : n); }

int64_t bytes_in_use() { return g_bytes_in_use.load(); }
int64_t peak_bytes_in_use() { return g_peak_bytes.load(); }
int64_t live_storage_count() { return g_live_count.load(); }

}  // namespace grpo::cpu
