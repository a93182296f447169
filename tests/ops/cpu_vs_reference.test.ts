// Every op case on the cpu device (our PJRT plugin, through the real addon client path), eagerly and through
// jit, against the case's expected values and against the reference device; then the gradient program of every
// VJP case on cpu against the same program on reference. At the end nothing may be left alive.
import { describe, it } from "vitest";
import { type ArrayBase, DeviceArray, grad, jit, tidy, withDefaultDevice } from "../../src/index.js";
import type { DeviceKind } from "../../src/runtime/device.js";
import { expectAllclose } from "../helpers/allclose.js";
import { type HostValue, readHost, toDevice } from "../helpers/arrays.js";
import { gradCases } from "../transforms/grad_cases.js";
import type { OpCase } from "./case_types.js";
import { opCases } from "./cases.js";
import { expectResults, expectedList } from "./run_case.js";

function asList(x: ArrayBase | ArrayBase[]): ArrayBase[] {
  return Array.isArray(x) ? x : [x];
}

async function readAndDispose(arrays: readonly ArrayBase[]): Promise<HostValue[]> {
  try {
    return await Promise.all(arrays.map(readHost));
  } finally {
    for (const a of arrays) if (a instanceof DeviceArray) a.dispose();
  }
}

async function run(c: OpCase, inputs: readonly HostValue[], device: DeviceKind, mode: "eager" | "jit"): Promise<HostValue[]> {
  const args = inputs.map((x) => toDevice(x, device));
  try {
    // tidy frees the intermediates of eager evaluation (jit has none on the host side). Eager ops without array
    // operands (iota) run on the default device, so the device is made the default for the call (issue 6.8).
    const out = tidy(() =>
      mode === "eager" ? withDefaultDevice(device, () => c.fn(...args)) : (jit(c.fn, { device, name: c.name })(...args) as ArrayBase | ArrayBase[]),
    );
    const wrong = asList(out).filter((a) => !(a instanceof DeviceArray) || a.device.kind !== device);
    if (wrong.length > 0) throw new Error(`${c.name} [${mode}]: results on ${wrong.map((a) => (a instanceof DeviceArray ? a.device.kind : "no device")).join(", ")}, not ${device}`);
    return await readAndDispose(asList(out));
  } finally {
    for (const a of args) a.dispose();
  }
}

describe("primitives on cpu match expected values and the reference device", () => {
  it.each(opCases().map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const inputs = c.build();
    const expected = expectedList(c, inputs);
    const onReference = await run(c, inputs, "reference", "jit");
    for (const mode of ["jit", "eager"] as const) {
      const onCpu = await run(c, inputs, "cpu", mode);
      expectResults(c, `cpu ${mode}`, onCpu, expected);
      expectResults(c, `cpu ${mode} vs reference`, onCpu, onReference);
    }
  });
});

describe("gradient programs on cpu match the reference device", () => {
  it.each(gradCases().map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const argnums = c.options?.argnums ?? 0;
    const results: Record<string, HostValue[]> = {};
    for (const device of ["reference", "cpu"] as const) {
      const args = c.args().map((x) => toDevice(x, device));
      const g = tidy(() => jit(grad(c.fn, { argnums }), { device })(...args) as ArrayBase | ArrayBase[]);
      results[device] = await readAndDispose(asList(g));
      for (const a of args) a.dispose();
    }
    results.cpu!.forEach((value, i) => {
      expectAllclose(value.data, results.reference![i]!.data, { rtol: 1e-4, atol: 1e-5 });
    });
  });
});
