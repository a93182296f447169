// FLOP counts of a Program, read off its equations: the benchmark's check on its analytic counts, and a way for a
// user to see what a traced function costs. dot_general is counted exactly (2 per multiply-add); elementwise
// arithmetic, reductions and scatter-adds on floating-point values count one per element, a cruder measure kept
// apart. A while loop counts its body once per iteration when the trip count can be read from the program (the
// forLoop form: a counter compared against a constant, stepped by a constant, started from a constant); other
// loops count `unknownTrips` iterations and are reported, so a caller that knows the count (the sampler's steps)
// can supply it.
import type { Aval } from "./aval.js";
import { isFloat } from "./dtype.js";
import { type DotDimensionNumbers, type Params, Primitive } from "./primitive.js";
import { type Atom, type Equation, Lit, type Program, type Var } from "./program.js";

export interface FlopCount {
  /** 2 x multiply-adds of every dot_general, loops multiplied out. */
  dot: number;
  /** One per output element of floating-point elementwise arithmetic, one per input element of reductions and
   * argmax, one per update element of scatter-add. */
  elementwise: number;
  /** dot_general equations executed (loops multiplied out). */
  dots: number;
  /** While loops whose trip count could not be derived; each counted `unknownTrips` times. */
  unknownLoops: number;
}

