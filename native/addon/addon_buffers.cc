// The Buffer and LoadedExecutable JS classes: transfers, execution with donation, explicit disposal.
#include "addon.h"

namespace grpo::addon {

// ------------------------------------------------------------------------------------------------ Buffer

Napi::Function BufferWrap::define(Napi::Env env) {
  return DefineClass(env, "Buffer",
                     {InstanceAccessor<&BufferWrap::type>("type"), InstanceAccessor<&BufferWrap::dims>("dims"),
                      InstanceAccessor<&BufferWrap::state>("state"),
                      InstanceMethod<&BufferWrap::on_device_size>("onDeviceSizeInBytes"),
                      InstanceMethod<&BufferWrap::is_deleted>("isDeleted"),
                      InstanceMethod<&BufferWrap::to_host>("toHost"),
                      InstanceMethod<&BufferWrap::dispose>("dispose")});
}

BufferWrap::BufferWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BufferWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "Buffer objects are created by Client.bufferFromHost() or execute()");
  }
  buffer_ = *info[0].As<Napi::External<std::shared_ptr<Buffer>>>().Data();
  type_ = buffer_->type();
  dims_ = buffer_->dims();
}

Napi::Object BufferWrap::wrap(Napi::Env env, std::shared_ptr<Buffer> buffer) {
  return addon_data(env).buffer_class.New({Napi::External<std::shared_ptr<Buffer>>::New(env, &buffer)});
}

BufferWrap* BufferWrap::unwrap_checked(Napi::Env env, Napi::Value value, const std::string& what) {
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(addon_data(env).buffer_class.Value())) {
    throw Napi::TypeError::New(env, what + " must be a Buffer");
  }
  return BufferWrap::Unwrap(value.As<Napi::Object>());
}

std::shared_ptr<Buffer> BufferWrap::live(Napi::Env env, const std::string& what) const {
  if (state_ == State::kDisposed) {
    throw make_js_error(env, PJRT_Error_Code_FAILED_PRECONDITION, what + ": the buffer was disposed");
  }
  if (state_ == State::kDonated) {
    throw make_js_error(env, PJRT_Error_Code_FAILED_PRECONDITION,
                        what + ": the buffer was donated to an execution and can no longer be used");
  }
  return buffer_;
}

std::shared_ptr<Buffer> BufferWrap::donate() {
  state_ = State::kDonated;
  return std::move(buffer_);
}

void BufferWrap::restore(std::shared_ptr<Buffer> buffer) {
  buffer_ = std::move(buffer);
  state_ = State::kLive;
}

Napi::Value BufferWrap::type(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), type_); }
Napi::Value BufferWrap::dims(const Napi::CallbackInfo& info) { return from_dims(info.Env(), dims_); }

Napi::Value BufferWrap::state(const Napi::CallbackInfo& info) {
  const char* name = state_ == State::kLive ? "live" : state_ == State::kDisposed ? "disposed" : "donated";
  return Napi::String::New(info.Env(), name);
}

Napi::Value BufferWrap::on_device_size(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Buffer> buffer = live(env, "onDeviceSizeInBytes");
  return Napi::Number::New(env, static_cast<double>(js_call(env, [&] { return buffer->on_device_size(); })));
}

Napi::Value BufferWrap::is_deleted(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (state_ != State::kLive) return Napi::Boolean::New(env, true);
  return Napi::Boolean::New(env, js_call(env, [&] { return buffer_->is_deleted(); }));
}

// toHost(rowMajorHostLayout?: boolean): Promise<TypedArray>
Napi::Value BufferWrap::to_host(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<Buffer> buffer = live(env, "toHost");
  bool row_major_layout = info.Length() > 0 && info[0].ToBoolean().Value();
  size_t count = 1;
  for (int64_t dim : dims_) count *= static_cast<size_t>(dim);
  Napi::TypedArray array = new_typed_array(env, type_, count);
  void* destination = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  size_t size = array.ByteLength();
  // Started here, on the JS thread, so that it is ordered with the executions launched before and after it (a
  // later one may donate this buffer); the plugin copies once the buffer is computed, and the promise settles
  // from the copy's event.
  std::shared_ptr<Event> copied = js_call(env, [&] { return buffer->to_host(destination, size, row_major_layout); });
  auto reference = std::make_shared<Napi::Reference<Napi::TypedArray>>(Napi::Persistent(array));
  return DispatchQueue::of(env, &buffer->client()->plugin())
      .when_ready(env, std::move(copied), [reference](Napi::Env) -> Napi::Value { return reference->Value(); },
                  "device-to-host transfer");
}

