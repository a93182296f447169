// Buffers of our CPU PJRT plugin: host-to-device (always a copy, done before the call returns; byte strides
// honoured), device-to-host (a job on the client's worker), shape queries, delete/destroy. Device memory is an
// engine Storage block, shared with the engine's tensors; an execution's outputs get theirs when it finishes.
#include <cstring>
#include <string>
#include <vector>

#include "plugin_internal.h"

namespace grpo::cpu::plugin {

PJRT_Buffer* new_buffer(TensorType type, std::shared_ptr<BufferValue> value, PJRT_Device* device) {
  auto* buffer = new PJRT_Buffer();
  buffer->type = std::move(type);
  buffer->value = std::move(value);
  buffer->device = device;
  return buffer;
}

namespace {

// The value of a live buffer (possibly still being computed), or an error saying it was deleted or donated.
std::shared_ptr<BufferValue> live_value(PJRT_Buffer* buffer, const char* function) {
  std::lock_guard<std::mutex> lock(buffer_state_mutex());
  if (buffer->deleted || buffer->value == nullptr) {
    throw std::invalid_argument(std::string(function) +
                                ": the buffer was deleted or donated to an execution and can no longer be used");
  }
  return buffer->value;
}

std::vector<int64_t> dense_byte_strides(const std::vector<int64_t>& dims, size_t element_size) {
  std::vector<int64_t> strides(dims.size());
  int64_t stride = static_cast<int64_t>(element_size);
  for (size_t i = dims.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= dims[i];
  }
  return strides;
}

// Copies a strided host array into dense row-major storage, one element at a time (strides may be negative).
void gather_strided(const uint8_t* source, const std::vector<int64_t>& dims, const int64_t* byte_strides,
                    size_t element_size, uint8_t* destination) {
  std::vector<int64_t> index(dims.size(), 0);
  int64_t count = 1;
  for (int64_t dim : dims) count *= dim;
  int64_t offset = 0;  // byte offset of `index` in the source
  for (int64_t element = 0; element < count; ++element) {
    std::memcpy(destination + element * element_size, source + offset, element_size);
    for (size_t axis = dims.size(); axis-- > 0;) {  // odometer increment, last axis fastest
      offset += byte_strides[axis];
      if (++index[axis] < dims[axis]) break;
      offset -= byte_strides[axis] * dims[axis];
      index[axis] = 0;
    }
  }
}

// Accepts no layout, a tiled layout without tiles whose minor-to-major order is row-major, or dense strides.
bool is_row_major(const PJRT_Buffer_MemoryLayout* layout, const std::vector<int64_t>& dims, size_t element_size) {
  if (layout == nullptr) return true;
  size_t rank = dims.size();
  if (layout->type == PJRT_Buffer_MemoryLayout_Type_Tiled) {
    const PJRT_Buffer_MemoryLayout_Tiled& tiled = layout->tiled;
    if (tiled.num_tiles != 0 || tiled.minor_to_major_size != rank) return false;
    for (size_t i = 0; i < rank; ++i) {
      if (tiled.minor_to_major[i] != static_cast<int64_t>(rank - 1 - i)) return false;
    }
    return true;
  }
  if (layout->type == PJRT_Buffer_MemoryLayout_Type_Strides) {
    if (layout->strides.num_byte_strides != rank) return false;
    std::vector<int64_t> dense = dense_byte_strides(dims, element_size);
    for (size_t i = 0; i < rank; ++i) {
      if (dims[i] > 1 && layout->strides.byte_strides[i] != dense[i]) return false;
    }
    return true;
  }
  return false;
}

PJRT_Error* Client_BufferFromHostBuffer(PJRT_Client_BufferFromHostBuffer_Args* args) {
  const char* function = "PJRT_Client_BufferFromHostBuffer";
  return guarded(function, args, GRPO_PJRT_STRUCT_SIZE(PJRT_Client_BufferFromHostBuffer_Args, buffer), [&] {
    DType dtype;
    if (!dtype_from_pjrt(args->type, &dtype)) {
      return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                        std::string(function) + ": element type " + std::to_string(args->type) +
                            " is not supported by the grpo-xla CPU plugin (supported: PRED, S32, S64, U32, F32, BF16)");
    }
    if (args->memory != nullptr) {
      return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                        std::string(function) + ": memory spaces are not supported; pass the device instead");
    }
    TensorType type;
    type.dtype = dtype;
    type.dims.assign(args->dims, args->dims + args->num_dims);
    std::string size_error = tensor_size_error(type);
    if (!size_error.empty()) return make_error(PJRT_Error_Code_INVALID_ARGUMENT, std::string(function) + ": " + size_error);
    size_t element_size = dtype_size(dtype);
    if (!is_row_major(args->device_layout, type.dims, element_size)) {
      return make_error(PJRT_Error_Code_UNIMPLEMENTED,
                        std::string(function) + ": only a dense row-major device layout is supported");
    }
    if (args->byte_strides != nullptr && args->num_byte_strides != args->num_dims) {
      return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                        std::string(function) + ": num_byte_strides must equal num_dims");
    }
    size_t bytes = type.byte_size();
    if (bytes > 0 && args->data == nullptr) {
      return make_error(PJRT_Error_Code_INVALID_ARGUMENT, std::string(function) + ": data is null");
    }
    // Not zero-filled: the copy below writes every byte.
    auto storage = std::make_shared<Storage>(bytes, Storage::Uninitialized{});
    const auto* source = static_cast<const uint8_t*>(args->data);
    if (bytes > 0) {
      bool dense = args->byte_strides == nullptr ||
                   std::vector<int64_t>(args->byte_strides, args->byte_strides + args->num_byte_strides) ==
                       dense_byte_strides(type.dims, element_size);
      if (dense) {
        std::memcpy(storage->data(), source, bytes);
      } else {
        gather_strided(source, type.dims, args->byte_strides, element_size, static_cast<uint8_t*>(storage->data()));
      }
    }
    // The data was copied during the call, whatever semantics the caller asked for.
    PJRT_Device* device = args->device != nullptr ? args->device : &args->client->device;
    auto value = std::make_shared<BufferValue>(BufferValue{EventState::completed(), std::move(storage)});
    args->buffer = new_buffer(std::move(type), std::move(value), device);
    args->done_with_host_buffer = new_ready_event();
    return static_cast<PJRT_Error*>(nullptr);
  });
}

