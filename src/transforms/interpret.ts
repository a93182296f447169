// The reference device's executor: evaluates a Program equation by equation on host tensors with each
// primitive's reference rule (tfjs-core on its cpu backend, or plain loops where tfjs lacks a dtype or op).
import { Lit, type Program, type Var } from "../core/program.js";
import { type HostTensor, hostTensor, writeNumber } from "../runtime/host.js";
import { primitiveTable } from "../ops/registry.js";
import type { PrimitiveDef, ReferenceContext } from "../ops/types.js";
import type { Primitive } from "../core/primitive.js";

function literalTensor(lit: Lit): HostTensor {
  const t = hostTensor(lit.aval.dtype, []);
  writeNumber(t, 0, lit.value);
  return t;
}

const context: ReferenceContext = { run: interpret };

export function interpret(program: Program, inputs: readonly HostTensor[]): HostTensor[] {
  if (inputs.length !== program.inputs.length) {
    throw new Error(`reference: program takes ${program.inputs.length} inputs, got ${inputs.length}`);
  }
  const env = new Map<Var, HostTensor>();
  program.inputs.forEach((v, i) => env.set(v, inputs[i]!));
  const read = (atom: Var | Lit): HostTensor => {
    if (atom instanceof Lit) return literalTensor(atom);
    const value = env.get(atom);
    if (value === undefined) throw new Error(`reference: variable ${atom.aval} used before it is defined`);
    return value;
  };
  const table = primitiveTable();
  for (const eq of program.equations) {
    const def = table[eq.primitive] as PrimitiveDef<Primitive>;
    const outAvals = eq.outputs.map((v) => v.aval);
    const results = def.reference(eq.inputs.map(read), eq.params, outAvals, context);
    eq.outputs.forEach((v, i) => env.set(v, results[i]!));
  }
  return program.outputs.map(read);
}
