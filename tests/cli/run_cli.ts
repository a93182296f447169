// Runs the grpo-xla command line as a child process, the way a user does, from the TypeScript sources (so the
// tests need no build of dist/), and collects what it printed and its exit status.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", ...args],
      { cwd: ROOT, maxBuffer: 256 << 20, timeout: 120_000 },
      (error, stdout, stderr) => {
        const status = error === null ? 0 : (error as { code?: unknown }).code;
        if (typeof status !== "number") reject(error ?? new Error("the CLI did not exit"));
        else resolve({ status, stdout, stderr });
      },
    );
  });
}

/** An error must be exactly one line on stderr naming the problem, nothing on stdout, and a non-zero exit. */
export function expectOneLineError(result: CliResult, pattern: RegExp, expect: typeof import("vitest").expect): void {
  expect(result.status, result.stderr).not.toBe(0);
  expect(result.stdout).toBe("");
  expect(result.stderr.endsWith("\n")).toBe(true);
  expect(result.stderr.trimEnd().split("\n"), result.stderr).toHaveLength(1);
  expect(result.stderr).toMatch(pattern);
}