PJRT_Error* Buffer_Destroy(PJRT_Buffer_Destroy_Args* args) {
  return guarded("PJRT_Buffer_Destroy", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Buffer_Destroy_Args, buffer), [&] {
    if (args->buffer != nullptr) {
      std::shared_ptr<BufferValue> released;  // freed outside the lock (an execution in flight keeps its own)
      {
        std::lock_guard<std::mutex> lock(buffer_state_mutex());
        released = std::move(args->buffer->value);
      }
      delete args->buffer;
    }
    return static_cast<PJRT_Error*>(nullptr);
  });
}

PJRT_Error* Buffer_Delete(PJRT_Buffer_Delete_Args* args) {
  return guarded("PJRT_Buffer_Delete", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Buffer_Delete_Args, buffer), [&] {
    std::shared_ptr<BufferValue> released;
    {
      std::lock_guard<std::mutex> lock(buffer_state_mutex());
      released = std::move(args->buffer->value);
      args->buffer->deleted = true;
    }
    return static_cast<PJRT_Error*>(nullptr);
  });
}

PJRT_Error* Buffer_IsDeleted(PJRT_Buffer_IsDeleted_Args* args) {
  return guarded("PJRT_Buffer_IsDeleted", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Buffer_IsDeleted_Args, is_deleted), [&] {
    std::lock_guard<std::mutex> lock(buffer_state_mutex());
    args->is_deleted = args->buffer->deleted;
    return static_cast<PJRT_Error*>(nullptr);
  });
}

PJRT_Error* Buffer_ElementType(PJRT_Buffer_ElementType_Args* args) {
  return guarded("PJRT_Buffer_ElementType", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Buffer_ElementType_Args, type), [&] {
    args->type = dtype_to_pjrt(args->buffer->type.dtype);
    return static_cast<PJRT_Error*>(nullptr);
  });
}

// Dimensions and UnpaddedDimensions answer the same: our buffers are never padded.
template <typename Args>
PJRT_Error* buffer_dimensions(Args* args, const char* function) {
  return guarded(function, args, GRPO_PJRT_STRUCT_SIZE(Args, num_dims), [&] {
    args->dims = args->buffer->type.dims.data();
    args->num_dims = args->buffer->type.dims.size();
    return static_cast<PJRT_Error*>(nullptr);
  });
}

PJRT_Error* Buffer_Dimensions(PJRT_Buffer_Dimensions_Args* args) {
  return buffer_dimensions(args, "PJRT_Buffer_Dimensions");
}

PJRT_Error* Buffer_UnpaddedDimensions(PJRT_Buffer_UnpaddedDimensions_Args* args) {
  return buffer_dimensions(args, "PJRT_Buffer_UnpaddedDimensions");
}

PJRT_Error* Buffer_OnDeviceSizeInBytes(PJRT_Buffer_OnDeviceSizeInBytes_Args* args) {
  return guarded("PJRT_Buffer_OnDeviceSizeInBytes", args,
                 GRPO_PJRT_STRUCT_SIZE(PJRT_Buffer_OnDeviceSizeInBytes_Args, on_device_size_in_bytes), [&] {
                   args->on_device_size_in_bytes = args->buffer->type.byte_size();
                   return static_cast<PJRT_Error*>(nullptr);
                 });
}

PJRT_Error* Buffer_Device(PJRT_Buffer_Device_Args* args) {
  return guarded("PJRT_Buffer_Device", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Buffer_Device_Args, device), [&] {
    args->device = args->buffer->device;
    return static_cast<PJRT_Error*>(nullptr);
  });
}

