// Tolerances for comparing a device's f32 matmul results with an f32 oracle, by device kind and dot precision.
// Devices are allowed to multiply less exactly than asked only below HIGHEST: on TPU, DEFAULT rounds f32
// operands to bf16 (8-bit mantissa, relative error up to 2^-9 per product, so a K-term sum can drift by about
// 2^-8 relative to its scale); HIGH splits each operand into bf16 pieces (about 2^-16); HIGHEST is f32. Recent
// NVIDIA GPUs run DEFAULT and HIGH f32 dots on TF32 tensor cores (10-bit mantissa, 2^-11). The reference device and our
// CPU plugin always compute in f32 (HIGHEST), so their tolerance is that of f32 summation alone.
import type { Precision } from "../../src/index.js";
import type { DeviceKind } from "../../src/runtime/device.js";
import type { AllcloseOptions } from "./allclose.js";

const F32: AllcloseOptions = { rtol: 1e-5, atol: 1e-6 };

const TABLE: Record<DeviceKind, Record<Precision, AllcloseOptions>> = {
  reference: { default: F32, high: F32, highest: F32 },
  cpu: { default: F32, high: F32, highest: F32 },
  gpu: { default: { rtol: 2e-3, atol: 2e-3 }, high: { rtol: 2e-3, atol: 2e-3 }, highest: F32 },
  tpu: { default: { rtol: 1e-2, atol: 1e-2 }, high: { rtol: 1e-4, atol: 1e-5 }, highest: F32 },
};

/** allclose options for an f32 dot result computed on `device` at `precision` (operands of order 1). */
export function dotTolerance(device: DeviceKind, precision: Precision): AllcloseOptions {
  return TABLE[device][precision];
}
