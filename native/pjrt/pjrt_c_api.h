// Our declarations of the PJRT C API: the structs, enums and PJRT_Api slot order that the addon (a generic
// PJRT client) and our CPU plugin use. Written from the ABI facts in /work/shared/facts/pjrt.md and the public
// header's field order (openxla/xla xla/pjrt/c/pjrt_c_api.h, API 0.90 for the slot list). Only the ABI has
// to match: field order, sizes and enum values. Every layout the project relies on is pinned by the
// static_asserts in pjrt_layout_checks.h, which both the addon and the plugin include.
//
// Args structs not used by either side are left opaque (PJRT_Opaque_Args): their slots still exist in
// PJRT_Api so that the slot offsets stay right, and our plugin fills them with UNIMPLEMENTED stubs.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" {

// `struct_size` of an args struct: the end of its last field, without trailing padding.
#define GRPO_PJRT_STRUCT_SIZE(type, last_field) (offsetof(type, last_field) + sizeof(((type*)nullptr)->last_field))

// The API version our declarations follow. Our plugin reports it; the client accepts any 0.x plugin and
// checks each slot against the plugin's PJRT_Api.struct_size before calling it.
constexpr int kPjrtApiMajor = 0;
constexpr int kPjrtApiMinor = 90;

// ------------------------------------------------------------------------------------------------ basics

struct PJRT_Extension_Base {
  size_t struct_size;
  int32_t type;
  PJRT_Extension_Base* next;
};

struct PJRT_Api_Version {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  int major_version;
  int minor_version;
};

// Opaque handles. The plugin defines them; the client only passes pointers around.
struct PJRT_Error;
struct PJRT_Event;
struct PJRT_Client;
struct PJRT_Device;
struct PJRT_DeviceDescription;
struct PJRT_Memory;
struct PJRT_Executable;
struct PJRT_LoadedExecutable;
struct PJRT_Buffer;
struct PJRT_ExecuteContext;

// Used for the slots neither side calls: every args struct starts with these two fields.
struct PJRT_Opaque_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
};

enum PJRT_Error_Code : int32_t {
  PJRT_Error_Code_OK = 0,
  PJRT_Error_Code_CANCELLED = 1,
  PJRT_Error_Code_UNKNOWN = 2,
  PJRT_Error_Code_INVALID_ARGUMENT = 3,
  PJRT_Error_Code_DEADLINE_EXCEEDED = 4,
  PJRT_Error_Code_NOT_FOUND = 5,
  PJRT_Error_Code_ALREADY_EXISTS = 6,
  PJRT_Error_Code_PERMISSION_DENIED = 7,
  PJRT_Error_Code_RESOURCE_EXHAUSTED = 8,
  PJRT_Error_Code_FAILED_PRECONDITION = 9,
  PJRT_Error_Code_ABORTED = 10,
  PJRT_Error_Code_OUT_OF_RANGE = 11,
  PJRT_Error_Code_UNIMPLEMENTED = 12,
  PJRT_Error_Code_INTERNAL = 13,
  PJRT_Error_Code_UNAVAILABLE = 14,
  PJRT_Error_Code_DATA_LOSS = 15,
  PJRT_Error_Code_UNAUTHENTICATED = 16,
};

// Element types (these differ from XLA's PrimitiveType numbers).
enum PJRT_Buffer_Type : int32_t {
  PJRT_Buffer_Type_INVALID = 0,
  PJRT_Buffer_Type_PRED = 1,
  PJRT_Buffer_Type_S8 = 2,
  PJRT_Buffer_Type_S16 = 3,
  PJRT_Buffer_Type_S32 = 4,
  PJRT_Buffer_Type_S64 = 5,
  PJRT_Buffer_Type_U8 = 6,
  PJRT_Buffer_Type_U16 = 7,
  PJRT_Buffer_Type_U32 = 8,
  PJRT_Buffer_Type_U64 = 9,
  PJRT_Buffer_Type_F16 = 10,
  PJRT_Buffer_Type_F32 = 11,
  PJRT_Buffer_Type_F64 = 12,
  PJRT_Buffer_Type_BF16 = 13,
  PJRT_Buffer_Type_C64 = 14,
  PJRT_Buffer_Type_C128 = 15,
};

enum PJRT_HostBufferSemantics : int32_t {
  PJRT_HostBufferSemantics_kImmutableOnlyDuringCall = 0,
  PJRT_HostBufferSemantics_kImmutableUntilTransferCompletes = 1,
  PJRT_HostBufferSemantics_kImmutableZeroCopy = 2,
  PJRT_HostBufferSemantics_kMutableZeroCopy = 3,
};

