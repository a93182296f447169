// Our CPU PJRT plugin: the C API table (GetPjrtApi), errors, plugin attributes, the client and its single
// device. Events live in plugin_events.cc, buffers in plugin_buffers.cc, compilation and execution in
// plugin_executables.cc. The engine (engine/engine.h) does the real work; this layer only adapts it to PJRT.
// Every slot we do not implement answers UNIMPLEMENTED with its own name rather than crash or be null.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "plugin_internal.h"

namespace grpo::cpu::plugin {

PJRT_Error* make_error(PJRT_Error_Code code, std::string message) {
  return new PJRT_Error{code, std::move(message)};
}

PJRT_Error* error_from_current_exception(const char* function) {
  std::string prefix = std::string(function) + ": ";
  try {
    throw;
  } catch (const CompileError& error) {
    return make_error(PJRT_Error_Code_INVALID_ARGUMENT, prefix + error.what());
  } catch (const ExecuteError& error) {
    return make_error(PJRT_Error_Code_INVALID_ARGUMENT, prefix + error.what());
  } catch (const std::invalid_argument& error) {
    return make_error(PJRT_Error_Code_INVALID_ARGUMENT, prefix + error.what());
  } catch (const std::bad_alloc&) {
    return make_error(PJRT_Error_Code_RESOURCE_EXHAUSTED, prefix + "out of host memory");
  } catch (const std::exception& error) {
    return make_error(PJRT_Error_Code_INTERNAL, prefix + error.what());
  } catch (...) {
    return make_error(PJRT_Error_Code_INTERNAL, prefix + "unknown C++ exception");
  }
}

std::mutex& buffer_state_mutex() {
  static std::mutex mutex;
  return mutex;
}

bool dtype_from_pjrt(PJRT_Buffer_Type type, DType* dtype) {
  switch (type) {
    case PJRT_Buffer_Type_PRED:
    case PJRT_Buffer_Type_S32:
    case PJRT_Buffer_Type_S64:
    case PJRT_Buffer_Type_U32:
    case PJRT_Buffer_Type_F32:
    case PJRT_Buffer_Type_BF16:
      *dtype = static_cast<DType>(type);
      return true;
    default:
      return false;
  }
}

namespace {

std::string_view as_view(const char* data, size_t size) { return {data, size}; }

// ------------------------------------------------------------------------------------------------ errors

void Error_Destroy(PJRT_Error_Destroy_Args* args) {
  if (args != nullptr) delete args->error;
}

void Error_Message(PJRT_Error_Message_Args* args) {
  if (args == nullptr || args->error == nullptr) return;
  args->message = args->error->message.data();
  args->message_size = args->error->message.size();
}

PJRT_Error* Error_GetCode(PJRT_Error_GetCode_Args* args) {
  return guarded("PJRT_Error_GetCode", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Error_GetCode_Args, code), [&] {
    if (args->error == nullptr) return make_error(PJRT_Error_Code_INVALID_ARGUMENT, "PJRT_Error_GetCode: error is null");
    args->code = args->error->code;
    return static_cast<PJRT_Error*>(nullptr);
  });
}

// ------------------------------------------------------------------------------------------------ plugin

PJRT_Error* Plugin_Initialize(PJRT_Plugin_Initialize_Args* args) {
  return guarded("PJRT_Plugin_Initialize", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Plugin_Initialize_Args, extension_start),
                 [&] { return static_cast<PJRT_Error*>(nullptr); });
}

PJRT_NamedValue string_attribute(const char* name, const char* value) {
  PJRT_NamedValue attribute{};
  attribute.struct_size = GRPO_PJRT_STRUCT_SIZE(PJRT_NamedValue, value_size);
  attribute.name = name;
  attribute.name_size = std::strlen(name);
  attribute.type = PJRT_NamedValue_kString;
  attribute.string_value = value;
  attribute.value_size = std::strlen(value);
  return attribute;
}

PJRT_NamedValue int64_list_attribute(const char* name, const int64_t* values, size_t count) {
  PJRT_NamedValue attribute{};
  attribute.struct_size = GRPO_PJRT_STRUCT_SIZE(PJRT_NamedValue, value_size);
  attribute.name = name;
  attribute.name_size = std::strlen(name);
  attribute.type = PJRT_NamedValue_kInt64List;
  attribute.int64_array_value = values;
  attribute.value_size = count;
  return attribute;
}

