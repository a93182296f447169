// Eager evaluation: a primitive applied outside any trace runs at once on the device of its operands, as a
// one-equation program (compiled once per signature on PJRT devices).
import { type ArrayBase, ScalarConst } from "../core/array_base.js";
import type { Aval } from "../core/aval.js";
import type { Params, Primitive } from "../core/primitive.js";
import { type Atom, type Equation, Lit, Program, Var } from "../core/program.js";
import { DeviceArray } from "../runtime/array.js";
import { isTracing } from "../core/trace.js";
import { type Device, defaultDevice, withDefaultDevice } from "../runtime/device.js";
import { PreparedProgram } from "./execute.js";
import { getDefaultPrecision } from "./precision.js";

const prepared = new WeakMap<Device, Map<string, PreparedProgram>>();

/** Where an operation on these operands runs: the device of its committed operands (which must agree), else
 * the device of its first operand, else the default device. Uncommitted operands elsewhere are copied over. */
export function commonDevice(where: string, inputs: readonly ArrayBase[]): { device: Device; committed: boolean } {
  let committed: Device | undefined;
  let first: Device | undefined;
  for (const x of inputs) {
    if (!(x instanceof DeviceArray)) continue;
    first ??= x.device;
    if (!x.committed) continue;
    if (committed !== undefined && x.device !== committed) {
      throw new Error(`${where}: operands are committed to different devices (${committed} and ${x.device}); move one with np.asarray(x, {device})`);
    }
    committed = x.device;
  }
  return { device: committed ?? first ?? defaultDevice(), committed: committed !== undefined };
}

/** Runs `make`, which builds arrays from JS numbers (a literal broadcast to an operand's shape), on the device
 * the operation on `operands` will run on: made on the default device instead, they would be copied over, and
 * stay allocated there until collected. Operands committed to different devices leave the default as it is:
 * the operation that combines them reports that. */
export function onDeviceOf<T>(where: string, operands: readonly unknown[], make: () => T): T {
  const arrays = operands.filter((x): x is DeviceArray => x instanceof DeviceArray);
  if (arrays.length === 0 || isTracing()) return make();
  let device: Device;
  try {
    device = commonDevice(where, arrays).device;
  } catch {
    return make();
  }
  return withDefaultDevice(device, make);
}

export function evalEager<P extends Primitive>(
  primitive: P,
  params: Params<P>,
  inputs: readonly ArrayBase[],
  outAvals: readonly Aval[],
): DeviceArray[] {
  const { device, committed } = commonDevice(primitive, inputs);
  const atoms: Atom[] = [];
  const programInputs: Var[] = [];
  const args: DeviceArray[] = [];
  for (const x of inputs) {
    if (x instanceof ScalarConst) atoms.push(new Lit(x.value, x.dtype));
    else if (x instanceof DeviceArray) {
      const v = new Var(x.aval);
      programInputs.push(v);
      atoms.push(v);
      args.push(x);
    } else throw new TypeError(`${primitive}: operand ${String(x)} is neither a concrete array nor a number`);
  }
  const outputs = outAvals.map((a) => new Var(a));
  const equation: Equation = { primitive, params, inputs: atoms, outputs } as Equation;
  const program = new Program(programInputs, [equation], outputs);
  return cachedPrepare(device, program).run(args, committed);
}

/** Identical one-op programs share their compiled executable: the key is the program's printed form. */
function cachedPrepare(device: Device, program: Program): PreparedProgram {
  if (device.backend === undefined) return new PreparedProgram(program, device, [], "eager", true);
  let cache = prepared.get(device);
  if (cache === undefined) {
    cache = new Map();
    prepared.set(device, cache);
  }
  // The global precision is part of the key: a dot prepared under one level must not run under another.
  const key = `${getDefaultPrecision()}|${program.toString()}`;
  let entry = cache.get(key);
  if (entry === undefined) {
    entry = new PreparedProgram(program, device, [], `eager_${program.equations[0]!.primitive}`);
    cache.set(key, entry);
  }
  return entry;
}
