import { defineConfig } from "vitest/config";
import { SUITE_DUMP_ROOT } from "./tests/helpers/dump_dir.js";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Compiles and reference-interpreted programs can take a while on shared CI cores.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Forks, not threads: native addons (the PJRT client) are loaded into test processes.
    pool: "forks",
    // Each test file gets its own GRPO_XLA_DUMP_DIR; every module lowered there must pass mlir-opt-22's structural
    // check and compile on the cpu plugin (its type checker), see tests/helpers/setup.ts.
    setupFiles: ["tests/helpers/setup.ts"],
    // A GRPO_XLA_DUMP_DIR given to the suite keeps every file's modules under it (see tests/helpers/setup.ts).
    env: { [SUITE_DUMP_ROOT]: process.env.GRPO_XLA_DUMP_DIR ?? "" },
  },
});
