// Running an op case on a device, eagerly (one dispatch per primitive) or through jit (one program), and
// comparing against its expected values with the case's tolerance, or bit for bit.
import { type ArrayBase, DeviceArray, jit, tidy, withDefaultDevice } from "../../src/index.js";
import type { DeviceKind } from "../../src/runtime/device.js";
import { allcloseMismatch, bitsMismatch } from "../helpers/allclose.js";
import { type HostValue, readAndDispose, toDevice } from "../helpers/arrays.js";
import { type OpCase, defaultTolerance } from "./case_types.js";

export type RunMode = "eager" | "jit";

function asList<T>(x: T | readonly T[]): T[] {
  return Array.isArray(x) ? [...(x as T[])] : [x as T];
}

/** Applies the case's function to device copies of `inputs`, checks every result came from `device`, and reads
 * the results back; the copies, the results and every eager intermediate are freed. */
export async function runCase(c: OpCase, inputs: readonly HostValue[], device: DeviceKind, mode: RunMode): Promise<HostValue[]> {
  const args = inputs.map((x) => toDevice(x, device));
  try {
    // Eager ops without array operands (iota) run on the default device, so the device is made the default for
    // the call (issue 6.8).
    const out = tidy(() =>
      asList(mode === "eager" ? withDefaultDevice(device, () => c.fn(...args)) : (jit(c.fn, { device, name: c.name })(...args) as ArrayBase | ArrayBase[])),
    );
    const wrong = out.filter((a) => !(a instanceof DeviceArray) || a.device.kind !== device);
    if (wrong.length > 0) {
      disposeAll(out);
      throw new Error(`${c.name} [${mode}]: results on ${wrong.map((a) => (a instanceof DeviceArray ? a.device.kind : "no device")).join(", ")}, not ${device}`);
    }
    return await readAndDispose(out);
  } finally {
    disposeAll(args);
  }
}

function disposeAll(arrays: readonly ArrayBase[]): void {
  for (const a of arrays) if (a instanceof DeviceArray) a.dispose();
}

/** Throws naming the case, the output and the first mismatching element. */
export function expectResults(c: OpCase, label: string, actual: readonly HostValue[], expected: readonly HostValue[]): void {
  const where = `${c.name} [${label}]`;
  if (actual.length !== expected.length) throw new Error(`${where}: ${actual.length} outputs, expected ${expected.length}`);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    if (a.dtype !== e.dtype || a.shape.join(",") !== e.shape.join(",")) {
      throw new Error(`${where}: output ${i} is ${a.dtype}[${a.shape}], expected ${e.dtype}[${e.shape}]`);
    }
    const tolerance = c.tolerance ?? defaultTolerance(e.dtype);
    const mismatch = c.bitExact ? bitsMismatch(a.data, e.data, e.dtype, e.shape) : allcloseMismatch(a.data, e.data, { ...tolerance, shape: e.shape });
    if (mismatch !== undefined) throw new Error(`${where}: output ${i} (${e.dtype}[${e.shape}]): ${mismatch}`);
  });
}

export function expectedList(c: OpCase, inputs: readonly HostValue[]): HostValue[] {
  return asList(c.expected(inputs));
}
