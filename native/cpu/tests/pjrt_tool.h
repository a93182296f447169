// Shared by the command-line tools that drive a PJRT plugin through its C API (slot_check, plugin_abi_test,
// plugin_fuzz): loading the plugin, args structs, and reading errors.
#pragma once

#include <dlfcn.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "../../pjrt/pjrt_c_api.h"

namespace grpo::pjrt_tool {

// Zero-filled args with struct_size set to the end of the struct's last field.
template <typename Args>
Args make() {
  Args args;
  std::memset(&args, 0, sizeof(args));
  args.struct_size = PjrtStructSize<Args>::value;
  return args;
}

// Loads `path` and returns its PJRT_Api, or nullptr after printing why on stderr.
inline const PJRT_Api* load_plugin(const char* path) {
  void* library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    std::fprintf(stderr, "%s\n", dlerror());
    return nullptr;
  }
  auto* get_api = reinterpret_cast<GetPjrtApi_Fn*>(dlsym(library, "GetPjrtApi"));
  if (get_api == nullptr) {
    std::fprintf(stderr, "%s exports no GetPjrtApi\n", path);
    return nullptr;
  }
  return get_api();
}

// Takes ownership of `error`: returns its code and message (code 0 and "" for success).
inline std::pair<int, std::string> outcome(const PJRT_Api* api, PJRT_Error* error) {
  if (error == nullptr) return {0, ""};
  auto code_args = make<PJRT_Error_GetCode_Args>();
  code_args.error = error;
  api->PJRT_Error_GetCode(&code_args);
  auto message_args = make<PJRT_Error_Message_Args>();
  message_args.error = error;
  api->PJRT_Error_Message(&message_args);
  std::pair<int, std::string> result{code_args.code, std::string(message_args.message, message_args.message_size)};
  auto destroy_args = make<PJRT_Error_Destroy_Args>();
  destroy_args.error = error;
  api->PJRT_Error_Destroy(&destroy_args);
  return result;
}

inline void destroy_event(const PJRT_Api* api, PJRT_Event* event) {
  auto args = make<PJRT_Event_Destroy_Args>();
  args.event = event;
  outcome(api, api->PJRT_Event_Destroy(&args));
}

inline void destroy_buffer(const PJRT_Api* api, PJRT_Buffer* buffer) {
  auto args = make<PJRT_Buffer_Destroy_Args>();
  args.buffer = buffer;
  outcome(api, api->PJRT_Buffer_Destroy(&args));
}

}  // namespace grpo::pjrt_tool
