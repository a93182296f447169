// Our CPU plugin at the C ABI (native/cpu/tests/plugin_abi_test.cc): strided host buffers, host layouts, size
// queries, events, deletion, old struct sizes; the paths the addon itself never takes.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nativeBuildDir } from "../../src/runtime/native.js";
import { ourCpuPluginPath } from "../../src/runtime/plugins.js";

describe("the CPU plugin at the C ABI", () => {
  const run = spawnSync(join(nativeBuildDir(), "cpu_plugin_abi_test"), [ourCpuPluginPath()], { encoding: "utf8" });
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
