// The N-API module: Plugin, Client and Device classes, and the live-object counters. Buffers and
// executables are in addon_buffers.cc.
#include "addon.h"

#include <dlfcn.h>

namespace grpo::addon {

namespace {

// Instances made from C++ pass their handle through an External; a JS caller cannot forge one usefully.
template <typename Handle>
std::shared_ptr<Handle> take_handle(const Napi::CallbackInfo& info, const char* class_name, const char* made_by) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), std::string(class_name) + " objects are created by " + made_by);
  }
  return *info[0].As<Napi::External<std::shared_ptr<Handle>>>().Data();
}

Napi::Value named_value_to_js(Napi::Env env, const PJRT_NamedValue& value) {
  switch (value.type) {
    case PJRT_NamedValue_kString:
      return Napi::String::New(env, std::string(value.string_value, value.value_size));
    case PJRT_NamedValue_kInt64:
      return Napi::Number::New(env, static_cast<double>(value.int64_value));
    case PJRT_NamedValue_kInt64List: {
      Napi::Array list = Napi::Array::New(env, value.value_size);
      for (size_t i = 0; i < value.value_size; ++i) {
        list.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(value.int64_array_value[i])));
      }
      return list;
    }
    case PJRT_NamedValue_kFloat:
      return Napi::Number::New(env, value.float_value);
    case PJRT_NamedValue_kBool:
      return Napi::Boolean::New(env, value.bool_value);
  }
  return env.Undefined();
}

// Create options arrive as [name, type, value] triples; the TS layer picks the type.
std::vector<Client::Option> options_from_js(Napi::Env env, Napi::Value value) {
  std::vector<Client::Option> options;
  if (value.IsUndefined()) return options;
  if (!value.IsArray()) throw Napi::TypeError::New(env, "client options must be an array of [name, type, value]");
  Napi::Array array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value entry = array.Get(i);
    if (!entry.IsArray() || entry.As<Napi::Array>().Length() != 3) {
      throw Napi::TypeError::New(env, "client option " + std::to_string(i) + " must be [name, type, value]");
    }
    Napi::Array triple = entry.As<Napi::Array>();
    Client::Option option;
    option.name = triple.Get(0u).ToString().Utf8Value();
    std::string type = triple.Get(1u).ToString().Utf8Value();
    Napi::Value raw = triple.Get(2u);
    auto bad = [&] {
      return Napi::TypeError::New(env, "client option '" + option.name + "' of type " + type + " has a wrong value");
    };
    if (type == "string") {
      if (!raw.IsString()) throw bad();
      option.type = PJRT_NamedValue_kString;
      option.string_value = raw.As<Napi::String>().Utf8Value();
    } else if (type == "int64") {
      if (!raw.IsNumber()) throw bad();
      option.type = PJRT_NamedValue_kInt64;
      option.int64_value = raw.As<Napi::Number>().Int64Value();
    } else if (type == "int64list") {
      option.type = PJRT_NamedValue_kInt64List;
      option.int64_list = to_dims(env, raw, ("client option " + option.name).c_str());
    } else if (type == "float") {
      if (!raw.IsNumber()) throw bad();
      option.type = PJRT_NamedValue_kFloat;
      option.float_value = raw.As<Napi::Number>().FloatValue();
    } else if (type == "bool") {
      if (!raw.IsBoolean()) throw bad();
      option.type = PJRT_NamedValue_kBool;
      option.bool_value = raw.As<Napi::Boolean>().Value();
    } else {
      throw Napi::TypeError::New(env, "client option '" + option.name + "' has unknown type '" + type +
                                          "' (string, int64, int64list, float, bool)");
    }
    options.push_back(std::move(option));
  }
  return options;
}

}  // namespace

// ------------------------------------------------------------------------------------------------ Plugin

Napi::Function PluginWrap::define(Napi::Env env) {
  return DefineClass(env, "Plugin",
                     {InstanceAccessor<&PluginWrap::path>("path"),
                      InstanceAccessor<&PluginWrap::api_version>("apiVersion"),
                      InstanceMethod<&PluginWrap::attributes>("attributes"),
                      InstanceMethod<&PluginWrap::create_client>("createClient")});
}

PluginWrap::PluginWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PluginWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "new Plugin(path): path must be a string");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  plugin_ = js_call(env, [&] { return Plugin::load(path); });
}

Napi::Value PluginWrap::path(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), plugin_->path()); }

Napi::Value PluginWrap::api_version(const Napi::CallbackInfo& info) {
  Napi::Object version = Napi::Object::New(info.Env());
  version.Set("major", plugin_->major_version());
  version.Set("minor", plugin_->minor_version());
  return version;
}

