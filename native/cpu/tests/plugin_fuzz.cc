// cpu_plugin_fuzz PLUGIN.so [FILE.mlir...]: compiles StableHLO modules through a PJRT plugin's C API and runs each
// one that compiles on zero-filled arguments of @main's types, then copies every output back. With files, it
// reports on each (for reproducing a case); without, it reads frames "<byte count>\n<bytes>" from stdin and answers
// one line per frame, flushed at once, so that a parent process (tests/fuzz/fuzz.ts) knows which case a crash or a
// hang belongs to. The answer is "<outcome> <PJRT error code>": outcome is compile-error, not-run (no argument
// types could be read from @main, or they are too large), execute-error or ran.
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "pjrt_tool.h"

namespace {

using grpo::pjrt_tool::make;
const PJRT_Api* api = nullptr;
constexpr size_t kMaxArgumentBytes = size_t{64} << 20;
constexpr size_t kMaxOutputBytes = size_t{256} << 20;

// Takes ownership of `error`; returns its code (0 for success) and keeps its message in `message`.
int outcome(PJRT_Error* error, std::string* message = nullptr) {
  auto [code, text] = grpo::pjrt_tool::outcome(api, error);
  if (message != nullptr && code != 0) *message = std::move(text);
  return code;
}

struct ArgType {
  PJRT_Buffer_Type type;
  size_t element_size;
  std::vector<int64_t> dims;
};

bool element_type(const std::string& name, ArgType* out) {
  static const struct {
    const char* name;
    PJRT_Buffer_Type type;
    size_t size;
  } kTypes[] = {{"i1", PJRT_Buffer_Type_PRED, 1},  {"i32", PJRT_Buffer_Type_S32, 4}, {"i64", PJRT_Buffer_Type_S64, 8},
                {"ui32", PJRT_Buffer_Type_U32, 4}, {"f32", PJRT_Buffer_Type_F32, 4}, {"bf16", PJRT_Buffer_Type_BF16, 2}};
  for (const auto& t : kTypes) {
    if (name == t.name) {
      out->type = t.type;
      out->element_size = t.size;
      return true;
    }
  }
  return false;
}

// Reads @main's parameter types ("%a: tensor<2x3xf32> {attrs}, ..."). False when they cannot be read or would be
// too large to allocate here; the plugin itself decides whether the module is valid.
bool main_arguments(const std::string& text, std::vector<ArgType>* args) {
  size_t at = text.find("@main(");
  if (at == std::string::npos) return false;
  at += 6;
  int depth = 0;
  size_t end = at;
  for (; end < text.size(); ++end) {
    char c = text[end];
    if (c == '(' || c == '{' || c == '[' || c == '<') ++depth;
    if (c == ')' || c == '}' || c == ']' || c == '>') {
      if (depth == 0) break;
      --depth;
    }
  }
  if (end >= text.size() || text[end] != ')') return false;
  std::string params = text.substr(at, end - at);
  size_t total = 0;
  for (size_t pos = params.find("tensor<"); pos != std::string::npos; pos = params.find("tensor<", pos)) {
    pos += 7;
    size_t close = params.find('>', pos);
    if (close == std::string::npos) return false;
    std::string shape = params.substr(pos, close - pos);
    ArgType arg;
    size_t count = 1;
    size_t start = 0;
    for (;;) {
      size_t x = shape.find('x', start);
      if (x == std::string::npos || !std::isdigit(static_cast<unsigned char>(shape[start]))) break;
      std::string dim = shape.substr(start, x - start);
      if (dim.empty() || dim.size() > 9 || dim.find_first_not_of("0123456789") != std::string::npos) return false;
      arg.dims.push_back(std::stoll(dim));
      count *= static_cast<size_t>(arg.dims.back());
      if (count > kMaxArgumentBytes) return false;
      start = x + 1;
    }
    if (!element_type(shape.substr(start), &arg)) return false;
    total += count * arg.element_size;
    if (total > kMaxArgumentBytes || args->size() >= 256) return false;
    args->push_back(std::move(arg));
  }
  return true;
}

struct Session {
  PJRT_Client* client = nullptr;
  PJRT_Device* device = nullptr;
};

void await_and_destroy(PJRT_Event* event, int* code, std::string* message) {
  if (event == nullptr) return;
  auto await_args = make<PJRT_Event_Await_Args>();
  await_args.event = event;
  int c = outcome(api->PJRT_Event_Await(&await_args), message);
  if (*code == 0) *code = c;
  grpo::pjrt_tool::destroy_event(api, event);
}

size_t num_outputs(PJRT_LoadedExecutable* loaded) {
  auto get = make<PJRT_LoadedExecutable_GetExecutable_Args>();
  get.loaded_executable = loaded;
  if (outcome(api->PJRT_LoadedExecutable_GetExecutable(&get)) != 0) return 0;
  auto count = make<PJRT_Executable_NumOutputs_Args>();
  count.executable = get.executable;
  size_t n = outcome(api->PJRT_Executable_NumOutputs(&count)) == 0 ? count.num_outputs : 0;
  auto destroy = make<PJRT_Executable_Destroy_Args>();
  destroy.executable = get.executable;
  outcome(api->PJRT_Executable_Destroy(&destroy));
  return n;
}

// Copies an output back to the host (so its size and storage are exercised too).
int download(PJRT_Buffer* buffer, std::string* message) {
  auto args = make<PJRT_Buffer_ToHostBuffer_Args>();
  args.src = buffer;
  int code = outcome(api->PJRT_Buffer_ToHostBuffer(&args), message);
  if (code != 0 || args.dst_size > kMaxOutputBytes) return code;
  std::vector<char> host(args.dst_size + 1);
  args.dst = host.data();
  code = outcome(api->PJRT_Buffer_ToHostBuffer(&args), message);
  if (code == 0) await_and_destroy(args.event, &code, message);
  return code;
}

// Compiles `text` and, when that succeeds, runs it. Returns the answer line.
std::string run_case(Session& session, std::string text, std::string* message) {
  // What the addon sends (src/runtime/compile_options.ts): device_assignment [[0]], profile_version -1.
  static const char kCompileOptions[] =
      "\x1a\x1a\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x20\x01\x28\x01\x4a\x09\x08\x01\x10\x01\x1a\x03\x0a\x01\x00"
      "\x28\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01";
  PJRT_Program program = make<PJRT_Program>();
  program.code = text.data();
  program.code_size = text.size();
  program.format = "mlir";
  program.format_size = 4;
  auto compile = make<PJRT_Client_Compile_Args>();
  compile.client = session.client;
  compile.program = &program;
  compile.compile_options = kCompileOptions;
  compile.compile_options_size = sizeof(kCompileOptions) - 1;
  int code = outcome(api->PJRT_Client_Compile(&compile), message);
  if (code != 0) return "compile-error " + std::to_string(code);

  std::string answer;
  std::vector<ArgType> types;
  std::vector<PJRT_Buffer*> inputs;
  if (!main_arguments(text, &types)) {
    answer = "not-run 0";
  } else {
    for (const ArgType& type : types) {
      size_t count = 1;
      for (int64_t d : type.dims) count *= static_cast<size_t>(d);
      std::vector<char> zeros(count * type.element_size + 1, 0);
      auto up = make<PJRT_Client_BufferFromHostBuffer_Args>();
      up.client = session.client;
      up.data = zeros.data();
      up.type = type.type;
      up.dims = type.dims.data();
      up.num_dims = type.dims.size();
      up.host_buffer_semantics = PJRT_HostBufferSemantics_kImmutableOnlyDuringCall;
      up.device = session.device;
      code = outcome(api->PJRT_Client_BufferFromHostBuffer(&up), message);
      if (code != 0) break;
      await_and_destroy(up.done_with_host_buffer, &code, message);
      inputs.push_back(up.buffer);
    }
    if (code != 0) {
      answer = "execute-error " + std::to_string(code);
    } else {
      size_t n = num_outputs(compile.executable);
      std::vector<PJRT_Buffer*> outputs(n + 1, nullptr);
      PJRT_Buffer* const* argument_list = inputs.data();
      PJRT_Buffer** output_list = outputs.data();
      PJRT_Event* done = nullptr;
      auto options = make<PJRT_ExecuteOptions>();
      auto execute = make<PJRT_LoadedExecutable_Execute_Args>();
      execute.executable = compile.executable;
      execute.options = &options;
      execute.argument_lists = &argument_list;
      execute.num_devices = 1;
      execute.num_args = inputs.size();
      execute.output_lists = &output_list;
      execute.device_complete_events = &done;
      code = outcome(api->PJRT_LoadedExecutable_Execute(&execute), message);
      if (code == 0) await_and_destroy(done, &code, message);
      for (size_t i = 0; i < n && code == 0; ++i) code = download(outputs[i], message);
      for (PJRT_Buffer* output : outputs) {
        if (output != nullptr) grpo::pjrt_tool::destroy_buffer(api, output);
      }
      answer = code == 0 ? "ran 0" : "execute-error " + std::to_string(code);
    }
  }
  for (PJRT_Buffer* input : inputs) grpo::pjrt_tool::destroy_buffer(api, input);
  auto destroy = make<PJRT_LoadedExecutable_Destroy_Args>();
  destroy.executable = compile.executable;
  outcome(api->PJRT_LoadedExecutable_Destroy(&destroy));
  return answer;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: cpu_plugin_fuzz PLUGIN.so [FILE.mlir...]   (without files: frames on stdin)\n");
    return 2;
  }
  api = grpo::pjrt_tool::load_plugin(argv[1]);
  if (api == nullptr) return 2;
  auto init = make<PJRT_Plugin_Initialize_Args>();
  Session session;
  auto create = make<PJRT_Client_Create_Args>();
  auto devices = make<PJRT_Client_AddressableDevices_Args>();
  if (outcome(api->PJRT_Plugin_Initialize(&init)) != 0 || outcome(api->PJRT_Client_Create(&create)) != 0) {
    std::fprintf(stderr, "the plugin did not initialize or create a client\n");
    return 2;
  }
  session.client = create.client;
  struct DestroyClient {  // on every way out, as a PJRT client must be
    PJRT_Client* client;
    ~DestroyClient() {
      auto args = make<PJRT_Client_Destroy_Args>();
      args.client = client;
      std::string ignored;
      outcome(api->PJRT_Client_Destroy(&args), &ignored);
    }
  } destroy_client{session.client};
  devices.client = session.client;
  if (outcome(api->PJRT_Client_AddressableDevices(&devices)) != 0 || devices.num_addressable_devices == 0) {
    std::fprintf(stderr, "the client has no addressable device\n");
    return 2;
  }
  session.device = devices.addressable_devices[0];

  if (argc > 2) {
    for (int i = 2; i < argc; ++i) {
      std::ifstream file(argv[i], std::ios::binary);
      std::stringstream text;
      text << file.rdbuf();
      std::string message;
      std::string answer = run_case(session, text.str(), &message);
      std::printf("%s: %s%s%s\n", argv[i], answer.c_str(), message.empty() ? "" : ": ", message.c_str());
    }
    return 0;
  }
  std::ios::sync_with_stdio(false);
  std::string header;
  while (std::getline(std::cin, header)) {
    size_t size = std::stoull(header);
    std::string text(size, '\0');
    if (!std::cin.read(text.data(), static_cast<std::streamsize>(size))) return 3;
    std::string message;
    std::string answer = run_case(session, std::move(text), &message);
    std::fprintf(stdout, "%s\n", answer.c_str());
    std::fflush(stdout);
  }
  return 0;
}
