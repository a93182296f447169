// Reverse-mode differentiation on Programs: trace the function, evaluate its equations forward in the caller's
// context (eagerly or into an enclosing trace), then walk them backwards applying each primitive's VJP rule.
// Because rules are written with primitives, the backward pass is itself traceable: grad composes with jit and
// with itself.
import { ArrayBase, ScalarConst } from "../core/array_base.js";
import { Aval } from "../core/aval.js";
import { isFloat } from "../core/dtype.js";
import { TraceError } from "../core/errors.js";
import { Primitive } from "../core/primitive.js";
import { type Atom, Lit, type Program, type Var } from "../core/program.js";
import { type PyTree, type TreeDef, flatten, unflatten } from "../core/pytree.js";
import { withNewTrace } from "../core/trace.js";
import { bind } from "../ops/bind.js";
import { add } from "../ops/elementwise.js";
import { primitiveTable } from "../ops/registry.js";
import { broadcastInDim } from "../ops/shape.js";
import type { PrimitiveDef } from "../ops/types.js";
import { DeviceArray } from "../runtime/array.js";
import { hostTensor, writeNumber } from "../runtime/host.js";
import { onDeviceOf } from "./eager.js";
import { declareParametersOf } from "./signature.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => any;

export interface GradOptions {
  /** Which arguments to differentiate: one index or a list (default 0). */
  argnums?: number | readonly number[];
  /** The function returns [output, aux]; aux is passed through undifferentiated. */
  hasAux?: boolean;
}

interface Linearized {
  /** Output leaves, evaluated in the caller's context. */
  outputs: ArrayBase[];
  outTree: TreeDef;
  aux: PyTree | undefined;
  /** Cotangents of the differentiated leaves given cotangents of the output leaves (null = zero). */
  backward(cotangents: readonly (ArrayBase | null)[]): ArrayBase[];
}

function checkDifferentiable(leaves: readonly unknown[], where: string): ArrayBase[] {
  return leaves.map((leaf, i) => {
    if (!(leaf instanceof ArrayBase)) {
      throw new TypeError(`${where}: differentiated input leaf ${i} is a ${typeof leaf}, not an array; wrap numbers with np.array`);
    }
    if (!isFloat(leaf.dtype)) {
      throw new TypeError(`${where}: differentiated input leaf ${i} has dtype ${leaf.dtype} (${leaf.aval}); only f32 and bf16 arrays can be differentiated`);
    }
    return leaf;
  });
}

/** Traces `fn` with the leaves of `args[argnums]` as the variables and prepares the backward pass. */
function linearize(fn: AnyFunction, args: readonly unknown[], argnums: readonly number[], hasAux: boolean, where: string): Linearized {
  for (const i of argnums) {
    if (!Number.isInteger(i) || i < 0 || i >= args.length) {
      throw new RangeError(`${where}: argnums ${i} is out of range for ${args.length} arguments`);
    }
  }
  const diffTree = flatten(argnums.map((i) => args[i]) as PyTree);
  const primals = checkDifferentiable(diffTree.leaves, where);
  let outTree: TreeDef | undefined;
  let auxTree: TreeDef | undefined;
  let numMain = 0;
  const closed = withNewTrace(where, (trace) => {
    const tracers = primals.map((p) => trace.newArgument(new Aval(p.shape, p.dtype)));
    const diffArgs = unflatten(diffTree.treedef, tracers) as unknown[];
    const callArgs = args.map((a, i) => (argnums.includes(i) ? diffArgs[argnums.indexOf(i)] : a));
    const result = fn(...callArgs) as PyTree;
    let main: PyTree = result;
    let aux: PyTree = null;
    if (hasAux) {
      if (!Array.isArray(result) || result.length !== 2) {
        throw new TypeError(`${where}: with hasAux the function must return [output, aux]`);
      }
      [main, aux] = result as [PyTree, PyTree];
    }
    const flatMain = flatten(main);
    const flatAux = flatten(aux);
    outTree = flatMain.treedef;
    auxTree = flatAux.treedef;
    numMain = flatMain.leaves.length;
    const asArray = (l: unknown) => (l instanceof ArrayBase ? l : new ScalarConst(Number(l), "f32"));
    return trace.finish([...flatMain.leaves.map(asArray), ...flatAux.leaves.map(asArray)]);
  });
  const { program, consts } = closed;
  const numConsts = consts.length;
  // Replayed eagerly, an equation with only literal operands (a broadcast constant) runs where the inputs are.
  const inputs = [...consts, ...primals];
  const env = onDeviceOf(where, inputs, () => forward(program, inputs));
  const read = atomReader(env);
  const outLeaves = program.outputs.map(read);
  const outputs = outLeaves.slice(0, numMain);
  const aux = hasAux ? unflatten(auxTree!, outLeaves.slice(numMain)) : undefined;
  const diffVars = program.inputs.slice(numConsts);
  return {
    outputs,
    outTree: outTree!,
    aux,
    backward: (cotangents) => onDeviceOf(where, inputs, () => backward(program, env, diffVars, cotangents, where)),
  };
}

