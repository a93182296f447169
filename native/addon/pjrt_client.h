// The addon's PJRT client core, free of N-API: loading a plugin, the one error path (check), the args
// helper, and one RAII class per PJRT handle. Everything here may run on a worker thread; failures throw
// PjrtError, which addon.cc turns into a JS Error carrying the PJRT code.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "../pjrt/pjrt_c_api.h"

namespace grpo::addon {

// A PJRT failure (or a failure of ours in talking to a plugin), with the PJRT error code.
class PjrtError : public std::runtime_error {
 public:
  PjrtError(PJRT_Error_Code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  PJRT_Error_Code code() const { return code_; }

 private:
  PJRT_Error_Code code_;
};

const char* error_code_name(PJRT_Error_Code code);

// Zero-fills an args struct and sets its struct_size (extension_start stays null).
template <typename Args>
Args pjrt_args() {
  Args args;
  std::memset(&args, 0, sizeof(args));
  args.struct_size = PjrtStructSize<Args>::value;
  return args;
}

// A plugin loaded with dlopen, initialised once. Never unloaded: plugins keep threads and static state.
class Plugin {
 public:
  // Loads `path` (or returns the plugin already loaded from it). Throws PjrtError with a message that says
  // why a file is not a usable PJRT plugin.
  static std::shared_ptr<const Plugin> load(const std::string& path);

  const PJRT_Api* api() const { return api_; }
  const std::string& path() const { return path_; }
  int major_version() const { return api_->pjrt_api_version.major_version; }
  int minor_version() const { return api_->pjrt_api_version.minor_version; }

  // Whether the plugin's table is long enough to hold the slot at `offset` and fills it.
  bool has_slot(size_t offset, const void* function) const {
    return offset + sizeof(void*) <= api_->struct_size && function != nullptr;
  }

  // The one error path: reads the message and code of `error`, destroys it and throws PjrtError.
  void check(PJRT_Error* error, const char* function) const;
  // Reads the message and code of `error` and destroys it (for errors handed to callbacks).
  PJRT_Error_Code take_error(PJRT_Error* error, std::string* message) const;