Napi::Value PluginWrap::attributes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  return js_call(env, [&]() -> Napi::Value {
    const PJRT_Api* api = plugin_->api();
    if (!plugin_->has_slot(offsetof(PJRT_Api, PJRT_Plugin_Attributes),
                           reinterpret_cast<const void*>(api->PJRT_Plugin_Attributes))) {
      return result;  // older plugins have no attributes
    }
    auto args = pjrt_args<PJRT_Plugin_Attributes_Args>();
    GRPO_PJRT_CALL(*plugin_, Plugin_Attributes, &args);
    for (size_t i = 0; i < args.num_attributes; ++i) {
      const PJRT_NamedValue& attribute = args.attributes[i];
      result.Set(std::string(attribute.name, attribute.name_size), named_value_to_js(env, attribute));
    }
    return result;
  });
}

Napi::Value PluginWrap::create_client(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<Client::Option> options = options_from_js(env, info.Length() > 0 ? info[0] : env.Undefined());
  auto client = js_call(env, [&] { return std::make_shared<Client>(plugin_, options); });
  auto& clients = addon_data(env).clients;
  std::erase_if(clients, [](const std::weak_ptr<Client>& known) { return known.expired(); });
  clients.push_back(client);
  return ClientWrap::wrap(env, std::move(client));
}

// ------------------------------------------------------------------------------------------------ Client

Napi::Function ClientWrap::define(Napi::Env env) {
  return DefineClass(env, "Client",
                     {InstanceAccessor<&ClientWrap::platform_name>("platformName"),
                      InstanceAccessor<&ClientWrap::platform_version>("platformVersion"),
                      InstanceAccessor<&ClientWrap::process_index>("processIndex"),
                      InstanceAccessor<&ClientWrap::disposed>("disposed"),
                      InstanceAccessor<&ClientWrap::destroyed>("destroyed"),
                      InstanceMethod<&ClientWrap::devices>("devices"),
                      InstanceMethod<&ClientWrap::addressable_devices>("addressableDevices"),
                      InstanceMethod<&ClientWrap::compile>("compile"),
                      InstanceMethod<&ClientWrap::buffer_from_host>("bufferFromHost"),
                      InstanceMethod<&ClientWrap::dispose>("dispose")});
}

ClientWrap::ClientWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ClientWrap>(info) {
  client_ = take_handle<Client>(info, "Client", "Plugin.createClient()");
  native_ = client_;
}

Napi::Object ClientWrap::wrap(Napi::Env env, std::shared_ptr<Client> client) {
  return addon_data(env).client_class.New({Napi::External<std::shared_ptr<Client>>::New(env, &client)});
}

std::shared_ptr<Client> ClientWrap::client(Napi::Env env) const {
  if (!client_) throw make_js_error(env, PJRT_Error_Code_FAILED_PRECONDITION, "the PJRT client was disposed");
  return client_;
}

Napi::Value ClientWrap::platform_name(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), client(info.Env())->platform_name());
}

Napi::Value ClientWrap::platform_version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), client(info.Env())->platform_version());
}

Napi::Value ClientWrap::process_index(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), client(info.Env())->process_index());
}

Napi::Value ClientWrap::device_list(Napi::Env env, bool addressable_only) {
  std::shared_ptr<Client> handle = client(env);
  std::vector<PJRT_Device*> devices = js_call(env, [&] { return handle->devices(addressable_only); });
  Napi::Array result = Napi::Array::New(env, devices.size());
  for (size_t i = 0; i < devices.size(); ++i) result.Set(static_cast<uint32_t>(i), DeviceWrap::wrap(env, handle, devices[i]));
  return result;
}

Napi::Value ClientWrap::devices(const Napi::CallbackInfo& info) { return device_list(info.Env(), false); }

Napi::Value ClientWrap::addressable_devices(const Napi::CallbackInfo& info) { return device_list(info.Env(), true); }

// compile(mlirText: string, compileOptions: Uint8Array): Promise<LoadedExecutable>
Napi::Value ClientWrap::compile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsTypedArray()) {
    throw Napi::TypeError::New(env, "compile(mlirText: string, compileOptions: Uint8Array)");
  }
  std::shared_ptr<Client> handle = client(env);
  std::string text = info[0].As<Napi::String>().Utf8Value();
  Napi::TypedArray options_array = info[1].As<Napi::TypedArray>();
  std::string options(static_cast<const char*>(options_array.ArrayBuffer().Data()) + options_array.ByteOffset(),
                      options_array.ByteLength());
  auto* worker = new PromiseWorker(env, "grpo_xla.compile", [handle, text = std::move(text), options = std::move(options)] {
    std::shared_ptr<LoadedExecutable> executable = LoadedExecutable::compile(handle, text, options);
    return PromiseWorker::Completion([executable](Napi::Env env) -> Napi::Value {
      return ExecutableWrap::wrap(env, executable);
    });
  });
  return worker->start();
}

