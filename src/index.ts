// The public API of grpo-xla.
export { jit, Lowered, Compiled, type JitOptions, type Jitted, observeTraces, type TraceListener } from "./transforms/jit.js";
export { type Precision, setDefaultPrecision, getDefaultPrecision } from "./transforms/precision.js";
export type { DotOptions } from "./ops/dot.js";
export { grad, valueAndGrad, vjp, type GradOptions } from "./transforms/autodiff.js";
export { stopGradient } from "./ops/stop_gradient.js";
export * as np from "./lib/np.js";
export * as nn from "./lib/nn.js";
export * as random from "./lib/random.js";
export * as optim from "./lib/optim.js";
export * as lax from "./ops/index.js";
export { whileLoop, forLoop } from "./lib/control.js";
export * as rl from "./rl/index.js";
export { ArrayBase, ScalarConst } from "./core/array_base.js";
export { Aval } from "./core/aval.js";
export type { DType } from "./core/dtype.js";
export { Primitive } from "./core/primitive.js";
export { Program } from "./core/program.js";
export { countFlops, dotGeneralFlops, type FlopCount, type FlopOptions } from "./core/flops.js";
export { Tracer } from "./core/trace.js";
export { ShapeError, TraceError } from "./core/errors.js";
export { DeviceArray, liveArrays, tidy } from "./runtime/array.js";
export {
  Device,
  type DeviceKind,
  getDevice,
  defaultDevice,
  bestDevice,
  setDefaultDevice,
  withDefaultDevice,
  configureDevice,
  closeDevices,
  devicesIdle,
  heldExecutables,
} from "./runtime/device.js";
export { liveBuffers, liveExecutables } from "./runtime/pjrt.js";
export { StablehloVersionError, type StablehloVersions } from "./runtime/stablehlo_version.js";
export type { Feature as StablehloFeature, StablehloVersion } from "../hlo/index.js";
export { availableDevices } from "./runtime/plugins.js";

export * as data from "./data/index.js";
export * as train from "./train/index.js";
export * as models from "../models/index.js";