enum PJRT_NamedValue_Type : int32_t {
  PJRT_NamedValue_kString = 0,
  PJRT_NamedValue_kInt64 = 1,
  PJRT_NamedValue_kInt64List = 2,
  PJRT_NamedValue_kFloat = 3,
  PJRT_NamedValue_kBool = 4,
};

struct PJRT_NamedValue {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  const char* name;
  size_t name_size;
  PJRT_NamedValue_Type type;
  union {
    const char* string_value;
    int64_t int64_value;
    const int64_t* int64_array_value;
    float float_value;
    bool bool_value;
  };
  size_t value_size;  // elements for strings and lists, 1 for scalars
};

// ------------------------------------------------------------------------------------------------ errors

struct PJRT_Error_Destroy_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Error* error;
};

struct PJRT_Error_Message_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  const PJRT_Error* error;
  const char* message;  // out, lives as long as `error`
  size_t message_size;  // out
};

struct PJRT_Error_GetCode_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  const PJRT_Error* error;
  PJRT_Error_Code code;  // out
};

// ------------------------------------------------------------------------------------------------ plugin

struct PJRT_Plugin_Initialize_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
};

struct PJRT_Plugin_Attributes_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  const PJRT_NamedValue* attributes;  // out, process lifetime
  size_t num_attributes;              // out
};

// ------------------------------------------------------------------------------------------------ events

struct PJRT_Event_Destroy_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Event* event;
};

struct PJRT_Event_IsReady_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Event* event;
  bool is_ready;  // out
};

struct PJRT_Event_Error_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Event* event;
};

struct PJRT_Event_Await_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Event* event;
};

// Receives ownership of `error` (nullptr on success).
typedef void (*PJRT_Event_OnReadyCallback)(PJRT_Error* error, void* user_arg);

struct PJRT_Event_OnReady_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Event* event;
  PJRT_Event_OnReadyCallback callback;
  void* user_arg;
};

// ------------------------------------------------------------------------------------------------ client

struct PJRT_Client_Create_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  const PJRT_NamedValue* create_options;
  size_t num_options;
  void* kv_get_callback;  // key-value store callbacks: unused (single process)
  void* kv_get_user_arg;
  void* kv_put_callback;
  void* kv_put_user_arg;
  PJRT_Client* client;  // out
  void* kv_try_get_callback;
  void* kv_try_get_user_arg;
};

struct PJRT_Client_Destroy_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Client* client;
};

struct PJRT_Client_PlatformName_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Client* client;
  const char* platform_name;  // out, owned by the client
  size_t platform_name_size;  // out
};

struct PJRT_Client_ProcessIndex_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Client* client;
  int process_index;  // out
};

struct PJRT_Client_PlatformVersion_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Client* client;
  const char* platform_version;  // out, owned by the client
  size_t platform_version_size;  // out
};

struct PJRT_Client_Devices_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Client* client;
  PJRT_Device* const* devices;  // out
  size_t num_devices;           // out
};

struct PJRT_Client_AddressableDevices_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Client* client;
  PJRT_Device* const* addressable_devices;  // out
  size_t num_addressable_devices;           // out
};

struct PJRT_Client_LookupDevice_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Client* client;
  int id;
  PJRT_Device* device;  // out
};

struct PJRT_Client_LookupAddressableDevice_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Client* client;
  int local_hardware_id;
  PJRT_Device* addressable_device;  // out
};

struct PJRT_Program {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  char* code;
  size_t code_size;
  const char* format;  // "mlir" (text or bytecode) or "hlo" (HloModuleProto)
  size_t format_size;
};

struct PJRT_Client_Compile_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Client* client;
  const PJRT_Program* program;
  const char* compile_options;  // serialized CompileOptionsProto
  size_t compile_options_size;
  PJRT_LoadedExecutable* executable;  // out
};

// Describes a host or device layout: either minor-to-major order with optional tiles, or byte strides.
enum PJRT_Buffer_MemoryLayout_Type : int32_t {
  PJRT_Buffer_MemoryLayout_Type_Tiled = 0,
  PJRT_Buffer_MemoryLayout_Type_Strides = 1,
};

struct PJRT_Buffer_MemoryLayout_Tiled {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  const int64_t* minor_to_major;  // first entry: the fastest-varying logical dimension
  size_t minor_to_major_size;
  const int64_t* tile_dims;
  const size_t* tile_dim_sizes;
  size_t num_tiles;
};

struct PJRT_Buffer_MemoryLayout_Strides {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  const int64_t* byte_strides;
  size_t num_byte_strides;
};

