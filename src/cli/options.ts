// Command-line options: each command declares a table of options (type, placeholder, help text, default shown);
// the table drives node:util's parseArgs, the typed result, and the command's --help page. Values are checked
// here (integers, ranges, choices), so a command works only with typed, valid values.
import { once } from "node:events";
import { parseArgs } from "node:util";

export interface OptionSpec {
  type: "string" | "boolean";
  /** The option may be given several times; its values are collected in order. */
  multiple?: boolean;
  /** Placeholder for the value in help ("DIR", "N"). */
  value?: string;
  help: string;
  /** The default, as shown in help (the command applies it). */
  default?: string;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

type ValueOf<S extends OptionSpec> = S["type"] extends "boolean"
  ? S["multiple"] extends true
    ? boolean[]
    : boolean
  : S["multiple"] extends true
    ? string[]
    : string;

/** What parseArgs gives for a table: each option's value, or undefined when it was not given. */
export type ParsedOptions<T extends OptionTable> = { [K in keyof T]?: ValueOf<T[K]> };

/** A mistake in how the command was called (exit status 2), as opposed to a failure while running it. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Where a command writes. `write` waits when the stream is full, so large outputs stream in bounded memory. */
export interface Io {
  write(text: string): Promise<void>;
  log(text: string): void;
}

export function streamIo(stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Io {
  return {
    async write(text) {
      if (!stdout.write(text)) await once(stdout, "drain");
    },
    log(text) {
      stderr.write(`${text}\n`);
    },
  };
}

/** Options every command takes. */
export const COMMON_OPTIONS = {
  help: { type: "boolean", help: "show this help and exit" },
  debug: { type: "boolean", help: "on an error, print the stack trace instead of one line" },
} as const satisfies OptionTable;

export interface Command<T extends OptionTable & typeof COMMON_OPTIONS> {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** The usage line(s) after "Usage:". */
  usage: string[];
  /** Paragraphs shown in --help before the options. */
  description: string;
  options: T;
  run(options: ParsedOptions<T>, io: Io): Promise<void>;
}


/** What parsing and --help need of a command: everything but how it runs. */
export type CommandSpec<T extends OptionTable & typeof COMMON_OPTIONS> = Omit<Command<T>, "run">;

/** A command with its option types sealed inside: what the command registry holds. */
export interface RegisteredCommand {
  name: string;
  summary: string;
  help(): string;
  /** Parses `args` (after the command name) and runs the command, or prints its help for --help. */
  run(args: readonly string[], io: Io): Promise<void>;
}

export function registerCommand<T extends OptionTable & typeof COMMON_OPTIONS>(command: Command<T>): RegisteredCommand {
  return {
    name: command.name,
    summary: command.summary,
    help: () => helpText(command),
    async run(args, io) {
      const options = parseOptions(command, args);
      if (options.help) await io.write(helpText(command));
      else await command.run(options, io);
    },
  };
}

/** Parses `args` against a command's options; unknown options, missing values and stray arguments are UsageErrors. */
export function parseOptions<T extends OptionTable & typeof COMMON_OPTIONS>(command: CommandSpec<T>, args: readonly string[]): ParsedOptions<T> {
  const config = Object.fromEntries(
    Object.entries<OptionSpec>(command.options).map(([name, spec]) => [name, { type: spec.type, multiple: spec.multiple ?? false }]),
  );
  try {
    return parseArgs({ args: [...args], options: config, strict: true, allowPositionals: false }).values as ParsedOptions<T>;
  } catch (error) {
    throw new UsageError(describeParseError(error, command.name));
  }
}

/** parseArgs's messages, shortened to one line that says what to do. */
function describeParseError(error: unknown, command: string): string {
  const { code, message } = error as { code?: string; message?: string };
  const help = `(grpo-xla ${command} --help lists the options)`;
  const quoted = /'([^']*)'/.exec(message ?? "")?.[1];
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${quoted ?? ""} ${help}`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument ${JSON.stringify(quoted ?? "")}: every input is given by an option ${help}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return `${(message ?? "").replace(/\s+/g, " ").trim()} ${help}`;
    default:
      return String(message ?? error);
  }
}

/** The command's --help page. */
export function helpText<T extends OptionTable & typeof COMMON_OPTIONS>(command: CommandSpec<T>): string {
  const rows = Object.entries<OptionSpec>(command.options).map(([name, spec]) => {
    const left = `--${name}${spec.type === "string" ? ` ${spec.value ?? "VALUE"}` : ""}`;
    const notes = [spec.multiple ? "repeatable" : undefined, spec.default === undefined ? undefined : `default: ${spec.default}`].filter(Boolean);
    return { left, right: `${spec.help}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}` };
  });
  const width = Math.max(...rows.map((row) => row.left.length)) + 2;
  const lines = [
    ...command.usage.map((line, i) => `${i === 0 ? "Usage: " : "       "}${line}`),
    "",
    command.description,
    "",
    "Options:",
    ...rows.map((row) => `  ${row.left.padEnd(width)}${row.right}`),
  ];
  return `${lines.join("\n")}\n`;
}

// --- typed values ------------------------------------------------------------------------------------------------

/** An integer option in [min, max], or `fallback` when absent. */
export function integerOption(name: string, raw: string | undefined, fallback: number, range: { min: number; max?: number }): number {
  if (raw === undefined) return fallback;
  const text = raw.trim();
  const value = /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(value) || value < range.min || value > max) {
    throw new UsageError(`--${name} must be an integer from ${range.min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** A finite number option in [min, max], or `fallback` when absent. */
export function numberOption(name: string, raw: string | undefined, fallback: number, range: { min: number; max: number }): number {
  if (raw === undefined) return fallback;
  const value = raw.trim() === "" ? Number.NaN : Number(raw);
  if (!Number.isFinite(value) || value < range.min || value > range.max) {
    throw new UsageError(`--${name} must be a number from ${range.min} to ${range.max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** One of `choices`, or `fallback` when absent. */
export function choiceOption<C extends string>(name: string, raw: string | undefined, choices: readonly C[], fallback: C): C;
export function choiceOption<C extends string>(name: string, raw: string | undefined, choices: readonly C[]): C | undefined;
export function choiceOption<C extends string>(name: string, raw: string | undefined, choices: readonly C[], fallback?: C): C | undefined {
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got ${JSON.stringify(raw)}`);
  }
  return raw as C;
}