// The core type the engine chose for OpenBLAS (it sets OPENBLAS_CORETYPE before loading it, unless the
// user did); the bench reads it to run raw sgemm with the same choice.
const std::string& blas_core_type() {
  static const std::string value = [] {
    const char* from_env = std::getenv("OPENBLAS_CORETYPE");
    return std::string(from_env != nullptr ? from_env : "auto");
  }();
  return value;
}

}  // namespace

const StablehloVersion& plugin_stablehlo_version() {
  // A bad value is kept and reported on every use, so each PJRT call that depends on it fails the same way
  // instead of the plugin quietly falling back to its own version.
  struct Parsed {
    StablehloVersion version = kEngineStablehloVersion;
    std::string error;
  };
  static const Parsed parsed = [] {
    Parsed result;
    const char* text = std::getenv("GRPO_XLA_CPU_STABLEHLO_VERSION");
    if (text != nullptr && *text != '\0' && !parse_stablehlo_version(text, &result.version)) {
      result.error = "GRPO_XLA_CPU_STABLEHLO_VERSION='" + std::string(text).substr(0, 40) +
                     "' is not a StableHLO version like 1.13.0";
    }
    return result;
  }();
  if (!parsed.error.empty()) throw std::invalid_argument(parsed.error);
  return parsed.version;
}

namespace {

// stablehlo_current_version is the StableHLO our parser reads (the engine's, or the test override);
// stablehlo_minimum_version is VHLO's first version, as XLA's plugins report: we read no portable artifacts, so
// it only says that no older StableHLO exists to be refused.
const std::vector<PJRT_NamedValue>& plugin_attributes() {
  static const std::array<int64_t, 3> kStablehloCurrent = [] {
    const StablehloVersion& current = plugin_stablehlo_version();
    return std::array<int64_t, 3>{current.major, current.minor, current.patch};
  }();
  static const std::array<int64_t, 3> kStablehloMinimum = {kOldestStablehloVersion.major, kOldestStablehloVersion.minor,
                                                           kOldestStablehloVersion.patch};
  static const std::string threads = std::to_string(num_threads());
  static const std::string blas = blas_description();
  static const std::vector<PJRT_NamedValue> attributes = {
      string_attribute("plugin_name", "grpo-xla-cpu"),
      string_attribute("plugin_version", "0.1.0"),
      int64_list_attribute("stablehlo_current_version", kStablehloCurrent.data(), 3),
      int64_list_attribute("stablehlo_minimum_version", kStablehloMinimum.data(), 3),
      string_attribute("openblas_coretype", blas_core_type().c_str()),
      string_attribute("blas", blas.c_str()),
      string_attribute("num_threads", threads.c_str()),
  };
  return attributes;
}

PJRT_Error* Plugin_Attributes(PJRT_Plugin_Attributes_Args* args) {
  // Some headers declared this struct's size as ending at `attributes` (24 bytes) while still reading
  // num_attributes at byte 24, so accept 24 and write both fields.
  return guarded("PJRT_Plugin_Attributes", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Plugin_Attributes_Args, attributes), [&] {
    const auto& attributes = plugin_attributes();
    args->attributes = attributes.data();
    args->num_attributes = attributes.size();
    return static_cast<PJRT_Error*>(nullptr);
  });
}

// ------------------------------------------------------------------------------------------------ client

// Lifecycle hooks for tests of the client side: GRPO_XLA_CPU_CLIENT_TRACE=FILE appends "create N" and
// "destroy N" to FILE as clients come and go (a process's exit path can be checked from outside it), and
// GRPO_XLA_CPU_EXCLUSIVE_CLIENT=1 refuses a second live client in the process, as libtpu does, so that reopening a
// device works only once the previous client was really destroyed. Both are read on every call.
std::mutex& clients_mutex() {
  static std::mutex mutex;
  return mutex;
}
uint64_t clients_created = 0;  // guarded by clients_mutex()
int64_t clients_alive = 0;