struct PJRT_Buffer_MemoryLayout {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  union {
    PJRT_Buffer_MemoryLayout_Tiled tiled;
    PJRT_Buffer_MemoryLayout_Strides strides;
  };
  PJRT_Buffer_MemoryLayout_Type type;
};

struct PJRT_Client_BufferFromHostBuffer_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Client* client;
  const void* data;
  PJRT_Buffer_Type type;
  const int64_t* dims;
  size_t num_dims;
  const int64_t* byte_strides;  // nullptr: dense row-major
  size_t num_byte_strides;
  PJRT_HostBufferSemantics host_buffer_semantics;
  PJRT_Device* device;
  PJRT_Memory* memory;                      // nullptr: the device's default memory
  PJRT_Buffer_MemoryLayout* device_layout;  // nullptr: dense row-major
  PJRT_Event* done_with_host_buffer;        // out, the caller destroys it
  PJRT_Buffer* buffer;                      // out
};

// ------------------------------------------------------------------------------------------------ devices

struct PJRT_DeviceDescription_Id_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_DeviceDescription* device_description;
  int id;  // out
};

struct PJRT_DeviceDescription_ProcessIndex_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_DeviceDescription* device_description;
  int process_index;  // out
};

struct PJRT_DeviceDescription_Attributes_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_DeviceDescription* device_description;
  size_t num_attributes;              // out
  const PJRT_NamedValue* attributes;  // out
};

// Kind, DebugString and ToString share one shape: a string out, owned by the device.
struct PJRT_DeviceDescription_String_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_DeviceDescription* device_description;
  const char* value;  // out
  size_t value_size;  // out
};
using PJRT_DeviceDescription_Kind_Args = PJRT_DeviceDescription_String_Args;
using PJRT_DeviceDescription_DebugString_Args = PJRT_DeviceDescription_String_Args;
using PJRT_DeviceDescription_ToString_Args = PJRT_DeviceDescription_String_Args;

struct PJRT_Device_GetDescription_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Device* device;
  PJRT_DeviceDescription* device_description;  // out
};

struct PJRT_Device_IsAddressable_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Device* device;
  bool is_addressable;  // out
};

struct PJRT_Device_LocalHardwareId_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Device* device;
  int local_hardware_id;  // out
};

// Only bytes_in_use is mandatory; each optional stat comes with an `_is_set` flag.
struct PJRT_Device_MemoryStats_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Device* device;
  int64_t bytes_in_use;
  int64_t peak_bytes_in_use;
  bool peak_bytes_in_use_is_set;
  int64_t num_allocs;
  bool num_allocs_is_set;
  int64_t largest_alloc_size;
  bool largest_alloc_size_is_set;
  int64_t bytes_limit;
  bool bytes_limit_is_set;
  int64_t bytes_reserved;
  bool bytes_reserved_is_set;
  int64_t peak_bytes_reserved;
  bool peak_bytes_reserved_is_set;
  int64_t bytes_reservable_limit;
  bool bytes_reservable_limit_is_set;
  int64_t largest_free_block_bytes;
  bool largest_free_block_bytes_is_set;
  int64_t pool_bytes;
  bool pool_bytes_is_set;
  int64_t peak_pool_bytes;
  bool peak_pool_bytes_is_set;
};

// ------------------------------------------------------------------------------------------------ executables

struct PJRT_Executable_Destroy_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Executable* executable;
};

struct PJRT_Executable_Name_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Executable* executable;
  const char* executable_name;  // out, owned by the executable
  size_t executable_name_size;  // out
};

struct PJRT_Executable_NumReplicas_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Executable* executable;
  size_t num_replicas;  // out
};

struct PJRT_Executable_NumPartitions_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Executable* executable;
  size_t num_partitions;  // out
};

struct PJRT_Executable_NumOutputs_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Executable* executable;
  size_t num_outputs;  // out
};

struct PJRT_Executable_SizeOfGeneratedCodeInBytes_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Executable* executable;
  int64_t size_in_bytes;  // out
};

struct PJRT_Executable_Fingerprint_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Executable* executable;
  const char* executable_fingerprint;  // out, owned by the executable
  size_t executable_fingerprint_size;  // out
};

struct PJRT_Executable_OutputElementTypes_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Executable* executable;
  PJRT_Buffer_Type* output_types;  // out, owned by the executable
  size_t num_output_types;         // out
};

struct PJRT_Executable_OutputDimensions_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Executable* executable;
  size_t num_outputs;       // out
  const int64_t* dims;      // out: all outputs' dims concatenated
  const size_t* dim_sizes;  // out: the rank of each output
};

struct PJRT_LoadedExecutable_Destroy_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_LoadedExecutable* executable;
};

