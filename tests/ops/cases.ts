// The op test table: every primitive over shapes (scalars, size-0 and size-1 dims, broadcasting through np) and
// dtypes, each case with inputs as host values, the function to run, and its expected result computed in plain JS.
// tests/ops/primitives.test.ts runs it on the reference device; the same table serves to compare other devices
// (cpu, gpu, tpu) against those expectations or against reference.
import { elementwiseCases } from "./cases_elementwise.js";
import { ieeeCases } from "./cases_ieee.js";
import { otherCases } from "./cases_other.js";
import { shapeCases } from "./cases_shape.js";
import { stopGradientCases } from "./cases_stop_gradient.js";
import type { OpCase } from "./case_types.js";

export { type OpCase, type Tolerance, defaultTolerance } from "./case_types.js";

let cached: OpCase[] | undefined;

/** Every op case, in a stable order with unique names. */
export function opCases(): OpCase[] {
  if (cached !== undefined) return cached;
  const all = [...elementwiseCases(), ...shapeCases(), ...otherCases(), ...ieeeCases(), ...stopGradientCases()];
  const seen = new Set<string>();
  for (const c of all) {
    if (seen.has(c.name)) throw new Error(`duplicate op case name: ${c.name}`);
    seen.add(c.name);
  }
  cached = all;
  return all;
}
