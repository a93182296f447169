// cpu_plugin_slot_check PLUGIN: loads a PJRT plugin built from native/cpu and calls every slot of its
// PJRT_Api table with a bare args struct (struct_size 16, no fields). Each call must return an error, never
// crash: UNIMPLEMENTED naming the function for slots we do not implement, INVALID_ARGUMENT (args too small)
// for the ones we do. Prints one JSON line per slot: {"slot":k,"name":"...","code":c,"message":"..."}.
// Only for our plugin: real plugins are free to crash on such calls.
#include <cstdio>
#include <string>

#include "pjrt_tool.h"

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
  auto [code, message] = grpo::pjrt_tool::outcome(api, error);
  std::printf("{\"slot\":%d,\"name\":\"PJRT_%s\",\"code\":%d,\"message\":\"%s\"}\n", slot, name, code,
              json_escape(message).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: cpu_plugin_slot_check PLUGIN.so\n");
    return 2;
  }
  const PJRT_Api* api = grpo::pjrt_tool::load_plugin(argv[1]);
  if (api == nullptr) return 1;
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