struct PJRT_LoadedExecutable_GetExecutable_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_LoadedExecutable* loaded_executable;
  PJRT_Executable* executable;  // out, the caller destroys it
};

struct PJRT_LoadedExecutable_AddressableDevices_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_LoadedExecutable* executable;
  PJRT_Device* const* addressable_devices;  // out
  size_t num_addressable_devices;           // out
};

struct PJRT_LoadedExecutable_Delete_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_LoadedExecutable* executable;
};

struct PJRT_LoadedExecutable_IsDeleted_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_LoadedExecutable* executable;
  bool is_deleted;  // out
};

struct PJRT_LoadedExecutable_Fingerprint_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_LoadedExecutable* executable;
  const char* executable_fingerprint;  // out
  size_t executable_fingerprint_size;  // out
};

struct PJRT_ExecuteOptions {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  void** send_callbacks;  // host send/recv callbacks: unused
  void** recv_callbacks;
  size_t num_send_ops;
  size_t num_recv_ops;
  int launch_id;
  const int64_t* non_donatable_input_indices;  // arguments that must not be donated
  size_t num_non_donatable_input_indices;
  PJRT_ExecuteContext* context;
  const char* call_location;
  size_t num_tasks;
  int* task_ids;
  int64_t* incarnation_ids;
  void* multi_slice_config;  // newest field (API 0.10x); zero
};

struct PJRT_LoadedExecutable_Execute_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_LoadedExecutable* executable;
  PJRT_ExecuteOptions* options;
  PJRT_Buffer* const* const* argument_lists;  // [num_devices][num_args]
  size_t num_devices;
  size_t num_args;
  PJRT_Buffer** const* output_lists;    // [num_devices][num_outputs], allocated by the caller
  PJRT_Event** device_complete_events;  // optional [num_devices], out
  PJRT_Device* execute_device;          // non-null: run on this one device (portable executable)
};

// ------------------------------------------------------------------------------------------------ buffers

struct PJRT_Buffer_Destroy_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Buffer* buffer;
};

struct PJRT_Buffer_ElementType_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Buffer* buffer;
  PJRT_Buffer_Type type;  // out
};

struct PJRT_Buffer_Dimensions_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Buffer* buffer;
  const int64_t* dims;  // out, owned by the buffer
  size_t num_dims;      // out
};
using PJRT_Buffer_UnpaddedDimensions_Args = PJRT_Buffer_Dimensions_Args;

struct PJRT_Buffer_OnDeviceSizeInBytes_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Buffer* buffer;
  size_t on_device_size_in_bytes;  // out
};

struct PJRT_Buffer_Device_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Buffer* buffer;
  PJRT_Device* device;  // out
};

struct PJRT_Buffer_Delete_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Buffer* buffer;
};

struct PJRT_Buffer_IsDeleted_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Buffer* buffer;
  bool is_deleted;  // out
};

struct PJRT_Buffer_ToHostBuffer_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Buffer* src;
  PJRT_Buffer_MemoryLayout* host_layout;  // nullptr: the device layout
  void* dst;                              // nullptr: only report the size in dst_size
  size_t dst_size;
  PJRT_Event* event;  // out, the caller awaits and destroys it
};

struct PJRT_Buffer_IsOnCpu_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Buffer* buffer;
  bool is_on_cpu;  // out
};

struct PJRT_Buffer_ReadyEvent_Args {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Buffer* buffer;
  PJRT_Event* event;  // out
};

// ------------------------------------------------------------------------------------------------ PJRT_Api

