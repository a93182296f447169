// node native/build.mjs [--tools]: builds the native products with cmake-js into build/Release.
// Without --tools (the package's install step): the addon and the CPU plugin only. With --tools (`npm run
// build:native` in a checkout): also the C++ tests, the ABI tools, the fuzz driver, the benches and their
// AddressSanitizer builds (see CMakeLists.txt). cmake-js builds against the node-api-headers package (package.json
// declares "binary": { "napi_versions" }), so nothing is downloaded.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const tools = process.argv.includes("--tools");
const cmakeJs = createRequire(import.meta.url).resolve("cmake-js/bin/cmake-js");

if (spawnSync("cmake", ["--version"], { stdio: "ignore" }).status !== 0) {
  console.error("error: grpo-xla builds its native code with CMake, which is not installed: apt-get install cmake");
  process.exit(1);
}

// With ccache (CMakeLists.txt uses it when installed), paths under the package root are hashed relative to it, so
// the same sources built from another directory (an installed copy of the package) hit the cache.
const env = { ...process.env, CCACHE_BASEDIR: process.env.CCACHE_BASEDIR ?? root };

function cmakeJsRun(args) {
  const run = spawnSync(process.execPath, [cmakeJs, ...args], { cwd: root, stdio: "inherit", env });
  if (run.status !== 0) process.exit(run.status ?? 1);
}

// Configure every time (a second): it picks up new sources in the globbed folders and the --tools choice.
cmakeJsRun(["configure", "--out", "build", `--CDGRPO_XLA_TOOLS=${tools ? "ON" : "OFF"}`]);
cmakeJsRun(["build", "--out", "build", "--parallel", String(availableParallelism())]);
