// A user-level while loop for tests. The library's lax.whileLoop takes already traced Programs (cond and body,
// each taking its captured constants followed by the carry); nothing public traces JS functions into them, so this
// helper does it with the core tracing API. Values from enclosing traces or concrete arrays that cond/body use
// become the programs' captured constants.
import { type ArrayBase, lax } from "../../src/index.js";
import { Aval } from "../../src/core/aval.js";
import { type ClosedProgram, withNewTrace } from "../../src/core/trace.js";

/** Traces `fn` on fresh arguments of these avals. */
export function traceProgram(label: string, fn: (...args: ArrayBase[]) => ArrayBase | ArrayBase[], avals: readonly Aval[]): ClosedProgram {
  return withNewTrace(label, (trace) => {
    const args = avals.map((a) => trace.newArgument(a));
    const out = fn(...args);
    return trace.finish(Array.isArray(out) ? out : [out]);
  });
}

/** while cond(carry): carry = body(carry); returns the final carry. */
export function whileLoop(
  cond: (...carry: ArrayBase[]) => ArrayBase,
  body: (...carry: ArrayBase[]) => ArrayBase[],
  init: readonly ArrayBase[],
): ArrayBase[] {
  const avals = init.map((x) => new Aval(x.shape, x.dtype));
  const c = traceProgram("while cond", cond, avals);
  const b = traceProgram("while body", body, avals);
  return lax.whileLoop(c.program, c.consts, b.program, b.consts, init);
}
