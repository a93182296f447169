// Every op case on the cpu device (our PJRT plugin, through the real addon client path), eagerly and through
// jit, against the case's expected values and against the reference device; then the gradient of every VJP case
// on cpu, eagerly and through jit, against finite differences and against the reference device's gradient. The
// shared setup checks at the end of the file that nothing is left alive.
import { describe, expect, it } from "vitest";
import { expectAllclose } from "../helpers/allclose.js";
import { checkGrad, gradientsOn } from "../helpers/grad_check.js";
import { gradCases } from "../transforms/grad_cases.js";
import { opCases } from "./cases.js";
import { expectResults, expectedList, runCase as run } from "./run_case.js";

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

describe("gradients on cpu, eager and jit, match finite differences and the reference device (issue 6.7)", () => {
  it.each(gradCases().map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const argnums = c.options?.argnums ?? 0;
    const list = typeof argnums === "number" ? [argnums] : [...argnums];
    // checkGrad computes the gradient on cpu in both modes (count, dtype, shape, finiteness, agreement) and
    // checks it against finite differences of f.
    const { gradients: onCpu } = await checkGrad(c.fn, c.args(), { ...c.options, device: "cpu" });
    const onReference = await gradientsOn(c.fn, c.args(), list, "reference", "jit");
    expect(onCpu.length).toBe(onReference.length);
    onReference.forEach((r, i) => {
      expect(`${onCpu[i]!.dtype}[${onCpu[i]!.shape}]`).toBe(`${r.dtype}[${r.shape}]`);
      expectAllclose(onCpu[i]!.data, r.data, { rtol: 1e-5, atol: 1e-6 }, `gradient ${i}`);
    });
  });
});