// bufferFromHost(data: TypedArray, type: number, dims: number[], device: Device): Promise<Buffer>
Napi::Value ClientWrap::buffer_from_host(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsTypedArray() || !info[1].IsNumber() || !info[3].IsObject()) {
    throw Napi::TypeError::New(env, "bufferFromHost(data: TypedArray, type: number, dims: number[], device: Device)");
  }
  std::shared_ptr<Client> handle = client(env);
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  auto type = static_cast<PJRT_Buffer_Type>(info[1].As<Napi::Number>().Int32Value());
  std::vector<int64_t> dims = to_dims(env, info[2], "dims");
  DeviceWrap* device = DeviceWrap::unwrap_checked(env, info[3]);
  if (device->client(env) != handle) {
    throw Napi::TypeError::New(env, "bufferFromHost: device must be a Device of this client");
  }
  size_t size = element_size(type);
  if (size == 0) throw make_js_error(env, PJRT_Error_Code_INVALID_ARGUMENT, "bufferFromHost: unsupported element type " + std::to_string(type));
  size_t expected = size;
  for (int64_t dim : dims) {
    if (__builtin_mul_overflow(expected, static_cast<size_t>(dim), &expected)) {
      throw make_js_error(env, PJRT_Error_Code_INVALID_ARGUMENT, "bufferFromHost: the shape's size overflows 64 bits");
    }
  }
  if (array.ByteLength() != expected) {
    throw make_js_error(env, PJRT_Error_Code_INVALID_ARGUMENT,
                        "bufferFromHost: the data has " + std::to_string(array.ByteLength()) + " bytes but the shape needs " +
                            std::to_string(expected));
  }
  const void* bytes = static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  PJRT_Device* pjrt_device = device->device();
  auto work = [handle, pjrt_device, bytes, type, dims] {
    std::shared_ptr<Event> done;
    std::shared_ptr<Buffer> buffer = Buffer::from_host(handle, pjrt_device, bytes, type, dims, &done);
    return DispatchQueue::Result{
        [buffer](Napi::Env env) -> Napi::Value { return BufferWrap::wrap(env, buffer); }, std::move(done),
        "host-to-device transfer"};
  };
  // The host data stays referenced until the transfer is done.
  return DispatchQueue::of(env, &handle->plugin()).submit(env, std::move(work), {array});
}

Napi::Value ClientWrap::dispose(const Napi::CallbackInfo& info) {
  client_.reset();  // buffers, devices and executables still hold the client until they go
  return info.Env().Undefined();
}

Napi::Value ClientWrap::disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !client_); }

// True once PJRT_Client_Destroy ran: after dispose() and the last buffer and executable, or at shutdown.
Napi::Value ClientWrap::destroyed(const Napi::CallbackInfo& info) {
  std::shared_ptr<Client> native = native_.lock();
  return Napi::Boolean::New(info.Env(), native == nullptr || native->is_shut_down());
}

// ------------------------------------------------------------------------------------------------ Device

Napi::Function DeviceWrap::define(Napi::Env env) {
  return DefineClass(env, "Device",
                     {InstanceAccessor<&DeviceWrap::id>("id"), InstanceAccessor<&DeviceWrap::kind>("kind"),
                      InstanceAccessor<&DeviceWrap::debug_string>("debugString"),
                      InstanceAccessor<&DeviceWrap::is_addressable>("isAddressable"),
                      InstanceAccessor<&DeviceWrap::local_hardware_id>("localHardwareId"),
                      InstanceMethod<&DeviceWrap::to_string>("toString"),
                      InstanceMethod<&DeviceWrap::memory_stats>("memoryStats")});
}

DeviceWrap::DeviceWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DeviceWrap>(info) {
  using Handle = std::pair<std::shared_ptr<Client>, PJRT_Device*>;
  auto handle = take_handle<Handle>(info, "Device", "Client.devices()");
  client_ = handle->first;
  device_ = handle->second;
  info_ = js_call(info.Env(), [&] { return describe_device(*handle->first, device_); });
}

std::shared_ptr<Client> DeviceWrap::client(Napi::Env env) const {
  std::shared_ptr<Client> client = client_.lock();
  if (client == nullptr) {
    throw make_js_error(env, PJRT_Error_Code_FAILED_PRECONDITION,
                        "device " + std::to_string(info_.id) + ": its PJRT client was destroyed");
  }
  return client;
}

DeviceWrap* DeviceWrap::unwrap_checked(Napi::Env env, Napi::Value value) {
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(addon_data(env).device_class.Value())) {
    throw Napi::TypeError::New(env, "expected a Device");
  }
  return DeviceWrap::Unwrap(value.As<Napi::Object>());
}