/** Reads an atom's value: a literal becomes a scalar constant, a variable its value in `env`. */
function atomReader(env: Map<Var, ArrayBase>): (atom: Atom) => ArrayBase {
  return (atom) => (atom instanceof Lit ? new ScalarConst(atom.value, atom.aval.dtype) : env.get(atom)!);
}

/** Evaluates the program's equations in the current context, keeping every intermediate value. */
function forward(program: Program, inputs: readonly ArrayBase[]): Map<Var, ArrayBase> {
  const env = new Map<Var, ArrayBase>();
  program.inputs.forEach((v, i) => env.set(v, inputs[i]!));
  const read = atomReader(env);
  for (const eq of program.equations) {
    const results = bind(eq.primitive, eq.inputs.map(read), eq.params);
    eq.outputs.forEach((v, i) => env.set(v, results[i]!));
  }
  return env;
}

function backward(
  program: Program,
  env: Map<Var, ArrayBase>,
  diffVars: readonly Var[],
  outputCotangents: readonly (ArrayBase | null)[],
  where: string,
): ArrayBase[] {
  // Which variables depend on a differentiated input through float values.
  const active = new Set<Var>(diffVars);
  for (const eq of program.equations) {
    // A stopped value is a constant to the backward pass, so nothing computes cotangents flowing into it.
    if (eq.primitive === Primitive.StopGradient) continue;
    if (eq.inputs.some((a) => !(a instanceof Lit) && active.has(a))) {
      for (const o of eq.outputs) if (isFloat(o.aval.dtype)) active.add(o);
    }
  }
  const cts = new Map<Var, ArrayBase>();
  const accumulate = (v: Var, ct: ArrayBase) => {
    const existing = cts.get(v);
    cts.set(v, existing === undefined ? ct : add(existing, ct));
  };
  program.outputs.forEach((atom, i) => {
    const ct = outputCotangents[i];
    if (ct !== null && ct !== undefined && !(atom instanceof Lit) && active.has(atom)) accumulate(atom, ct);
  });
  const read = atomReader(env);
  const table = primitiveTable();
  for (let e = program.equations.length - 1; e >= 0; e--) {
    const eq = program.equations[e]!;
    const outCts = eq.outputs.map((o) => cts.get(o) ?? null);
    if (outCts.every((c) => c === null)) continue;
    const needs = eq.inputs.map((a) => !(a instanceof Lit) && active.has(a));
    if (!needs.some(Boolean)) continue;
    const def = table[eq.primitive] as PrimitiveDef<Primitive>;
    if (def.vjp === undefined) {
      throw new TraceError(`${where}: cannot differentiate through ${eq.primitive} (inputs ${eq.inputs.map((a) => a.aval).join(", ")})`);
    }
    const inCts = def.vjp({
      params: eq.params,
      inputs: eq.inputs.map(read),
      outputs: eq.outputs.map(read),
      cotangents: outCts,
      needs,
    });
    eq.inputs.forEach((atom, i) => {
      const ct = inCts[i];
      if (!needs[i] || ct === null || ct === undefined || atom instanceof Lit) return;
      accumulate(atom, ct);
    });
  }
  return diffVars.map((v) => {
    const ct = cts.get(v);
    if (ct === undefined) return filledLike(env.get(v)!, 0);
    // A cotangent may still be a literal (a constant seed); give it the input's shape as a real array.
    return ct instanceof ScalarConst ? filledLike(env.get(v)!, ct.value) : ct;
  });
}

/** `value` in the primal's shape and dtype, on the primal's device when evaluating eagerly (an eager op with only
 * literal operands would run on the default device instead). */
