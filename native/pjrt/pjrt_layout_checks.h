// Compile-time checks of our PJRT declarations against the ABI facts (/work/shared/facts/pjrt.md).
// Included at the end of pjrt_c_api.h, so every translation unit that uses the API re-checks them.
#pragma once

#include <cstddef>

namespace grpo::pjrt_layout {

#define GRPO_CHECK_OFFSET(type, field, offset) \
  static_assert(offsetof(type, field) == (offset), #type "." #field " must be at byte " #offset)
#define GRPO_CHECK_SIZE(type, last_field, size) \
  static_assert(GRPO_PJRT_STRUCT_SIZE(type, last_field) == (size), #type " struct_size must be " #size)

// PJRT_Api: the version lives at 16 (major at 32, minor at 36), slot k at 40 + 8k.
GRPO_CHECK_OFFSET(PJRT_Api, pjrt_api_version, 16);
static_assert(offsetof(PJRT_Api, pjrt_api_version) + offsetof(PJRT_Api_Version, major_version) == 32);
static_assert(offsetof(PJRT_Api, pjrt_api_version) + offsetof(PJRT_Api_Version, minor_version) == 36);
GRPO_CHECK_OFFSET(PJRT_Api, PJRT_Error_Destroy, 40);
GRPO_CHECK_OFFSET(PJRT_Api, PJRT_Error_Message, 48);
#define GRPO_CHECK_SLOT(index, name, args_type)                       \
  static_assert(offsetof(PJRT_Api, PJRT_##name) == pjrt_slot_offset(index), \
                "PJRT_" #name " must be slot " #index);
GRPO_PJRT_API_SLOTS(GRPO_CHECK_SLOT)
#undef GRPO_CHECK_SLOT
static_assert(sizeof(PJRT_Api) == pjrt_slot_offset(kPjrtApiNumSlots), "PJRT_Api has one pointer per slot");

// Named values.
GRPO_CHECK_OFFSET(PJRT_NamedValue, name, 16);
GRPO_CHECK_OFFSET(PJRT_NamedValue, name_size, 24);
GRPO_CHECK_OFFSET(PJRT_NamedValue, type, 32);
GRPO_CHECK_OFFSET(PJRT_NamedValue, int64_value, 40);
GRPO_CHECK_OFFSET(PJRT_NamedValue, value_size, 48);
GRPO_CHECK_SIZE(PJRT_NamedValue, value_size, 56);

// Errors.
GRPO_CHECK_SIZE(PJRT_Error_Message_Args, message_size, 40);
GRPO_CHECK_SIZE(PJRT_Error_GetCode_Args, code, 28);
GRPO_CHECK_SIZE(PJRT_Error_Destroy_Args, error, 24);

// Plugin and events.
GRPO_CHECK_SIZE(PJRT_Plugin_Initialize_Args, extension_start, 16);
GRPO_CHECK_SIZE(PJRT_Plugin_Attributes_Args, num_attributes, 32);
GRPO_CHECK_SIZE(PJRT_Event_OnReady_Args, user_arg, 40);
GRPO_CHECK_SIZE(PJRT_Event_IsReady_Args, is_ready, 25);

// Client.
GRPO_CHECK_OFFSET(PJRT_Client_Create_Args, client, 64);
GRPO_CHECK_SIZE(PJRT_Client_Create_Args, kv_try_get_user_arg, 88);
GRPO_CHECK_SIZE(PJRT_Client_PlatformName_Args, platform_name_size, 40);
GRPO_CHECK_SIZE(PJRT_Client_AddressableDevices_Args, num_addressable_devices, 40);
GRPO_CHECK_SIZE(PJRT_Program, format_size, 48);
GRPO_CHECK_SIZE(PJRT_Client_Compile_Args, executable, 56);
GRPO_CHECK_OFFSET(PJRT_Client_BufferFromHostBuffer_Args, type, 32);
GRPO_CHECK_OFFSET(PJRT_Client_BufferFromHostBuffer_Args, dims, 40);
GRPO_CHECK_OFFSET(PJRT_Client_BufferFromHostBuffer_Args, byte_strides, 56);
GRPO_CHECK_OFFSET(PJRT_Client_BufferFromHostBuffer_Args, host_buffer_semantics, 72);
GRPO_CHECK_OFFSET(PJRT_Client_BufferFromHostBuffer_Args, device, 80);
GRPO_CHECK_OFFSET(PJRT_Client_BufferFromHostBuffer_Args, memory, 88);
GRPO_CHECK_OFFSET(PJRT_Client_BufferFromHostBuffer_Args, device_layout, 96);
GRPO_CHECK_OFFSET(PJRT_Client_BufferFromHostBuffer_Args, done_with_host_buffer, 104);
GRPO_CHECK_OFFSET(PJRT_Client_BufferFromHostBuffer_Args, buffer, 112);
GRPO_CHECK_SIZE(PJRT_Client_BufferFromHostBuffer_Args, buffer, 120);

// Layouts (the tiled form is the larger union member).
GRPO_CHECK_SIZE(PJRT_Buffer_MemoryLayout_Tiled, num_tiles, 56);
GRPO_CHECK_SIZE(PJRT_Buffer_MemoryLayout_Strides, num_byte_strides, 32);
GRPO_CHECK_OFFSET(PJRT_Buffer_MemoryLayout, type, 72);
GRPO_CHECK_SIZE(PJRT_Buffer_MemoryLayout, type, 76);

// Devices.
GRPO_CHECK_SIZE(PJRT_DeviceDescription_Kind_Args, value_size, 40);
GRPO_CHECK_SIZE(PJRT_DeviceDescription_Attributes_Args, attributes, 40);
GRPO_CHECK_OFFSET(PJRT_Device_MemoryStats_Args, bytes_in_use, 24);
GRPO_CHECK_OFFSET(PJRT_Device_MemoryStats_Args, peak_bytes_in_use, 32);
GRPO_CHECK_OFFSET(PJRT_Device_MemoryStats_Args, peak_bytes_in_use_is_set, 40);
GRPO_CHECK_SIZE(PJRT_Device_MemoryStats_Args, peak_pool_bytes_is_set, 185);

// Executables.
GRPO_CHECK_OFFSET(PJRT_ExecuteOptions, launch_id, 48);
GRPO_CHECK_OFFSET(PJRT_ExecuteOptions, non_donatable_input_indices, 56);
GRPO_CHECK_OFFSET(PJRT_ExecuteOptions, num_non_donatable_input_indices, 64);
GRPO_CHECK_OFFSET(PJRT_ExecuteOptions, context, 72);
GRPO_CHECK_SIZE(PJRT_ExecuteOptions, multi_slice_config, 120);
GRPO_CHECK_OFFSET(PJRT_LoadedExecutable_Execute_Args, argument_lists, 32);
GRPO_CHECK_OFFSET(PJRT_LoadedExecutable_Execute_Args, output_lists, 56);
GRPO_CHECK_SIZE(PJRT_LoadedExecutable_Execute_Args, execute_device, 80);
GRPO_CHECK_SIZE(PJRT_Executable_NumOutputs_Args, num_outputs, 32);
GRPO_CHECK_SIZE(PJRT_Executable_OutputDimensions_Args, dim_sizes, 48);
GRPO_CHECK_SIZE(PJRT_LoadedExecutable_GetExecutable_Args, executable, 32);

// Buffers.
GRPO_CHECK_SIZE(PJRT_Buffer_ToHostBuffer_Args, event, 56);
GRPO_CHECK_SIZE(PJRT_Buffer_Dimensions_Args, num_dims, 40);
GRPO_CHECK_SIZE(PJRT_Buffer_ElementType_Args, type, 28);

#undef GRPO_CHECK_OFFSET
#undef GRPO_CHECK_SIZE

}  // namespace grpo::pjrt_layout
