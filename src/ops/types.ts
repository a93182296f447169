// What every primitive provides, side by side: its shape/dtype rule, its VJP rule, its StableHLO lowering and
// its reference evaluation. The registry (registry.ts) is typed so a primitive missing any rule does not compile.
import type { Block, DotPrecision, Value } from "../../hlo/index.js";
import type { ArrayBase } from "../core/array_base.js";
import type { Aval } from "../core/aval.js";
import type { Params, Primitive } from "../core/primitive.js";
import type { Program } from "../core/program.js";
import type { HostTensor } from "../runtime/host.js";

export interface LowerContext {
  readonly block: Block;
  /** The module's dot precision: every dot_general carries it as its precision_config. */
  readonly precision: DotPrecision;
  /** Lowers a sub-program (a while's cond or body) into `block`, binding its inputs to `inputs`. */
  lowerProgram(program: Program, block: Block, inputs: readonly Value[]): Value[];
}

export interface VjpArguments<P extends Primitive> {
  readonly params: Params<P>;
  /** The primal inputs (values in the current trace). */
  readonly inputs: readonly ArrayBase[];
  readonly outputs: readonly ArrayBase[];
  /** One cotangent per output; null means zero. */
  readonly cotangents: readonly (ArrayBase | null)[];
  /** Which inputs need a cotangent. */
  readonly needs: readonly boolean[];
}

export interface ReferenceContext {
  /** Interprets a sub-program on host tensors (for while). */
  run(program: Program, inputs: readonly HostTensor[]): HostTensor[];
}

export interface PrimitiveDef<P extends Primitive> {
  /** Output avals from input avals; throws a ShapeError naming the op, shapes and dtypes on bad input. */
  abstractEval(inputs: readonly Aval[], params: Params<P>): Aval[];
  /** Cotangents of the inputs (null = zero), or undefined when the primitive has no derivative: reaching it
   * with a float cotangent is an error. Rules are written with primitives, so they trace and compose. */
  vjp: ((args: VjpArguments<P>) => (ArrayBase | null)[]) | undefined;
  lower(ctx: LowerContext, inputs: readonly Value[], params: Params<P>, outAvals: readonly Aval[]): Value[];
  reference(inputs: readonly HostTensor[], params: Params<P>, outAvals: readonly Aval[], ctx: ReferenceContext): HostTensor[];
}

export type PrimitiveTable = { [P in Primitive]: PrimitiveDef<P> };
