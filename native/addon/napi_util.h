// N-API helpers shared by the addon's classes: PJRT errors as JS errors, promises resolved from worker
// threads, typed arrays per PJRT element type.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pjrt_client.h"

namespace grpo::addon {

// A JS Error carrying the PJRT code: `code` is its name ("INVALID_ARGUMENT"), `pjrtCode` its number.
Napi::Error make_js_error(Napi::Env env, PJRT_Error_Code code, const std::string& message);

// Runs `body` on the JS thread and rethrows C++ failures as JS errors.
template <typename Body>
auto js_call(Napi::Env env, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const PjrtError& error) {
    throw make_js_error(env, error.code(), error.what());
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& error) {
    throw make_js_error(env, PJRT_Error_Code_INTERNAL, error.what());
  }
}

// Work that runs on a libuv worker thread and settles a promise. `work` returns the completion, which runs
// back on the JS thread to build the resolved value; `on_failure` (optional) runs on the JS thread before
// the rejection. Values passed to keep() stay referenced until the promise settles.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Completion = std::function<Napi::Value(Napi::Env)>;

  PromiseWorker(Napi::Env env, const char* name, std::function<Completion()> work,
                std::function<void(Napi::Env)> on_failure = nullptr);
  void keep(Napi::Value value) { kept_.push_back(Napi::Persistent(value)); }
  Napi::Promise start();  // queues the work; the worker deletes itself once the promise settles

 protected:
  void Execute() override;
  void OnOK() override;

 private:
  Napi::Promise::Deferred deferred_;
  std::function<Completion()> work_;
  std::function<void(Napi::Env)> on_failure_;
  Completion completion_;
  bool failed_ = false;
  PJRT_Error_Code error_code_ = PJRT_Error_Code_OK;
  std::string error_message_;
  std::vector<Napi::Reference<Napi::Value>> kept_;
};

// Bytes per element of a PJRT element type, or 0 for types the addon does not transfer.
size_t element_size(PJRT_Buffer_Type type);
// A new zeroed typed array of the JS type that holds `type` (bf16 and f16 as Uint16Array, pred as Uint8Array).
Napi::TypedArray new_typed_array(Napi::Env env, PJRT_Buffer_Type type, size_t length);

std::vector<int64_t> to_dims(Napi::Env env, Napi::Value value, const char* what);
Napi::Array from_dims(Napi::Env env, const std::vector<int64_t>& dims);

}  // namespace grpo::addon
