// Gradient checks against central finite differences in one random direction: for f: R^n -> R and a random unit
// direction v, (f(x + h v) - f(x - h v)) / 2h must match <grad f(x), v>. All arithmetic on device is f32, so h is
// large-ish and the tolerance loose; the direction mixes every input, so a wrong entry anywhere shows up.
import { expect } from "vitest";
import { type ArrayBase, type DeviceArray, grad, np } from "../../src/index.js";
import { type HostValue, makeRng } from "../helpers/arrays.js";

export interface GradCheckOptions {
  h?: number;
  rtol?: number;
  atol?: number;
  seed?: number;
}

function toArray(x: HostValue): DeviceArray {
  return np.array(x.data, { dtype: x.dtype, shape: x.shape });
}

async function scalar(x: ArrayBase): Promise<number> {
  const data = await (x as DeviceArray).data();
  return Number(data[0]);
}

/** Checks grad(f) at `inputs` (all f32, all differentiated) against finite differences along a random direction. */
export async function checkGrad(f: (...xs: ArrayBase[]) => ArrayBase, inputs: readonly HostValue[], options: GradCheckOptions = {}): Promise<void> {
  const h = options.h ?? 1e-2;
  const rng = makeRng(options.seed ?? 7);
  const directions = inputs.map((x) => x.data.map(() => rng() * 2 - 1));
  const length = Math.sqrt(directions.flat().reduce((s, d) => s + d * d, 0));
  const unit = directions.map((d) => d.map((v) => v / length));
  const shifted = (sign: number) => inputs.map((x, i) => ({ ...x, data: x.data.map((v, j) => v + sign * h * unit[i]![j]!) }));
  const plus = await scalar(f(...shifted(1).map(toArray)));
  const minus = await scalar(f(...shifted(-1).map(toArray)));
  const numeric = (plus - minus) / (2 * h);
  const argnums = inputs.map((_, i) => i);
  const grads = grad(f, { argnums })(...inputs.map(toArray)) as ArrayBase[];
  let analytic = 0;
  for (let i = 0; i < inputs.length; i++) {
    const g = await (grads[i] as DeviceArray).data();
    for (let j = 0; j < g.length; j++) analytic += Number(g[j]) * unit[i]![j]!;
  }
  const rtol = options.rtol ?? 1e-2;
  const atol = options.atol ?? 1e-4;
  expect(Math.abs(numeric - analytic), `directional derivative: finite differences ${numeric}, gradient ${analytic}`).toBeLessThanOrEqual(
    atol + rtol * Math.abs(numeric),
  );
}
