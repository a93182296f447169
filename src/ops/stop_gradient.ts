// stop_gradient: the identity on values whose cotangent is zero. Losses that need a quantity's value without its
// derivative (GRPO's ratio exp(logp - stop_gradient(logp)) at mu = 1, a frozen KL reference) are written with it.
import type { ArrayBase } from "../core/array_base.js";
import { Primitive } from "../core/primitive.js";
import { hostTensor } from "../runtime/host.js";
import { bind1 } from "./bind.js";
import type { PrimitiveDef } from "./types.js";

/** `x` itself as a value; differentiation sees a constant. Any dtype. */
export function stopGradient(x: ArrayBase): ArrayBase {
  return bind1(Primitive.StopGradient, [x], {});
}

export const stopGradientDefs = {
  [Primitive.StopGradient]: {
    abstractEval([x]) {
      return [x!];
    },
    // A zero cotangent, not "no derivative": differentiating through it is legal and contributes nothing.
    vjp: ({ needs }) => needs.map(() => null),
    // Nothing to emit: after differentiation the value is an ordinary alias of its operand (the cpu engine copies
    // a returned argument, so an eager result never shares its operand's buffer).
    lower(_ctx, [x]) {
      return [x!];
    },
    // A copy, so that the result and the operand never share storage on the reference device either.
    reference([x]) {
      return [hostTensor(x!.dtype, x!.shape, x!.data.slice())];
    },
  },
} satisfies { [Primitive.StopGradient]: PrimitiveDef<Primitive.StopGradient> };
