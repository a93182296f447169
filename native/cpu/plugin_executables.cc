// Compilation and execution in our CPU PJRT plugin: Client_Compile hands MLIR text to the engine;
// LoadedExecutable_Execute checks the arguments, decides donation and queues the engine's run on the client's
// worker, returning the outputs before they are computed.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "compile_options.h"
#include "plugin_internal.h"

namespace grpo::cpu::plugin {
namespace {

std::string fingerprint_of(const std::string& text) {
  uint64_t hash = 1469598103934665603ull;  // FNV-1a, 64 bit
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

std::shared_ptr<CompiledProgram> compile_program(const std::string& mlir_text) {
  auto program = std::make_shared<CompiledProgram>();
  program->engine_executable = compile(mlir_text, plugin_stablehlo_version());
  for (const TensorType& result : program->engine_executable->result_types()) {
    program->output_types.push_back(dtype_to_pjrt(result.dtype));
    program->output_dims.insert(program->output_dims.end(), result.dims.begin(), result.dims.end());
    program->output_ranks.push_back(result.dims.size());
  }
  program->fingerprint = fingerprint_of(mlir_text);
  return program;
}

// ------------------------------------------------------------------------------------------------ compile

std::string device_ids(const PJRT_Client* client) {
  std::string ids;
  for (const PJRT_Device* device : client->devices) ids += (ids.empty() ? "" : ", ") + std::to_string(device->description.id);
  return "[" + ids + "]";
}

// The device a non-portable executable belongs to: the one its assignment names or, as XLA does when the
// options carry none, the client's default assignment (its first device). Null for a portable executable.
PJRT_Device* assigned_device(PJRT_Client* client, const CompileOptionsSummary& options) {
  if (options.compile_portable_executable) return nullptr;
  if (!options.device_assignment.has_value()) return client->devices[0];
  int64_t id = options.device_assignment->computation_devices[0][0];
  for (PJRT_Device* device : client->devices) {
    if (device->description.id == id) return device;
  }
  throw std::invalid_argument("compile options assign the program to device " + std::to_string(id) +
                              " (device_assignment " + options.device_assignment->to_string() +
                              ") but this client's devices are " + device_ids(client));
}

PJRT_Error* Client_Compile(PJRT_Client_Compile_Args* args) {
  const char* function = "PJRT_Client_Compile";
  return guarded(function, args, GRPO_PJRT_STRUCT_SIZE(PJRT_Client_Compile_Args, executable), [&] {
    const PJRT_Program* program = args->program;
    if (program == nullptr || program->code == nullptr) {
      return make_error(PJRT_Error_Code_INVALID_ARGUMENT, std::string(function) + ": no program");
    }
    std::string format(program->format != nullptr ? program->format : "", program->format_size);
    if (format != "mlir") {
      return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                        std::string(function) + ": program format '" + format +
                            "' is not supported; the grpo-xla CPU plugin compiles format \"mlir\" (StableHLO text)");
    }
    std::string text(program->code, program->code_size);
    if (text.size() >= 4 && std::memcmp(text.data(), "ML\xEFR", 4) == 0) {
      return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                        std::string(function) + ": MLIR bytecode is not supported; send the module as MLIR text");
    }
    CompileOptionsSummary options =
        parse_compile_options(reinterpret_cast<const uint8_t*>(args->compile_options), args->compile_options_size);
    PJRT_Device* device = assigned_device(args->client, options);
    auto loaded = std::make_unique<PJRT_LoadedExecutable>();
    loaded->program = compile_program(text);
    loaded->client = args->client;
    loaded->portable = options.compile_portable_executable;
    loaded->device = device;
    args->executable = loaded.release();
    return static_cast<PJRT_Error*>(nullptr);
  });
}

// ------------------------------------------------------------------------------------------------ executable

PJRT_Error* Executable_Destroy(PJRT_Executable_Destroy_Args* args) {
  return guarded("PJRT_Executable_Destroy", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Executable_Destroy_Args, executable), [&] {
    delete args->executable;
    return static_cast<PJRT_Error*>(nullptr);
  });
}