Napi::Value BufferWrap::dispose(const Napi::CallbackInfo& info) {
  if (state_ == State::kLive) state_ = State::kDisposed;
  buffer_.reset();  // a transfer or execution in flight keeps its own reference until it ends
  return info.Env().Undefined();
}

// ------------------------------------------------------------------------------------------------ executable

Napi::Function ExecutableWrap::define(Napi::Env env) {
  return DefineClass(env, "LoadedExecutable",
                     {InstanceAccessor<&ExecutableWrap::name>("name"),
                      InstanceAccessor<&ExecutableWrap::num_outputs>("numOutputs"),
                      InstanceAccessor<&ExecutableWrap::output_types>("outputTypes"),
                      InstanceAccessor<&ExecutableWrap::output_dims>("outputDims"),
                      InstanceAccessor<&ExecutableWrap::fingerprint>("fingerprint"),
                      InstanceAccessor<&ExecutableWrap::generated_code_size>("generatedCodeSize"),
                      InstanceAccessor<&ExecutableWrap::addressable_device_ids>("addressableDeviceIds"),
                      InstanceAccessor<&ExecutableWrap::disposed>("disposed"),
                      InstanceMethod<&ExecutableWrap::execute>("execute"),
                      InstanceMethod<&ExecutableWrap::dispose>("dispose")});
}

ExecutableWrap::ExecutableWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ExecutableWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "LoadedExecutable objects are created by Client.compile()");
  }
  executable_ = *info[0].As<Napi::External<std::shared_ptr<LoadedExecutable>>>().Data();
}

Napi::Object ExecutableWrap::wrap(Napi::Env env, std::shared_ptr<LoadedExecutable> executable) {
  return addon_data(env).executable_class.New(
      {Napi::External<std::shared_ptr<LoadedExecutable>>::New(env, &executable)});
}

std::shared_ptr<LoadedExecutable> ExecutableWrap::live(Napi::Env env) const {
  if (!executable_) throw make_js_error(env, PJRT_Error_Code_FAILED_PRECONDITION, "the executable was disposed");
  return executable_;
}

Napi::Value ExecutableWrap::name(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), live(info.Env())->name()); }

Napi::Value ExecutableWrap::num_outputs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live(info.Env())->num_outputs()));
}

Napi::Value ExecutableWrap::output_types(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto& types = live(env)->output_types();
  if (types.empty() && live(env)->num_outputs() > 0) return env.Undefined();
  Napi::Array result = Napi::Array::New(env, types.size());
  for (size_t i = 0; i < types.size(); ++i) result.Set(static_cast<uint32_t>(i), Napi::Number::New(env, types[i]));
  return result;
}

Napi::Value ExecutableWrap::output_dims(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto& dims = live(env)->output_dims();
  if (dims.empty() && live(env)->num_outputs() > 0) return env.Undefined();
  Napi::Array result = Napi::Array::New(env, dims.size());
  for (size_t i = 0; i < dims.size(); ++i) result.Set(static_cast<uint32_t>(i), from_dims(env, dims[i]));
  return result;
}

Napi::Value ExecutableWrap::fingerprint(const Napi::CallbackInfo& info) {
  const std::string& fingerprint = live(info.Env())->fingerprint();
  if (fingerprint.empty()) return info.Env().Undefined();
  return Napi::String::New(info.Env(), fingerprint);
}

Napi::Value ExecutableWrap::generated_code_size(const Napi::CallbackInfo& info) {
  int64_t size = live(info.Env())->generated_code_size();
  if (size < 0) return info.Env().Undefined();
  return Napi::Number::New(info.Env(), static_cast<double>(size));
}