// The function table, slot by slot: X(slot index, name without the PJRT_ prefix, args type). Slots 0 and 1
// (Error_Destroy, Error_Message) return void and are declared by hand in PJRT_Api; every other slot returns
// PJRT_Error*. New slots are only ever appended, so an older plugin has a shorter table (see struct_size).
#define GRPO_PJRT_API_SLOTS(X)                                                        \
  X(2, Error_GetCode, PJRT_Error_GetCode_Args)                                        \
  X(3, Plugin_Initialize, PJRT_Plugin_Initialize_Args)                                \
  X(4, Plugin_Attributes, PJRT_Plugin_Attributes_Args)                                \
  X(5, Event_Destroy, PJRT_Event_Destroy_Args)                                        \
  X(6, Event_IsReady, PJRT_Event_IsReady_Args)                                        \
  X(7, Event_Error, PJRT_Event_Error_Args)                                            \
  X(8, Event_Await, PJRT_Event_Await_Args)                                            \
  X(9, Event_OnReady, PJRT_Event_OnReady_Args)                                        \
  X(10, Client_Create, PJRT_Client_Create_Args)                                       \
  X(11, Client_Destroy, PJRT_Client_Destroy_Args)                                     \
  X(12, Client_PlatformName, PJRT_Client_PlatformName_Args)                           \
  X(13, Client_ProcessIndex, PJRT_Client_ProcessIndex_Args)                           \
  X(14, Client_PlatformVersion, PJRT_Client_PlatformVersion_Args)                     \
  X(15, Client_Devices, PJRT_Client_Devices_Args)                                     \
  X(16, Client_AddressableDevices, PJRT_Client_AddressableDevices_Args)               \
  X(17, Client_LookupDevice, PJRT_Client_LookupDevice_Args)                           \
  X(18, Client_LookupAddressableDevice, PJRT_Client_LookupAddressableDevice_Args)     \
  X(19, Client_AddressableMemories, PJRT_Opaque_Args)                                 \
  X(20, Client_Compile, PJRT_Client_Compile_Args)                                     \
  X(21, Client_DefaultDeviceAssignment, PJRT_Opaque_Args)                             \
  X(22, Client_BufferFromHostBuffer, PJRT_Client_BufferFromHostBuffer_Args)           \
  X(23, DeviceDescription_Id, PJRT_DeviceDescription_Id_Args)                         \
  X(24, DeviceDescription_ProcessIndex, PJRT_DeviceDescription_ProcessIndex_Args)     \
  X(25, DeviceDescription_Attributes, PJRT_DeviceDescription_Attributes_Args)         \
  X(26, DeviceDescription_Kind, PJRT_DeviceDescription_Kind_Args)                     \
  X(27, DeviceDescription_DebugString, PJRT_DeviceDescription_DebugString_Args)       \
  X(28, DeviceDescription_ToString, PJRT_DeviceDescription_ToString_Args)             \
  X(29, Device_GetDescription, PJRT_Device_GetDescription_Args)                       \
  X(30, Device_IsAddressable, PJRT_Device_IsAddressable_Args)                         \
  X(31, Device_LocalHardwareId, PJRT_Device_LocalHardwareId_Args)                     \
  X(32, Device_AddressableMemories, PJRT_Opaque_Args)                                 \
  X(33, Device_DefaultMemory, PJRT_Opaque_Args)                                       \
  X(34, Device_MemoryStats, PJRT_Device_MemoryStats_Args)                             \
  X(35, Memory_Id, PJRT_Opaque_Args)                                                  \
  X(36, Memory_Kind, PJRT_Opaque_Args)                                                \
  X(37, Memory_DebugString, PJRT_Opaque_Args)                                         \
  X(38, Memory_ToString, PJRT_Opaque_Args)                                            \
  X(39, Memory_AddressableByDevices, PJRT_Opaque_Args)                                \
  X(40, Executable_Destroy, PJRT_Executable_Destroy_Args)                             \
  X(41, Executable_Name, PJRT_Executable_Name_Args)                                   \
  X(42, Executable_NumReplicas, PJRT_Executable_NumReplicas_Args)                     \
  X(43, Executable_NumPartitions, PJRT_Executable_NumPartitions_Args)                 \
  X(44, Executable_NumOutputs, PJRT_Executable_NumOutputs_Args)                       \
  X(45, Executable_SizeOfGeneratedCodeInBytes, PJRT_Executable_SizeOfGeneratedCodeInBytes_Args) \
  X(46, Executable_GetCostAnalysis, PJRT_Opaque_Args)                                 \
  X(47, Executable_OutputMemoryKinds, PJRT_Opaque_Args)                               \
  X(48, Executable_OptimizedProgram, PJRT_Opaque_Args)                                \
  X(49, Executable_Serialize, PJRT_Opaque_Args)                                       \
  X(50, LoadedExecutable_Destroy, PJRT_LoadedExecutable_Destroy_Args)                 \
  X(51, LoadedExecutable_GetExecutable, PJRT_LoadedExecutable_GetExecutable_Args)     \
  X(52, LoadedExecutable_AddressableDevices, PJRT_LoadedExecutable_AddressableDevices_Args) \
  X(53, LoadedExecutable_Delete, PJRT_LoadedExecutable_Delete_Args)                   \
  X(54, LoadedExecutable_IsDeleted, PJRT_LoadedExecutable_IsDeleted_Args)             \
  X(55, LoadedExecutable_Execute, PJRT_LoadedExecutable_Execute_Args)                 \
  X(56, Executable_DeserializeAndLoad, PJRT_Opaque_Args)                              \
  X(57, LoadedExecutable_Fingerprint, PJRT_LoadedExecutable_Fingerprint_Args)         \
  X(58, Buffer_Destroy, PJRT_Buffer_Destroy_Args)                                     \
  X(59, Buffer_ElementType, PJRT_Buffer_ElementType_Args)                             \
  X(60, Buffer_Dimensions, PJRT_Buffer_Dimensions_Args)                               \
  X(61, Buffer_UnpaddedDimensions, PJRT_Buffer_UnpaddedDimensions_Args)               \
  X(62, Buffer_DynamicDimensionIndices, PJRT_Opaque_Args)                             \
  X(63, Buffer_GetMemoryLayout, PJRT_Opaque_Args)                                     \
  X(64, Buffer_OnDeviceSizeInBytes, PJRT_Buffer_OnDeviceSizeInBytes_Args)             \
  X(65, Buffer_Device, PJRT_Buffer_Device_Args)                                       \
  X(66, Buffer_Memory, PJRT_Opaque_Args)                                              \
  X(67, Buffer_Delete, PJRT_Buffer_Delete_Args)                                       \
  X(68, Buffer_IsDeleted, PJRT_Buffer_IsDeleted_Args)                                 \
  X(69, Buffer_CopyToDevice, PJRT_Opaque_Args)                                        \
  X(70, Buffer_ToHostBuffer, PJRT_Buffer_ToHostBuffer_Args)                           \
  X(71, Buffer_IsOnCpu, PJRT_Buffer_IsOnCpu_Args)                                     \
  X(72, Buffer_ReadyEvent, PJRT_Buffer_ReadyEvent_Args)                               \
  X(73, Buffer_UnsafePointer, PJRT_Opaque_Args)                                       \
  X(74, Buffer_IncreaseExternalReferenceCount, PJRT_Opaque_Args)                      \
  X(75, Buffer_DecreaseExternalReferenceCount, PJRT_Opaque_Args)                      \
  X(76, Buffer_OpaqueDeviceMemoryDataPointer, PJRT_Opaque_Args)                       \
  X(77, CopyToDeviceStream_Destroy, PJRT_Opaque_Args)                                 \
  X(78, CopyToDeviceStream_AddChunk, PJRT_Opaque_Args)                                \
  X(79, CopyToDeviceStream_TotalBytes, PJRT_Opaque_Args)                              \
  X(80, CopyToDeviceStream_GranuleSize, PJRT_Opaque_Args)                             \
  X(81, CopyToDeviceStream_CurrentBytes, PJRT_Opaque_Args)                            \
  X(82, TopologyDescription_Create, PJRT_Opaque_Args)                                 \
  X(83, TopologyDescription_Destroy, PJRT_Opaque_Args)                                \
  X(84, TopologyDescription_PlatformName, PJRT_Opaque_Args)                           \
  X(85, TopologyDescription_PlatformVersion, PJRT_Opaque_Args)                        \
  X(86, TopologyDescription_GetDeviceDescriptions, PJRT_Opaque_Args)                  \
  X(87, TopologyDescription_Serialize, PJRT_Opaque_Args)                              \
  X(88, TopologyDescription_Attributes, PJRT_Opaque_Args)                             \
  X(89, Compile, PJRT_Opaque_Args)                                                    \
  X(90, Executable_OutputElementTypes, PJRT_Executable_OutputElementTypes_Args)       \
  X(91, Executable_OutputDimensions, PJRT_Executable_OutputDimensions_Args)           \
  X(92, Buffer_CopyToMemory, PJRT_Opaque_Args)                                        \
  X(93, Client_CreateViewOfDeviceBuffer, PJRT_Opaque_Args)                            \
  X(94, Executable_Fingerprint, PJRT_Executable_Fingerprint_Args)                     \
  X(95, Client_TopologyDescription, PJRT_Opaque_Args)                                 \
  X(96, Executable_GetCompiledMemoryStats, PJRT_Opaque_Args)                          \
  X(97, Memory_Kind_Id, PJRT_Opaque_Args)                                             \
  X(98, ExecuteContext_Create, PJRT_Opaque_Args)                                      \
  X(99, ExecuteContext_Destroy, PJRT_Opaque_Args)                                     \
  X(100, Buffer_CopyRawToHost, PJRT_Opaque_Args)                                      \
  X(101, AsyncHostToDeviceTransferManager_Destroy, PJRT_Opaque_Args)                  \
  X(102, AsyncHostToDeviceTransferManager_TransferData, PJRT_Opaque_Args)             \
  X(103, Client_CreateBuffersForAsyncHostToDevice, PJRT_Opaque_Args)                  \
  X(104, AsyncHostToDeviceTransferManager_RetrieveBuffer, PJRT_Opaque_Args)           \
  X(105, AsyncHostToDeviceTransferManager_Device, PJRT_Opaque_Args)                   \
  X(106, AsyncHostToDeviceTransferManager_BufferCount, PJRT_Opaque_Args)              \
  X(107, AsyncHostToDeviceTransferManager_BufferSize, PJRT_Opaque_Args)               \
  X(108, AsyncHostToDeviceTransferManager_SetBufferError, PJRT_Opaque_Args)           \
  X(109, AsyncHostToDeviceTransferManager_AddMetadata, PJRT_Opaque_Args)              \
  X(110, Client_DmaMap, PJRT_Opaque_Args)                                             \
  X(111, Client_DmaUnmap, PJRT_Opaque_Args)                                           \
  X(112, Client_CreateUninitializedBuffer, PJRT_Opaque_Args)                          \
  X(113, Client_UpdateGlobalProcessInfo, PJRT_Opaque_Args)                            \
  X(114, TopologyDescription_Deserialize, PJRT_Opaque_Args)                           \
  X(115, Client_CreateAliasBuffer, PJRT_Opaque_Args)                                  \
  X(116, Client_FulfillAliasBuffer, PJRT_Opaque_Args)                                 \
  X(117, LoadedExecutable_GetDeviceAssignment, PJRT_Opaque_Args)                      \
  X(118, Client_CreateErrorBuffer, PJRT_Opaque_Args)                                  \
  X(119, AsyncHostToDeviceTransferManager_TransferLiteral, PJRT_Opaque_Args)          \
  X(120, Buffer_CopyRawToHostFuture, PJRT_Opaque_Args)                                \
  X(121, Device_PoisonExecution, PJRT_Opaque_Args)                                    \
  X(122, Device_CreateAsyncTrackingEvent, PJRT_Opaque_Args)                           \
  X(123, AsyncTrackingEvent_Destroy, PJRT_Opaque_Args)                                \
  X(124, Executable_GetCompileOptions, PJRT_Opaque_Args)                              \
  X(125, Buffer_DonateWithControlDependency, PJRT_Opaque_Args)                        \
  X(126, Event_Create, PJRT_Opaque_Args)                                              \
  X(127, Event_Set, PJRT_Opaque_Args)

