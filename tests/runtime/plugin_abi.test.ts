// Our CPU plugin at the C ABI (native/cpu/tests/plugin_abi_test.cc): strided host buffers, host layouts, size
// queries, events, deletion, old struct sizes; the paths the addon itself never takes.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nativeBuildDir } from "../../src/runtime/native.js";
import { ourCpuPluginPath } from "../../src/runtime/plugins.js";

// The same checks on the AddressSanitizer + _GLIBCXX_ASSERTIONS build: executions run on the plugin's worker thread
// while the caller destroys and donates buffers, where a use after free would otherwise go unseen.
const builds = [
  { name: "the CPU plugin at the C ABI", driver: "cpu_plugin_abi_test", plugin: ourCpuPluginPath() },
  {
    name: "the sanitized CPU plugin at the C ABI",
    driver: "cpu_plugin_abi_test_checked",
    plugin: join(nativeBuildDir(), "grpo_xla_cpu_plugin_checked.so"),
  },
];

describe.each(builds)("$name", ({ driver, plugin }) => {
  const run = spawnSync(join(nativeBuildDir(), driver), [plugin], { encoding: "utf8" });
  const lines = run.stdout.trim().split("\n");

  it("runs every check to the end", () => {
    expect(run.stderr).toBe("");
    expect(lines.at(-1)).toBe("ok client destroys");
  });

  for (const line of lines) {
    const name = line.replace(/^(ok|FAIL) /, "").replace(/: .*$/, "");
    it(name, () => {
      expect(line).toMatch(/^ok /);
    });
  }

  it("exits 0", () => {
    expect(run.status).toBe(0);
  });
});
