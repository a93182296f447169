// The structural check of emitted MLIR with mlir-opt-22 (Debian package mlir-22-tools). mlir-opt has no StableHLO
// dialect, so it runs with --allow-unregistered-dialect and every stablehlo op is opaque to it: it checks the
// generic syntax, SSA (every value defined once, before its uses, in scope across regions), builtin types and
// attributes (a dense literal must fit its type) and func.func / func.return against the signature, but not
// whether an op's operand and result types make sense. tests/helpers/plugin_check.ts is the semantic check.
// Many modules are checked in one mlir-opt process with --split-input-file; errors are mapped back to the module
// they belong to. A missing mlir-opt is an error, never a skip: without it nothing checks the emitter's text.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const MLIR_OPT = process.env.GRPO_XLA_MLIR_OPT ?? "mlir-opt-22";

const SEPARATOR = "// -----";

export interface ModuleText {
  /** Where the module came from (a dump file name or a test label). */
  name: string;
  text: string;
}

export interface ModuleFailure {
  name: string;
  message: string;
}

let checkedAvailable = false;

/** Throws with install instructions when mlir-opt-22 cannot be run. */
export function requireMlirOpt(): void {
  if (checkedAvailable) return;
  const probe = spawnSync(MLIR_OPT, ["--version"], { encoding: "utf8" });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(
      `${MLIR_OPT} is not runnable (${probe.error?.message ?? `exit ${probe.status}: ${probe.stderr}`}). ` +
        `Every emitted StableHLO module goes through its structural check: install it with 'apt-get install mlir-22-tools' ` +
        `(or point GRPO_XLA_MLIR_OPT at an mlir-opt binary).`,
    );
  }
  checkedAvailable = true;
}

/** Runs the structural check (`mlir-opt-22 --allow-unregistered-dialect`) on each module; returns the failures. */
export function verifyModules(modules: readonly ModuleText[]): ModuleFailure[] {
  if (modules.length === 0) return [];
  requireMlirOpt();
  // Line ranges of each module inside the combined file, for mapping diagnostics back.
  const ranges: { name: string; first: number; last: number }[] = [];
  const parts: string[] = [];
  let line = 1;
  for (const m of modules) {
    if (m.text.includes(SEPARATOR)) throw new Error(`${m.name}: module text contains the split marker '${SEPARATOR}'`);
    const text = m.text.endsWith("\n") ? m.text : `${m.text}\n`;
    const lines = text.split("\n").length - 1;
    ranges.push({ name: m.name, first: line, last: line + lines - 1 });
    parts.push(text);
    line += lines + 1; // the separator line
  }
  const dir = mkdtempSync(join(tmpdir(), "grpo-xla-verify-"));
  const file = join(dir, "modules.mlir");
  try {
    writeFileSync(file, parts.join(`${SEPARATOR}\n`));
    const result = spawnSync(MLIR_OPT, ["--allow-unregistered-dialect", "--split-input-file", file, "-o", "/dev/null"], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    if (result.error !== undefined) throw new Error(`${MLIR_OPT} failed to run: ${result.error.message}`);
    if (result.status === 0) return [];
    const failures = new Map<string, string[]>();
    const unplaced: string[] = [];
    // Diagnostics look like `FILE:LINE:COL: error: message` followed by the source line and a caret.
    const diagnostic = new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:(\\d+):(\\d+): (error|warning|note): (.*)$`);
    const stderr = result.stderr.split("\n");
    for (let i = 0; i < stderr.length; i++) {
      const match = diagnostic.exec(stderr[i]!);
      if (match === null) continue;
      const at = Number(match[1]);
      const range = ranges.find((r) => at >= r.first && at <= r.last);
      const context = stderr.slice(i + 1, i + 3).join("\n");
      const message = `line ${at - (range?.first ?? 1) + 1}:${match[2]}: ${match[3]}: ${match[4]}\n${context}`;
      if (range === undefined) unplaced.push(message);
      else failures.set(range.name, [...(failures.get(range.name) ?? []), message]);
    }
    const out: ModuleFailure[] = [...failures].map(([name, messages]) => ({ name, message: messages.join("\n") }));
    if (out.length === 0) out.push({ name: "(unknown module)", message: [...unplaced, result.stderr].join("\n") });
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Throws naming every module that fails the structural check, with mlir-opt's message and the module's text. */
export function expectModulesVerify(modules: readonly ModuleText[]): void {
  const failures = verifyModules(modules);
  if (failures.length === 0) return;
  const byName = new Map(modules.map((m) => [m.name, m.text]));
  const report = failures
    .map((f) => `--- ${f.name}\n${f.message}\n${(byName.get(f.name) ?? "").split("\n").slice(0, 60).join("\n")}`)
    .join("\n");
  throw new Error(`${failures.length} of ${modules.length} MLIR module(s) fail ${MLIR_OPT} --allow-unregistered-dialect:\n${report}`);
}
