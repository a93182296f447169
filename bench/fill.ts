// Benchmark weights filled on the host from a fixed xorshift stream: deterministic, the same on every device, and
// seconds instead of the minutes a seeded on-device threefry init of 1B parameters takes on 2 cores. Matrices get
// uniform values scaled by 1/sqrt(fan in) (the compute of real weights; the values do not matter to the timing),
// norm scales are zero.
import type { Gemma3Config } from "../models/gemma3/config.js";
import { type Gemma3Params, buildParams } from "../models/gemma3/params.js";
import { type DeviceArray, type DeviceKind, np } from "../src/index.js";

export const FILL_NOTE = "weights: deterministic host fill (xorshift uniform / sqrt(fan in)), not a seeded threefry init";

export function hostFilledParams(model: Gemma3Config, device: DeviceKind, dtype: "f32" | "bf16" = "bf16"): Gemma3Params<DeviceArray> {
  let state = 0x9e3779b9;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32 - 0.5;
  };
  const scratch = new Float32Array(1);
  const bits = new Uint16Array(scratch.buffer);
  return buildParams(model, (spec) => {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const scale = spec.kind === "norm" ? 0 : 2 / Math.sqrt(spec.shape[1]!);
    if (dtype === "f32") {
      const data = new Float32Array(size);
      if (scale !== 0) for (let i = 0; i < size; i++) data[i] = next() * scale;
      return np.array(data, { shape: spec.shape, device });
    }
    const data = new Uint16Array(size);
    if (scale !== 0) {
      for (let i = 0; i < size; i++) {
        scratch[0] = next() * scale;
        data[i] = bits[1]!; // the high half of an f32 is its bf16 truncation
      }
    }
    return np.array(data, { dtype: "bf16", shape: spec.shape, device });
  });
}
