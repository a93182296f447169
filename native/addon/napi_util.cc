#include "napi_util.h"

namespace grpo::addon {

Napi::Error make_js_error(Napi::Env env, PJRT_Error_Code code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, error_code_name(code)));
  error.Set("pjrtCode", Napi::Number::New(env, static_cast<int>(code)));
  return error;
}

PromiseWorker::PromiseWorker(Napi::Env env, const char* name, std::function<Completion()> work,
                             std::function<void(Napi::Env)> on_failure)
    : Napi::AsyncWorker(env, name),
      deferred_(Napi::Promise::Deferred::New(env)),
      work_(std::move(work)),
      on_failure_(std::move(on_failure)) {}

Napi::Promise PromiseWorker::start() {
  Napi::Promise promise = deferred_.Promise();
  Queue();
  return promise;
}

void PromiseWorker::Execute() {
  try {
    completion_ = work_();
  } catch (const PjrtError& error) {
    failed_ = true;
    error_code_ = error.code();
    error_message_ = error.what();
  } catch (const std::exception& error) {
    failed_ = true;
    error_code_ = PJRT_Error_Code_INTERNAL;
    error_message_ = error.what();
  }
}

void PromiseWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  if (failed_) {
    if (on_failure_) on_failure_(env);
    deferred_.Reject(make_js_error(env, error_code_, error_message_).Value());
    return;
  }
  try {
    deferred_.Resolve(js_call(env, [&] { return completion_(env); }));
  } catch (const Napi::Error& error) {
    deferred_.Reject(error.Value());
  }
}

size_t element_size(PJRT_Buffer_Type type) {
  switch (type) {
    case PJRT_Buffer_Type_PRED:
    case PJRT_Buffer_Type_S8:
    case PJRT_Buffer_Type_U8:
      return 1;
    case PJRT_Buffer_Type_S16:
    case PJRT_Buffer_Type_U16:
    case PJRT_Buffer_Type_F16:
    case PJRT_Buffer_Type_BF16:
      return 2;
    case PJRT_Buffer_Type_S32:
    case PJRT_Buffer_Type_U32:
    case PJRT_Buffer_Type_F32:
      return 4;
    case PJRT_Buffer_Type_S64:
    case PJRT_Buffer_Type_U64:
    case PJRT_Buffer_Type_F64:
      return 8;
    default:
      return 0;
  }
}

Napi::TypedArray new_typed_array(Napi::Env env, PJRT_Buffer_Type type, size_t length) {
  switch (type) {
    case PJRT_Buffer_Type_PRED:
    case PJRT_Buffer_Type_U8:
      return Napi::Uint8Array::New(env, length);
    case PJRT_Buffer_Type_S8:
      return Napi::Int8Array::New(env, length);
    case PJRT_Buffer_Type_S16:
      return Napi::Int16Array::New(env, length);
    case PJRT_Buffer_Type_U16:
    case PJRT_Buffer_Type_F16:
    case PJRT_Buffer_Type_BF16:
      return Napi::Uint16Array::New(env, length);
    case PJRT_Buffer_Type_S32:
      return Napi::Int32Array::New(env, length);
    case PJRT_Buffer_Type_U32:
      return Napi::Uint32Array::New(env, length);
    case PJRT_Buffer_Type_F32:
      return Napi::Float32Array::New(env, length);
    case PJRT_Buffer_Type_F64:
      return Napi::Float64Array::New(env, length);
    case PJRT_Buffer_Type_S64:
      return Napi::BigInt64Array::New(env, length);
    case PJRT_Buffer_Type_U64:
      return Napi::BigUint64Array::New(env, length);
    default:
      throw make_js_error(env, PJRT_Error_Code_UNIMPLEMENTED,
                          "element type " + std::to_string(type) + " cannot be read back into a typed array");
  }
}

std::vector<int64_t> to_dims(Napi::Env env, Napi::Value value, const char* what) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, std::string(what) + " must be an array of dimensions");
  Napi::Array array = value.As<Napi::Array>();
  std::vector<int64_t> dims(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value dim = array.Get(i);
    if (!dim.IsNumber() || dim.As<Napi::Number>().DoubleValue() < 0 ||
        dim.As<Napi::Number>().DoubleValue() != static_cast<double>(dim.As<Napi::Number>().Int64Value())) {
      throw Napi::TypeError::New(env, std::string(what) + "[" + std::to_string(i) + "] must be a non-negative integer");
    }
    dims[i] = dim.As<Napi::Number>().Int64Value();
  }
  return dims;
}

Napi::Array from_dims(Napi::Env env, const std::vector<int64_t>& dims) {
  Napi::Array array = Napi::Array::New(env, dims.size());
  for (size_t i = 0; i < dims.size(); ++i) array.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(dims[i])));
  return array;
}

}  // namespace grpo::addon
