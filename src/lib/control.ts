// User-level loops: trace JS functions for the condition and body into Programs and bind one while primitive.
// Values the functions close over (arrays, or tracers of an enclosing trace) become the loop's constants.
import { ArrayBase, ScalarConst } from "../core/array_base.js";
import { Aval } from "../core/aval.js";
import { type Leaf, type PyTree, flatten, unflatten } from "../core/pytree.js";
import { withNewTrace } from "../core/trace.js";
import * as lax from "../ops/index.js";
import { onDeviceOf } from "../transforms/eager.js";

function leafArray(leaf: Leaf, where: string): ArrayBase {
  if (leaf instanceof ArrayBase) return leaf;
  if (typeof leaf === "number") return new ScalarConst(leaf, "f32");
  throw new TypeError(`${where}: loop state leaves must be arrays or numbers, got ${typeof leaf}`);
}

/** Runs `body` while `cond` holds, starting from `init` (a pytree of arrays). Both functions receive the state
 * with the same structure; `cond` returns a bool scalar, `body` the next state with identical shapes and dtypes. */
export function whileLoop<S extends PyTree>(cond: (state: S) => ArrayBase, body: (state: S) => S, init: S): S {
  const { leaves, treedef } = flatten(init);
  const initArrays = leaves.map((l) => leafArray(l, "whileLoop"));
  // A literal in the initial state must be a real array in the loop carry.
  const carry = onDeviceOf("whileLoop", initArrays, () => initArrays.map((a) => (a instanceof ScalarConst ? lax.broadcastInDim(a, [], []) : a)));
  const avals = carry.map((a) => new Aval(a.shape, a.dtype));
  const condClosed = withNewTrace("whileLoop condition", (trace) => {
    const state = unflatten(treedef, avals.map((a) => trace.newArgument(a))) as S;
    const result = cond(state);
    if (!(result instanceof ArrayBase)) throw new TypeError("whileLoop: the condition must return a bool scalar array");
    return trace.finish([result]);
  });
  const bodyClosed = withNewTrace("whileLoop body", (trace) => {
    const state = unflatten(treedef, avals.map((a) => trace.newArgument(a))) as S;
    const next = flatten(body(state));
    if (next.leaves.length !== avals.length) {
      throw new TypeError(`whileLoop: the body returned ${next.leaves.length} arrays, the state has ${avals.length}`);
    }
    return trace.finish(next.leaves.map((l) => leafArray(l, "whileLoop body")));
  });
  const results = lax.whileLoop(condClosed.program, condClosed.consts, bodyClosed.program, bodyClosed.consts, carry);
  return unflatten(treedef, results) as S;
}

/** for (i = lower; i < upper; i++) state = body(i, state), with i an i32 scalar. */
export function forLoop<S extends PyTree>(lower: number, upper: number | ArrayBase, body: (i: ArrayBase, state: S) => S, init: S): S {
  // The counter lives with the state (and the bound), so the loop runs where they are.
  const start = onDeviceOf("forLoop", [upper, ...flatten(init).leaves], () => lax.broadcastInDim(new ScalarConst(lower, "i32"), [], []));
  const [, final] = whileLoop<[ArrayBase, S]>(
    ([i]) => lax.compare(i, upper instanceof ArrayBase ? upper : new ScalarConst(upper, "i32"), "LT"),
    ([i, state]) => [lax.add(i, 1), body(i, state)],
    [start, init] as [ArrayBase, S],
  );
  return final;
}