Napi::Value ExecutableWrap::addressable_device_ids(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::vector<int>& ids = live(env)->addressable_device_ids();
  Napi::Array result = Napi::Array::New(env, ids.size());
  for (size_t i = 0; i < ids.size(); ++i) result.Set(static_cast<uint32_t>(i), Napi::Number::New(env, ids[i]));
  return result;
}

// execute(args: Buffer[], donate: boolean[]): {outputs: Buffer[], done: Promise<void>}
// Runs on the device the executable was compiled for and returns at launch: the outputs may still be computing;
// `done` settles when the device finished, rejecting with the error of a run that failed there (which reading an
// output reports too). A donated argument's JS Buffer is marked donated at once; if the launch is refused before
// the plugin took the buffer, it becomes live again.
Napi::Value ExecutableWrap::execute(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsArray()) {
    throw Napi::TypeError::New(env, "execute(args: Buffer[], donate: boolean[])");
  }
  std::shared_ptr<LoadedExecutable> executable = live(env);
  Napi::Array js_args = info[0].As<Napi::Array>();
  Napi::Array js_donate = info[1].As<Napi::Array>();
  uint32_t count = js_args.Length();
  if (js_donate.Length() != count) {
    throw Napi::TypeError::New(env, "execute: donate must have one entry per argument");
  }

  // Check everything before consuming anything.
  std::vector<BufferWrap*> wraps(count);
  std::vector<bool> donate(count);
  std::vector<std::shared_ptr<Buffer>> handles(count);
  for (uint32_t i = 0; i < count; ++i) {
    std::string what = "execute argument " + std::to_string(i);
    wraps[i] = BufferWrap::unwrap_checked(env, js_args.Get(i), what);
    handles[i] = wraps[i]->live(env, what);
    donate[i] = js_donate.Get(i).ToBoolean().Value();
  }
  for (uint32_t i = 0; i < count; ++i) {
    if (!donate[i]) continue;
    for (uint32_t j = 0; j < count; ++j) {
      if (j != i && wraps[j] == wraps[i]) {
        throw make_js_error(env, PJRT_Error_Code_INVALID_ARGUMENT,
                            "execute: argument " + std::to_string(i) + " is donated but the same buffer is also argument " +
                                std::to_string(j));
      }
    }
  }

  std::vector<std::pair<BufferWrap*, std::shared_ptr<Buffer>>> donated;
  for (uint32_t i = 0; i < count; ++i) {
    if (donate[i]) donated.emplace_back(wraps[i], wraps[i]->donate());
  }
  std::vector<PJRT_Buffer*> raw(count);
  for (uint32_t i = 0; i < count; ++i) raw[i] = handles[i]->get();

  // Launched here, on the JS thread: the plugin only queues the work, so the outputs exist before they are
  // computed and the next call can take them at once.
  LoadedExecutable::Execution execution = js_call(env, [&] {
    try {
      return executable->execute(raw, donate);
    } catch (...) {
      for (auto& [wrap, buffer] : donated) {
        bool taken = true;
        try {
          taken = buffer->is_deleted();
        } catch (const PjrtError&) {
        }
        if (!taken) wrap->restore(buffer);
      }
      throw;
    }
  });
  Napi::Array outputs = Napi::Array::New(env, execution.outputs.size());
  for (size_t k = 0; k < execution.outputs.size(); ++k) {
    outputs.Set(static_cast<uint32_t>(k), BufferWrap::wrap(env, std::shared_ptr<Buffer>(std::move(execution.outputs[k]))));
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("outputs", outputs);
  result.Set("done", DispatchQueue::of(env, &executable->client()->plugin())
                         .when_ready(env, execution.done, [](Napi::Env env) -> Napi::Value { return env.Undefined(); },
                                     "execution"));
  return result;
}

Napi::Value ExecutableWrap::dispose(const Napi::CallbackInfo& info) {
  executable_.reset();  // executions in flight keep their own reference
  return info.Env().Undefined();
}

Napi::Value ExecutableWrap::disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !executable_);
}

}  // namespace grpo::addon
