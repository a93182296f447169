#include "pjrt_client.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <map>
#include <mutex>

namespace grpo::addon {

std::atomic<int64_t> live_buffer_count{0};
std::atomic<int64_t> live_executable_count{0};

const char* error_code_name(PJRT_Error_Code code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  int index = static_cast<int>(code);
  return index >= 0 && index <= 16 ? kNames[index] : "UNKNOWN";
}

// ------------------------------------------------------------------------------------------------ Plugin

namespace {

[[noreturn]] void fail_load(const std::string& path, const std::string& why) {
  throw PjrtError(PJRT_Error_Code_INVALID_ARGUMENT, "cannot load PJRT plugin " + path + ": " + why);
}

}  // namespace

std::shared_ptr<const Plugin> Plugin::load(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const Plugin>> loaded;  // by real path
  static std::map<std::string, std::string> failed_initialization;

  struct stat info;
  if (stat(path.c_str(), &info) != 0) fail_load(path, "no such file");
  if (!S_ISREG(info.st_mode)) fail_load(path, "not a regular file");
  char resolved[PATH_MAX];
  std::string real_path = realpath(path.c_str(), resolved) != nullptr ? std::string(resolved) : path;

  std::lock_guard<std::mutex> lock(mutex);
  if (auto found = loaded.find(real_path); found != loaded.end()) return found->second;
  if (auto failed = failed_initialization.find(real_path); failed != failed_initialization.end()) {
    fail_load(path, failed->second);
  }

  // RTLD_LOCAL: plugins bundle their own copies of LLVM, abseil and protobuf, which must not clash.
  void* handle = dlopen(real_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* reason = dlerror();
    fail_load(path, std::string("it is not a loadable shared library (") + (reason ? reason : "dlopen failed") + ")");
  }
  auto get_api = reinterpret_cast<GetPjrtApi_Fn*>(dlsym(handle, "GetPjrtApi"));
  if (get_api == nullptr) fail_load(path, "it is not a PJRT plugin (it does not export GetPjrtApi)");
  const PJRT_Api* api = get_api();
  if (api == nullptr) fail_load(path, "GetPjrtApi returned null");
  if (api->struct_size < pjrt_slot_offset(3) + sizeof(void*)) {
    fail_load(path, "its PJRT_Api table is too short (" + std::to_string(api->struct_size) + " bytes)");
  }
  if (api->pjrt_api_version.major_version != kPjrtApiMajor) {
    fail_load(path, "it implements PJRT C API " + std::to_string(api->pjrt_api_version.major_version) + "." +
                        std::to_string(api->pjrt_api_version.minor_version) + " but this client speaks " +
                        std::to_string(kPjrtApiMajor) + ".x");
  }
  std::shared_ptr<const Plugin> plugin(new Plugin(real_path, api));
  try {
    auto args = pjrt_args<PJRT_Plugin_Initialize_Args>();
    GRPO_PJRT_CALL(*plugin, Plugin_Initialize, &args);
  } catch (const PjrtError& error) {
    failed_initialization[real_path] = std::string("PJRT_Plugin_Initialize failed: ") + error.what();
    fail_load(path, failed_initialization[real_path]);
  }
  loaded[real_path] = plugin;
  return plugin;
}

void Plugin::check(PJRT_Error* error, const char* function) const {
  if (error == nullptr) return;
  std::string message;
  PJRT_Error_Code code = take_error(error, &message);
  // Our own plugin already prefixes its messages with the function name.
  if (message.rfind(function, 0) != 0) message = std::string(function) + ": " + message;
  throw PjrtError(code, message);
}

PJRT_Error_Code Plugin::take_error(PJRT_Error* error, std::string* message) const {
  *message = "(no message)";
  PJRT_Error_Code code = PJRT_Error_Code_UNKNOWN;
  if (api_->PJRT_Error_Message != nullptr) {
    auto message_args = pjrt_args<PJRT_Error_Message_Args>();
    message_args.error = error;
    api_->PJRT_Error_Message(&message_args);
    if (message_args.message != nullptr) message->assign(message_args.message, message_args.message_size);
  }
  if (has_slot(offsetof(PJRT_Api, PJRT_Error_GetCode), reinterpret_cast<const void*>(api_->PJRT_Error_GetCode))) {
    auto code_args = pjrt_args<PJRT_Error_GetCode_Args>();
    code_args.error = error;
    PJRT_Error* code_error = api_->PJRT_Error_GetCode(&code_args);
    if (code_error == nullptr) {
      code = code_args.code;
    } else {
      auto destroy_args = pjrt_args<PJRT_Error_Destroy_Args>();
      destroy_args.error = code_error;
      api_->PJRT_Error_Destroy(&destroy_args);
    }
  }
  auto destroy_args = pjrt_args<PJRT_Error_Destroy_Args>();
  destroy_args.error = error;
  api_->PJRT_Error_Destroy(&destroy_args);
  return code;
}

// ------------------------------------------------------------------------------------------------ Event

Event::~Event() {
  if (event_ == nullptr) return;
  auto args = pjrt_args<PJRT_Event_Destroy_Args>();
  args.event = event_;
  PJRT_Error* error = plugin_->api()->PJRT_Event_Destroy(&args);
  if (error != nullptr) {
    try {
      plugin_->check(error, "PJRT_Event_Destroy");
    } catch (const PjrtError&) {
      // Nothing to report to from a destructor; the error itself was destroyed by check().
    }
  }
}

void Event::on_ready(const std::string& what, Callback callback) const {
  const Plugin& plugin = *plugin_;
  const PJRT_Api* api = plugin.api();
  bool has_on_ready =
      plugin.has_slot(offsetof(PJRT_Api, PJRT_Event_OnReady), reinterpret_cast<const void*>(api->PJRT_Event_OnReady));
  if (event_ == nullptr || !has_on_ready) {
    try {
      await(what.c_str());
    } catch (const PjrtError& error) {
      callback(error.code(), error.what());
      return;
    }
    callback(PJRT_Error_Code_OK, {});
    return;
  }
  struct Context {
    std::shared_ptr<const Plugin> plugin;
    std::string what;
    Callback callback;
  };
  auto* context = new Context{plugin_, what, std::move(callback)};
  auto args = pjrt_args<PJRT_Event_OnReady_Args>();
  args.event = event_;
  args.user_arg = context;
  // The callback owns the error it receives; check() reads and destroys it.
  args.callback = [](PJRT_Error* error, void* user_arg) {
    std::unique_ptr<Context> context(static_cast<Context*>(user_arg));
    if (error == nullptr) {
      context->callback(PJRT_Error_Code_OK, {});
      return;
    }
    std::string message;
    PJRT_Error_Code code = context->plugin->take_error(error, &message);
    context->callback(code, context->what + ": " + message);
  };
  try {
    GRPO_PJRT_CALL(plugin, Event_OnReady, &args);
  } catch (const PjrtError& error) {
    // Not registered: the callback will not run, so report the failure now.
    Callback callback_now = std::move(context->callback);
    delete context;
    callback_now(error.code(), what + ": " + error.what());
  }
}

void Event::await(const char* what) const {
  if (event_ == nullptr) return;
  auto args = pjrt_args<PJRT_Event_Await_Args>();
  args.event = event_;
  try {
    GRPO_PJRT_CALL(*plugin_, Event_Await, &args);
  } catch (const PjrtError& error) {
    throw PjrtError(error.code(), std::string(what) + ": " + error.what());
  }
}

// ------------------------------------------------------------------------------------------------ Client

Client::Client(std::shared_ptr<const Plugin> plugin, const std::vector<Option>& options) : plugin_(std::move(plugin)) {
  std::vector<PJRT_NamedValue> values;
  values.reserve(options.size());
  for (const Option& option : options) {
    auto value = pjrt_args<PJRT_NamedValue>();
    value.name = option.name.data();
    value.name_size = option.name.size();
    value.type = option.type;
    value.value_size = 1;
    switch (option.type) {
      case PJRT_NamedValue_kString:
        value.string_value = option.string_value.data();
        value.value_size = option.string_value.size();
        break;
      case PJRT_NamedValue_kInt64:
        value.int64_value = option.int64_value;
        break;
      case PJRT_NamedValue_kInt64List:
        value.int64_array_value = option.int64_list.data();
        value.value_size = option.int64_list.size();
        break;
      case PJRT_NamedValue_kFloat:
        value.float_value = option.float_value;
        break;
      case PJRT_NamedValue_kBool:
        value.bool_value = option.bool_value;
        break;
    }
    values.push_back(value);
  }
  auto args = pjrt_args<PJRT_Client_Create_Args>();
  args.create_options = values.data();
  args.num_options = values.size();
  GRPO_PJRT_CALL(*plugin_, Client_Create, &args);
  client_ = args.client;
  try {
    read_platform();
  } catch (...) {
    destroy();  // the destructor does not run for a constructor that throws
    throw;
  }
}

void Client::read_platform() {
  auto name_args = pjrt_args<PJRT_Client_PlatformName_Args>();
  name_args.client = client_;
  GRPO_PJRT_CALL(*plugin_, Client_PlatformName, &name_args);
  platform_name_.assign(name_args.platform_name, name_args.platform_name_size);

  auto version_args = pjrt_args<PJRT_Client_PlatformVersion_Args>();
  version_args.client = client_;
  GRPO_PJRT_CALL(*plugin_, Client_PlatformVersion, &version_args);
  platform_version_.assign(version_args.platform_version, version_args.platform_version_size);

  auto index_args = pjrt_args<PJRT_Client_ProcessIndex_Args>();
  index_args.client = client_;
  GRPO_PJRT_CALL(*plugin_, Client_ProcessIndex, &index_args);
  process_index_ = index_args.process_index;
}

Client::~Client() { destroy(); }

void Client::destroy() {
  if (client_ == nullptr) return;
  auto args = pjrt_args<PJRT_Client_Destroy_Args>();
  args.client = client_;
  client_ = nullptr;
  try {
    GRPO_PJRT_CALL(*plugin_, Client_Destroy, &args);
  } catch (const PjrtError&) {
  }
}

void Client::attach(ClientDependent* dependent) {
  std::lock_guard<std::mutex> lock(lifecycle_mutex_);
  dependents_.insert(dependent);
}

void Client::detach(ClientDependent* dependent) {
  std::lock_guard<std::mutex> lock(lifecycle_mutex_);
  dependents_.erase(dependent);
}

void Client::shutdown() {
  std::vector<ClientDependent*> dependents;
  {
    std::unique_lock<std::mutex> lock(lifecycle_mutex_);
    if (shut_down_) return;
    shut_down_ = true;  // no new work starts from here on
    work_done_.wait(lock, [this] { return in_flight_ == 0; });
    dependents.assign(dependents_.begin(), dependents_.end());
    dependents_.clear();
  }
  for (ClientDependent* dependent : dependents) dependent->release_for_shutdown();
  destroy();
}

bool Client::is_shut_down() const {
  std::lock_guard<std::mutex> lock(lifecycle_mutex_);
  return shut_down_;
}

void Client::require_live(const char* what) const {
  if (is_shut_down()) {
    throw PjrtError(PJRT_Error_Code_FAILED_PRECONDITION,
                    std::string(what) + ": the PJRT client was shut down (the process is exiting)");
  }
}

Client::WorkGuard::WorkGuard(Client& client) : client_(client) {
  std::lock_guard<std::mutex> lock(client_.lifecycle_mutex_);
  if (client_.shut_down_) {
    throw PjrtError(PJRT_Error_Code_FAILED_PRECONDITION, "the PJRT client was shut down (the process is exiting)");
  }
  ++client_.in_flight_;
}

Client::WorkGuard::~WorkGuard() {
  {
    std::lock_guard<std::mutex> lock(client_.lifecycle_mutex_);
    --client_.in_flight_;
  }
  client_.work_done_.notify_all();
}

std::vector<PJRT_Device*> Client::devices(bool addressable_only) const {
  require_live("devices");
  if (addressable_only) {
    auto args = pjrt_args<PJRT_Client_AddressableDevices_Args>();
    args.client = client_;
    GRPO_PJRT_CALL(*plugin_, Client_AddressableDevices, &args);
    return {args.addressable_devices, args.addressable_devices + args.num_addressable_devices};
  }
  auto args = pjrt_args<PJRT_Client_Devices_Args>();
  args.client = client_;
  GRPO_PJRT_CALL(*plugin_, Client_Devices, &args);
  return {args.devices, args.devices + args.num_devices};
}

DeviceInfo describe_device(const Client& client, PJRT_Device* device) {
  client.require_live("describe device");
  const Plugin& plugin = client.plugin();
  DeviceInfo info;
  auto description_args = pjrt_args<PJRT_Device_GetDescription_Args>();
  description_args.device = device;
  GRPO_PJRT_CALL(plugin, Device_GetDescription, &description_args);
  PJRT_DeviceDescription* description = description_args.device_description;

  auto id_args = pjrt_args<PJRT_DeviceDescription_Id_Args>();
  id_args.device_description = description;
  GRPO_PJRT_CALL(plugin, DeviceDescription_Id, &id_args);
  info.id = id_args.id;

  auto string_args = pjrt_args<PJRT_DeviceDescription_String_Args>();
  string_args.device_description = description;
  GRPO_PJRT_CALL(plugin, DeviceDescription_Kind, &string_args);
  info.kind.assign(string_args.value, string_args.value_size);
  string_args = pjrt_args<PJRT_DeviceDescription_String_Args>();
  string_args.device_description = description;
  GRPO_PJRT_CALL(plugin, DeviceDescription_DebugString, &string_args);
  info.debug_string.assign(string_args.value, string_args.value_size);
  string_args = pjrt_args<PJRT_DeviceDescription_String_Args>();
  string_args.device_description = description;
  GRPO_PJRT_CALL(plugin, DeviceDescription_ToString, &string_args);
  info.to_string.assign(string_args.value, string_args.value_size);

  auto addressable_args = pjrt_args<PJRT_Device_IsAddressable_Args>();
  addressable_args.device = device;
  GRPO_PJRT_CALL(plugin, Device_IsAddressable, &addressable_args);
  info.addressable = addressable_args.is_addressable;

  auto hardware_args = pjrt_args<PJRT_Device_LocalHardwareId_Args>();
  hardware_args.device = device;
  GRPO_PJRT_CALL(plugin, Device_LocalHardwareId, &hardware_args);
  info.local_hardware_id = hardware_args.local_hardware_id;
  return info;
}

MemoryStats device_memory_stats(const Client& client, PJRT_Device* device) {
  client.require_live("memoryStats");
  auto args = pjrt_args<PJRT_Device_MemoryStats_Args>();
  args.device = device;
  GRPO_PJRT_CALL(client.plugin(), Device_MemoryStats, &args);
  MemoryStats stats;
  stats.bytes_in_use = args.bytes_in_use;
  stats.has_peak = args.peak_bytes_in_use_is_set;
  stats.peak_bytes_in_use = args.peak_bytes_in_use;
  stats.has_limit = args.bytes_limit_is_set;
  stats.bytes_limit = args.bytes_limit;
  return stats;
}

// ------------------------------------------------------------------------------------------------ Buffer

namespace {

void destroy_buffer(const Plugin& plugin, PJRT_Buffer* buffer) {
  auto args = pjrt_args<PJRT_Buffer_Destroy_Args>();
  args.buffer = buffer;
  try {
    GRPO_PJRT_CALL(plugin, Buffer_Destroy, &args);
  } catch (const PjrtError&) {
  }
}

}  // namespace

Buffer::Buffer(std::shared_ptr<Client> client, PJRT_Buffer* buffer) : client_(std::move(client)), buffer_(buffer) {
  const Plugin& plugin = client_->plugin();
  try {
    auto type_args = pjrt_args<PJRT_Buffer_ElementType_Args>();
    type_args.buffer = buffer_;
    GRPO_PJRT_CALL(plugin, Buffer_ElementType, &type_args);
    type_ = type_args.type;
    auto dims_args = pjrt_args<PJRT_Buffer_Dimensions_Args>();
    dims_args.buffer = buffer_;
    GRPO_PJRT_CALL(plugin, Buffer_Dimensions, &dims_args);
    dims_.assign(dims_args.dims, dims_args.dims + dims_args.num_dims);
  } catch (...) {
    destroy_buffer(plugin, buffer_);  // the destructor will not run for a constructor that throws
    throw;
  }
  ++live_buffer_count;
  client_->attach(this);
}

Buffer::~Buffer() {
  client_->detach(this);
  release_for_shutdown();
}

// The live counters count PJRT handles: a buffer released at shutdown no longer counts, even if its object lives
// on (a worker thread's environment may end without finalizing it).
void Buffer::release_for_shutdown() {
  if (buffer_ == nullptr) return;
  --live_buffer_count;
  destroy_buffer(client_->plugin(), buffer_);
  buffer_ = nullptr;
}

std::unique_ptr<Buffer> Buffer::from_host(std::shared_ptr<Client> client, PJRT_Device* device, const void* data,
                                          PJRT_Buffer_Type type, const std::vector<int64_t>& dims,
                                          std::shared_ptr<Event>* done) {
  client->require_live("bufferFromHost");
  auto args = pjrt_args<PJRT_Client_BufferFromHostBuffer_Args>();
  args.client = client->get();
  args.data = data;
  args.type = type;
  args.dims = dims.data();
  args.num_dims = dims.size();
  args.byte_strides = nullptr;  // dense row-major
  args.host_buffer_semantics = PJRT_HostBufferSemantics_kImmutableUntilTransferCompletes;
  args.device = device;
  GRPO_PJRT_CALL(client->plugin(), Client_BufferFromHostBuffer, &args);
  *done = std::make_shared<Event>(client->plugin_ptr(), args.done_with_host_buffer);
  return std::make_unique<Buffer>(client, args.buffer);  // owns args.buffer from here on
}

std::shared_ptr<Event> Buffer::to_host(void* destination, size_t size, bool row_major_layout) const {
  client_->require_live("toHost");
  std::vector<int64_t> minor_to_major(dims_.size());
  for (size_t i = 0; i < dims_.size(); ++i) minor_to_major[i] = static_cast<int64_t>(dims_.size() - 1 - i);
  auto layout = pjrt_args<PJRT_Buffer_MemoryLayout>();
  layout.type = PJRT_Buffer_MemoryLayout_Type_Tiled;
  layout.tiled = pjrt_args<PJRT_Buffer_MemoryLayout_Tiled>();
  layout.tiled.minor_to_major = minor_to_major.data();
  layout.tiled.minor_to_major_size = minor_to_major.size();

  auto args = pjrt_args<PJRT_Buffer_ToHostBuffer_Args>();
  args.src = buffer_;
  args.host_layout = row_major_layout ? &layout : nullptr;
  args.dst = nullptr;  // first ask for the size, to catch a layout we did not expect
  GRPO_PJRT_CALL(client_->plugin(), Buffer_ToHostBuffer, &args);
  if (args.dst_size != size) {
    throw PjrtError(PJRT_Error_Code_INTERNAL, "device-to-host transfer: the plugin reports " +
                                                  std::to_string(args.dst_size) + " bytes, expected " +
                                                  std::to_string(size) + " for a dense array");
  }
  args.dst = destination;
  args.dst_size = size;
  args.event = nullptr;
  GRPO_PJRT_CALL(client_->plugin(), Buffer_ToHostBuffer, &args);
  return std::make_shared<Event>(client_->plugin_ptr(), args.event);
}

bool Buffer::is_deleted() const {
  if (buffer_ == nullptr) return true;  // released when the client shut down
  auto args = pjrt_args<PJRT_Buffer_IsDeleted_Args>();
  args.buffer = buffer_;
  GRPO_PJRT_CALL(client_->plugin(), Buffer_IsDeleted, &args);
  return args.is_deleted;
}

size_t Buffer::on_device_size() const {
  client_->require_live("onDeviceSizeInBytes");
  auto args = pjrt_args<PJRT_Buffer_OnDeviceSizeInBytes_Args>();
  args.buffer = buffer_;
  GRPO_PJRT_CALL(client_->plugin(), Buffer_OnDeviceSizeInBytes, &args);
  return args.on_device_size_in_bytes;
}

// ------------------------------------------------------------------------------------------------ executable

LoadedExecutable::LoadedExecutable(std::shared_ptr<Client> client, PJRT_LoadedExecutable* executable)
    : client_(std::move(client)), executable_(executable) {
  ++live_executable_count;
  client_->attach(this);
}

LoadedExecutable::~LoadedExecutable() {
  client_->detach(this);
  release_for_shutdown();
}

void LoadedExecutable::release_for_shutdown() {
  if (executable_ == nullptr) return;
  --live_executable_count;
  auto args = pjrt_args<PJRT_LoadedExecutable_Destroy_Args>();
  args.executable = executable_;
  executable_ = nullptr;
  try {
    GRPO_PJRT_CALL(client_->plugin(), LoadedExecutable_Destroy, &args);
  } catch (const PjrtError&) {
  }
}

std::unique_ptr<LoadedExecutable> LoadedExecutable::compile(std::shared_ptr<Client> client,
                                                            const std::string& mlir_text,
                                                            const std::string& compile_options) {
  Client::WorkGuard in_flight(*client);  // a shutdown waits for this compile before destroying the client
  static const char kFormat[] = "mlir";
  auto program = pjrt_args<PJRT_Program>();
  program.code = const_cast<char*>(mlir_text.data());  // the API's field is non-const; compile only reads it
  program.code_size = mlir_text.size();
  program.format = kFormat;
  program.format_size = sizeof(kFormat) - 1;
  auto args = pjrt_args<PJRT_Client_Compile_Args>();
  args.client = client->get();
  args.program = &program;
  args.compile_options = compile_options.data();
  args.compile_options_size = compile_options.size();
  GRPO_PJRT_CALL(client->plugin(), Client_Compile, &args);
  std::unique_ptr<LoadedExecutable> executable(new LoadedExecutable(std::move(client), args.executable));
  executable->read_metadata();
  return executable;
}

// Reads what the PJRT_Executable view reports, then releases that view.
void LoadedExecutable::read_metadata() {
  const Plugin& plugin = client_->plugin();
  auto get_args = pjrt_args<PJRT_LoadedExecutable_GetExecutable_Args>();
  get_args.loaded_executable = executable_;
  GRPO_PJRT_CALL(plugin, LoadedExecutable_GetExecutable, &get_args);
  PJRT_Executable* view = get_args.executable;
  struct ViewGuard {
    const Plugin& plugin;
    PJRT_Executable* view;
    ~ViewGuard() {
      auto args = pjrt_args<PJRT_Executable_Destroy_Args>();
      args.executable = view;
      try {
        GRPO_PJRT_CALL(plugin, Executable_Destroy, &args);
      } catch (const PjrtError&) {
      }
    }
  } guard{plugin, view};

  auto outputs_args = pjrt_args<PJRT_Executable_NumOutputs_Args>();
  outputs_args.executable = view;
  GRPO_PJRT_CALL(plugin, Executable_NumOutputs, &outputs_args);
  num_outputs_ = outputs_args.num_outputs;

  auto name_args = pjrt_args<PJRT_Executable_Name_Args>();
  name_args.executable = view;
  GRPO_PJRT_CALL(plugin, Executable_Name, &name_args);
  name_.assign(name_args.executable_name, name_args.executable_name_size);

  // The rest is optional: plugins may not implement it.
  try {
    auto types_args = pjrt_args<PJRT_Executable_OutputElementTypes_Args>();
    types_args.executable = view;
    GRPO_PJRT_CALL(plugin, Executable_OutputElementTypes, &types_args);
    output_types_.assign(types_args.output_types, types_args.output_types + types_args.num_output_types);
    auto dims_args = pjrt_args<PJRT_Executable_OutputDimensions_Args>();
    dims_args.executable = view;
    GRPO_PJRT_CALL(plugin, Executable_OutputDimensions, &dims_args);
    const int64_t* dims = dims_args.dims;
    for (size_t k = 0; k < dims_args.num_outputs; ++k) {
      output_dims_.emplace_back(dims, dims + dims_args.dim_sizes[k]);
      dims += dims_args.dim_sizes[k];
    }
  } catch (const PjrtError&) {
    output_types_.clear();
    output_dims_.clear();
  }
  try {
    auto fingerprint_args = pjrt_args<PJRT_Executable_Fingerprint_Args>();
    fingerprint_args.executable = view;
    GRPO_PJRT_CALL(plugin, Executable_Fingerprint, &fingerprint_args);
    if (fingerprint_args.executable_fingerprint != nullptr) {
      fingerprint_.assign(fingerprint_args.executable_fingerprint, fingerprint_args.executable_fingerprint_size);
    }
  } catch (const PjrtError&) {
  }
  try {
    auto devices_args = pjrt_args<PJRT_LoadedExecutable_AddressableDevices_Args>();
    devices_args.executable = executable_;
    GRPO_PJRT_CALL(plugin, LoadedExecutable_AddressableDevices, &devices_args);
    for (size_t i = 0; i < devices_args.num_addressable_devices; ++i) {
      addressable_device_ids_.push_back(describe_device(*client_, devices_args.addressable_devices[i]).id);
    }
  } catch (const PjrtError&) {
    addressable_device_ids_.clear();
  }
  try {
    auto size_args = pjrt_args<PJRT_Executable_SizeOfGeneratedCodeInBytes_Args>();
    size_args.executable = view;
    GRPO_PJRT_CALL(plugin, Executable_SizeOfGeneratedCodeInBytes, &size_args);
    generated_code_size_ = size_args.size_in_bytes;
  } catch (const PjrtError&) {
  }
}

LoadedExecutable::Execution LoadedExecutable::execute(const std::vector<PJRT_Buffer*>& arguments,
                                                      const std::vector<bool>& donate) const {
  client_->require_live("execute");
  std::vector<int64_t> non_donatable;
  for (size_t i = 0; i < arguments.size(); ++i) {
    if (i >= donate.size() || !donate[i]) non_donatable.push_back(static_cast<int64_t>(i));
  }
  auto options = pjrt_args<PJRT_ExecuteOptions>();
  options.non_donatable_input_indices = non_donatable.data();
  options.num_non_donatable_input_indices = non_donatable.size();

  PJRT_Buffer* const* argument_list = arguments.data();
  std::vector<PJRT_Buffer*> outputs(num_outputs_, nullptr);
  PJRT_Buffer** output_list = outputs.data();
  PJRT_Event* complete = nullptr;

  auto args = pjrt_args<PJRT_LoadedExecutable_Execute_Args>();
  args.executable = executable_;
  args.options = &options;
  args.argument_lists = &argument_list;
  args.num_devices = 1;
  args.num_args = arguments.size();
  args.output_lists = &output_list;
  args.device_complete_events = &complete;
  args.execute_device = nullptr;  // the executable runs where its device assignment says
  GRPO_PJRT_CALL(client_->plugin(), LoadedExecutable_Execute, &args);

  // Own everything first, so that it is destroyed even if reading an output's shape fails.
  Execution execution;
  execution.done = std::make_shared<Event>(client_->plugin_ptr(), complete);
  std::exception_ptr failure;
  for (PJRT_Buffer* output : outputs) {
    try {
      if (output != nullptr) execution.outputs.push_back(std::make_unique<Buffer>(client_, output));
    } catch (...) {
      failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
  if (complete == nullptr && !execution.outputs.empty()) {
    // A plugin without device-complete events: the first output's ready event stands for the execution.
    auto ready = pjrt_args<PJRT_Buffer_ReadyEvent_Args>();
    ready.buffer = execution.outputs.front()->get();
    GRPO_PJRT_CALL(client_->plugin(), Buffer_ReadyEvent, &ready);
    execution.done = std::make_shared<Event>(client_->plugin_ptr(), ready.event);
  }
  return execution;
}

}  // namespace grpo::addon
