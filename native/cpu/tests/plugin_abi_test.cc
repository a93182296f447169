// cpu_plugin_abi_test PLUGIN: checks our CPU plugin at the C ABI, for what the addon never exercises:
// strided host buffers, size queries, host layouts, events, deletion, old struct sizes. Prints "ok NAME" or
// "FAIL NAME: why" per check and exits 1 if any failed. Run by tests/runtime/plugin_abi.test.ts.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "pjrt_tool.h"

namespace {

using grpo::pjrt_tool::make;
const PJRT_Api* api = nullptr;
int failures = 0;

std::pair<int, std::string> outcome(PJRT_Error* error) { return grpo::pjrt_tool::outcome(api, error); }

void expect(bool condition, const char* name, const std::string& detail = "") {
  if (condition) {
    std::printf("ok %s\n", name);
  } else {
    std::printf("FAIL %s: %s\n", name, detail.c_str());
    ++failures;
  }
}

void destroy_event(PJRT_Event* event) { grpo::pjrt_tool::destroy_event(api, event); }
void destroy_buffer(PJRT_Buffer* buffer) { grpo::pjrt_tool::destroy_buffer(api, buffer); }

PJRT_Buffer* upload(PJRT_Client* client, const void* data, PJRT_Buffer_Type type, std::vector<int64_t> dims,
                    const std::vector<int64_t>* strides, std::pair<int, std::string>* error) {
  auto args = make<PJRT_Client_BufferFromHostBuffer_Args>();
  args.client = client;
  args.data = data;
  args.type = type;
  args.dims = dims.data();
  args.num_dims = dims.size();
  if (strides != nullptr) {
    args.byte_strides = strides->data();
    args.num_byte_strides = strides->size();
  }
  *error = outcome(api->PJRT_Client_BufferFromHostBuffer(&args));
  if (error->first != 0) return nullptr;
  destroy_event(args.done_with_host_buffer);
  return args.buffer;
}

std::vector<float> download(PJRT_Buffer* buffer, PJRT_Buffer_MemoryLayout* layout, std::pair<int, std::string>* error) {
  auto args = make<PJRT_Buffer_ToHostBuffer_Args>();
  args.src = buffer;
  args.host_layout = layout;
  *error = outcome(api->PJRT_Buffer_ToHostBuffer(&args));  // size query
  if (error->first != 0) return {};
  std::vector<float> data(args.dst_size / sizeof(float));
  args.dst = data.data();
  *error = outcome(api->PJRT_Buffer_ToHostBuffer(&args));
  if (error->first != 0) return {};
  auto await_args = make<PJRT_Event_Await_Args>();
  await_args.event = args.event;
  *error = outcome(api->PJRT_Event_Await(&await_args));
  destroy_event(args.event);
  return data;
}

int on_ready_calls = 0;
void on_ready(PJRT_Error* error, void*) {
  ++on_ready_calls;
  outcome(error);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: cpu_plugin_abi_test PLUGIN.so\n");
    return 2;
  }
  api = grpo::pjrt_tool::load_plugin(argv[1]);
  if (api == nullptr) return 2;
  auto init = make<PJRT_Plugin_Initialize_Args>();
  expect(outcome(api->PJRT_Plugin_Initialize(&init)).first == 0, "plugin initializes");

  // Attributes with the 24-byte struct_size some headers declared: num_attributes is still written.
  auto attributes = make<PJRT_Plugin_Attributes_Args>();
  attributes.struct_size = 24;
  expect(outcome(api->PJRT_Plugin_Attributes(&attributes)).first == 0 && attributes.num_attributes > 0,
         "attributes accept the old 24-byte struct_size");

  auto create = make<PJRT_Client_Create_Args>();
  expect(outcome(api->PJRT_Client_Create(&create)).first == 0, "client creates");
  PJRT_Client* client = create.client;

  PJRT_NamedValue option = make<PJRT_NamedValue>();
  option.name = "bogus";
  option.name_size = 5;
  option.type = PJRT_NamedValue_kBool;
  option.value_size = 1;
  auto create_bad = make<PJRT_Client_Create_Args>();
  create_bad.create_options = &option;
  create_bad.num_options = 1;
  auto bad_option = outcome(api->PJRT_Client_Create(&create_bad));
  expect(bad_option.first == PJRT_Error_Code_INVALID_ARGUMENT && bad_option.second.find("'bogus'") != std::string::npos,
         "an unknown create option is an error naming it", bad_option.second);

  // A transposed view (column-major strides) is gathered into row-major storage.
  const float matrix[6] = {1, 2, 3, 4, 5, 6};  // as 3x2 row-major; read as its 2x3 transpose
  std::vector<int64_t> transposed = {4, 8};
  std::pair<int, std::string> error;
  PJRT_Buffer* buffer = upload(client, matrix, PJRT_Buffer_Type_F32, {2, 3}, &transposed, &error);
  std::vector<float> back = buffer ? download(buffer, nullptr, &error) : std::vector<float>{};
  expect(back == std::vector<float>({1, 3, 5, 2, 4, 6}), "byte_strides: a transposed view is gathered", error.second);

