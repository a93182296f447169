// Vitest setup, run before every test file: registers the toBeAllclose matcher and gives the file its own
// GRPO_XLA_DUMP_DIR, so every StableHLO module the file lowers is written there. After the file's tests, each
// dumped module must parse and verify with mlir-opt-22; a failing module fails the file, naming the module.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import "./allclose.js";
import { expectFilesVerify } from "./mlir.js";

const dumpDir = mkdtempSync(join(tmpdir(), "grpo-xla-dump-"));
process.env.GRPO_XLA_DUMP_DIR = dumpDir;

/** The directory this test file's lowered modules are dumped to. */
export function currentDumpDir(): string {
  return dumpDir;
}

afterAll(() => {
  const files = readdirSync(dumpDir)
    .filter((f) => f.endsWith(".mlir"))
    .sort()
    .map((f) => join(dumpDir, f));
  try {
    expectFilesVerify(files);
  } catch (error) {
    // The directory is kept so the modules can be inspected.
    throw new Error(`${(error as Error).message}\n(dumped modules kept in ${dumpDir})`);
  }
  rmSync(dumpDir, { recursive: true, force: true });
});
