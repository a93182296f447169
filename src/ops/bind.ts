// Applying a primitive: check shapes with its rule, then either record it in the innermost trace or run it now
// on the device its operands live on.
import { ArrayBase, ScalarConst } from "../core/array_base.js";
import { TraceError } from "../core/errors.js";
import type { Params, Primitive } from "../core/primitive.js";
import { Tracer, currentTrace } from "../core/trace.js";
import { evalEager } from "../transforms/eager.js";
import { primitiveTable } from "./registry.js";

export function bind<P extends Primitive>(primitive: P, inputs: readonly ArrayBase[], params: Params<P>): ArrayBase[] {
  const def = primitiveTable()[primitive];
  const outAvals = def.abstractEval(
    inputs.map((x) => x.aval),
    params,
  );
  const trace = currentTrace();
  if (trace !== undefined) return trace.add(primitive, params, inputs, outAvals);
  for (const x of inputs) {
    if (x instanceof Tracer) {
      throw new TraceError(
        `${primitive}: a traced value (${x.aval}) from a finished ${x.trace.label} trace was used outside it; ` +
          `return it from the traced function instead of storing it`,
      );
    }
  }
  return evalEager(primitive, params, inputs, outAvals);
}

export function bind1<P extends Primitive>(primitive: P, inputs: readonly ArrayBase[], params: Params<P>): ArrayBase {
  return bind(primitive, inputs, params)[0]!;
}

/** Turns a JS number into a scalar of `dtype`; arrays pass through. */
export function asArray(x: ArrayBase | number, dtype: ArrayBase["dtype"]): ArrayBase {
  return x instanceof ArrayBase ? x : new ScalarConst(x, dtype);
}
