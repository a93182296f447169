// Where the suite keeps the modules it lowers when the user asked for them: GRPO_XLA_DUMP_DIR as it was when the
// suite started reaches each test file as GRPO_XLA_SUITE_DUMP_ROOT (vitest.config.ts), because each file's setup
// points GRPO_XLA_DUMP_DIR at its own folder.
import { isAbsolute, join, relative, resolve } from "node:path";

export const SUITE_DUMP_ROOT = "GRPO_XLA_SUITE_DUMP_ROOT";

/** The folder under `root` for one test file (tests/ops/cpu.test.ts -> ROOT/tests/ops/cpu; the same for a
 * .fixture.ts), or undefined when no root was given. */
export function keptDumpDir(root: string | undefined, testPath: string | undefined, repoRoot = process.cwd()): string | undefined {
  if (root === undefined || root === "") return undefined;
  if (testPath === undefined) throw new Error(`${SUITE_DUMP_ROOT} is set but vitest did not say which test file runs`);
  let rel = relative(repoRoot, testPath);
  if (rel.startsWith("..") || isAbsolute(rel)) rel = rel.replace(/^[./\\]+|:/g, "").replace(/[/\\]+/g, "_");
  return join(resolve(root), rel.replace(/(\.[a-z]+)?\.[cm]?[jt]s$/, ""));
}
