// The handle types behind our CPU plugin's PJRT C API, and the helpers its slot implementations share.
// plugin.cc holds the API table, errors, the client and its device; plugin_events.cc events and the execution
// queue; plugin_buffers.cc the buffers; plugin_executables.cc compilation and execution.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../pjrt/pjrt_c_api.h"
#include "engine/engine.h"

// ------------------------------------------------------------------------------------------------ async

namespace grpo::cpu::plugin {

// The outcome of work that may finish on another thread. It completes once; callbacks registered before that
// run on the completing thread (an execution's: the client's worker), later ones at once on the caller's.
class EventState {
 public:
  static std::shared_ptr<EventState> completed(PJRT_Error_Code code = PJRT_Error_Code_OK, std::string message = {});
  void complete(PJRT_Error_Code code, std::string message = {});
  void on_ready(std::function<void()> callback);
  void wait();
  bool is_ready();
  // Meaningful once ready (never change after).
  PJRT_Error_Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  bool ready_ = false;
  PJRT_Error_Code code_ = PJRT_Error_Code_OK;
  std::string message_;
  std::vector<std::function<void()>> callbacks_;
};

// One worker thread per client runs its executions in submission order, so Execute returns at launch and the
// caller can queue the next call while this one computes. One at a time: the engine already spreads each run
// over all cores. Destroying the queue finishes the jobs already submitted.
class ExecutionQueue {
 public:
  ExecutionQueue();
  ~ExecutionQueue();
  ExecutionQueue(const ExecutionQueue&) = delete;
  ExecutionQueue& operator=(const ExecutionQueue&) = delete;
  void submit(std::function<void()> job);

 private:
  void run();
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace grpo::cpu::plugin

// ------------------------------------------------------------------------------------------------ handles

struct PJRT_Error {
  PJRT_Error_Code code;
  std::string message;
};

struct PJRT_Event {
  std::shared_ptr<grpo::cpu::plugin::EventState> state;
};

struct PJRT_DeviceDescription {
  int id = 0;
  std::string kind = "cpu";
  std::string debug_string;
  std::string to_string;
};

struct PJRT_Device {
  PJRT_DeviceDescription description;
  PJRT_Client* client = nullptr;
};

struct PJRT_Client {
  uint64_t serial = 0;  // which client of this process (1, 2, ...), for the lifecycle trace
  PJRT_Device device;
  PJRT_Device* devices[1] = {&device};
  std::string platform_name = "cpu";
  std::string platform_version;
  // Last, so that it is destroyed first: its jobs finish while the rest of the client still exists.
  std::unique_ptr<grpo::cpu::plugin::ExecutionQueue> queue = std::make_unique<grpo::cpu::plugin::ExecutionQueue>();
};

// What a buffer holds, shared with the execution that computes it: the storage, set (under
// buffer_state_mutex()) before `ready` completes; an execution that failed leaves it null and `ready` carries
// the error. It outlives a buffer destroyed while its execution is in flight.
struct BufferValue {
  std::shared_ptr<grpo::cpu::plugin::EventState> ready;
  std::shared_ptr<grpo::cpu::Storage> storage;
};

struct PJRT_Buffer {
  grpo::cpu::TensorType type;
  PJRT_Device* device = nullptr;
  // Guarded by buffer_state_mutex(): deletion and donation may race with a concurrent execute. Null once
  // deleted or donated.
  std::shared_ptr<BufferValue> value;
  bool deleted = false;
};

// A compiled program plus what PJRT_Executable's queries return, computed once.
struct CompiledProgram {
  std::unique_ptr<grpo::cpu::Executable> engine_executable;
  std::vector<PJRT_Buffer_Type> output_types;
  std::vector<int64_t> output_dims;  // all outputs' dims, concatenated
  std::vector<size_t> output_ranks;
  std::string fingerprint;
};

struct PJRT_Executable {
  std::shared_ptr<CompiledProgram> program;
};

struct PJRT_LoadedExecutable {
  std::shared_ptr<CompiledProgram> program;
  PJRT_Client* client = nullptr;
  // Compiled with compile_portable_executable: runs wherever execute_device says, and only with it. Otherwise
  // the executable belongs to `device`, from its device assignment, and execute_device must be null.
  bool portable = false;
  PJRT_Device* device = nullptr;
  bool deleted = false;  // guarded by buffer_state_mutex()
};

// ------------------------------------------------------------------------------------------------ helpers

namespace grpo::cpu::plugin {

PJRT_Error* make_error(PJRT_Error_Code code, std::string message);
PJRT_Error* error_from_current_exception(const char* function);

// Every slot body runs through here: it checks that the caller's args struct is present and at least
// `needed` bytes (the end of the last field we touch), and turns every C++ exception into a PJRT error that
// names the function, since nothing may unwind through the C ABI.
template <typename Args, typename Body>
PJRT_Error* guarded(const char* function, Args* args, size_t needed, Body&& body) noexcept {
  if (args == nullptr) return make_error(PJRT_Error_Code_INVALID_ARGUMENT, std::string(function) + ": args is null");
  if (args->struct_size < needed) {
    return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                      std::string(function) + ": args struct_size " + std::to_string(args->struct_size) +
                          " is smaller than the " + std::to_string(needed) + " bytes this plugin reads");
  }
  try {
    return body();
  } catch (...) {
    return error_from_current_exception(function);
  }
}

std::mutex& buffer_state_mutex();

// The StableHLO version the plugin reports and compiles against: kEngineStablehloVersion, or
// GRPO_XLA_CPU_STABLEHLO_VERSION ("1.2.0") when set, read once per process. Throws std::invalid_argument naming
// the variable when its value is not a version.
const StablehloVersion& plugin_stablehlo_version();

// PJRT element type <-> engine dtype. Returns false for types the engine does not support.
bool dtype_from_pjrt(PJRT_Buffer_Type type, DType* dtype);
inline PJRT_Buffer_Type dtype_to_pjrt(DType dtype) { return static_cast<PJRT_Buffer_Type>(dtype); }

PJRT_Buffer* new_buffer(TensorType type, std::shared_ptr<BufferValue> value, PJRT_Device* device);
PJRT_Event* new_event(std::shared_ptr<EventState> state);
PJRT_Event* new_ready_event();

// Slot implementations living outside plugin.cc, installed into the table by plugin.cc.
void install_event_slots(PJRT_Api& api);
void install_buffer_slots(PJRT_Api& api);
void install_executable_slots(PJRT_Api& api);

}  // namespace grpo::cpu::plugin

