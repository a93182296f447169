// The bridge from host tensors to tfjs-core (cpu backend), which the reference device computes on. dtypes tfjs
// lacks are mapped: bf16 computes as f32 and rounds back; u32/i64 never reach tfjs (their rules use loops).
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import type { DType } from "../core/dtype.js";
import { bf16BitsToF32, f32ToBf16Bits } from "../core/dtype.js";
import { type HostTensor, hostTensor } from "../runtime/host.js";

let initialised = false;

function init(): void {
  if (initialised) return;
  // PROD silences tfjs's console advice about its native Node backend, which this project does not use.
  tf.env().set("PROD", true);
  void tf.setBackend("cpu");
  initialised = true;
}

export { tf };

/** Whether tfjs can hold this dtype (possibly via f32 for bf16). */
export function tfSupports(dtype: DType): boolean {
  return dtype === "f32" || dtype === "bf16" || dtype === "i32" || dtype === "bool";
}

export function toTf(t: HostTensor): tf.Tensor {
  init();
  const shape = [...t.shape];
  switch (t.dtype) {
    case "f32":
      return tf.tensor(t.data as Float32Array, shape, "float32");
    case "bf16": {
      const bits = t.data as Uint16Array;
      const f = new Float32Array(bits.length);
      for (let i = 0; i < bits.length; i++) f[i] = bf16BitsToF32(bits[i]!);
      return tf.tensor(f, shape, "float32");
    }
    case "i32":
      return tf.tensor(t.data as Int32Array, shape, "int32");
    case "bool":
      return tf.tensor(t.data as Uint8Array, shape, "bool");
    default:
      throw new TypeError(`reference: tfjs cannot hold ${t.dtype} tensors`);
  }
}

/** Reads a tfjs tensor back (and disposes it) as a host tensor of `dtype`. */
export function fromTf(x: tf.Tensor, dtype: DType): HostTensor {
  const values = x.dataSync();
  const shape = x.shape;
  x.dispose();
  switch (dtype) {
    case "f32":
      return hostTensor("f32", shape, Float32Array.from(values as ArrayLike<number>));
    case "bf16": {
      const out = new Uint16Array(values.length);
      for (let i = 0; i < values.length; i++) out[i] = f32ToBf16Bits(values[i] as number);
      return hostTensor("bf16", shape, out);
    }
    case "i32":
      return hostTensor("i32", shape, Int32Array.from(values as ArrayLike<number>));
    case "bool":
      return hostTensor("bool", shape, Uint8Array.from(values as ArrayLike<number>));
    default:
      throw new TypeError(`reference: cannot read a tfjs tensor as ${dtype}`);
  }
}

/** Runs `fn` on tfjs tensors made from `inputs`, freeing every intermediate, and returns the result as `dtype`. */
export function withTf(inputs: readonly HostTensor[], dtype: DType, fn: (...xs: tf.Tensor[]) => tf.Tensor): HostTensor {
  init();
  const result = tf.tidy(() => fn(...inputs.map(toTf)));
  return fromTf(result, dtype);
}

/** Runs a data-movement op (no arithmetic) on tfjs for any 32-bit-or-smaller dtype: u32 travels as i32 bits,
 * bf16 as exact f32 values. */
export function moveWithTf(inputs: readonly HostTensor[], dtype: DType, fn: (...xs: tf.Tensor[]) => tf.Tensor): HostTensor {
  const asTf = (t: HostTensor): HostTensor =>
    t.dtype === "u32" ? { dtype: "i32", shape: t.shape, data: new Int32Array(t.data.buffer, t.data.byteOffset, t.data.length) } : t;
  if (dtype === "i64" || inputs.some((t) => t.dtype === "i64")) {
    throw new TypeError("reference: i64 arrays are not supported by data-movement ops");
  }
  const result = withTf(inputs.map(asTf), dtype === "u32" ? "i32" : dtype, fn);
  if (dtype !== "u32") return result;
  const data = result.data as Int32Array;
  return hostTensor("u32", result.shape, new Uint32Array(data.buffer, data.byteOffset, data.length));
}