constexpr int kPjrtApiNumSlots = 128;

typedef void PJRT_Error_Destroy_Fn(PJRT_Error_Destroy_Args* args);
typedef void PJRT_Error_Message_Fn(PJRT_Error_Message_Args* args);
#define GRPO_PJRT_DECLARE_FN(index, name, args_type) typedef PJRT_Error* PJRT_##name##_Fn(args_type* args);
GRPO_PJRT_API_SLOTS(GRPO_PJRT_DECLARE_FN)
#undef GRPO_PJRT_DECLARE_FN

struct PJRT_Api {
  size_t struct_size;
  PJRT_Extension_Base* extension_start;
  PJRT_Api_Version pjrt_api_version;
  PJRT_Error_Destroy_Fn* PJRT_Error_Destroy;
  PJRT_Error_Message_Fn* PJRT_Error_Message;
#define GRPO_PJRT_DECLARE_SLOT(index, name, args_type) PJRT_##name##_Fn* PJRT_##name;
  GRPO_PJRT_API_SLOTS(GRPO_PJRT_DECLARE_SLOT)
#undef GRPO_PJRT_DECLARE_SLOT
};

// The plugin's entry point.
typedef const PJRT_Api* GetPjrtApi_Fn();

}  // extern "C"

// struct_size of each args struct we declare, for the helper that zero-fills an args struct and sets it.
#define GRPO_PJRT_ARGS_STRUCTS(X)                                 \
  X(PJRT_NamedValue, value_size)                                  \
  X(PJRT_Api_Version, minor_version)                              \
  X(PJRT_Opaque_Args, extension_start)                            \
  X(PJRT_Error_Destroy_Args, error)                               \
  X(PJRT_Error_Message_Args, message_size)                        \
  X(PJRT_Error_GetCode_Args, code)                                \
  X(PJRT_Plugin_Initialize_Args, extension_start)                 \
  X(PJRT_Plugin_Attributes_Args, num_attributes)                  \
  X(PJRT_Event_Destroy_Args, event)                               \
  X(PJRT_Event_IsReady_Args, is_ready)                            \
  X(PJRT_Event_Error_Args, event)                                 \
  X(PJRT_Event_Await_Args, event)                                 \
  X(PJRT_Event_OnReady_Args, user_arg)                            \
  X(PJRT_Client_Create_Args, kv_try_get_user_arg)                 \
  X(PJRT_Client_Destroy_Args, client)                             \
  X(PJRT_Client_PlatformName_Args, platform_name_size)            \
  X(PJRT_Client_ProcessIndex_Args, process_index)                 \
  X(PJRT_Client_PlatformVersion_Args, platform_version_size)      \
  X(PJRT_Client_Devices_Args, num_devices)                        \
  X(PJRT_Client_AddressableDevices_Args, num_addressable_devices) \
  X(PJRT_Client_LookupDevice_Args, device)                        \
  X(PJRT_Client_LookupAddressableDevice_Args, addressable_device) \
  X(PJRT_Program, format_size)                                    \
  X(PJRT_Client_Compile_Args, executable)                         \
  X(PJRT_Buffer_MemoryLayout_Tiled, num_tiles)                    \
  X(PJRT_Buffer_MemoryLayout_Strides, num_byte_strides)           \
  X(PJRT_Buffer_MemoryLayout, type)                               \
  X(PJRT_Client_BufferFromHostBuffer_Args, buffer)                \
  X(PJRT_DeviceDescription_Id_Args, id)                           \
  X(PJRT_DeviceDescription_ProcessIndex_Args, process_index)      \
  X(PJRT_DeviceDescription_Attributes_Args, attributes)           \
  X(PJRT_DeviceDescription_String_Args, value_size)               \
  X(PJRT_Device_GetDescription_Args, device_description)          \
  X(PJRT_Device_IsAddressable_Args, is_addressable)               \
  X(PJRT_Device_LocalHardwareId_Args, local_hardware_id)          \
  X(PJRT_Device_MemoryStats_Args, peak_pool_bytes_is_set)         \
  X(PJRT_Executable_Destroy_Args, executable)                     \
  X(PJRT_Executable_Name_Args, executable_name_size)              \
  X(PJRT_Executable_NumReplicas_Args, num_replicas)               \
  X(PJRT_Executable_NumPartitions_Args, num_partitions)           \
  X(PJRT_Executable_NumOutputs_Args, num_outputs)                 \
  X(PJRT_Executable_SizeOfGeneratedCodeInBytes_Args, size_in_bytes) \
  X(PJRT_Executable_Fingerprint_Args, executable_fingerprint_size) \
  X(PJRT_Executable_OutputElementTypes_Args, num_output_types)    \
  X(PJRT_Executable_OutputDimensions_Args, dim_sizes)             \
  X(PJRT_LoadedExecutable_Destroy_Args, executable)               \
  X(PJRT_LoadedExecutable_GetExecutable_Args, executable)         \
  X(PJRT_LoadedExecutable_AddressableDevices_Args, num_addressable_devices) \
  X(PJRT_LoadedExecutable_Delete_Args, executable)                \
  X(PJRT_LoadedExecutable_IsDeleted_Args, is_deleted)             \
  X(PJRT_LoadedExecutable_Fingerprint_Args, executable_fingerprint_size) \
  X(PJRT_ExecuteOptions, multi_slice_config)                      \
  X(PJRT_LoadedExecutable_Execute_Args, execute_device)           \
  X(PJRT_Buffer_Destroy_Args, buffer)                             \
  X(PJRT_Buffer_ElementType_Args, type)                           \
  X(PJRT_Buffer_Dimensions_Args, num_dims)                        \
  X(PJRT_Buffer_OnDeviceSizeInBytes_Args, on_device_size_in_bytes) \
  X(PJRT_Buffer_Device_Args, device)                              \
  X(PJRT_Buffer_Delete_Args, buffer)                              \
  X(PJRT_Buffer_IsDeleted_Args, is_deleted)                       \
  X(PJRT_Buffer_ToHostBuffer_Args, event)                         \
  X(PJRT_Buffer_IsOnCpu_Args, is_on_cpu)                          \
  X(PJRT_Buffer_ReadyEvent_Args, event)

template <typename T>
struct PjrtStructSize;  // only the structs listed above have a size
#define GRPO_PJRT_DEFINE_STRUCT_SIZE(type, last_field) \
  template <>                                         \
  struct PjrtStructSize<type> {                       \
    static constexpr size_t value = GRPO_PJRT_STRUCT_SIZE(type, last_field); \
  };
GRPO_PJRT_ARGS_STRUCTS(GRPO_PJRT_DEFINE_STRUCT_SIZE)
#undef GRPO_PJRT_DEFINE_STRUCT_SIZE

// The byte offset of slot k in PJRT_Api.
constexpr size_t pjrt_slot_offset(int slot) { return 40 + 8 * static_cast<size_t>(slot); }

#include "pjrt_layout_checks.h"
