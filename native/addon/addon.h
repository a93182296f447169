// The JS classes of the addon, one per PJRT handle: Plugin, Client, Device, LoadedExecutable, Buffer.
// Each holds a shared_ptr to the C++ handle in pjrt_client.h; dispose() drops it (idempotent), and work in
// flight keeps its own reference, so freeing never races with a worker thread.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "dispatch_queue.h"
#include "napi_util.h"
#include "pjrt_client.h"

namespace grpo::addon {

// Constructors needed to create instances from C++ (per addon instance).
struct AddonData {
  Napi::FunctionReference client_class;
  Napi::FunctionReference device_class;
  Napi::FunctionReference executable_class;
  Napi::FunctionReference buffer_class;
  // Every client created in this environment, so that its exit can destroy those still alive.
  std::vector<std::weak_ptr<Client>> clients;
};

// Destroys every client of the environment still alive: stops the dispatch queues (an execution or transfer
// running finishes first), waits for compiles in flight, frees the buffers and executables still held, then
// destroys the clients. Runs on process exit and when the environment is torn down; idempotent.
void shutdown_clients(Napi::Env env);

inline AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

class PluginWrap : public Napi::ObjectWrap<PluginWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit PluginWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value path(const Napi::CallbackInfo& info);
  Napi::Value api_version(const Napi::CallbackInfo& info);
  Napi::Value attributes(const Napi::CallbackInfo& info);
  Napi::Value create_client(const Napi::CallbackInfo& info);
  std::shared_ptr<const Plugin> plugin_;
};

class ClientWrap : public Napi::ObjectWrap<ClientWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit ClientWrap(const Napi::CallbackInfo& info);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<Client> client);
  std::shared_ptr<Client> client(Napi::Env env) const;  // throws if disposed

 private:
  Napi::Value platform_name(const Napi::CallbackInfo& info);
  Napi::Value platform_version(const Napi::CallbackInfo& info);
  Napi::Value process_index(const Napi::CallbackInfo& info);
  Napi::Value devices(const Napi::CallbackInfo& info);
  Napi::Value addressable_devices(const Napi::CallbackInfo& info);
  Napi::Value compile(const Napi::CallbackInfo& info);
  Napi::Value buffer_from_host(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  Napi::Value destroyed(const Napi::CallbackInfo& info);
  Napi::Value device_list(Napi::Env env, bool addressable_only);
  std::shared_ptr<Client> client_;
  std::weak_ptr<Client> native_;  // outlives dispose(): says when the PJRT client itself is gone
};

class DeviceWrap : public Napi::ObjectWrap<DeviceWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit DeviceWrap(const Napi::CallbackInfo& info);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<Client> client, PJRT_Device* device);
  static DeviceWrap* unwrap_checked(Napi::Env env, Napi::Value value);
  PJRT_Device* device() const { return device_; }
  // The device's client, or a JS error once it was destroyed.
  std::shared_ptr<Client> client(Napi::Env env) const;

 private:
  Napi::Value id(const Napi::CallbackInfo& info);
  Napi::Value kind(const Napi::CallbackInfo& info);
  Napi::Value debug_string(const Napi::CallbackInfo& info);
  Napi::Value to_string(const Napi::CallbackInfo& info);
  Napi::Value is_addressable(const Napi::CallbackInfo& info);
  Napi::Value local_hardware_id(const Napi::CallbackInfo& info);
  Napi::Value memory_stats(const Napi::CallbackInfo& info);
  // Weak: a device object alone does not keep its client alive (they are many and freed only by the GC).
  std::weak_ptr<Client> client_;
  PJRT_Device* device_ = nullptr;
  DeviceInfo info_;
};

class BufferWrap : public Napi::ObjectWrap<BufferWrap> {
 public:
  enum class State { kLive, kDisposed, kDonated };
  static Napi::Function define(Napi::Env env);
  explicit BufferWrap(const Napi::CallbackInfo& info);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<Buffer> buffer);
  static BufferWrap* unwrap_checked(Napi::Env env, Napi::Value value, const std::string& what);

  // The live handle, or a JS error naming `what` if the buffer was disposed or donated.
  std::shared_ptr<Buffer> live(Napi::Env env, const std::string& what) const;
  // Hands the handle to an execution that consumes this buffer; restore() gives it back on failure.
  std::shared_ptr<Buffer> donate();
  void restore(std::shared_ptr<Buffer> buffer);

 private:
  Napi::Value type(const Napi::CallbackInfo& info);
  Napi::Value dims(const Napi::CallbackInfo& info);
  Napi::Value state(const Napi::CallbackInfo& info);
  Napi::Value on_device_size(const Napi::CallbackInfo& info);
  Napi::Value is_deleted(const Napi::CallbackInfo& info);
  Napi::Value to_host(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  std::shared_ptr<Buffer> buffer_;
  State state_ = State::kLive;
  PJRT_Buffer_Type type_ = PJRT_Buffer_Type_INVALID;
  std::vector<int64_t> dims_;
};

class ExecutableWrap : public Napi::ObjectWrap<ExecutableWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit ExecutableWrap(const Napi::CallbackInfo& info);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<LoadedExecutable> executable);

 private:
  std::shared_ptr<LoadedExecutable> live(Napi::Env env) const;
  Napi::Value name(const Napi::CallbackInfo& info);
  Napi::Value num_outputs(const Napi::CallbackInfo& info);
  Napi::Value output_types(const Napi::CallbackInfo& info);
  Napi::Value output_dims(const Napi::CallbackInfo& info);
  Napi::Value fingerprint(const Napi::CallbackInfo& info);
  Napi::Value generated_code_size(const Napi::CallbackInfo& info);
  Napi::Value addressable_device_ids(const Napi::CallbackInfo& info);
  Napi::Value execute(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  std::shared_ptr<LoadedExecutable> executable_;
};

}  // namespace grpo::addon