 private:
  Plugin(std::string path, const PJRT_Api* api) : path_(std::move(path)), api_(api) {}
  std::string path_;
  const PJRT_Api* api_;
};

// Calls slot `name` of plugin `plugin` with `args`, after checking the plugin provides it.
#define GRPO_PJRT_CALL(plugin, name, args)                                                                  \
  do {                                                                                                      \
    const PJRT_Api* grpo_api = (plugin).api();                                                              \
    if (!(plugin).has_slot(offsetof(PJRT_Api, PJRT_##name), reinterpret_cast<const void*>(grpo_api->PJRT_##name))) \
      throw ::grpo::addon::PjrtError(PJRT_Error_Code_UNIMPLEMENTED,                                         \
                                     "PJRT_" #name " is not provided by the plugin " + (plugin).path());    \
    (plugin).check(grpo_api->PJRT_##name(args), "PJRT_" #name);                                             \
  } while (0)

// Live-object counters behind liveBuffers() / liveExecutables().
extern std::atomic<int64_t> live_buffer_count;
extern std::atomic<int64_t> live_executable_count;

// An event returned by the plugin: always destroyed, awaited on demand. A null event is ready and fine.
class Event {
 public:
  // What a ready event reports: the PJRT code (OK when the work succeeded) and the error's message.
  using Callback = std::function<void(PJRT_Error_Code code, const std::string& message)>;

  Event(std::shared_ptr<const Plugin> plugin, PJRT_Event* event) : plugin_(std::move(plugin)), event_(event) {}
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  void await(const char* what) const;  // blocks; throws the event's error
  // Calls `callback` once the event is ready: from a plugin thread, or at once on this one. Messages start
  // with `what`. The event must stay alive until then. Without PJRT_Event_OnReady in the plugin, it awaits.
  void on_ready(const std::string& what, Callback callback) const;

 private:
  std::shared_ptr<const Plugin> plugin_;
  PJRT_Event* event_;
};

class Client;

// An owner of a PJRT handle made by a client (a buffer, an executable). The client keeps a list of them so that
// shutting it down can free their handles first: PJRT wants a client's buffers and executables gone before it.
class ClientDependent {
 public:
  virtual ~ClientDependent() = default;
  // Frees the PJRT handle now; the object stays, and reports the client as shut down if used again.
  virtual void release_for_shutdown() = 0;
};

class Client {
 public:
  // One create option; `type` says which value field is meaningful.
  struct Option {
    std::string name;
    PJRT_NamedValue_Type type;
    std::string string_value;
    int64_t int64_value = 0;
    std::vector<int64_t> int64_list;
    float float_value = 0;
    bool bool_value = false;
  };

  Client(std::shared_ptr<const Plugin> plugin, const std::vector<Option>& options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const Plugin& plugin() const { return *plugin_; }
  const std::shared_ptr<const Plugin>& plugin_ptr() const { return plugin_; }
  PJRT_Client* get() const { return client_; }
  const std::string& platform_name() const { return platform_name_; }
  const std::string& platform_version() const { return platform_version_; }
  int process_index() const { return process_index_; }
  std::vector<PJRT_Device*> devices(bool addressable_only) const;

  // Lifecycle. A client is destroyed (PJRT_Client_Destroy) when its last user lets go: the JS Client until
  // dispose(), and every buffer and executable made from it. shutdown() destroys it at once (process exit): it
  // waits for compiles in flight, frees every dependent's handle, then the client; it is idempotent.
  void attach(ClientDependent* dependent);
  void detach(ClientDependent* dependent);
  void shutdown();
  bool is_shut_down() const;
  // Throws FAILED_PRECONDITION, naming `what`, once the client was shut down.
  void require_live(const char* what) const;

  // Counts a compile (or other work outside the dispatch queue) as in flight until the guard goes.
  class WorkGuard {
   public:
    explicit WorkGuard(Client& client);
    ~WorkGuard();
    WorkGuard(const WorkGuard&) = delete;
    WorkGuard& operator=(const WorkGuard&) = delete;

   private:
    Client& client_;
  };

 private:
  void read_platform();  // platform name, version and process index
  void destroy();
  std::shared_ptr<const Plugin> plugin_;
  PJRT_Client* client_ = nullptr;
  mutable std::mutex lifecycle_mutex_;
  std::condition_variable work_done_;
  std::set<ClientDependent*> dependents_;  // guarded by lifecycle_mutex_
  int in_flight_ = 0;                      // likewise
  bool shut_down_ = false;                 // likewise
  std::string platform_name_;
  std::string platform_version_;
  int process_index_ = 0;
};

// A device of a client; the shared_ptr keeps the client alive as long as the device is in use.
struct DeviceInfo {
  int id = 0;
  std::string kind;
  std::string debug_string;
  std::string to_string;
  bool addressable = true;
  int local_hardware_id = -1;
};
DeviceInfo describe_device(const Client& client, PJRT_Device* device);

struct MemoryStats {
  int64_t bytes_in_use = 0;
  bool has_peak = false;
  int64_t peak_bytes_in_use = 0;
  bool has_limit = false;
  int64_t bytes_limit = 0;
};
MemoryStats device_memory_stats(const Client& client, PJRT_Device* device);

class Buffer : public ClientDependent {
 public:
  // Takes ownership of `buffer` and reads its type and dims.
  Buffer(std::shared_ptr<Client> client, PJRT_Buffer* buffer);
  ~Buffer() override;
  void release_for_shutdown() override;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  // Starts a copy of `data` (which must stay valid until `done` is ready) to a new buffer on `device`.
  static std::unique_ptr<Buffer> from_host(std::shared_ptr<Client> client, PJRT_Device* device, const void* data,
                                           PJRT_Buffer_Type type, const std::vector<int64_t>& dims,
                                           std::shared_ptr<Event>* done);
  // Starts a copy into `destination` (`size` bytes, the dense size), which is written once the returned event
  // is ready: after the computation producing the buffer finished. With `row_major_layout` it passes an
  // explicit row-major host layout, which TPU needs because its device layouts are tiled.
  std::shared_ptr<Event> to_host(void* destination, size_t size, bool row_major_layout) const;
  bool is_deleted() const;
  size_t on_device_size() const;

  PJRT_Buffer* get() const { return buffer_; }
  PJRT_Buffer_Type type() const { return type_; }
  const std::vector<int64_t>& dims() const { return dims_; }
  const std::shared_ptr<Client>& client() const { return client_; }

 private:
  std::shared_ptr<Client> client_;
  PJRT_Buffer* buffer_;  // null once released by the client's shutdown
  PJRT_Buffer_Type type_ = PJRT_Buffer_Type_INVALID;
  std::vector<int64_t> dims_;
};

class LoadedExecutable : public ClientDependent {
 public:
  static std::unique_ptr<LoadedExecutable> compile(std::shared_ptr<Client> client, const std::string& mlir_text,
                                                   const std::string& compile_options);
  ~LoadedExecutable() override;
  void release_for_shutdown() override;
  LoadedExecutable(const LoadedExecutable&) = delete;
  LoadedExecutable& operator=(const LoadedExecutable&) = delete;

  // A launched execution: its outputs (possibly still being computed) and the event of its completion,
  // which carries the error of a run that failed on the device.
  struct Execution {
    std::vector<std::unique_ptr<Buffer>> outputs;
    std::shared_ptr<Event> done;
  };

  // Launches on the device the executable was compiled for (its device assignment), with execute_device null as
  // JAX does, and returns without waiting for the device. `donate[i]` false puts argument i in
  // non_donatable_input_indices. Throws when the launch is refused.
  Execution execute(const std::vector<PJRT_Buffer*>& arguments, const std::vector<bool>& donate) const;

  const std::shared_ptr<Client>& client() const { return client_; }
  // Ids of the devices the plugin says the executable runs on (empty when it does not say).
  const std::vector<int>& addressable_device_ids() const { return addressable_device_ids_; }

  const std::string& name() const { return name_; }
  size_t num_outputs() const { return num_outputs_; }
  const std::vector<PJRT_Buffer_Type>& output_types() const { return output_types_; }
  const std::vector<std::vector<int64_t>>& output_dims() const { return output_dims_; }
  const std::string& fingerprint() const { return fingerprint_; }
  int64_t generated_code_size() const { return generated_code_size_; }

 private:
  LoadedExecutable(std::shared_ptr<Client> client, PJRT_LoadedExecutable* executable);
  void read_metadata();
  std::shared_ptr<Client> client_;
  PJRT_LoadedExecutable* executable_;  // null once released by the client's shutdown
  std::string name_;
  size_t num_outputs_ = 0;
  std::vector<PJRT_Buffer_Type> output_types_;       // empty when the plugin does not report them
  std::vector<std::vector<int64_t>> output_dims_;    // likewise
  std::string fingerprint_;
  int64_t generated_code_size_ = -1;
  std::vector<int> addressable_device_ids_;
};

}  // namespace grpo::addon
