// cpu_plugin_slot_check PLUGIN: loads a PJRT plugin built from native/cpu and calls every slot of its
// PJRT_Api table with a bare args struct (struct_size 16, no fields). Each call must return an error, never
// crash: UNIMPLEMENTED naming the function for slots we do not implement, INVALID_ARGUMENT (args too small)
// for the ones we do. Prints one JSON line per slot: {"slot":k,"name":"...","code":c,"message":"..."}.
// Only for our plugin: real plugins are free to crash on such calls.
#include <dlfcn.h>

#include <cstdio>
#include <string>

#include "../pjrt/pjrt_c_api.h"

namespace {

std::string json_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out;
}

void report(const PJRT_Api* api, int slot, const char* name, PJRT_Error* error) {
  int code = 0;
  std::string message;
  if (error != nullptr) {
    PJRT_Error_GetCode_Args code_args{};
    code_args.struct_size = PjrtStructSize<PJRT_Error_GetCode_Args>::value;
    code_args.error = error;
    api->PJRT_Error_GetCode(&code_args);
    code = code_args.code;
    PJRT_Error_Message_Args message_args{};
    message_args.struct_size = PjrtStructSize<PJRT_Error_Message_Args>::value;
    message_args.error = error;
    api->PJRT_Error_Message(&message_args);
    message.assign(message_args.message, message_args.message_size);
    PJRT_Error_Destroy_Args destroy_args{};
    destroy_args.struct_size = PjrtStructSize<PJRT_Error_Destroy_Args>::value;
    destroy_args.error = error;
    api->PJRT_Error_Destroy(&destroy_args);
  }
  std::printf("{\"slot\":%d,\"name\":\"PJRT_%s\",\"code\":%d,\"message\":\"%s\"}\n", slot, name, code,
              json_escape(message).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: cpu_plugin_slot_check PLUGIN.so\n");
    return 2;
  }
  void* library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    std::fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  auto get_api = reinterpret_cast<GetPjrtApi_Fn*>(dlsym(library, "GetPjrtApi"));
  if (get_api == nullptr) {
    std::fprintf(stderr, "no GetPjrtApi\n");
    return 1;
  }
  const PJRT_Api* api = get_api();
  if (api->struct_size < sizeof(PJRT_Api)) {
    std::fprintf(stderr, "PJRT_Api is %zu bytes, expected %zu\n", api->struct_size, sizeof(PJRT_Api));
    return 1;
  }
#define GRPO_CALL_SLOT(index, name, args_type)                                   \
  {                                                                              \
    if (api->PJRT_##name == nullptr) {                                           \
      std::printf("{\"slot\":%d,\"name\":\"PJRT_%s\",\"null\":true}\n", index, #name); \
    } else {                                                                     \
      alignas(16) unsigned char storage[512] = {};                               \
      reinterpret_cast<PJRT_Opaque_Args*>(storage)->struct_size = 16;            \
      report(api, index, #name, api->PJRT_##name(reinterpret_cast<args_type*>(storage))); \
    }                                                                            \
  }
  GRPO_PJRT_API_SLOTS(GRPO_CALL_SLOT)
#undef GRPO_CALL_SLOT
  return 0;
}