PJRT_Error* Executable_Name(PJRT_Executable_Name_Args* args) {
  return guarded("PJRT_Executable_Name", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_Executable_Name_Args, executable_name_size), [&] {
                   const std::string& name = args->executable->program->engine_executable->name();
                   args->executable_name = name.data();
                   args->executable_name_size = name.size();
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

PJRT_Error* Executable_NumReplicas(PJRT_Executable_NumReplicas_Args* args) {
  return guarded("PJRT_Executable_NumReplicas", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_Executable_NumReplicas_Args, num_replicas), [&] {
                   args->num_replicas = 1;
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

PJRT_Error* Executable_NumPartitions(PJRT_Executable_NumPartitions_Args* args) {
  return guarded("PJRT_Executable_NumPartitions", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_Executable_NumPartitions_Args, num_partitions), [&] {
                   args->num_partitions = 1;
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

PJRT_Error* Executable_NumOutputs(PJRT_Executable_NumOutputs_Args* args) {
  return guarded("PJRT_Executable_NumOutputs", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_Executable_NumOutputs_Args, num_outputs), [&] {
                   args->num_outputs = args->executable->program->output_types.size();
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

PJRT_Error* Executable_SizeOfGeneratedCodeInBytes(PJRT_Executable_SizeOfGeneratedCodeInBytes_Args* args) {
  return guarded("PJRT_Executable_SizeOfGeneratedCodeInBytes", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_Executable_SizeOfGeneratedCodeInBytes_Args, size_in_bytes), [&] {
                   args->size_in_bytes = args->executable->program->engine_executable->code_size_bytes();
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

// Executable_Fingerprint and LoadedExecutable_Fingerprint: both handles share one CompiledProgram.
template <typename Args>
PJRT_Error* fingerprint(Args* args, const char* function) {
  return guarded(function, args, GRPO_PJRT_STRUCT_SIZE(Args, executable_fingerprint_size), [&] {
    const std::string& fingerprint = args->executable->program->fingerprint;
    args->executable_fingerprint = fingerprint.data();
    args->executable_fingerprint_size = fingerprint.size();
    return static_cast<PJRT_Error*>(nullptr);
  });
}

PJRT_Error* Executable_Fingerprint(PJRT_Executable_Fingerprint_Args* args) {
  return fingerprint(args, "PJRT_Executable_Fingerprint");
}

PJRT_Error* Executable_OutputElementTypes(PJRT_Executable_OutputElementTypes_Args* args) {
  return guarded("PJRT_Executable_OutputElementTypes", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_Executable_OutputElementTypes_Args, num_output_types), [&] {
                   auto& types = args->executable->program->output_types;
                   args->output_types = types.data();
                   args->num_output_types = types.size();
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

PJRT_Error* Executable_OutputDimensions(PJRT_Executable_OutputDimensions_Args* args) {
  return guarded("PJRT_Executable_OutputDimensions", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_Executable_OutputDimensions_Args, dim_sizes), [&] {
                   const CompiledProgram& program = *args->executable->program;
                   args->num_outputs = program.output_ranks.size();
                   args->dims = program.output_dims.data();
                   args->dim_sizes = program.output_ranks.data();
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

// ------------------------------------------------------------------------------------------------ loaded

PJRT_Error* LoadedExecutable_Destroy(PJRT_LoadedExecutable_Destroy_Args* args) {
  return guarded("PJRT_LoadedExecutable_Destroy", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_LoadedExecutable_Destroy_Args, executable), [&] {
                   delete args->executable;
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

PJRT_Error* LoadedExecutable_GetExecutable(PJRT_LoadedExecutable_GetExecutable_Args* args) {
  return guarded("PJRT_LoadedExecutable_GetExecutable", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_LoadedExecutable_GetExecutable_Args, executable), [&] {
                   args->executable = new PJRT_Executable{args->loaded_executable->program};
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

PJRT_Error* LoadedExecutable_AddressableDevices(PJRT_LoadedExecutable_AddressableDevices_Args* args) {
  return guarded("PJRT_LoadedExecutable_AddressableDevices", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_LoadedExecutable_AddressableDevices_Args, num_addressable_devices), [&] {
                   // A portable executable may run on any device of its client, an assigned one on its own.
                   PJRT_LoadedExecutable* executable = args->executable;
                   args->addressable_devices = executable->portable ? executable->client->devices : &executable->device;
                   args->num_addressable_devices = 1;
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

PJRT_Error* LoadedExecutable_Delete(PJRT_LoadedExecutable_Delete_Args* args) {
  return guarded("PJRT_LoadedExecutable_Delete", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_LoadedExecutable_Delete_Args, executable), [&] {
                   std::lock_guard<std::mutex> lock(buffer_state_mutex());
                   args->executable->deleted = true;
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

PJRT_Error* LoadedExecutable_IsDeleted(PJRT_LoadedExecutable_IsDeleted_Args* args) {
  return guarded("PJRT_LoadedExecutable_IsDeleted", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_LoadedExecutable_IsDeleted_Args, is_deleted), [&] {
                   std::lock_guard<std::mutex> lock(buffer_state_mutex());
                   args->is_deleted = args->executable->deleted;
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

PJRT_Error* LoadedExecutable_Fingerprint(PJRT_LoadedExecutable_Fingerprint_Args* args) {
  return fingerprint(args, "PJRT_LoadedExecutable_Fingerprint");
}

// ------------------------------------------------------------------------------------------------ execute

std::string invalid(const std::string& what) { return "PJRT_LoadedExecutable_Execute: " + what; }

// A positive integer from the environment, read per execution (at launch, so a test can set it around one
// call); unset, 0 or malformed: 0.
int64_t test_hook(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return 0;
  char* end = nullptr;
  long long n = std::strtoll(value, &end, 10);
  return end != value && *end == '\0' && n > 0 ? int64_t(n) : 0;
}

// Where an execution runs, or the error for an execute_device that does not fit how the executable was
// compiled. XLA's C API wrapper sends a non-null execute_device down its portable (or sharded) path and a null
// one through the device assignment; this plugin refuses the mismatches outright so that a client that mixes
// them up finds out at once, naming the executable and the devices.
PJRT_Error* execution_device(const PJRT_LoadedExecutable& loaded, PJRT_Device* execute_device, PJRT_Device** device) {
  const std::string& name = loaded.program->engine_executable->name();
  auto describe = [](const PJRT_Device* d) { return "device " + std::to_string(d->description.id); };
  bool ours = false;
  for (PJRT_Device* candidate : loaded.client->devices) ours = ours || candidate == execute_device;
  if (execute_device != nullptr && !ours) {
    return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                      invalid("execute_device is not a device of the client that compiled executable '" + name +
                              "' (its devices are " + device_ids(loaded.client) + ")"));
  }
  if (loaded.portable) {
    if (execute_device == nullptr) {
      return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                        invalid("executable '" + name + "' was compiled portable (compile_portable_executable, no "
                                "device assignment), so it runs only on the device execute_device names; "
                                "execute_device is null (this client's devices are " + device_ids(loaded.client) + ")"));
    }
    *device = execute_device;
    return nullptr;
  }
  if (execute_device != nullptr) {
    return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                      invalid("executable '" + name + "' was compiled for " + describe(loaded.device) +
                              " (device assignment [[" + std::to_string(loaded.device->description.id) +
                              "]]), not as a portable executable, but execute_device is set (" +
                              describe(execute_device) + "); execute it with execute_device null"));
  }
  *device = loaded.device;
  return nullptr;
}

// Test hooks. GRPO_XLA_CPU_FAIL_ALLOCATION=N makes the N-th engine allocation of the execution fail as if memory
// ran out (failure paths). GRPO_XLA_CPU_DELAY_EXECUTION_MS=N makes the worker wait N ms before running it, so a
// test can act while an execution is certainly in flight (asynchronous paths).
int64_t injected_allocation_failure() { return test_hook("GRPO_XLA_CPU_FAIL_ALLOCATION"); }
int64_t injected_delay_ms() { return test_hook("GRPO_XLA_CPU_DELAY_EXECUTION_MS"); }

// Which parameters give their buffer to an output: those the module aliases (tf.aliasing_output) unless
// the caller listed them in non_donatable_input_indices.
std::vector<bool> donated_parameters(const Executable& executable, const PJRT_ExecuteOptions* options) {
  std::vector<bool> donated(executable.parameter_types().size(), false);
  for (int parameter : executable.result_aliases()) {
    if (parameter >= 0 && static_cast<size_t>(parameter) < donated.size()) donated[parameter] = true;
  }
  if (options != nullptr && options->struct_size >= GRPO_PJRT_STRUCT_SIZE(PJRT_ExecuteOptions,
                                                                          num_non_donatable_input_indices)) {
    for (size_t i = 0; i < options->num_non_donatable_input_indices; ++i) {
      int64_t index = options->non_donatable_input_indices[i];
      if (index >= 0 && static_cast<size_t>(index) < donated.size()) donated[index] = false;
    }
  }
  return donated;
}

// One execution, from launch until its worker job finishes.
struct Launch {
  std::shared_ptr<CompiledProgram> program;
  std::vector<std::shared_ptr<BufferValue>> inputs;
  std::vector<bool> donated;
  std::vector<std::shared_ptr<BufferValue>> outputs;
  std::shared_ptr<EventState> done;  // every output's ready event, and the device-complete event
  int64_t fail_allocation = 0;
  int64_t delay_ms = 0;
};

// On the client's worker: waits for the inputs, runs the engine, publishes the outputs, completes the event.
void run_launch(Launch& launch) {
  Executable& executable = *launch.program->engine_executable;
  const std::string what = "PJRT_LoadedExecutable_Execute: executing " + executable.name();
  if (launch.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(launch.delay_ms));
  PJRT_Error_Code code = PJRT_Error_Code_OK;
  std::string message;
  for (size_t i = 0; i < launch.inputs.size() && code == PJRT_Error_Code_OK; ++i) {
    EventState& ready = *launch.inputs[i]->ready;
    ready.wait();
    if (ready.code() != PJRT_Error_Code_OK) {
      code = ready.code();
      message = what + ": argument " + std::to_string(i) + " was not computed (" + ready.message() + ")";
    }
  }
  std::vector<Tensor> outputs;
  if (code == PJRT_Error_Code_OK) {
    const std::vector<TensorType>& parameters = executable.parameter_types();
    std::vector<Tensor> inputs(launch.inputs.size());
    std::vector<bool> reuse_storage(launch.inputs.size(), false);
    {
      std::lock_guard<std::mutex> lock(buffer_state_mutex());
      for (size_t i = 0; i < inputs.size(); ++i) {
        inputs[i].type = parameters[i];
        if (launch.donated[i]) {
          // Written in place only when nothing else (a read started earlier, say) still holds the storage.
          inputs[i].storage = std::move(launch.inputs[i]->storage);
          reuse_storage[i] = inputs[i].storage.use_count() == 1;
        } else {
          inputs[i].storage = launch.inputs[i]->storage;
        }
      }
    }
    launch.inputs.clear();
    // A run that fails partway (out of memory, say) may already have written into a donated buffer's storage
    // in place: the donated buffers stay consumed, their storage freed with `inputs`.
    try {
      struct Disarm {
        ~Disarm() { fail_storage_allocation_after(0); }
      } disarm;
      fail_storage_allocation_after(launch.fail_allocation);
      outputs = executable.run(inputs, reuse_storage);
    } catch (...) {
      PJRT_Error* error = error_from_current_exception(what.c_str());
      code = error->code;
      message = std::move(error->message);
      delete error;
    }
  }
  launch.inputs.clear();
  if (code == PJRT_Error_Code_OK) {
    std::lock_guard<std::mutex> lock(buffer_state_mutex());
    for (size_t k = 0; k < outputs.size(); ++k) launch.outputs[k]->storage = std::move(outputs[k].storage);
  }
  launch.outputs.clear();
  launch.done->complete(code, std::move(message));
}

// Checks the arguments and takes them (donated ones away from their owners, as real plugins do at launch),
// creates the outputs with their types and a pending value, and queues the run on the client's worker. Errors
// found here leave every argument untouched; errors of the run itself travel in the outputs' events.
PJRT_Error* LoadedExecutable_Execute(PJRT_LoadedExecutable_Execute_Args* args) {
  const char* function = "PJRT_LoadedExecutable_Execute";
  return guarded(function, args, GRPO_PJRT_STRUCT_SIZE(PJRT_LoadedExecutable_Execute_Args, execute_device), [&] {
    PJRT_LoadedExecutable* loaded = args->executable;
    PJRT_Client* client = loaded->client;
    Executable& executable = *loaded->program->engine_executable;
    const std::vector<TensorType>& parameters = executable.parameter_types();
    if (args->num_devices != 1) {
      return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                        invalid("num_devices is " + std::to_string(args->num_devices) + "; this plugin has one device"));
    }
    PJRT_Device* device = nullptr;
    if (PJRT_Error* error = execution_device(*loaded, args->execute_device, &device)) return error;
    if (args->num_args != parameters.size()) {
      return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                        invalid("@main takes " + std::to_string(parameters.size()) + " arguments, got " +
                                std::to_string(args->num_args)));
    }
    if (args->output_lists == nullptr || args->output_lists[0] == nullptr) {
      return make_error(PJRT_Error_Code_INVALID_ARGUMENT, invalid("output_lists must be allocated by the caller"));
    }
    PJRT_Buffer* const* arguments = args->num_args > 0 ? args->argument_lists[0] : nullptr;
    auto launch = std::make_shared<Launch>();
    launch->program = loaded->program;
    launch->donated = donated_parameters(executable, args->options);
    launch->inputs.resize(args->num_args);
    // Read now: a test sets it around one call, which has returned by the time the worker runs.
    launch->fail_allocation = injected_allocation_failure();
    launch->delay_ms = injected_delay_ms();
    {
      std::lock_guard<std::mutex> lock(buffer_state_mutex());
      if (loaded->deleted) return make_error(PJRT_Error_Code_INVALID_ARGUMENT, invalid("the executable was deleted"));
      for (size_t i = 0; i < args->num_args; ++i) {
        PJRT_Buffer* buffer = arguments[i];
        if (buffer == nullptr) return make_error(PJRT_Error_Code_INVALID_ARGUMENT, invalid("argument " + std::to_string(i) + " is null"));
        if (buffer->deleted || buffer->value == nullptr) {
          return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                            invalid("argument " + std::to_string(i) + " was deleted or donated to an earlier execution"));
        }
        if (buffer->device->client != client) {
          return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                            invalid("argument " + std::to_string(i) + " is a buffer of another client than the one " +
                                    "that compiled executable '" + executable.name() + "'"));
        }
        if (buffer->device != device) {
          return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                            invalid("argument " + std::to_string(i) + " lives on device " +
                                    std::to_string(buffer->device->description.id) + " but the execution runs on device " +
                                    std::to_string(device->description.id)));
        }
        if (!(buffer->type == parameters[i])) {
          return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                            invalid("argument " + std::to_string(i) + " must be " + parameters[i].to_string() +
                                    ", got " + buffer->type.to_string()));
        }
        if (launch->donated[i]) {
          for (size_t j = 0; j < args->num_args; ++j) {
            if (j != i && arguments[j] == buffer) {
              return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                                invalid("argument " + std::to_string(i) + " is donated but the same buffer is also " +
                                        "argument " + std::to_string(j) + "; mark it non-donatable"));
            }
          }
        }
      }
      for (size_t i = 0; i < args->num_args; ++i) {
        PJRT_Buffer* buffer = arguments[i];
        if (launch->donated[i]) {
          launch->inputs[i] = std::move(buffer->value);
          buffer->deleted = true;
        } else {
          launch->inputs[i] = buffer->value;
        }
      }
    }
    launch->done = std::make_shared<EventState>();
    const std::vector<TensorType>& results = executable.result_types();
    for (size_t k = 0; k < results.size(); ++k) {
      auto value = std::make_shared<BufferValue>(BufferValue{launch->done, nullptr});
      launch->outputs.push_back(value);
      args->output_lists[0][k] = new_buffer(results[k], std::move(value), device);
    }
    if (args->device_complete_events != nullptr) args->device_complete_events[0] = new_event(launch->done);
    // Handed over whole: the worker is its last owner and frees it.
    client->queue->submit([launch = std::move(launch)] { run_launch(*launch); });
    return static_cast<PJRT_Error*>(nullptr);
  });
}

}  // namespace

void install_executable_slots(PJRT_Api& api) {
  api.PJRT_Client_Compile = Client_Compile;
  api.PJRT_Executable_Destroy = Executable_Destroy;
  api.PJRT_Executable_Name = Executable_Name;
  api.PJRT_Executable_NumReplicas = Executable_NumReplicas;
  api.PJRT_Executable_NumPartitions = Executable_NumPartitions;
  api.PJRT_Executable_NumOutputs = Executable_NumOutputs;
  api.PJRT_Executable_SizeOfGeneratedCodeInBytes = Executable_SizeOfGeneratedCodeInBytes;
  api.PJRT_Executable_Fingerprint = Executable_Fingerprint;
  api.PJRT_Executable_OutputElementTypes = Executable_OutputElementTypes;
  api.PJRT_Executable_OutputDimensions = Executable_OutputDimensions;
  api.PJRT_LoadedExecutable_Destroy = LoadedExecutable_Destroy;
  api.PJRT_LoadedExecutable_GetExecutable = LoadedExecutable_GetExecutable;
  api.PJRT_LoadedExecutable_AddressableDevices = LoadedExecutable_AddressableDevices;
  api.PJRT_LoadedExecutable_Delete = LoadedExecutable_Delete;
  api.PJRT_LoadedExecutable_IsDeleted = LoadedExecutable_IsDeleted;
  api.PJRT_LoadedExecutable_Fingerprint = LoadedExecutable_Fingerprint;
  api.PJRT_LoadedExecutable_Execute = LoadedExecutable_Execute;
}

}  // namespace grpo::cpu::plugin
