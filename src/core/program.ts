// A Program: typed equations in SSA form, the unit that transforms rewrite and backends lower or interpret.
import { Aval } from "./aval.js";
import type { DType } from "./dtype.js";
import type { Params, Primitive } from "./primitive.js";

let nextVarId = 0;

export class Var {
  readonly id = nextVarId++;
  constructor(readonly aval: Aval) {}
}

/** A scalar constant written into the program (a JS number used as an operand). */
export class Lit {
  readonly aval: Aval;
  constructor(
    readonly value: number,
    dtype: DType,
  ) {
    this.aval = new Aval([], dtype);
  }
}

export type Atom = Var | Lit;

export interface Equation<P extends Primitive = Primitive> {
  readonly primitive: P;
  readonly params: Params<P>;
  readonly inputs: readonly Atom[];
  readonly outputs: readonly Var[];
}

export class Program {
  constructor(
    readonly inputs: readonly Var[],
    readonly equations: readonly Equation[],
    readonly outputs: readonly Atom[],
  ) {}

  get inputAvals(): Aval[] {
    return this.inputs.map((v) => v.aval);
  }

  get outputAvals(): Aval[] {
    return this.outputs.map((v) => v.aval);
  }

  toString(): string {
    return printProgram(this);
  }
}

/** Prints like `{ lambda a:f32[2,3] b:f32[3] . let c:f32[2,3] = add a b in (c) }`, with names assigned in order of
 * appearance so the text is stable for snapshots. */
export function printProgram(program: Program): string {
  const lines: string[] = [];
  printInto(program, lines, "", new Map(), { next: 0 });
  return lines.join("\n");
}

function varName(index: number): string {
  let name = "";
  let n = index;
  do {
    name = String.fromCharCode(97 + (n % 26)) + name;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return name;
}

function printInto(
  program: Program,
  lines: string[],
  indent: string,
  names: Map<Var, string>,
  counter: { next: number },
): void {
  const name = (atom: Atom): string => {
    if (atom instanceof Lit) return `${formatLiteral(atom.value)}:${atom.aval.dtype}`;
    let n = names.get(atom);
    if (n === undefined) {
      n = varName(counter.next++);
      names.set(atom, n);
    }
    return n;
  };
  const binder = (v: Var): string => `${name(v)}:${v.aval}`;
  lines.push(`${indent}{ lambda ${program.inputs.map(binder).join(" ")} . let`);
  for (const eq of program.equations) {
    const outs = eq.outputs.map(binder).join(" ");
    const params = formatParams(eq.params as Record<string, unknown>);
    const ins = eq.inputs.map(name).join(" ");
    const subprograms = Object.entries(eq.params as Record<string, unknown>).filter(([, v]) => v instanceof Program);
    lines.push(`${indent}    ${outs} = ${eq.primitive}${params} ${ins}`.trimEnd());
    for (const [key, sub] of subprograms) {
      lines.push(`${indent}      ${key}:`);
      printInto(sub as Program, lines, `${indent}        `, names, counter);
    }
  }
  lines.push(`${indent}  in (${program.outputs.map(name).join(", ")}) }`);
}

function formatLiteral(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (value === Infinity) return "inf";
  if (value === -Infinity) return "-inf";
  return String(value);
}

function formatParams(params: Record<string, unknown>): string {
  const entries = Object.entries(params).filter(([, v]) => !(v instanceof Program) && v !== undefined);
  if (entries.length === 0) return "";
  const text = entries.map(([k, v]) => `${k}=${formatValue(v)}`).join(" ");
  return `[${text}]`;
}

function formatValue(value: unknown): string {
  if (Array.isArray(value)) return `(${value.map(formatValue).join(",")})`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}=${formatValue(v)}`)
      .join(" ")}}`;
  }
  return String(value);
}
