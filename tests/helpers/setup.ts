// Vitest setup, run before every test file: registers the toBeAllclose matcher and gives the file its own
// GRPO_XLA_DUMP_DIR, so every StableHLO module the file lowers is written there (programs jitted on the reference
// device included). After the file's tests every dumped module goes through two checks, and a failing module fails
// the file, naming the module: mlir-opt-22's structural check (SSA, syntax, builtin types and attributes,
// func.return against the signature; stablehlo ops are opaque to it) and the cpu plugin's parser and type checker
// (each distinct module compiled once, never run), which checks every op's operand and result types.
// With GRPO_XLA_DUMP_DIR set when the suite starts, each file's modules are kept under it, in a folder named
// after the test file (tests/transforms/jit.test.ts -> DIR/tests/transforms/jit); otherwise they go to a
// temporary folder that is removed when the file passes.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect } from "vitest";
import "./allclose.js";
import { expectNoLeaksThenClose } from "./leaks.js";
import { SUITE_DUMP_ROOT, keptDumpDir } from "./dump_dir.js";
import { expectModulesVerify } from "./mlir.js";
import { expectModulesCompile } from "./plugin_check.js";

const kept = keptDumpDir(process.env[SUITE_DUMP_ROOT], expect.getState().testPath);
const dumpDir = kept ?? mkdtempSync(join(tmpdir(), "grpo-xla-dump-"));
if (kept !== undefined) {
  mkdirSync(kept, { recursive: true });
  // Modules of an earlier run of this file would be checked and kept again as if this run had made them.
  for (const f of readdirSync(kept)) if (f.endsWith(".mlir")) rmSync(join(kept, f));
}
process.env.GRPO_XLA_DUMP_DIR = dumpDir;

/** The directory this test file's lowered modules are dumped to. */
export function currentDumpDir(): string {
  return dumpDir;
}

afterAll(async () => {
  const errors: string[] = [];
  try {
    await expectNoLeaksThenClose();
  } catch (error) {
    errors.push((error as Error).message);
  }
  const files = readdirSync(dumpDir)
    .filter((f) => f.endsWith(".mlir"))
    .sort()
    .map((f) => join(dumpDir, f));
  const modules = files.map((f) => ({ name: f, text: readFileSync(f, "utf8") }));
  try {
    expectModulesVerify(modules);
    await expectModulesCompile(modules);
  } catch (error) {
    // The directory is kept so the modules can be inspected.
    errors.push(`${(error as Error).message}\n(dumped modules kept in ${dumpDir})`);
  }
  if (errors.length > 0) throw new Error(errors.join("\n"));
  // A file that lowers nothing leaves no folder behind.
  if (kept === undefined || files.length === 0) rmSync(dumpDir, { recursive: true, force: true });
});
