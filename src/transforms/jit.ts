// jit: trace a function once per signature (argument structure, shapes, dtypes, static arguments), lower it,
// compile it for one device and run it there. Results are DeviceArrays that stay on the device until read.
import type { Feature } from "../../hlo/index.js";
import { ArrayBase, ScalarConst } from "../core/array_base.js";
import { Aval, showShape } from "../core/aval.js";
import { type DType } from "../core/dtype.js";
import type { Program } from "../core/program.js";
import { type Leaf, type PyTree, type TreeDef, flatten, treedefKey, unflatten } from "../core/pytree.js";
import { isTracing, withNewTrace } from "../core/trace.js";
import { DeviceArray } from "../runtime/array.js";
import { type Device, type DeviceKind, defaultDevice, getDevice, withDefaultDevice } from "../runtime/device.js";
import { toHostTensor } from "../runtime/host.js";
import { commonDevice } from "./eager.js";
import { PreparedProgram } from "./execute.js";
import { type LoweredModule, lowerProgram } from "./lower.js";
import { type Precision, checkPrecision, getDefaultPrecision } from "./precision.js";
import {
  type ArgumentSpec,
  checkArgumentCount,
  declareParametersOf,
  describeArguments,
  describeEach,
  parametersOf,
  parenthesised,
} from "./signature.js";

export interface JitOptions {
  /** Where the compiled program runs: "reference", "cpu", "gpu", "tpu" (default: the default device). */
  device?: DeviceKind | Device;
  /** Positions of arguments that are compile-time constants (any JSON-serialisable value); a new value
   * means a new trace. */
  staticArgnums?: readonly number[];
  /** Positions of arguments whose buffers the computation may reuse for its outputs. Donated arrays are
   * unusable after the call. */
  donateArgnums?: readonly number[];
  /** Name of the module (for dumps and profiles). */
  name?: string;
  /** How exactly every dot_general multiplies (its precision_config); default: the global precision at trace
   * time (setDefaultPrecision). On TPU "default" is one bf16 pass for f32 operands; see docs/DECISIONS.md. */
  precision?: Precision;
}

/** DeviceArray in place of every array type of a result. The general PyTree (what grad returns) maps as a whole:
 * recursing into its recursive definition would never end (TS2589 on `jit(grad(f))(...)`). */
export type Materialized<T> = [PyTree] extends [T]
  ? PyTree<DeviceArray>
  : T extends ArrayBase
  ? DeviceArray
  : T extends number
    ? DeviceArray
    : T extends readonly unknown[]
      ? { [K in keyof T]: Materialized<T[K]> }
      : T extends object
        ? { [K in keyof T]: Materialized<T[K]> }
        : T;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => any;

export interface Jitted<F extends AnyFunction> {
  (...args: Parameters<F>): Materialized<ReturnType<F>>;
  /** Traces and lowers for these arguments without running. */
  lower(...args: Parameters<F>): Lowered;
  /** Number of distinct signatures traced so far. */
  readonly cacheSize: number;
}

/** The arguments a trace was made for: a compiled program accepts exactly these again. */
export interface TracedSignature {
  /** One entry per argument, as it was traced: its structure and types, or a static value. */
  arguments: ArgumentSpec;
  staticArgnums: readonly number[];
  staticKey: string;
  /** The structure of the non-static arguments, as a list. */
  treedef: TreeDef;
}

/** A traced and lowered signature. */
export class Lowered {
  constructor(
    readonly program: Program,
    private readonly consts: readonly ArrayBase[],
    readonly inputAvals: readonly Aval[],
    private readonly outTree: TreeDef,
    private readonly donate: readonly boolean[],
    private readonly device: Device,
    private readonly name: string,
    private readonly explicitDevice: boolean,
    readonly signature: TracedSignature,
    readonly precision: Precision = getDefaultPrecision(),
  ) {}

  /** The StableHLO module text that would run. */
  stablehlo(): string {
    return this.lowerModule().text;
  }

  /** The newest StableHLO feature the module uses: the plugin must report at least its version. */
  stablehloRequires(): Feature {
    return this.lowerModule().requires;
  }

  private lowerModule(): LoweredModule {
    const donate = [...this.consts.map(() => false), ...this.donate];
    return lowerProgram(this.program, { donate, name: this.name, precision: this.precision });
  }

  /** The traced Program, printed. */
  programText(): string {
    return this.program.toString();
  }