function filledLike(primal: ArrayBase, value: number): ArrayBase {
  if (!(primal instanceof DeviceArray)) return broadcastInDim(new ScalarConst(value, primal.dtype), primal.shape, []);
  const tensor = hostTensor(primal.dtype, primal.shape);
  if (value !== 0) for (let i = 0; i < tensor.data.length; i++) writeNumber(tensor, i, value);
  return DeviceArray.fromHost(tensor, primal.device, primal.committed);
}

function normalizeArgnums(argnums: number | readonly number[] | undefined): { list: number[]; single: boolean } {
  if (argnums === undefined) return { list: [0], single: true };
  if (typeof argnums === "number") return { list: [argnums], single: true };
  return { list: [...argnums], single: false };
}

function seedFor(output: ArrayBase, where: string): ArrayBase {
  if (output.ndim !== 0 || !isFloat(output.dtype)) {
    throw new TypeError(`${where}: the function must return a float scalar to take its gradient, got ${output.aval}`);
  }
  // A concrete output seeds on its own device: a placeless seed would run the whole backward pass of an eager
  // gradient on the default device, away from the arguments.
  if (output instanceof DeviceArray) {
    const one = hostTensor(output.dtype, []);
    writeNumber(one, 0, 1);
    return DeviceArray.fromHost(one, output.device, output.committed);
  }
  return new ScalarConst(1, output.dtype);
}

/** Gradient of a scalar-valued function with respect to the arguments at `argnums`. */
export function valueAndGrad<F extends AnyFunction>(fn: F, options: GradOptions = {}) {
  const { list, single } = normalizeArgnums(options.argnums);
  const hasAux = options.hasAux ?? false;
  const where = `grad(${fn.name || "function"})`;
  return declareParametersOf((...args: Parameters<F>): [PyTree, PyTree] => {
    const lin = linearize(fn, args, list, hasAux, where);
    if (lin.outputs.length !== 1) {
      throw new TypeError(`${where}: the function must return a single float scalar, got ${lin.outputs.length} arrays`);
    }
    const grads = lin.backward([seedFor(lin.outputs[0]!, where)]);
    const diffTree = flatten(list.map((i) => args[i]) as PyTree).treedef;
    const perArg = unflatten(diffTree, grads) as PyTree[];
    const gradTree = single ? perArg[0]! : perArg;
    const value = unflatten(lin.outTree, lin.outputs);
    return [hasAux ? [value, lin.aux ?? null] : value, gradTree];
  }, fn);
}

export function grad<F extends AnyFunction>(fn: F, options: GradOptions = {}) {
  const vg = valueAndGrad(fn, options);
  return declareParametersOf((...args: Parameters<F>): PyTree => {
    const [value, g] = vg(...args);
    return options.hasAux ? [g, (value as PyTree[])[1]!] : g;
  }, fn);
}

/** Evaluates fn at the primals and returns [outputs, vjpFn] (and aux with hasAux): vjpFn maps output
 * cotangents (same structure as the outputs) to cotangents of every primal. */
export function vjp<F extends AnyFunction>(fn: F, primals: readonly unknown[], options: { hasAux?: boolean } = {}) {
  const argnums = primals.map((_, i) => i);
  const lin = linearize(fn, primals, argnums, options.hasAux ?? false, `vjp(${fn.name || "function"})`);
  const outputs = unflatten(lin.outTree, lin.outputs);
  const vjpFn = (cotangents: PyTree): PyTree[] => {
    const flat = flatten(cotangents);
    if (flat.leaves.length !== lin.outputs.length) {
      throw new TypeError(`vjp: expected ${lin.outputs.length} output cotangents, got ${flat.leaves.length}`);
    }
    const cts = flat.leaves.map((c, i) => {
      const out = lin.outputs[i]!;
      const ct = c instanceof ArrayBase ? c : new ScalarConst(Number(c), out.dtype);
      if (ct.dtype !== out.dtype || ct.shape.join(",") !== out.shape.join(",")) {
        throw new TypeError(`vjp: cotangent ${i} is ${ct.aval}, the output is ${out.aval}`);
      }
      return ct;
    });
    const grads = lin.backward(cts);
    return unflatten(flatten(primals as PyTree).treedef, grads) as PyTree[];
  };
  return { outputs, vjp: vjpFn, aux: lin.aux };
}
