// Tracing: running a TS function on abstract values and recording each primitive it applies as an equation.
// Traces nest (grad inside jit, grad of grad); the innermost active trace records, and values of outer traces or
// concrete arrays it meets are captured as extra inputs of its program.
import { ArrayBase, ScalarConst } from "./array_base.js";
import type { Aval } from "./aval.js";
import { TraceError } from "./errors.js";
import type { Params, Primitive } from "./primitive.js";
import { type Atom, type Equation, Lit, Program, Var } from "./program.js";

let nextTraceId = 0;
const stack: Trace[] = [];

export class Tracer extends ArrayBase {
  constructor(
    readonly trace: Trace,
    readonly variable: Var,
  ) {
    super();
  }
  get aval(): Aval {
    return this.variable.aval;
  }
  override toString(): string {
    return `Tracer<${this.aval}>`;
  }
}

/** A program together with the values of its captured inputs (its first `consts.length` inputs). */
export interface ClosedProgram {
  program: Program;
  consts: ArrayBase[];
}

export class Trace {
  readonly id = nextTraceId++;
  private readonly argVars: Var[] = [];
  private readonly constVars: Var[] = [];
  private readonly constValues: ArrayBase[] = [];
  private readonly captured = new Map<ArrayBase, Var>();
  private readonly equations: Equation[] = [];
  private open = true;

  constructor(readonly label: string) {}

  get isOpen(): boolean {
    return this.open;
  }

  newArgument(aval: Aval): Tracer {
    const v = new Var(aval);
    this.argVars.push(v);
    return new Tracer(this, v);
  }

  /** The atom standing for `value` in this trace: its own tracer's var, a literal, or a captured input. */
  atom(value: ArrayBase, where: string): Atom {
    if (value instanceof Tracer && value.trace === this) return value.variable;
    if (value instanceof ScalarConst) return new Lit(value.value, value.dtype);
    if (value instanceof Tracer && !value.trace.isOpen) {
      throw new TraceError(
        `${where}: a traced value (${value.aval}) from a finished ${value.trace.label} trace was used outside it; ` +
          `return it from the traced function instead of storing it`,
      );
    }
    let v = this.captured.get(value);
    if (v === undefined) {
      v = new Var(value.aval);
      this.captured.set(value, v);
      this.constVars.push(v);
      this.constValues.push(value);
    }
    return v;
  }

  add<P extends Primitive>(primitive: P, params: Params<P>, inputs: readonly ArrayBase[], outAvals: readonly Aval[]): Tracer[] {
    if (!this.open) throw new TraceError(`${primitive}: the ${this.label} trace is already finished`);
    const atoms = inputs.map((x) => this.atom(x, primitive));
    const outputs = outAvals.map((aval) => new Var(aval));
    this.equations.push({ primitive, params, inputs: atoms, outputs });
    return outputs.map((v) => new Tracer(this, v));
  }

  /** Marks the trace finished: its tracers may no longer be used. */
  close(): void {
    this.open = false;
  }

  /** Closes the trace. The program's inputs are the captured values followed by the arguments. */
  finish(outputs: readonly ArrayBase[]): ClosedProgram {
    const outAtoms = outputs.map((x) => this.atom(x, "output"));
    this.open = false;
    return {
      program: new Program([...this.constVars, ...this.argVars], this.equations, outAtoms),
      consts: this.constValues,
    };
  }
}

export function currentTrace(): Trace | undefined {
  return stack[stack.length - 1];
}

/** Runs `body` with a new innermost trace; the trace is closed afterwards whatever happens. */
export function withNewTrace<T>(label: string, body: (trace: Trace) => T): T {
  const trace = new Trace(label);
  stack.push(trace);
  try {
    return body(trace);
  } finally {
    stack.pop();
    trace.close();
  }
}

export function isTracing(): boolean {
  return stack.length > 0;
}