export interface FlopOptions {
  /** Iterations assumed for a while loop whose trip count is not in the program (default 1). */
  unknownTrips?: number;
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** FLOPs of one dot_general: 2 x (output elements) x (product of the contracted sizes). */
export function dotGeneralFlops(lhs: Aval, rhs: Aval, dimensions: DotDimensionNumbers): number {
  const contracted = size(dimensions.lhsContracting.map((axis) => lhs.shape[axis]!));
  const batch = size(dimensions.lhsBatch.map((axis) => lhs.shape[axis]!));
  const skip = (rank: number, used: readonly number[]) => Array.from({ length: rank }, (_, axis) => axis).filter((axis) => !used.includes(axis));
  const lhsFree = size(skip(lhs.shape.length, [...dimensions.lhsContracting, ...dimensions.lhsBatch]).map((axis) => lhs.shape[axis]!));
  const rhsFree = size(skip(rhs.shape.length, [...dimensions.rhsContracting, ...dimensions.rhsBatch]).map((axis) => rhs.shape[axis]!));
  return 2 * batch * lhsFree * rhsFree * contracted;
}

const ARITHMETIC: ReadonlySet<Primitive> = new Set([
  Primitive.Neg, Primitive.Exp, Primitive.Log, Primitive.Log1p, Primitive.Tanh, Primitive.Logistic, Primitive.Sqrt,
  Primitive.Rsqrt, Primitive.Abs, Primitive.Sign, Primitive.Floor, Primitive.Sin, Primitive.Cos, Primitive.Add,
  Primitive.Sub, Primitive.Mul, Primitive.Div, Primitive.Pow, Primitive.Max, Primitive.Min, Primitive.Rem,
  Primitive.Clamp,
]);

/** The constant scalar value of an atom, when the program makes it from literals alone. */
type Resolver = (atom: Atom) => number | undefined;

function resolverFor(program: Program, outer?: { inputs: readonly Atom[]; resolve: Resolver }): Resolver {
  const definedBy = new Map<Var, Equation>();
  for (const eq of program.equations) for (const out of eq.outputs) definedBy.set(out, eq);
  const resolve: Resolver = (atom) => {
    if (atom instanceof Lit) return atom.value;
    if (size(atom.aval.shape) !== 1) return undefined;
    const eq = definedBy.get(atom);
    if (eq === undefined) {
      // An input of a loop body or condition: constant when the loop's operand at that position is.
      const at = program.inputs.indexOf(atom);
      return outer !== undefined && at >= 0 && outer.inputs[at] !== undefined ? outer.resolve(outer.inputs[at]) : undefined;
    }
    switch (eq.primitive) {
      case Primitive.BroadcastInDim:
      case Primitive.Reshape:
      case Primitive.Convert:
        return resolve(eq.inputs[0]!);
      default:
        return undefined;
    }
  };
  return resolve;
}

/** Iterations of a while loop of the forLoop form (counter < bound, counter += step), or undefined. */
export function whileTripCount(eq: Equation<Primitive.While>, resolve: Resolver): number | undefined {
  const { cond, body, condConsts, bodyConsts } = eq.params;
  const init = eq.inputs.slice(condConsts + bodyConsts);
  const condOut = cond.outputs[0];
  const compare = cond.equations.find((e) => e.outputs[0] === condOut);
  if (compare === undefined || compare.primitive !== Primitive.Compare) return undefined;
  const direction = (compare.params as Params<Primitive.Compare>).direction;
  const condResolve = resolverFor(cond, { inputs: eq.inputs.slice(0, condConsts), resolve });
  const [left, right] = compare.inputs as [Atom, Atom];
  // The counter is a carry input of the condition; the bound is constant.
  const carryIndex = (atom: Atom) => (atom instanceof Lit ? -1 : cond.inputs.indexOf(atom) - condConsts);
  let index = carryIndex(left);
  let bound = condResolve(right);
  let op = direction;
  if (index < 0 || bound === undefined) {
    index = carryIndex(right);
    bound = condResolve(left);
    op = ({ GT: "LT", GE: "LE", LT: "GT", LE: "GE", EQ: "EQ", NE: "NE" } as const)[direction];
  }
  if (index < 0 || bound === undefined) return undefined;
  const start = resolve(init[index]!);
  if (start === undefined) return undefined;
  // The body must step that carry by a constant.
  const next = body.outputs[index];
  const stepEq = body.equations.find((e) => e.outputs[0] === next);
  const counterIn = body.inputs[bodyConsts + index];
  if (stepEq === undefined || stepEq.primitive !== Primitive.Add && stepEq.primitive !== Primitive.Sub) return undefined;
  const bodyResolve = resolverFor(body, { inputs: eq.inputs.slice(condConsts, condConsts + bodyConsts), resolve });
  let step: number | undefined;
  if (stepEq.inputs[0] === counterIn) step = bodyResolve(stepEq.inputs[1]!);
  else if (stepEq.inputs[1] === counterIn && stepEq.primitive === Primitive.Add) step = bodyResolve(stepEq.inputs[0]!);
  if (step === undefined) return undefined;
  if (stepEq.primitive === Primitive.Sub) step = -step;
  if (step > 0 && (op === "LT" || op === "NE")) return Math.max(0, Math.ceil((bound - start) / step));
  if (step > 0 && op === "LE") return Math.max(0, Math.floor((bound - start) / step) + 1);
  if (step < 0 && (op === "GT" || op === "NE")) return Math.max(0, Math.ceil((start - bound) / -step));
  if (step < 0 && op === "GE") return Math.max(0, Math.floor((start - bound) / -step) + 1);
  return undefined;
}

function countInto(program: Program, resolve: Resolver, options: FlopOptions, total: FlopCount, times: number): void {
  for (const eq of program.equations) {
    const out = eq.outputs[0];
    switch (eq.primitive) {
      case Primitive.DotGeneral: {
        const [lhs, rhs] = eq.inputs as [Atom, Atom];
        total.dot += times * dotGeneralFlops(lhs.aval, rhs.aval, (eq.params as Params<Primitive.DotGeneral>).dimensions);
        total.dots += times;
        break;
      }
      case Primitive.Reduce:
      case Primitive.Argmax:
        if (isFloat(eq.inputs[0]!.aval.dtype)) total.elementwise += times * size(eq.inputs[0]!.aval.shape);
        break;
      case Primitive.ScatterAdd:
        if (isFloat(eq.inputs[2]!.aval.dtype)) total.elementwise += times * size(eq.inputs[2]!.aval.shape);
        break;
      case Primitive.While: {
        const loop = eq as Equation<Primitive.While>;
        const { cond, body, condConsts, bodyConsts } = loop.params;
        let trips = whileTripCount(loop, resolve);
        if (trips === undefined) {
          total.unknownLoops += times;
          trips = options.unknownTrips ?? 1;
        }
        const condResolve = resolverFor(cond, { inputs: eq.inputs.slice(0, condConsts), resolve });
        const bodyResolve = resolverFor(body, { inputs: eq.inputs.slice(condConsts, condConsts + bodyConsts), resolve });
        countInto(cond, condResolve, options, total, times * (trips + 1));
        countInto(body, bodyResolve, options, total, times * trips);
        break;
      }
      default:
        if (ARITHMETIC.has(eq.primitive) && out !== undefined && isFloat(out.aval.dtype)) total.elementwise += times * size(out.aval.shape);
    }
  }
}

/** The FLOPs of one run of `program` (see FlopCount for what counts). */
export function countFlops(program: Program, options: FlopOptions = {}): FlopCount {
  const total: FlopCount = { dot: 0, elementwise: 0, dots: 0, unknownLoops: 0 };
  countInto(program, resolverFor(program), options, total, 1);
  return total;
}