Napi::Object DeviceWrap::wrap(Napi::Env env, std::shared_ptr<Client> client, PJRT_Device* device) {
  using Handle = std::pair<std::shared_ptr<Client>, PJRT_Device*>;
  auto handle = std::make_shared<Handle>(std::move(client), device);
  return addon_data(env).device_class.New({Napi::External<std::shared_ptr<Handle>>::New(env, &handle)});
}

Napi::Value DeviceWrap::id(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), info_.id); }
Napi::Value DeviceWrap::kind(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), info_.kind); }
Napi::Value DeviceWrap::debug_string(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), info_.debug_string);
}
Napi::Value DeviceWrap::to_string(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), info_.to_string); }
Napi::Value DeviceWrap::is_addressable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), info_.addressable);
}
Napi::Value DeviceWrap::local_hardware_id(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), info_.local_hardware_id);
}

Napi::Value DeviceWrap::memory_stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Client> client = this->client(env);
  MemoryStats stats = js_call(env, [&] { return device_memory_stats(*client, device_); });
  Napi::Object result = Napi::Object::New(env);
  result.Set("bytesInUse", Napi::Number::New(env, static_cast<double>(stats.bytes_in_use)));
  if (stats.has_peak) result.Set("peakBytesInUse", Napi::Number::New(env, static_cast<double>(stats.peak_bytes_in_use)));
  if (stats.has_limit) result.Set("bytesLimit", Napi::Number::New(env, static_cast<double>(stats.bytes_limit)));
  return result;
}

// ------------------------------------------------------------------------------------------------ lifecycle

void shutdown_clients(Napi::Env env) {
  DispatchQueue::stop_all(env);
  AddonData* data = env.GetInstanceData<AddonData>();
  if (data == nullptr) return;
  for (const std::weak_ptr<Client>& known : data->clients) {
    if (std::shared_ptr<Client> client = known.lock()) client->shutdown();
  }
  data->clients.clear();
}

// ------------------------------------------------------------------------------------------------ module

namespace {

// shutdown(): the process-exit path (src/runtime/native.ts calls it from process.on("exit")).
Napi::Value shutdown(const Napi::CallbackInfo& info) {
  shutdown_clients(info.Env());
  return info.Env().Undefined();
}

Napi::Value live_buffers(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live_buffer_count.load()));
}

Napi::Value live_executables(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live_executable_count.load()));
}

// Loads a shared library with RTLD_GLOBAL so that a plugin opened later (RTLD_LOCAL) resolves its undefined
// symbols and its own dlopen calls against it: XLA's CUDA plugin expects the CUDA libraries of the nvidia-*
// wheels to be loaded already. The handle stays open for the life of the process on purpose.
Napi::Value preload_library(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "preloadLibrary(path: string)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (path.find('/') == std::string::npos) {
    throw Napi::Error::New(env, "preloadLibrary: " + path + " is not a path (a bare name would search the loader path)");
  }
  dlerror();
  if (dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) {
    const char* reason = dlerror();
    throw Napi::Error::New(env, "preloadLibrary: cannot load " + path + ": " + (reason ? reason : "dlopen failed"));
  }
  return env.Undefined();
}

}  // namespace

Napi::Object init_module(Napi::Env env, Napi::Object exports) {
  auto* addon = new AddonData();
  Napi::Function client = ClientWrap::define(env);
  Napi::Function device = DeviceWrap::define(env);
  Napi::Function executable = ExecutableWrap::define(env);
  Napi::Function buffer = BufferWrap::define(env);
  addon->client_class = Napi::Persistent(client);
  addon->device_class = Napi::Persistent(device);
  addon->executable_class = Napi::Persistent(executable);
  addon->buffer_class = Napi::Persistent(buffer);
  env.SetInstanceData(addon);
  exports.Set("Plugin", PluginWrap::define(env));
  exports.Set("Client", client);
  exports.Set("Device", device);
  exports.Set("LoadedExecutable", executable);
  exports.Set("Buffer", buffer);
  exports.Set("liveBuffers", Napi::Function::New(env, live_buffers, "liveBuffers"));
  exports.Set("liveExecutables", Napi::Function::New(env, live_executables, "liveExecutables"));
  exports.Set("preloadLibrary", Napi::Function::New(env, preload_library, "preloadLibrary"));
  exports.Set("shutdown", Napi::Function::New(env, shutdown, "shutdown"));
  // Registered before any dispatch queue's hook, so it runs after them (hooks run in reverse order) and before
  // the environment frees the JS objects: a worker thread's clients are destroyed when the worker ends.
  env.AddCleanupHook([env] { shutdown_clients(env); });
  return exports;
}

}  // namespace grpo::addon

static Napi::Object InitGrpoXla(Napi::Env env, Napi::Object exports) { return grpo::addon::init_module(env, exports); }
NODE_API_MODULE(grpo_xla, InitGrpoXla)
