// Lowers a Program to a StableHLO module: one `func.func @main` whose arguments are the program's inputs.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Block, type DotPrecision, type Feature, ModuleBuilder, type ParameterSpec, type Value } from "../../hlo/index.js";
import type { Primitive } from "../core/primitive.js";
import { Lit, type Program, type Var } from "../core/program.js";
import { constant, hloType } from "../ops/lower_util.js";
import { primitiveTable } from "../ops/registry.js";
import type { LowerContext, PrimitiveDef } from "../ops/types.js";
import { type Precision, getDefaultPrecision, hloPrecision } from "./precision.js";

export interface LowerOptions {
  /** Name written as a comment at the top of the module. */
  name?: string;
  /** For each input, whether its buffer is donated; a donated input aliases the first unclaimed output with
   * the same type. */
  donate?: readonly boolean[];
  /** Precision of every dot_general (default: the global one, see setDefaultPrecision). */
  precision?: Precision;
}

export interface LoweredModule {
  text: string;
  /** For each input, the output index that reuses its buffer, or -1. */
  aliases: number[];
  /** The newest StableHLO feature the text uses: a plugin must report at least its version. */
  requires: Feature;
}

function lowerInto(program: Program, block: Block, inputs: readonly Value[], precision: DotPrecision): Value[] {
  const env = new Map<Var, Value>();
  program.inputs.forEach((v, i) => env.set(v, inputs[i]!));
  const read = (atom: Var | Lit): Value => {
    if (atom instanceof Lit) return constant(block, atom.value, atom.aval.dtype);
    const value = env.get(atom);
    if (value === undefined) throw new Error(`lowering: variable ${atom.aval} used before it is defined`);
    return value;
  };
  const ctx: LowerContext = { block, precision, lowerProgram: (p, b, i) => lowerInto(p, b, i, precision) };
  const table = primitiveTable();
  for (const eq of program.equations) {
    const def = table[eq.primitive] as PrimitiveDef<Primitive>;
    const results = def.lower(ctx, eq.inputs.map(read), eq.params, eq.outputs.map((v) => v.aval));
    eq.outputs.forEach((v, i) => env.set(v, results[i]!));
  }
  return program.outputs.map(read);
}

export function lowerProgram(program: Program, options: LowerOptions = {}): LoweredModule {
  const aliases = program.inputs.map(() => -1);
  const claimed = new Set<number>();
  options.donate?.forEach((donated, i) => {
    if (!donated) return;
    const aval = program.inputs[i]!.aval;
    const out = program.outputs.findIndex((o, k) => !claimed.has(k) && o.aval.equals(aval));
    if (out >= 0) {
      claimed.add(out);
      aliases[i] = out;
    }
  });
  const parameters: ParameterSpec[] = program.inputs.map((v, i) =>
    aliases[i]! >= 0 ? { type: hloType(v.aval), aliasOutput: aliases[i]! } : { type: hloType(v.aval) },
  );
  const module = new ModuleBuilder(parameters, options.name ?? "main");
  const precision = hloPrecision(options.precision ?? getDefaultPrecision());
  const results = lowerInto(program, module.body, module.args, precision);
  module.finish(results);
  const text = module.print();
  dumpModule(options.name ?? "main", text);
  return { text, aliases, requires: module.requires };
}

let dumpCounter = 0;

/** Whether GRPO_XLA_DUMP_DIR asks for lowered modules to be written out. */
export function dumpsRequested(): boolean {
  return Boolean(process.env.GRPO_XLA_DUMP_DIR);
}

/** With GRPO_XLA_DUMP_DIR set, writes every lowered module there as `NNNN-name.mlir` (for debugging and for
 * outside tools such as mlir-opt). */
function dumpModule(name: string, text: string): void {
  if (!dumpsRequested()) return;
  const dir = process.env.GRPO_XLA_DUMP_DIR!;
  mkdirSync(dir, { recursive: true });
  const safe = name.replace(/[^A-Za-z0-9_.-]+/g, "_").slice(0, 80) || "module";
  const file = join(dir, `${String(process.pid)}-${String(dumpCounter++).padStart(5, "0")}-${safe}.mlir`);
  writeFileSync(file, text);
}