  /** Compiles for the device; the result accepts exactly the lowered signature. */
  compile(): Compiled {
    return new Compiled(
      new PreparedProgram(this.program, this.device, [...this.consts.map(() => false), ...this.donate], this.name, false, this.precision),
      this.consts,
      this.inputAvals,
      this.outTree,
      this.explicitDevice,
      this.signature,
      this.name,
    );
  }
}

/** An executable for one signature. Calling it with other shapes or dtypes is an error. */
export class Compiled {
  constructor(
    private readonly prepared: PreparedProgram,
    private readonly consts: readonly ArrayBase[],
    readonly inputAvals: readonly Aval[],
    readonly outputTree: TreeDef,
    private readonly explicitDevice: boolean,
    readonly signature: TracedSignature,
    private readonly name: string,
  ) {}

  /** Runs on flat leaves (arrays in the order of the flattened arguments). */
  runFlat(leaves: readonly ArrayBase[]): DeviceArray[] {
    if (leaves.length !== this.inputAvals.length) {
      throw new TypeError(`compiled ${this.prepared.device} program takes ${this.inputAvals.length} arrays, got ${leaves.length}`);
    }
    leaves.forEach((leaf, i) => {
      const expected = this.inputAvals[i]!;
      if (!expected.equals(leaf.aval)) {
        throw new TypeError(`argument leaf ${i}: expected ${expected}, got ${leaf.aval} (shape ${showShape(leaf.shape)}, dtype ${leaf.dtype})`);
      }
    });
    const all = [...this.consts, ...leaves];
    const args = all.map((x) => materialize(x, this.prepared.device));
    // JS numbers become arrays for this call only: the run frees them when it is done.
    const owned = all.map((x) => x instanceof ScalarConst);
    const committed = this.explicitDevice || all.some((x) => x instanceof DeviceArray && x.committed);
    return this.prepared.run(args, committed, owned);
  }

  /** Runs on arguments of exactly the traced signature: the same count, structure, types and static values. */
  call(...args: unknown[]): PyTree {
    const where = `compiled ${this.name}`;
    const signature = this.signature;
    checkArgumentCount(where, signature.arguments, args);
    const flat = flattenArguments(args, signature.staticArgnums, where);
    const traced = `was traced for ${parenthesised(signature.arguments.names)}`;
    if (flat.staticKey !== signature.staticKey) {
      throw new TypeError(`${where}: static arguments ${flat.staticKey} differ from ${signature.staticKey}; it ${traced}`);
    }
    if (treedefKey(flat.treedef) !== treedefKey(signature.treedef)) {
      throw new TypeError(`${where}: the argument structure differs, got ${describeArguments(args)}; it ${traced}`);
    }
    return unflatten(this.outputTree, this.runFlat(flat.leaves));
  }
}

function materialize(x: ArrayBase, device: Device): DeviceArray {
  if (x instanceof DeviceArray) return x;
  if (x instanceof ScalarConst) return DeviceArray.fromHost(toHostTensor(x.value, x.dtype, []), device);
  throw new TypeError(`a traced value (${x.aval}) was passed to a compiled program outside its trace`);
}

/** Converts JS numbers and booleans among the leaves into scalars: f32 and bool. */
function leafToArray(leaf: Leaf): ArrayBase {
  if (leaf instanceof ArrayBase) return leaf;
  const dtype: DType = typeof leaf === "boolean" ? "bool" : "f32";
  return new ScalarConst(typeof leaf === "boolean" ? (leaf ? 1 : 0) : leaf, dtype);
}

interface FlatArguments {
  leaves: ArrayBase[];
  treedef: TreeDef;
  /** For each leaf, the argument position it came from. */
  argumentOf: number[];
  staticKey: string;
}

function flattenArguments(args: readonly unknown[], staticArgnums: readonly number[], where: string): FlatArguments {
  const dynamic: unknown[] = [];
  const argumentOf: number[] = [];
  const statics: unknown[] = [];
  args.forEach((a, i) => {
    if (staticArgnums.includes(i)) statics.push(a);
    else {
      const { leaves } = flatten(a as PyTree);
      leaves.forEach(() => argumentOf.push(i));
      dynamic.push(a);
    }
  });
  let staticKey: string;
  try {
    staticKey = JSON.stringify(statics);
  } catch (e) {
    throw new TypeError(`${where}: static arguments must be JSON-serialisable (${(e as Error).message})`);
  }
  const { leaves, treedef } = flatten(dynamic as PyTree);
  return { leaves: leaves.map(leafToArray), treedef, argumentOf, staticKey };
}

