// Argument checks for jit and Compiled. JavaScript drops surplus arguments silently and `fn.length` stops counting
// at the first default or rest parameter, so a wrong call would trace a wrong program without a word. The
// parameters a function declares are read from its source with acorn; a traced signature is checked exactly.
import { type Node, type Pattern, parseExpressionAt } from "acorn";
import { ArrayBase } from "../core/array_base.js";

/** What a call may pass: between `required` and `max` arguments (max is Infinity for a rest parameter). */
export interface ArgumentSpec {
  /** One entry per parameter (or traced argument), for messages: `x`, `y?` (has a default), `...rest`. */
  names: readonly string[];
  required: number;
  max: number;
}

const declared = new WeakMap<object, ArgumentSpec>();

/** Makes `wrapper` (grad(f), jit(f), ...) take the arguments `fn` takes, for the checks of whatever wraps it. */
export function declareParametersOf<W extends object>(wrapper: W, fn: (...args: never[]) => unknown): W {
  declared.set(wrapper, parametersOf(fn));
  return wrapper;
}

/** The parameters `fn` declares. Functions without readable source (native, bound) fall back to `fn.length`
 * required arguments and no maximum. */
export function parametersOf(fn: (...args: never[]) => unknown): ArgumentSpec {
  const known = declared.get(fn);
  if (known !== undefined) return known;
  const params = parseParameters(Function.prototype.toString.call(fn));
  const spec: ArgumentSpec =
    params === undefined
      ? { names: Array.from({ length: fn.length }, (_, i) => `arg${i}`), required: fn.length, max: Infinity }
      : specOf(params.source, params.patterns);
  declared.set(fn, spec);
  return spec;
}

/** Required are the parameters before the first default or rest one (JavaScript's own count, `fn.length`): a
 * TypeScript `y?: T` compiles to a plain parameter, so give such a parameter a default to make it optional here. */
function specOf(source: string, params: readonly Pattern[]): ArgumentSpec {
  const firstOptional = params.findIndex((p) => p.type === "AssignmentPattern" || p.type === "RestElement");
  const rest = params.at(-1)?.type === "RestElement";
  const names = params.map((p) => {
    if (p.type === "RestElement") return `...${patternName(source, p.argument)}`;
    if (p.type === "AssignmentPattern") return `${patternName(source, p.left)}?`;
    return patternName(source, p);
  });
  return { names, required: firstOptional < 0 ? params.length : firstOptional, max: rest ? Infinity : params.length };
}

function patternName(source: string, p: Pattern): string {
  if (p.type === "Identifier") return p.name;
  return p.type === "ObjectPattern" ? "{…}" : p.type === "ArrayPattern" ? "[…]" : source.slice(p.start, p.end);
}

interface ParsedParameters {
  source: string;
  patterns: Pattern[];
}

/** Function source as `toString` gives it: a function or arrow expression, or a method (object or class). */
function parseParameters(text: string): ParsedParameters | undefined {
  for (const source of [`(${text})`, `({${text}})`, `(class {${text}})`]) {
    let node: Node;
    try {
      node = parseExpressionAt(source, 0, { ecmaVersion: "latest", preserveParens: true });
    } catch {
      continue;
    }
    // Only the whole text as one parenthesised expression counts: nothing may trail the function.
    if (node.type !== "ParenthesizedExpression" || node.end !== source.length) continue;
    const fn = functionIn((node as Node & { expression: Node }).expression);
    if (fn !== undefined) return { source, patterns: fn.params };
  }
  return undefined;
}

function functionIn(node: Node): { params: Pattern[] } | undefined {
  const n = node as Node & { type: string; params?: Pattern[]; properties?: Node[]; body?: { body?: Node[] } };
  if (n.type === "FunctionExpression" || n.type === "ArrowFunctionExpression") return { params: n.params! };
  const members = n.type === "ObjectExpression" ? n.properties : n.type === "ClassExpression" ? n.body?.body : undefined;
  if (members?.length !== 1) return undefined;
  const value = (members[0] as Node & { value?: Node }).value;
  return value?.type === "FunctionExpression" ? { params: (value as Node & { params: Pattern[] }).params } : undefined;
}

/** Throws when `args` does not fit `spec`, naming what was expected and what was given. */
export function checkArgumentCount(where: string, spec: ArgumentSpec, args: readonly unknown[]): void {
  if (args.length >= spec.required && args.length <= spec.max) return;
  const count =
    spec.max === Infinity
      ? `at least ${spec.required}`
      : spec.required === spec.max
        ? `${spec.max}`
        : `${spec.required} to ${spec.max}`;
  const plural = count === "1" || count === "at least 1" ? "" : "s";
  throw new TypeError(`${where}: expected ${count} argument${plural} ${parenthesised(spec.names)}, got ${args.length}: ${describeArguments(args)}`);
}

/** A short description of call arguments: arrays by type, containers by structure, other values by kind. */
export function describeArguments(args: readonly unknown[]): string {
  return parenthesised(describeEach(args));
}

/** `(a, b, c)`, cut at 300 characters: a parameter tree of a whole model would otherwise fill the screen. */
export function parenthesised(parts: readonly string[]): string {
  const text = `(${parts.join(", ")})`;
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

export function describeEach(args: readonly unknown[]): string[] {
  return args.map((a) => describe(a, 0));
}

function describe(value: unknown, depth: number): string {
  if (value instanceof ArrayBase) return value.aval.toString();
  if (value === null || value === undefined || typeof value === "number" || typeof value === "boolean") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (depth > 3) return "…";
  if (Array.isArray(value)) return `[${value.map((v) => describe(v, depth + 1)).join(", ")}]`;
  const proto: unknown = typeof value === "object" ? Object.getPrototypeOf(value) : undefined;
  if (proto === Object.prototype || proto === null) {
    return `{${Object.entries(value as object).map(([k, v]) => `${k}: ${describe(v, depth + 1)}`).join(", ")}}`;
  }
  return typeof value === "function" ? "a function" : `a ${(value as object).constructor?.name ?? typeof value}`;
}