void trace_client(const char* event, uint64_t serial) {
  const char* path = std::getenv("GRPO_XLA_CPU_CLIENT_TRACE");
  if (path == nullptr || *path == '\0') return;
  if (std::FILE* file = std::fopen(path, "a")) {
    std::fprintf(file, "%s %llu\n", event, static_cast<unsigned long long>(serial));
    std::fclose(file);
  }
}

bool exclusive_clients() {
  const char* value = std::getenv("GRPO_XLA_CPU_EXCLUSIVE_CLIENT");
  return value != nullptr && std::strcmp(value, "1") == 0;
}

PJRT_Error* Client_Create(PJRT_Client_Create_Args* args) {
  return guarded("PJRT_Client_Create", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Client_Create_Args, client), [&] {
    if (args->num_options > 0) {
      const PJRT_NamedValue& option = args->create_options[0];
      return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                        "PJRT_Client_Create: unknown option '" + std::string(as_view(option.name, option.name_size)) +
                            "' (the grpo-xla CPU plugin takes no create options; set GRPO_XLA_CPU_THREADS for the "
                            "thread count)");
    }
    plugin_stablehlo_version();  // a bad GRPO_XLA_CPU_STABLEHLO_VERSION fails here, before anything compiles
    std::lock_guard<std::mutex> lock(clients_mutex());
    if (clients_alive > 0 && exclusive_clients()) {
      return make_error(PJRT_Error_Code_FAILED_PRECONDITION,
                        "PJRT_Client_Create: " + std::to_string(clients_alive) +
                            " client(s) of this plugin are still alive in this process and "
                            "GRPO_XLA_CPU_EXCLUSIVE_CLIENT=1 allows one at a time");
    }
    auto client = std::make_unique<PJRT_Client>();
    client->serial = ++clients_created;
    client->platform_version =
        "grpo-xla-cpu 0.1.0 (" + blas_description() + ", " + std::to_string(num_threads()) + " threads)";
    client->device.client = client.get();
    client->device.description.debug_string = "grpo-xla CPU device 0 (" + std::to_string(num_threads()) + " threads)";
    client->device.description.to_string = "CpuDevice(id=0)";
    ++clients_alive;
    trace_client("create", client->serial);
    args->client = client.release();
    return static_cast<PJRT_Error*>(nullptr);
  });
}

PJRT_Error* Client_Destroy(PJRT_Client_Destroy_Args* args) {
  return guarded("PJRT_Client_Destroy", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Client_Destroy_Args, client), [&] {
    if (args->client == nullptr) return static_cast<PJRT_Error*>(nullptr);
    std::lock_guard<std::mutex> lock(clients_mutex());
    --clients_alive;
    trace_client("destroy", args->client->serial);
    delete args->client;
    return static_cast<PJRT_Error*>(nullptr);
  });
}

