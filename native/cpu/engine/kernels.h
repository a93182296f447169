// Elementwise kernels over contiguous arrays, chosen once at compile time per (op, element type).
#pragma once

#include "attrs.h"

namespace grpo::cpu {

using UnaryFn = void (*)(const void* in, void* out, int64_t n);
using BinaryFn = void (*)(const void* a, const void* b, void* out, int64_t n);
// clamp(lo, x, hi): lo and hi advance by lo_step/hi_step elements (0 for a scalar bound, 1 otherwise).
using ClampFn = void (*)(const void* lo, int64_t lo_step, const void* x, const void* hi, int64_t hi_step, void* out,
                         int64_t n);

UnaryFn unary_kernel(ir::OpKind op, DType dtype);    // nullptr when unsupported
BinaryFn binary_kernel(ir::OpKind op, DType dtype);  // nullptr when unsupported
BinaryFn compare_kernel(ir::CompareDirection direction, ir::CompareType type, DType dtype);  // writes bool
UnaryFn convert_kernel(DType from, DType to);
ClampFn clamp_kernel(DType dtype);
// The f32 exp, log and tanh loops (fast_math.h, elementwise.cc), exposed for their accuracy tests and the bench.
void exp_f32_kernel(const void* in, void* out, int64_t n);
void log_f32_kernel(const void* in, void* out, int64_t n);
void tanh_f32_kernel(const void* in, void* out, int64_t n);
// select(pred, a, b) on elements of `elem_size` bytes; pred_step is 0 for a scalar predicate.
void select_kernel(size_t elem_size, const bool* pred, int64_t pred_step, const void* a, const void* b, void* out,
                   int64_t n);

// Fills n elements of `elem_size` bytes with the element at `value`.
void fill_elements(void* out, const void* value, size_t elem_size, int64_t n);

}  // namespace grpo::cpu