  // Negative strides: data points at the last element, read backwards.
  std::vector<int64_t> reversed = {-4};
  PJRT_Buffer* reversed_buffer = upload(client, matrix + 5, PJRT_Buffer_Type_F32, {6}, &reversed, &error);
  back = reversed_buffer ? download(reversed_buffer, nullptr, &error) : std::vector<float>{};
  expect(back == std::vector<float>({6, 5, 4, 3, 2, 1}), "byte_strides: negative strides", error.second);
  destroy_buffer(reversed_buffer);

  // Host layouts: row-major (as the addon sends for TPU) is accepted, column-major is not.
  int64_t row_major[2] = {1, 0};
  int64_t column_major[2] = {0, 1};
  auto layout = make<PJRT_Buffer_MemoryLayout>();
  layout.type = PJRT_Buffer_MemoryLayout_Type_Tiled;
  layout.tiled = make<PJRT_Buffer_MemoryLayout_Tiled>();
  layout.tiled.minor_to_major = row_major;
  layout.tiled.minor_to_major_size = 2;
  back = download(buffer, &layout, &error);
  expect(back == std::vector<float>({1, 3, 5, 2, 4, 6}), "a row-major host layout is accepted", error.second);
  layout.tiled.minor_to_major = column_major;
  download(buffer, &layout, &error);
  expect(error.first == PJRT_Error_Code_UNIMPLEMENTED, "a column-major host layout is UNIMPLEMENTED", error.second);

  // A too-small destination is an error, not an overflow.
  auto small = make<PJRT_Buffer_ToHostBuffer_Args>();
  float two[2];
  small.src = buffer;
  small.dst = two;
  small.dst_size = sizeof(two);
  auto small_error = outcome(api->PJRT_Buffer_ToHostBuffer(&small));
  expect(small_error.first == PJRT_Error_Code_INVALID_ARGUMENT, "dst_size too small is INVALID_ARGUMENT", small_error.second);

  // Events are ready at once; OnReady calls back inline.
  auto ready = make<PJRT_Buffer_ReadyEvent_Args>();
  ready.buffer = buffer;
  outcome(api->PJRT_Buffer_ReadyEvent(&ready));
  auto is_ready = make<PJRT_Event_IsReady_Args>();
  is_ready.event = ready.event;
  outcome(api->PJRT_Event_IsReady(&is_ready));
  auto on_ready_args = make<PJRT_Event_OnReady_Args>();
  on_ready_args.event = ready.event;
  on_ready_args.callback = on_ready;
  outcome(api->PJRT_Event_OnReady(&on_ready_args));
  expect(is_ready.is_ready && on_ready_calls == 1, "events are ready and OnReady calls back inline");
  destroy_event(ready.event);

  // Delete: the buffer reports deleted, its data cannot be read, its ready event carries an error.
  auto deleted = make<PJRT_Buffer_Delete_Args>();
  deleted.buffer = buffer;
  outcome(api->PJRT_Buffer_Delete(&deleted));
  auto is_deleted = make<PJRT_Buffer_IsDeleted_Args>();
  is_deleted.buffer = buffer;
  outcome(api->PJRT_Buffer_IsDeleted(&is_deleted));
  download(buffer, nullptr, &error);
  expect(is_deleted.is_deleted && error.first != 0 && error.second.find("deleted") != std::string::npos,
         "a deleted buffer cannot be read", error.second);
  auto ready_after = make<PJRT_Buffer_ReadyEvent_Args>();
  ready_after.buffer = buffer;
  outcome(api->PJRT_Buffer_ReadyEvent(&ready_after));
  auto event_error = make<PJRT_Event_Error_Args>();
  event_error.event = ready_after.event;
  expect(outcome(api->PJRT_Event_Error(&event_error)).first == PJRT_Error_Code_FAILED_PRECONDITION,
         "a deleted buffer's ready event carries an error");
  destroy_event(ready_after.event);
  destroy_buffer(buffer);

  // Unsupported element types and formats are named.
  double doubles[1] = {1};
  upload(client, doubles, PJRT_Buffer_Type_F64, {1}, nullptr, &error);
  expect(error.first == PJRT_Error_Code_INVALID_ARGUMENT && error.second.find("element type 12") != std::string::npos,
         "an unsupported element type is rejected", error.second);
  PJRT_Program program = make<PJRT_Program>();
  char code[] = "HloModule m";
  program.code = code;
  program.code_size = sizeof(code) - 1;
  program.format = "hlo";
  program.format_size = 3;
  auto compile = make<PJRT_Client_Compile_Args>();
  compile.client = client;
  compile.program = &program;
  auto compile_error = outcome(api->PJRT_Client_Compile(&compile));
  expect(compile_error.first == PJRT_Error_Code_INVALID_ARGUMENT && compile_error.second.find("'hlo'") != std::string::npos,
         "format hlo is rejected by name", compile_error.second);

  auto destroy = make<PJRT_Client_Destroy_Args>();
  destroy.client = client;
  expect(outcome(api->PJRT_Client_Destroy(&destroy)).first == 0, "client destroys");
  return failures == 0 ? 0 : 1;
}
