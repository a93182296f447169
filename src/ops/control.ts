// while: the one control-flow primitive, for loops whose trip count is only known at run time (decoding).
import type { ArrayBase } from "../core/array_base.js";
import { Aval } from "../core/aval.js";
import { ShapeError } from "../core/errors.js";
import { Primitive } from "../core/primitive.js";
import type { Program } from "../core/program.js";
import { bind } from "./bind.js";
import { hloType } from "./lower_util.js";
import type { PrimitiveDef } from "./types.js";

/** Binds a while loop whose cond and body were traced to programs taking (consts..., carry...). */
export function whileLoop(
  cond: Program,
  condConsts: readonly ArrayBase[],
  body: Program,
  bodyConsts: readonly ArrayBase[],
  init: readonly ArrayBase[],
): ArrayBase[] {
  return bind(Primitive.While, [...condConsts, ...bodyConsts, ...init], {
    cond,
    body,
    condConsts: condConsts.length,
    bodyConsts: bodyConsts.length,
  });
}

export const controlDefs = {
  [Primitive.While]: {
    abstractEval(inputs, { cond, body, condConsts, bodyConsts }) {
      const carry = inputs.slice(condConsts + bodyConsts);
      const describe = (avals: readonly Aval[]) => `(${avals.map(String).join(", ")})`;
      const bodyIn = body.inputAvals.slice(bodyConsts);
      const bodyOut = body.outputAvals;
      const condIn = cond.inputAvals.slice(condConsts);
      const sameAvals = (a: readonly Aval[], b: readonly Aval[]) => a.length === b.length && a.every((x, i) => x.equals(b[i]!));
      if (!sameAvals(bodyIn, carry) || !sameAvals(bodyOut, carry)) {
        throw new ShapeError(
          `while: the body must map the carry ${describe(carry)} to the same types; it takes ${describe(bodyIn)} and returns ${describe(bodyOut)}`,
        );
      }
      if (!sameAvals(condIn, carry)) throw new ShapeError(`while: the condition takes ${describe(condIn)}, the carry is ${describe(carry)}`);
      const condOut = cond.outputAvals;
      if (condOut.length !== 1 || condOut[0]!.dtype !== "bool" || condOut[0]!.ndim !== 0) {
        throw new ShapeError(`while: the condition must return one bool scalar, got ${describe(condOut)}`);
      }
      return carry.map((a) => new Aval(a.shape, a.dtype));
    },
    // Reverse mode through a loop of unknown trip count would need the whole history of the carry.
    vjp: undefined,
    lower(ctx, inputs, { cond, body, condConsts, bodyConsts }, outAvals) {
      const condConstValues = inputs.slice(0, condConsts);
      const bodyConstValues = inputs.slice(condConsts, condConsts + bodyConsts);
      const carry = inputs.slice(condConsts + bodyConsts);
      const carryTypes = outAvals.map(hloType);
      return ctx.block.op("stablehlo.while", carry, carryTypes, {}, [
        {
          argTypes: carryTypes,
          body: (block, ...args) => block.ret(ctx.lowerProgram(cond, block, [...condConstValues, ...args])),
        },
        {
          argTypes: carryTypes,
          body: (block, ...args) => block.ret(ctx.lowerProgram(body, block, [...bodyConstValues, ...args])),
        },
      ]);
    },
    reference(inputs, { cond, body, condConsts, bodyConsts }, _outAvals, ctx) {
      const condConstValues = inputs.slice(0, condConsts);
      const bodyConstValues = inputs.slice(condConsts, condConsts + bodyConsts);
      let carry = inputs.slice(condConsts + bodyConsts);
      for (;;) {
        const [keepGoing] = ctx.run(cond, [...condConstValues, ...carry]);
        if (!keepGoing!.data[0]) return carry;
        carry = ctx.run(body, [...bodyConstValues, ...carry]);
      }
    },
  },
} satisfies { [P in Primitive.While]: PrimitiveDef<P> };
