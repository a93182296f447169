// cpu_plugin_abi_test PLUGIN: checks our CPU plugin at the C ABI, for what the addon never exercises:
// strided host buffers, size queries, host layouts, events, deletion, old struct sizes, portable executables and
// device assignments, and executions in flight on the client's worker (events completed from another thread,
// pending inputs, errors, donation). Prints "ok NAME" or
// "FAIL NAME: why" per check and exits 1 if any failed. Run by tests/runtime/plugin_abi.test.ts.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
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

// For the steps of a check: silent when they succeed, so each check's name is printed once.
void require(bool condition, const char* name, const std::string& detail = "") {
  if (!condition) expect(condition, name, detail);
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

// Serialized CompileOptionsProto variants, made with the project's encoder (src/runtime/compile_options.ts) or
// by hand from the same field numbers: one replica, one partition, and
const std::string kAssignedTo0(  // device_assignment [[0]], profile_version -1: what the addon sends
    "\x1a\x1a\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x20\x01\x28\x01\x4a\x09\x08\x01\x10\x01\x1a\x03\x0a\x01\x00"
    "\x28\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 39);
const std::string kAssignedTo3(  // device_assignment [[3]]
    "\x1a\x1a\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x20\x01\x28\x01\x4a\x09\x08\x01\x10\x01\x1a\x03\x0a\x01\x03", 28);
const std::string kPortable(  // compile_portable_executable, no assignment
    "\x1a\x0f\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x20\x01\x28\x01\x20\x01", 19);
const std::string kPortableAndAssigned = kAssignedTo0 + std::string("\x20\x01", 2);  // both: contradictory
const std::string kUnassigned(  // neither: XLA's default assignment (the first device)
    "\x1a\x0f\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x20\x01\x28\x01", 17);

const char kNegate[] =
    "module {\n"
    "  func.func @main(%a: tensor<2xf32>) -> tensor<2xf32> {\n"
    "    %0 = \"stablehlo.negate\"(%a) : (tensor<2xf32>) -> tensor<2xf32>\n"
    "    \"func.return\"(%0) : (tensor<2xf32>) -> ()\n"
    "  }\n"
    "}\n";

PJRT_LoadedExecutable* compile(PJRT_Client* client, const std::string& options, std::pair<int, std::string>* error,
                               const std::string& code = kNegate, const std::string& format = "mlir") {
  PJRT_Program program = make<PJRT_Program>();
  program.code = const_cast<char*>(code.data());
  program.code_size = code.size();
  program.format = format.data();
  program.format_size = format.size();
  auto args = make<PJRT_Client_Compile_Args>();
  args.client = client;
  args.program = &program;
  args.compile_options = options.data();
  args.compile_options_size = options.size();
  *error = outcome(api->PJRT_Client_Compile(&args));
  return error->first == 0 ? args.executable : nullptr;
}

void destroy_executable(PJRT_LoadedExecutable* executable) {
  if (executable == nullptr) return;
  auto args = make<PJRT_LoadedExecutable_Destroy_Args>();
  args.executable = executable;
  outcome(api->PJRT_LoadedExecutable_Destroy(&args));
}

// Runs `executable` on `input` with `execute_device`; returns the output (the caller destroys it) or null.
PJRT_Buffer* execute(PJRT_LoadedExecutable* executable, PJRT_Buffer* input, PJRT_Device* execute_device,
                     std::pair<int, std::string>* error) {
  PJRT_Buffer* output = nullptr;
  PJRT_Buffer* const* argument_list = &input;
  PJRT_Buffer** output_list = &output;
  auto options = make<PJRT_ExecuteOptions>();
  auto args = make<PJRT_LoadedExecutable_Execute_Args>();
  args.executable = executable;
  args.options = &options;
  args.argument_lists = &argument_list;
  args.num_devices = 1;
  args.num_args = 1;
  args.output_lists = &output_list;
  args.execute_device = execute_device;
  *error = outcome(api->PJRT_LoadedExecutable_Execute(&args));
  return output;
}

bool contains(const std::string& text, const char* part) { return text.find(part) != std::string::npos; }

// Device assignments and execute_device: an executable compiled for a device runs there with execute_device null;
// a portable one runs only with execute_device; the mismatches are errors naming the executable and the devices.
void check_device_assignment(PJRT_Client* client) {
  auto devices = make<PJRT_Client_AddressableDevices_Args>();
  devices.client = client;
  outcome(api->PJRT_Client_AddressableDevices(&devices));
  PJRT_Device* device = devices.addressable_devices[0];
  const float data[2] = {1, -2};
  std::pair<int, std::string> error;
  PJRT_Buffer* input = upload(client, data, PJRT_Buffer_Type_F32, {2}, nullptr, &error);

  PJRT_LoadedExecutable* assigned = compile(client, kAssignedTo0, &error);
  expect(assigned != nullptr, "an executable compiles with device_assignment [[0]] and profile_version -1", error.second);
  if (assigned != nullptr) {
    auto addressable = make<PJRT_LoadedExecutable_AddressableDevices_Args>();
    addressable.executable = assigned;
    outcome(api->PJRT_LoadedExecutable_AddressableDevices(&addressable));
    expect(addressable.num_addressable_devices == 1 && addressable.addressable_devices[0] == device,
           "an assigned executable's addressable device is the assigned one");
    PJRT_Buffer* output = execute(assigned, input, nullptr, &error);
    std::vector<float> back = output ? download(output, nullptr, &error) : std::vector<float>{};
    expect(back == std::vector<float>({-1, 2}), "an assigned executable runs with execute_device null", error.second);
    destroy_buffer(output);
    output = execute(assigned, input, device, &error);
    expect(output == nullptr && error.first == PJRT_Error_Code_INVALID_ARGUMENT && contains(error.second, "'main'") &&
               contains(error.second, "compiled for device 0") && contains(error.second, "not as a portable executable"),
           "an assigned executable refuses execute_device, naming the executable and the device", error.second);
    destroy_buffer(output);
  }
  destroy_executable(assigned);

  PJRT_LoadedExecutable* portable = compile(client, kPortable, &error);
  expect(portable != nullptr, "a portable executable compiles", error.second);
  if (portable != nullptr) {
    PJRT_Buffer* output = execute(portable, input, device, &error);
    std::vector<float> back = output ? download(output, nullptr, &error) : std::vector<float>{};
    expect(back == std::vector<float>({-1, 2}), "a portable executable runs with execute_device", error.second);
    destroy_buffer(output);
    output = execute(portable, input, nullptr, &error);
    expect(output == nullptr && error.first == PJRT_Error_Code_INVALID_ARGUMENT && contains(error.second, "'main'") &&
               contains(error.second, "compiled portable") && contains(error.second, "execute_device is null") &&
               contains(error.second, "[0]"),
           "a portable executable refuses a null execute_device, naming the executable and the devices", error.second);
    destroy_buffer(output);
  }
  destroy_executable(portable);

  PJRT_LoadedExecutable* unassigned = compile(client, kUnassigned, &error);
  PJRT_Buffer* output = unassigned ? execute(unassigned, input, nullptr, &error) : nullptr;
  expect(output != nullptr, "options without an assignment take the default one (the first device)", error.second);
  destroy_buffer(output);
  destroy_executable(unassigned);

  destroy_executable(compile(client, kAssignedTo3, &error));
  expect(error.first == PJRT_Error_Code_INVALID_ARGUMENT && contains(error.second, "device 3") &&
             contains(error.second, "devices are [0]"),
         "an assignment to a device the client lacks is refused, naming it", error.second);
  destroy_executable(compile(client, kPortableAndAssigned, &error));
  expect(error.first == PJRT_Error_Code_INVALID_ARGUMENT && contains(error.second, "portable") &&
             contains(error.second, "[[0]]"),
         "a portable executable with a device assignment is refused", error.second);
  destroy_buffer(input);
}

int on_ready_calls = 0;
void on_ready(PJRT_Error* error, void*) {
  ++on_ready_calls;
  outcome(error);
}

// ------------------------------------------------------------------------------------------------ async

// What an OnReady callback saw: which thread called it and the error it received.
struct Seen {
  std::atomic<bool> called{false};
  std::thread::id thread;
  std::pair<int, std::string> error;
};

void record(PJRT_Error* error, void* user_arg) {
  auto* seen = static_cast<Seen*>(user_arg);
  seen->thread = std::this_thread::get_id();
  seen->error = outcome(error);
  seen->called = true;
}

bool wait_for(const Seen& seen) {
  for (int i = 0; i < 5000 && !seen.called; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return seen.called;
}

std::pair<int, std::string> await_event(PJRT_Event* event) {
  auto args = make<PJRT_Event_Await_Args>();
  args.event = event;
  return outcome(api->PJRT_Event_Await(&args));
}

bool is_ready(PJRT_Event* event) {
  auto args = make<PJRT_Event_IsReady_Args>();
  args.event = event;
  outcome(api->PJRT_Event_IsReady(&args));
  return args.is_ready;
}

// Compiled for device 0 as the addon compiles, so launches pass execute_device null.
PJRT_LoadedExecutable* compile_mlir(PJRT_Client* client, const std::string& text) {
  std::pair<int, std::string> error;
  PJRT_LoadedExecutable* executable = compile(client, kAssignedTo0, &error, text);
  require(error.first == 0, "a test module compiles", error.second);
  return executable;
}

// Launches `executable` on `arguments` (one output); `delay_ms` holds the worker that long first.
PJRT_Buffer* launch(PJRT_LoadedExecutable* executable, std::vector<PJRT_Buffer*> arguments, PJRT_Event** done,
                    int delay_ms = 0, double* launch_ms = nullptr) {
  std::string delay = std::to_string(delay_ms);
  setenv("GRPO_XLA_CPU_DELAY_EXECUTION_MS", delay.c_str(), 1);
  auto options = make<PJRT_ExecuteOptions>();
  PJRT_Buffer* const* argument_list = arguments.data();
  PJRT_Buffer* output = nullptr;
  PJRT_Buffer** output_list = &output;
  auto args = make<PJRT_LoadedExecutable_Execute_Args>();
  args.executable = executable;
  args.options = &options;
  args.argument_lists = &argument_list;
  args.num_devices = 1;
  args.num_args = arguments.size();
  args.output_lists = &output_list;
  args.device_complete_events = done;
  auto start = std::chrono::steady_clock::now();
  auto error = outcome(api->PJRT_LoadedExecutable_Execute(&args));
  if (launch_ms != nullptr) *launch_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  unsetenv("GRPO_XLA_CPU_DELAY_EXECUTION_MS");
  require(error.first == 0, "a test execution launches", error.second);
  return output;
}

// Starts a read of a f32[4] buffer into `into`; the returned event says when it landed.
PJRT_Event* start_read(PJRT_Buffer* buffer, float* into) {
  auto args = make<PJRT_Buffer_ToHostBuffer_Args>();
  args.src = buffer;
  args.dst = into;
  args.dst_size = 4 * sizeof(float);
  auto error = outcome(api->PJRT_Buffer_ToHostBuffer(&args));
  require(error.first == 0, "a read of a pending buffer starts", error.second);
  return args.event;
}

// Executions run on the client's worker: Execute returns at launch, events complete from that thread, inputs
// still being computed are waited for there, failures travel in events, and buffers may be destroyed or
// donated while an execution using them is in flight.
void check_async(PJRT_Client* client) {
  const std::string t = "tensor<4xf32>";
  const std::string add_text = "func.func @main(%a: " + t + ", %b: " + t + ") -> " + t + " {\n  %0 = \"stablehlo.add\"(%a, %b) : (" + t + ", " + t + ") -> " + t + "\n  \"func.return\"(%0) : (" + t + ") -> ()\n}\n";
  const std::string donate_text = "func.func @main(%a: " + t + " {tf.aliasing_output = 0 : i32}, %b: " + t + ") -> " + t + " {\n  %0 = \"stablehlo.add\"(%a, %b) : (" + t + ", " + t + ") -> " + t + "\n  \"func.return\"(%0) : (" + t + ") -> ()\n}\n";
  PJRT_LoadedExecutable* add = compile_mlir(client, add_text);
  PJRT_LoadedExecutable* add_donating = compile_mlir(client, donate_text);
  std::pair<int, std::string> error;
  float x_values[4] = {1, 2, 3, 4};
  float y_values[4] = {10, 20, 30, 40};
  PJRT_Buffer* x = upload(client, x_values, PJRT_Buffer_Type_F32, {4}, nullptr, &error);
  PJRT_Buffer* y = upload(client, y_values, PJRT_Buffer_Type_F32, {4}, nullptr, &error);

  // A held execution, and a second one reading its pending output: both launch at once.
  PJRT_Event* first_done = nullptr;
  double launch_ms = 0;
  PJRT_Buffer* first = launch(add, {x, y}, &first_done, 300, &launch_ms);
  expect(launch_ms < 150 && !is_ready(first_done), "execute returns before the run finished",
         std::to_string(launch_ms) + " ms");
  auto early_error = make<PJRT_Event_Error_Args>();
  early_error.event = first_done;
  expect(outcome(api->PJRT_Event_Error(&early_error)).first == PJRT_Error_Code_FAILED_PRECONDITION,
         "Event_Error on a pending event says it is not ready");
  PJRT_Event* second_done = nullptr;
  PJRT_Buffer* second = launch(add, {first, y}, &second_done);
  expect(!is_ready(second_done), "an execution whose input is pending launches without waiting");
  Seen seen;
  auto on_ready_args = make<PJRT_Event_OnReady_Args>();
  on_ready_args.event = second_done;
  on_ready_args.callback = record;
  on_ready_args.user_arg = &seen;
  outcome(api->PJRT_Event_OnReady(&on_ready_args));
  float second_values[4] = {};
  PJRT_Event* read = start_read(second, second_values);
  expect(await_event(first_done).first == 0 && is_ready(first_done), "Event_Await blocks until the run finished");
  // Awaited before the check: its arguments (the detail string too) may be evaluated in any order.
  bool read_ok = await_event(read).first == 0;
  expect(read_ok && second_values[0] == 21 && second_values[3] == 84,
         "a chain of executions with a pending input computes x + 2y", std::to_string(second_values[0]));
  expect(wait_for(seen) && seen.thread != std::this_thread::get_id() && seen.error.first == 0,
         "OnReady calls back from the worker thread");
  for (PJRT_Event* event : {first_done, second_done, read}) destroy_event(event);
  destroy_buffer(second);

  // A run that fails on the worker: its event carries the error, and so does every execution reading its output.
  setenv("GRPO_XLA_CPU_FAIL_ALLOCATION", "1", 1);
  PJRT_Event* failed_done = nullptr;
  PJRT_Buffer* failed = launch(add, {x, y}, &failed_done);
  unsetenv("GRPO_XLA_CPU_FAIL_ALLOCATION");
  PJRT_Event* downstream_done = nullptr;
  PJRT_Buffer* downstream = launch(add, {failed, y}, &downstream_done);
  error = await_event(failed_done);
  expect(error.first == PJRT_Error_Code_RESOURCE_EXHAUSTED && error.second.find("executing") != std::string::npos &&
             error.second.find("out of host memory") != std::string::npos,
         "a failed run's event carries its error", error.second);
  float ignored[4];
  PJRT_Event* failed_read = start_read(downstream, ignored);
  error = await_event(failed_read);
  expect(error.first == PJRT_Error_Code_RESOURCE_EXHAUSTED && error.second.find("argument 0 was not computed") != std::string::npos &&
             error.second.find("out of host memory") != std::string::npos,
         "the error reaches a read of a downstream execution's output", error.second);
  for (PJRT_Event* event : {failed_done, downstream_done, failed_read}) destroy_event(event);
  for (PJRT_Buffer* buffer : {failed, downstream}) destroy_buffer(buffer);

  // Destroying the inputs and the output while the run is in flight is safe; the run still completes.
  PJRT_Buffer* z = upload(client, x_values, PJRT_Buffer_Type_F32, {4}, nullptr, &error);
  PJRT_Event* orphan_done = nullptr;
  PJRT_Buffer* orphan = launch(add, {z, z}, &orphan_done, 100);
  destroy_buffer(z);
  destroy_buffer(orphan);
  expect(!is_ready(orphan_done) && await_event(orphan_done).first == 0, "buffers destroyed in flight: the run completes");
  destroy_event(orphan_done);

  // Donating a pending output: a read started before the donation sees the donated value, not the new one.
  PJRT_Event* pending_done = nullptr;
  PJRT_Buffer* pending = launch(add, {x, y}, &pending_done, 100);
  float pending_values[4] = {};
  PJRT_Event* pending_read = start_read(pending, pending_values);
  PJRT_Event* donated_done = nullptr;
  PJRT_Buffer* updated = launch(add_donating, {pending, y}, &donated_done);
  auto deleted = make<PJRT_Buffer_IsDeleted_Args>();
  deleted.buffer = pending;
  outcome(api->PJRT_Buffer_IsDeleted(&deleted));
  expect(deleted.is_deleted && !is_ready(pending_done), "a pending output can be donated while it is computed");
  float updated_values[4] = {};
  PJRT_Event* updated_read = start_read(updated, updated_values);
  bool pending_ok = await_event(pending_read).first == 0;
  bool updated_ok = await_event(updated_read).first == 0;
  expect(pending_ok && pending_values[0] == 11 && pending_values[3] == 44,
         "a read started before the donation sees the donated buffer's value", std::to_string(pending_values[0]));
  expect(updated_ok && updated_values[0] == 21 && updated_values[3] == 84,
         "the donating execution computes from the pending value", std::to_string(updated_values[0]));
  for (PJRT_Event* event : {pending_done, pending_read, donated_done, updated_read}) destroy_event(event);
  for (PJRT_Buffer* buffer : {pending, updated, first, x, y}) destroy_buffer(buffer);
  for (PJRT_LoadedExecutable* executable : {add, add_donating}) {
    auto destroy = make<PJRT_LoadedExecutable_Destroy_Args>();
    destroy.executable = executable;
    outcome(api->PJRT_LoadedExecutable_Destroy(&destroy));
  }
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

  // An upload is copied during the call: its event is ready at once and OnReady calls back inline.
  auto ready = make<PJRT_Buffer_ReadyEvent_Args>();
  ready.buffer = buffer;
  outcome(api->PJRT_Buffer_ReadyEvent(&ready));
  bool ready_at_once = is_ready(ready.event);
  auto on_ready_args = make<PJRT_Event_OnReady_Args>();
  on_ready_args.event = ready.event;
  on_ready_args.callback = on_ready;
  outcome(api->PJRT_Event_OnReady(&on_ready_args));
  expect(ready_at_once && on_ready_calls == 1, "an uploaded buffer's event is ready and OnReady calls back inline");
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
  std::pair<int, std::string> compile_error;
  destroy_executable(compile(client, kAssignedTo0, &compile_error, "HloModule m", "hlo"));
  expect(compile_error.first == PJRT_Error_Code_INVALID_ARGUMENT && compile_error.second.find("'hlo'") != std::string::npos,
         "format hlo is rejected by name", compile_error.second);

  check_device_assignment(client);

  check_async(client);

  // Destroying the client finishes the execution still queued; its event then reports it.
  float values[4] = {1, 2, 3, 4};
  PJRT_Buffer* input = upload(client, values, PJRT_Buffer_Type_F32, {4}, nullptr, &error);
  PJRT_LoadedExecutable* add = compile_mlir(client, "func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {\n  \"func.return\"(%a) : (tensor<4xf32>) -> ()\n}\n");
  PJRT_Event* in_flight = nullptr;
  PJRT_Buffer* output = launch(add, {input}, &in_flight, 100);
  destroy_buffer(input);
  destroy_buffer(output);
  auto destroy_executable = make<PJRT_LoadedExecutable_Destroy_Args>();
  destroy_executable.executable = add;
  outcome(api->PJRT_LoadedExecutable_Destroy(&destroy_executable));
  auto destroy = make<PJRT_Client_Destroy_Args>();
  destroy.client = client;
  expect(outcome(api->PJRT_Client_Destroy(&destroy)).first == 0 && is_ready(in_flight) && await_event(in_flight).first == 0,
         "client destroys");
  destroy_event(in_flight);
  return failures == 0 ? 0 : 1;
}