PJRT_Error* Client_PlatformName(PJRT_Client_PlatformName_Args* args) {
  return guarded("PJRT_Client_PlatformName", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_Client_PlatformName_Args, platform_name_size), [&] {
                   args->platform_name = args->client->platform_name.data();
                   args->platform_name_size = args->client->platform_name.size();
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

PJRT_Error* Client_ProcessIndex(PJRT_Client_ProcessIndex_Args* args) {
  return guarded("PJRT_Client_ProcessIndex", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Client_ProcessIndex_Args, process_index),
                 [&] {
                   args->process_index = 0;
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

PJRT_Error* Client_PlatformVersion(PJRT_Client_PlatformVersion_Args* args) {
  return guarded("PJRT_Client_PlatformVersion", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_Client_PlatformVersion_Args, platform_version_size), [&] {
                   args->platform_version = args->client->platform_version.data();
                   args->platform_version_size = args->client->platform_version.size();
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

PJRT_Error* Client_Devices(PJRT_Client_Devices_Args* args) {
  return guarded("PJRT_Client_Devices", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Client_Devices_Args, num_devices), [&] {
    args->devices = args->client->devices;
    args->num_devices = 1;
    return static_cast<PJRT_Error*>(nullptr);
  });
}

PJRT_Error* Client_AddressableDevices(PJRT_Client_AddressableDevices_Args* args) {
  return guarded("PJRT_Client_AddressableDevices", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_Client_AddressableDevices_Args, num_addressable_devices), [&] {
                   args->addressable_devices = args->client->devices;
                   args->num_addressable_devices = 1;
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

PJRT_Error* Client_LookupDevice(PJRT_Client_LookupDevice_Args* args) {
  return guarded("PJRT_Client_LookupDevice", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Client_LookupDevice_Args, device), [&] {
    if (args->id != 0) {
      return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                        "PJRT_Client_LookupDevice: no device with id " + std::to_string(args->id) + " (only 0)");
    }
    args->device = &args->client->device;
    return static_cast<PJRT_Error*>(nullptr);
  });
}

PJRT_Error* Client_LookupAddressableDevice(PJRT_Client_LookupAddressableDevice_Args* args) {
  return guarded("PJRT_Client_LookupAddressableDevice", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_Client_LookupAddressableDevice_Args, addressable_device), [&] {
                   if (args->local_hardware_id != 0) {
                     return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                                       "PJRT_Client_LookupAddressableDevice: no device with local hardware id " +
                                           std::to_string(args->local_hardware_id) + " (only 0)");
                   }
                   args->addressable_device = &args->client->device;
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

// ------------------------------------------------------------------------------------------------ devices

PJRT_Error* DeviceDescription_Id(PJRT_DeviceDescription_Id_Args* args) {
  return guarded("PJRT_DeviceDescription_Id", args, GRPO_PJRT_STRUCT_SIZE(PJRT_DeviceDescription_Id_Args, id), [&] {
    args->id = args->device_description->id;
    return static_cast<PJRT_Error*>(nullptr);
  });
}

PJRT_Error* DeviceDescription_ProcessIndex(PJRT_DeviceDescription_ProcessIndex_Args* args) {
  return guarded("PJRT_DeviceDescription_ProcessIndex", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_DeviceDescription_ProcessIndex_Args, process_index), [&] {
                   args->process_index = 0;
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

PJRT_Error* DeviceDescription_Attributes(PJRT_DeviceDescription_Attributes_Args* args) {
  return guarded("PJRT_DeviceDescription_Attributes", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_DeviceDescription_Attributes_Args, attributes), [&] {
                   args->num_attributes = 0;
                   args->attributes = nullptr;
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

// Kind, DebugString and ToString differ only in which string they return.
template <std::string PJRT_DeviceDescription::*field>
PJRT_Error* DeviceDescription_String(PJRT_DeviceDescription_String_Args* args, const char* function) {
  return guarded(function, args, GRPO_PJRT_STRUCT_SIZE(PJRT_DeviceDescription_String_Args, value_size), [&] {
    const std::string& value = args->device_description->*field;
    args->value = value.data();
    args->value_size = value.size();
    return static_cast<PJRT_Error*>(nullptr);
  });
}

PJRT_Error* DeviceDescription_Kind(PJRT_DeviceDescription_Kind_Args* args) {
  return DeviceDescription_String<&PJRT_DeviceDescription::kind>(args, "PJRT_DeviceDescription_Kind");
}

PJRT_Error* DeviceDescription_DebugString(PJRT_DeviceDescription_DebugString_Args* args) {
  return DeviceDescription_String<&PJRT_DeviceDescription::debug_string>(args, "PJRT_DeviceDescription_DebugString");
}

PJRT_Error* DeviceDescription_ToString(PJRT_DeviceDescription_ToString_Args* args) {
  return DeviceDescription_String<&PJRT_DeviceDescription::to_string>(args, "PJRT_DeviceDescription_ToString");
}

PJRT_Error* Device_GetDescription(PJRT_Device_GetDescription_Args* args) {
  return guarded("PJRT_Device_GetDescription", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_Device_GetDescription_Args, device_description), [&] {
                   args->device_description = &args->device->description;
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

PJRT_Error* Device_IsAddressable(PJRT_Device_IsAddressable_Args* args) {
  return guarded("PJRT_Device_IsAddressable", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_Device_IsAddressable_Args, is_addressable), [&] {
                   args->is_addressable = true;
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

PJRT_Error* Device_LocalHardwareId(PJRT_Device_LocalHardwareId_Args* args) {
  return guarded("PJRT_Device_LocalHardwareId", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_Device_LocalHardwareId_Args, local_hardware_id), [&] {
                   args->local_hardware_id = 0;
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

// bytes_in_use is the engine's count of live device storage: tests watch it to see donation happen.
PJRT_Error* Device_MemoryStats(PJRT_Device_MemoryStats_Args* args) {
  return guarded("PJRT_Device_MemoryStats", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_Device_MemoryStats_Args, peak_bytes_in_use_is_set), [&] {
                   args->bytes_in_use = bytes_in_use();
                   args->peak_bytes_in_use = peak_bytes_in_use();
                   args->peak_bytes_in_use_is_set = true;
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

// ------------------------------------------------------------------------------------------------ the table

// One stub per slot, named after it, so a caller of anything we lack gets a clear error.
#define GRPO_DEFINE_UNIMPLEMENTED(index, name, args_type)                                            \
  PJRT_Error* Unimplemented_##name(args_type*) {                                                     \
    return make_error(PJRT_Error_Code_UNIMPLEMENTED,                                                 \
                      "PJRT_" #name " is not implemented by the grpo-xla CPU plugin (PJRT_Api slot " \
                      #index ")");                                                                   \
  }
GRPO_PJRT_API_SLOTS(GRPO_DEFINE_UNIMPLEMENTED)
#undef GRPO_DEFINE_UNIMPLEMENTED

PJRT_Api build_api() {
  PJRT_Api api{};
  api.struct_size = sizeof(PJRT_Api);
  api.extension_start = nullptr;
  api.pjrt_api_version.struct_size = GRPO_PJRT_STRUCT_SIZE(PJRT_Api_Version, minor_version);
  api.pjrt_api_version.major_version = kPjrtApiMajor;
  api.pjrt_api_version.minor_version = kPjrtApiMinor;
#define GRPO_INSTALL_UNIMPLEMENTED(index, name, args_type) api.PJRT_##name = Unimplemented_##name;
  GRPO_PJRT_API_SLOTS(GRPO_INSTALL_UNIMPLEMENTED)
#undef GRPO_INSTALL_UNIMPLEMENTED

  api.PJRT_Error_Destroy = Error_Destroy;
  api.PJRT_Error_Message = Error_Message;
  api.PJRT_Error_GetCode = Error_GetCode;
  api.PJRT_Plugin_Initialize = Plugin_Initialize;
  api.PJRT_Plugin_Attributes = Plugin_Attributes;
  api.PJRT_Client_Create = Client_Create;
  api.PJRT_Client_Destroy = Client_Destroy;
  api.PJRT_Client_PlatformName = Client_PlatformName;
  api.PJRT_Client_ProcessIndex = Client_ProcessIndex;
  api.PJRT_Client_PlatformVersion = Client_PlatformVersion;
  api.PJRT_Client_Devices = Client_Devices;
  api.PJRT_Client_AddressableDevices = Client_AddressableDevices;
  api.PJRT_Client_LookupDevice = Client_LookupDevice;
  api.PJRT_Client_LookupAddressableDevice = Client_LookupAddressableDevice;
  api.PJRT_DeviceDescription_Id = DeviceDescription_Id;
  api.PJRT_DeviceDescription_ProcessIndex = DeviceDescription_ProcessIndex;
  api.PJRT_DeviceDescription_Attributes = DeviceDescription_Attributes;
  api.PJRT_DeviceDescription_Kind = DeviceDescription_Kind;
  api.PJRT_DeviceDescription_DebugString = DeviceDescription_DebugString;
  api.PJRT_DeviceDescription_ToString = DeviceDescription_ToString;
  api.PJRT_Device_GetDescription = Device_GetDescription;
  api.PJRT_Device_IsAddressable = Device_IsAddressable;
  api.PJRT_Device_LocalHardwareId = Device_LocalHardwareId;
  api.PJRT_Device_MemoryStats = Device_MemoryStats;
  install_event_slots(api);
  install_buffer_slots(api);
  install_executable_slots(api);
  return api;
}

}  // namespace
}  // namespace grpo::cpu::plugin

extern "C" __attribute__((visibility("default"))) const PJRT_Api* GetPjrtApi() {
  // OpenBLAS reads OPENBLAS_CORETYPE when it loads, so the engine picks the core type before anything runs.
  grpo::cpu::configure_blas_once();
  static const PJRT_Api api = grpo::cpu::plugin::build_api();
  return &api;
}
