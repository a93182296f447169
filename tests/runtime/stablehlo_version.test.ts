// StableHLO versions a plugin reports (issue 10.2): read when the client is created, exposed on the device, checked
// against each module before it compiles. tests/runtime/stablehlo_version_old_plugin.test.ts runs the cpu plugin
// at an older version.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { featureOf } from "../../hlo/index.js";
import { getDevice } from "../../src/index.js";
import { nativeBuildDir } from "../../src/runtime/native.js";
import { ourCpuPluginPath } from "../../src/runtime/plugins.js";
import {
  StablehloVersionError,
  checkStablehloVersion,
  describeVersions,
  readStablehloVersions,
} from "../../src/runtime/stablehlo_version.js";

describe("reading a plugin's StableHLO attributes", () => {
  it("takes [major, minor, patch] lists", () => {
    expect(readStablehloVersions({ stablehlo_current_version: [1, 13, 7], stablehlo_minimum_version: [0, 9, 0] })).toEqual({
      versions: { current: [1, 13, 7], minimum: [0, 9, 0] },
      problems: [],
    });
    expect(readStablehloVersions({ stablehlo_current_version: [1, 2, 0] }).versions).toEqual({ current: [1, 2, 0], minimum: undefined });
  });

  it("a plugin reporting no current version is assumed to read what we emit", () => {
    const read = readStablehloVersions({ xla_version: 2, stablehlo_minimum_version: [0, 9, 0] });
    expect(read).toEqual({ versions: undefined, problems: [] });
    expect(() => checkStablehloVersion(featureOf("stablehlo.reduce", "dimensions", true), read.versions, "gpu")).not.toThrow();
    expect(describeVersions(undefined)).toBe("StableHLO version not reported");
  });

  it("names what is wrong with a malformed attribute and ignores it", () => {
    for (const bad of [[1, 13], [1, 13, 0, 0], [1, -1, 0], [1, 1.5, 0], "1.13.0", 113, [1, "13", 0], []]) {
      const read = readStablehloVersions({ stablehlo_current_version: bad });
      expect(read.versions).toBeUndefined();
      expect(read.problems).toEqual([`stablehlo_current_version should be three non-negative int64s [major, minor, patch], got ${JSON.stringify(bad)}`]);
    }
    const read = readStablehloVersions({ stablehlo_current_version: [1, 13, 0], stablehlo_minimum_version: [0, 9] });
    expect(read.versions).toEqual({ current: [1, 13, 0], minimum: undefined });
    expect(read.problems[0]).toMatch(/^stablehlo_minimum_version should be/);
  });
});

describe("the check before compiling", () => {
  const versions = { current: [1, 2, 0] as const, minimum: [0, 9, 0] as const };

  it("passes a module whose newest feature the plugin has", () => {
    expect(() => checkStablehloVersion(featureOf("stablehlo.reduce", "dimensions", true), versions, "tpu")).not.toThrow();
    expect(() => checkStablehloVersion({ version: [1, 2, 0], what: "x" }, versions, "tpu")).not.toThrow();
  });

  it("refuses a newer one, naming the feature, the version it needs and the plugin's", () => {
    let caught: unknown;
    try {
      checkStablehloVersion({ version: [1, 9, 0], what: "stablehlo.exponential attribute result_accuracy" }, versions, "tpu");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StablehloVersionError);
    const error = caught as StablehloVersionError;
    expect(error.message).toBe(
      "tpu compile: the module needs StableHLO 1.9.0 for stablehlo.exponential attribute result_accuracy, but the tpu " +
        "plugin reports StableHLO 1.2.0 (its stablehlo_current_version): update the plugin",
    );
    expect(error.needs.version).toEqual([1, 9, 0]);
    expect(error.plugin).toEqual([1, 2, 0]);
  });
});

describe("the cpu plugin's versions", () => {
  it("are read when the device opens and exposed on it", () => {
    const cpu = getDevice("cpu");
    expect(cpu.stablehloVersion).toEqual({ current: [1, 13, 0], minimum: [0, 9, 0] });
    expect(cpu.backend!.description).toContain("StableHLO 1.13.0, reads artifacts from 0.9.0");
    expect(getDevice("reference").stablehloVersion).toBeUndefined();
  });

  it("a GRPO_XLA_CPU_STABLEHLO_VERSION that is not a version fails client creation and the attributes, naming it", () => {
    // A fresh process: the plugin reads the variable once.
    const script = [
      "const addon = require(process.argv[1]);",
      "const plugin = new addon.Plugin(process.argv[2]);",
      "for (const call of [() => plugin.attributes(), () => plugin.createClient([])]) {",
      "  try { call(); console.log('no error'); } catch (e) { console.log(e.message); }",
      "}",
    ].join("\n");
    for (const bad of ["1.2", "one.two.three", "1.2.3-rc1"]) {
      const out = execFileSync(process.execPath, ["-e", script, join(nativeBuildDir(), "grpo_xla.node"), ourCpuPluginPath()], {
        encoding: "utf8",
        env: { ...process.env, GRPO_XLA_CPU_STABLEHLO_VERSION: bad },
      });
      const lines = out.trim().split("\n");
      expect(lines).toHaveLength(2);
      for (const line of lines) expect(line).toContain(`GRPO_XLA_CPU_STABLEHLO_VERSION='${bad}' is not a StableHLO version like 1.13.0`);
    }
  });
});