PJRT_Error* Buffer_IsOnCpu(PJRT_Buffer_IsOnCpu_Args* args) {
  return guarded("PJRT_Buffer_IsOnCpu", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Buffer_IsOnCpu_Args, is_on_cpu), [&] {
    args->is_on_cpu = true;
    return static_cast<PJRT_Error*>(nullptr);
  });
}

PJRT_Error* Buffer_ReadyEvent(PJRT_Buffer_ReadyEvent_Args* args) {
  return guarded("PJRT_Buffer_ReadyEvent", args, GRPO_PJRT_STRUCT_SIZE(PJRT_Buffer_ReadyEvent_Args, event), [&] {
    std::shared_ptr<EventState> state;
    {
      std::lock_guard<std::mutex> lock(buffer_state_mutex());
      if (!args->buffer->deleted && args->buffer->value != nullptr) state = args->buffer->value->ready;
    }
    // As with other plugins: a deleted or donated buffer's event carries an error.
    if (state == nullptr) {
      state = EventState::completed(PJRT_Error_Code_FAILED_PRECONDITION,
                                    "PJRT_Buffer_ReadyEvent: the buffer was deleted or donated");
    }
    args->event = new_event(std::move(state));
    return static_cast<PJRT_Error*>(nullptr);
  });
}

PJRT_Error* Buffer_ToHostBuffer(PJRT_Buffer_ToHostBuffer_Args* args) {
  const char* function = "PJRT_Buffer_ToHostBuffer";
  return guarded(function, args, GRPO_PJRT_STRUCT_SIZE(PJRT_Buffer_ToHostBuffer_Args, event), [&] {
    const TensorType& type = args->src->type;
    size_t bytes = type.byte_size();
    if (!is_row_major(args->host_layout, type.dims, dtype_size(type.dtype))) {
      return make_error(PJRT_Error_Code_UNIMPLEMENTED,
                        std::string(function) + ": only a dense row-major host layout is supported");
    }
    if (args->dst == nullptr) {  // a size query
      args->dst_size = bytes;
      return static_cast<PJRT_Error*>(nullptr);
    }
    if (args->dst_size < bytes) {
      return make_error(PJRT_Error_Code_INVALID_ARGUMENT,
                        std::string(function) + ": dst_size " + std::to_string(args->dst_size) + " is smaller than the " +
                            std::to_string(bytes) + " bytes of " + type.to_string());
    }
    // The copy is a job on the client's worker, as a device's transfers are stream operations: it runs after
    // the executions launched before it (the one computing this value among them) and before those launched
    // after it (one donating this buffer, say), and the caller's thread never copies. A failed execution's
    // error reaches the reader.
    std::shared_ptr<BufferValue> value = live_value(args->src, function);
    std::shared_ptr<Storage> computed;  // taken now: a donation launched after this call must not take it
    {
      std::lock_guard<std::mutex> lock(buffer_state_mutex());
      computed = value->storage;
    }
    auto copied = std::make_shared<EventState>();
    void* destination = args->dst;
    args->src->device->client->queue->submit([value, computed, copied, destination, bytes, function] {
      value->ready->wait();  // already complete: its execution was queued before this job
      std::shared_ptr<Storage> storage = computed;
      if (storage == nullptr && value->ready->code() == PJRT_Error_Code_OK) {
        std::lock_guard<std::mutex> lock(buffer_state_mutex());
        storage = value->storage;
      }
      if (value->ready->code() != PJRT_Error_Code_OK) {
        copied->complete(value->ready->code(), value->ready->message());
      } else if (storage == nullptr) {
        copied->complete(PJRT_Error_Code_FAILED_PRECONDITION,
                         std::string(function) + ": the buffer was donated to an execution before it could be read");
      } else {
        if (bytes > 0) std::memcpy(destination, storage->data(), bytes);
        copied->complete(PJRT_Error_Code_OK);
      }
    });
    args->event = new_event(std::move(copied));
    return static_cast<PJRT_Error*>(nullptr);
  });
}

}  // namespace

void install_buffer_slots(PJRT_Api& api) {
  api.PJRT_Client_BufferFromHostBuffer = Client_BufferFromHostBuffer;
  api.PJRT_Buffer_Destroy = Buffer_Destroy;
  api.PJRT_Buffer_Delete = Buffer_Delete;
  api.PJRT_Buffer_IsDeleted = Buffer_IsDeleted;
  api.PJRT_Buffer_ElementType = Buffer_ElementType;
  api.PJRT_Buffer_Dimensions = Buffer_Dimensions;
  api.PJRT_Buffer_UnpaddedDimensions = Buffer_UnpaddedDimensions;
  api.PJRT_Buffer_OnDeviceSizeInBytes = Buffer_OnDeviceSizeInBytes;
  api.PJRT_Buffer_Device = Buffer_Device;
  api.PJRT_Buffer_IsOnCpu = Buffer_IsOnCpu;
  api.PJRT_Buffer_ReadyEvent = Buffer_ReadyEvent;
  api.PJRT_Buffer_ToHostBuffer = Buffer_ToHostBuffer;
}

}  // namespace grpo::cpu::plugin
