// The CPU engine behind our PJRT plugin: parses the StableHLO text that hlo/ emits, checks it, plans its
// buffers and executes it on host memory. It knows nothing of PJRT; native/cpu/plugin.cc adapts it to the C API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "stablehlo_version.h"

namespace grpo::cpu {

// Element types. The numeric values equal PJRT_Buffer_Type so the plugin converts by cast.
enum class DType : int32_t {
  kPred = 1,  // i1, stored as one byte (0 or 1)
  kS32 = 4,
  kS64 = 5,
  kU32 = 8,
  kF32 = 11,
  kBF16 = 13,  // stored as uint16_t, the upper half of an f32
};

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);  // MLIR spelling: i1, i32, i64, ui32, f32, bf16

struct TensorType {
  DType dtype = DType::kF32;
  std::vector<int64_t> dims;  // row-major; a size-0 dim is allowed
  int64_t num_elements() const;
  size_t byte_size() const;
  std::string to_string() const;  // "tensor<2x3xf32>"
  bool operator==(const TensorType& other) const = default;
};

// Why a tensor of `type` can never be allocated (its byte size overflows 64 bits or exceeds this machine's
// physical memory), or "" when it can. Shapes come from untrusted module text and host calls, so both are
// checked before anything multiplies dims or allocates.
std::string tensor_size_error(const TensorType& type);

// One block of host memory: the plugin's device memory. Every live Storage counts towards bytes_in_use().
class Storage {
 public:
  explicit Storage(size_t bytes);  // zero-filled, 64-byte aligned (2 MiB from 2 MiB up: types.cc)
  // Skips the zero fill: for outputs the engine overwrites completely anyway.
  struct Uninitialized {};
  Storage(size_t bytes, Uninitialized);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void* data_;
  size_t size_;
};

// A block laid out as Storage's are (64-byte aligned; from 2 MiB up, 2 MiB-aligned with its whole huge pages
// advised: types.cc), for scratch that lives outside Storage's accounting; release it with std::free.
void* allocate_block(size_t bytes);

// Fault injection for tests of failure paths: the n-th Storage allocation from now on (counted across threads)
// throws std::bad_alloc as a real out-of-memory would; n = 0 disarms. The plugin arms it per execution from
// GRPO_XLA_CPU_FAIL_ALLOCATION (see native/cpu/plugin_executables.cc).
void fail_storage_allocation_after(int64_t n);

int64_t bytes_in_use();       // sum of the sizes of all live Storage blocks
int64_t peak_bytes_in_use();  // high-water mark since the process started
int64_t live_storage_count();

struct Tensor {
  TensorType type;
  std::shared_ptr<Storage> storage;
};

// Compile errors carry the text position ("line 3, column 14: expected ':' ...") in what().
class CompileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Execution errors: wrong argument count/type, index out of range where that is an error, etc.
class ExecuteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Executable {
 public:
  virtual ~Executable() = default;
  virtual const std::string& name() const = 0;
  virtual const std::vector<TensorType>& parameter_types() const = 0;
  virtual const std::vector<TensorType>& result_types() const = 0;
  // For each result, the parameter whose buffer it may reuse (from `tf.aliasing_output`), or -1.
  virtual const std::vector<int>& result_aliases() const = 0;
  // Runs the program. `donated[i]` says the caller gives up args[i]: when parameter i is aliased to a result,
  // that result is written into args[i].storage (no new allocation). Throws ExecuteError on bad arguments.
  virtual std::vector<Tensor> run(const std::vector<Tensor>& args, const std::vector<bool>& donated) = 0;
  // A size estimate of the compiled form (for PJRT_Executable_SizeOfGeneratedCodeInBytes).
  virtual int64_t code_size_bytes() const = 0;
};

// Parses, type-checks and plans `mlir_text`. Throws CompileError, also for an op or attribute form newer than
// `stablehlo` (the version the plugin reports).
std::unique_ptr<Executable> compile(const std::string& mlir_text,
                                    const StablehloVersion& stablehlo = kEngineStablehloVersion);

// Chooses OpenBLAS's core type from cpuid (unless OPENBLAS_CORETYPE is set) before OpenBLAS initialises.
// Called once from the plugin's GetPjrtApi; safe to call repeatedly.
void configure_blas_once();

// Number of worker threads the engine uses (the machine's cores unless GRPO_XLA_CPU_THREADS is set).
int num_threads();

// Which sgemm dot_general uses, e.g. "OpenBLAS 0.3.21 (core SkylakeX)" or "built-in sgemm (no BLAS library
// found)". Loads the BLAS library if that has not happened yet.
std::string blas_description();

}  // namespace grpo::cpu