/** Called with every Program jit traces (a new signature), its name and device: profiling and FLOP counts. */
export type TraceListener = (name: string, program: Program, device: Device) => void;
const traceListeners = new Set<TraceListener>();

/** Calls `listener` for every trace from now on; returns the function that stops it. */
export function observeTraces(listener: TraceListener): () => void {
  traceListeners.add(listener);
  return () => traceListeners.delete(listener);
}

export function jit<F extends AnyFunction>(fn: F, options: JitOptions = {}): Jitted<F> {
  const staticArgnums = options.staticArgnums ?? [];
  const donateArgnums = options.donateArgnums ?? [];
  const name = options.name ?? (fn.name || "jitted");
  const ownPrecision = options.precision === undefined ? undefined : checkPrecision(options.precision, `jit(${name})`);
  const cache = new Map<string, Compiled & { lowered: Lowered }>();
  const parameters = parametersOf(fn);

  const trace = (args: readonly unknown[]): { lowered: Lowered; key: string; leaves: ArrayBase[] } => {
    const flat = flattenArguments(args, staticArgnums, `jit(${name})`);
    const device = options.device === undefined ? commonDevice(`jit(${name})`, flat.leaves).device : getDevice(options.device);
    // Resolved per call, so a change of the global precision gives a new module rather than a stale one.
    const precision = ownPrecision ?? getDefaultPrecision();
    const key = `${device.kind}#${device.serial}|${precision}|${treedefKey(flat.treedef)}|${flat.leaves.map((l) => l.aval.toString()).join(";")}|${flat.staticKey}`;
    const cached = cache.get(key);
    if (cached) return { lowered: cached.lowered, key, leaves: flat.leaves };
    const avals = flat.leaves.map((l) => new Aval(l.shape, l.dtype));
    let outTree: TreeDef | undefined;
    // Arrays the function makes from host values (np.array of a constant) become constants of the program: they
    // are made on its device, not copied there from the default device at every call.
    const closed = withDefaultDevice(device, () =>
      withNewTrace(`jit(${name})`, (t) => {
        const tracers = avals.map((a) => t.newArgument(a));
        let k = 0;
        const dynamicArgs = unflatten(flat.treedef, tracers) as unknown[];
        const callArgs = args.map((a, i) => (staticArgnums.includes(i) ? a : dynamicArgs[k++]));
        const out = fn(...callArgs) as PyTree;
        const flatOut = flatten(out);
        outTree = flatOut.treedef;
        return t.finish(flatOut.leaves.map(leafToArray));
      }),
    );
    const donate = flat.argumentOf.map((argIndex) => donateArgnums.includes(argIndex));
    const names = describeEach(args).map((text, i) => (staticArgnums.includes(i) ? `static ${text}` : text));
    const signature: TracedSignature = {
      arguments: { names, required: args.length, max: args.length },
      staticArgnums,
      staticKey: flat.staticKey,
      treedef: flat.treedef,
    };
    const lowered = new Lowered(closed.program, closed.consts, avals, outTree!, donate, device, name, options.device !== undefined, signature, precision);
    for (const listener of traceListeners) listener(name, closed.program, device);
    return { lowered, key, leaves: flat.leaves };
  };

  const call = (...args: Parameters<F>): Materialized<ReturnType<F>> => {
    checkArgumentCount(`jit(${name})`, parameters, args);
    if (isTracing()) return fn(...args);
    const { lowered, key, leaves } = trace(args);
    let compiled = cache.get(key);
    if (compiled === undefined) {
      compiled = Object.assign(lowered.compile(), { lowered });
      cache.set(key, compiled);
    }
    const outputs = compiled.runFlat(leaves);
    return unflatten(compiled.outputTree, outputs) as Materialized<ReturnType<F>>;
  };
  const jitted = Object.defineProperties(call, {
    lower: {
      value: (...args: Parameters<F>) => {
        checkArgumentCount(`jit(${name}).lower`, parameters, args);
        return trace(args).lowered;
      },
    },
    cacheSize: { get: () => cache.size },
  }) as Jitted<F>;
  return declareParametersOf(jitted, fn);
}

