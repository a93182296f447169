#!/usr/bin/env node
// The `grpo-xla` command line: `grpo-xla <command> [options]`. Each command is a table entry (options.ts); an error
// is one line on stderr and a non-zero exit (2 for a usage mistake, 1 for a failure), with the stack under --debug.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../runtime/native.js";
import { closeDevices } from "../runtime/device.js";
import { generateCommand } from "./generate.js";
import { type Io, type RegisteredCommand, UsageError, registerCommand, streamIo } from "./options.js";
import { scoreCommand } from "./score.js";
import { trainEntryCommand } from "./train.js";

/** Every command, in the order `grpo-xla --help` lists them. */
const COMMANDS: readonly RegisteredCommand[] = [trainEntryCommand, registerCommand(generateCommand), registerCommand(scoreCommand)];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    "Usage: grpo-xla <command> [options]",
    "",
    "Gemma3 compiled to XLA from TypeScript: post-train with SFT and GRPO, generate completions, score sequences.",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "grpo-xla <command> --help shows a command's options; --version prints the version.",
    "",
  ].join("\n");
}

function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
}

/** One line, whatever the error carries. */
function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, " ").trim() || (error instanceof Error ? error.name : "unknown error");
}

/** Runs the command line `args` (without node and the script); returns the exit status. */
export async function main(args: readonly string[], io: Io): Promise<number> {
  const [name, ...rest] = args;
  const debug = args.includes("--debug");
  let command: RegisteredCommand | undefined;
  try {
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
      const topic = name === "help" ? rest[0] : undefined;
      const about = topic === undefined ? undefined : COMMANDS.find((c) => c.name === topic);
      if (topic !== undefined && about === undefined) throw new UsageError(`unknown command ${JSON.stringify(topic)}`);
      await io.write(about === undefined ? mainHelp() : about.help());
      return name === undefined ? 2 : 0;
    }
    if (name === "--version") {
      await io.write(`${version()}\n`);
      return 0;
    }
    command = COMMANDS.find((c) => c.name === name);
    if (command === undefined) {
      throw new UsageError(`unknown command ${JSON.stringify(name)}: use one of ${COMMANDS.map((c) => c.name).join(", ")} (grpo-xla --help)`);
    }
    await command.run(rest, io);
    return 0;
  } catch (error) {
    // The reader closed the pipe (`| head`): what it wanted was written.
    if ((error as { code?: unknown }).code === "EPIPE") return 0;
    const prefix = command === undefined ? "grpo-xla" : `grpo-xla ${command.name}`;
    io.log(debug && error instanceof Error && error.stack !== undefined ? `${prefix}: ${error.stack}` : `${prefix}: ${oneLine(error)}`);
    return error instanceof UsageError ? 2 : 1;
  } finally {
    await closeDevices();
  }
}

process.exitCode = await main(process.argv.slice(2), streamIo(process.stdout, process.stderr));
