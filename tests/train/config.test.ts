import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, defaultConfig, describeFields, loadConfig, parseOverrides, resolveConfig } from "../../src/train/config.js";
import { formatDuration, parseDuration } from "../../src/train/duration.js";
import { mutate } from "../data/mutate.js";

const FIXTURE = new URL("fixtures/grpo.yaml", import.meta.url).pathname;
const text = readFileSync(FIXTURE, "utf8");

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("durations", () => {
  it("parses 8h30m and friends to seconds", () => {
    expect(parseDuration("8h30m")).toBe(30600);
    expect(parseDuration("1d2h")).toBe(93600);
    expect(parseDuration("90m")).toBe(5400);
    expect(parseDuration("1.5h")).toBe(5400);
    expect(parseDuration("45s")).toBe(45);
    expect(parseDuration("3600")).toBe(3600);
    expect(parseDuration(12)).toBe(12);
    expect(() => parseDuration("8 hours")).toThrow(/not a duration/);
    expect(() => parseDuration("1h1h")).toThrow(/appears twice/);
    expect(() => parseDuration("0m")).toThrow(/longer than zero/);
    expect(formatDuration(30600)).toBe("8h30m00s");
    expect(formatDuration(61)).toBe("1m01s");
  });
});

describe("config", () => {
  it("defaults are valid for both stages and carry the recipe", () => {
    const grpo = resolveConfig({ stage: "grpo" });
    expect(grpo.grpo).toMatchObject({ G: 4, beta: 0.08, epsilon: 0.2, mu: 1, kl: "k3" });
    expect(grpo.optim).toMatchObject({ lr: 3e-6, warmupFraction: 0.1, clip: 0.1 });
    expect(grpo.lora).toMatchObject({ rank: 32, alpha: 32 });
    expect(resolveConfig({ stage: "sft" }).stage).toBe("sft");
    expect(defaultConfig("sft").optim.lr).toBeGreaterThan(defaultConfig("grpo").optim.lr);
    expect(describeFields().find(([path]) => path === "grpo.G")![1]).toMatch(/^G: /);
  });

  it("reads a YAML file over the defaults, with the time budget in seconds", async () => {
    const config = await loadConfig(FIXTURE);
    expect(config.run).toMatchObject({ name: "gsm-like", seed: 3, timeBudget: 30600, dir: "runs" });
    expect(config.grpo).toMatchObject({ epsilonHigh: 0.28, aggregation: "token-mean", rewardWeights: { format: 3, correctness: 3 } });
    expect(config.lora.targets).toEqual(["q", "kv", "o"]);
    expect(config.data.levels).toEqual([2, 3]);
    expect(config.sampling.topK).toBe(50);
  });

  it("accepts task level 0 (the cpu demo's, issue 8) and no level outside 0-3", () => {
    expect(resolveConfig({ stage: "sft", yaml: "data:\n  levels: [0, 1]\n" }).data.levels).toEqual([0, 1]);
    expect(() => resolveConfig({ stage: "sft", yaml: "data:\n  levels: [4]\n" })).toThrow(/levels/);
  });

  it("lora.enabled false (full-parameter SFT and GRPO) and data.heldOutBy are checked, with the file line (issue 8)", () => {
    expect(resolveConfig({ stage: "sft" }).lora.enabled).toBe(true);
    expect(resolveConfig({ stage: "sft", yaml: "lora:\n  enabled: false\n" }).lora.enabled).toBe(false);
    expect(resolveConfig({ stage: "grpo", yaml: "stage: grpo\nlora:\n  enabled: false\n" }).lora.enabled).toBe(false);
    expect(() => resolveConfig({ stage: "grpo", source: "g.yaml", yaml: "stage: grpo\nlora:\n  enabled: 0\n" })).toThrow(/^g\.yaml:3: lora\.enabled: expected boolean/);
    expect(() => resolveConfig({ stage: "sft", source: "s.yaml", yaml: "lora:\n  enabled: no way\n" })).toThrow(/s\.yaml:2: lora\.enabled: expected boolean/);
    expect(resolveConfig({ stage: "grpo" }).optim.eps).toBe(1e-8);
    expect(resolveConfig({ stage: "grpo", yaml: "stage: grpo\noptim:\n  eps: 1.0e-4\n" }).optim.eps).toBe(1e-4);
    expect(() => resolveConfig({ stage: "grpo", source: "g.yaml", yaml: "stage: grpo\noptim:\n  eps: -1\n" })).toThrow(/^g\.yaml:3: optim\.eps/);
    expect(resolveConfig({ stage: "sft" }).data.heldOutBy).toBe("numbers");
    expect(resolveConfig({ stage: "sft", yaml: "data:\n  heldOutBy: text\n" }).data.heldOutBy).toBe("text");
    expect(() => resolveConfig({ stage: "sft", source: "s.yaml", yaml: "data:\n  heldOutBy: names\n" })).toThrow(/s\.yaml:2: data\.heldOutBy/);
  });

  it("applies command-line overrides last; other arguments are left for the command", () => {
    const { overrides, rest } = parseOverrides(["--lr", "1e-5", "--set", "grpo.G=8", "--time-budget=2h", "--lora.targets", "[q,v]", "--verbose", "--set=grpo.kl=k1", "train"]);
    expect(rest).toEqual(["--verbose", "train"]);
    const config = resolveConfig({ yaml: text, source: FIXTURE, overrides });
    expect(config.optim.lr).toBe(1e-5);
    expect(config.grpo.G).toBe(8);
    expect(config.grpo.kl).toBe("k1");
    expect(config.run.timeBudget).toBe(7200);
    expect(config.lora.targets).toEqual(["q", "v"]);
    expect(resolveConfig({ yaml: text, overrides: parseOverrides(["--stage", "sft"]).overrides }).optim.lr).toBe(3e-6);
  });

  it("names an unknown field and its line", () => {
    const bad = text.replace("  beta: 0.08", "  betta: 0.08");
    const error = configError(() => resolveConfig({ yaml: bad, source: "grpo.yaml" }));
    expect(error.message).toBe("grpo.yaml:19: grpo.betta: unknown field");
    expect(configError(() => resolveConfig({ yaml: `${text}extra: 1\n`, source: "c.yaml" })).message).toMatch(/^c\.yaml:\d+: extra: unknown field$/);
  });

  it("names a mistyped field, its line, and what it got", () => {
    const bad = text.replace("  G: 4", "  G: four");
    expect(configError(() => resolveConfig({ yaml: bad, source: "grpo.yaml" })).message).toBe('grpo.yaml:18: grpo.G: expected number, got string "four"');
    const range = text.replace("epsilon: 0.2", "epsilon: -1");
    expect(configError(() => resolveConfig({ yaml: range, source: "grpo.yaml" })).message).toMatch(/^grpo\.yaml:20: grpo\.epsilon: .*(>0|positive|greater).*\(got number -1\)$/);
    const kl = text.replace("kl: k3", "kl: k4");
    expect(configError(() => resolveConfig({ yaml: kl, source: "grpo.yaml" })).message).toMatch(/^grpo\.yaml:22: grpo\.kl: .*k1.*k2.*k3/);
    const budget = text.replace("timeBudget: 8h30m", "timeBudget: soon");
    expect(configError(() => resolveConfig({ yaml: budget, source: "grpo.yaml" })).message).toMatch(/^grpo\.yaml:6: run\.timeBudget: "soon" is not a duration/);
    const preset = text.replace("preset: gemma3-1b", "preset: gemma9");
    expect(configError(() => resolveConfig({ yaml: preset, source: "grpo.yaml" })).message).toMatch(/^grpo\.yaml:9: model\.preset: unknown model preset/);
  });

  it("blames the command-line flag for a bad override", () => {
    const { overrides } = parseOverrides(["--set", "grpo.mu=0"]);
    expect(configError(() => resolveConfig({ yaml: text, source: "grpo.yaml", overrides })).message).toMatch(/^--set grpo\.mu=0: grpo\.mu: /);
    expect(configError(() => resolveConfig({ overrides: parseOverrides(["--optim.lrr", "1"]).overrides })).message).toBe("--optim.lrr 1: optim.lrr: unknown field");
    expect(configError(() => parseOverrides(["--lr"])).message).toMatch(/--lr: needs a value/);
    expect(configError(() => parseOverrides(["--set", "novalue"])).message).toMatch(/write --set field.path=value/);
  });

  it("reports YAML syntax errors, duplicate keys and non-mapping files with a line", async () => {
    expect(configError(() => resolveConfig({ yaml: "grpo:\n  G: [1, 2\n", source: "s.yaml" })).message).toMatch(/^s\.yaml:\d+: invalid YAML/);
    expect(configError(() => resolveConfig({ yaml: "grpo:\n  G: 4\n  G: 5\n", source: "d.yaml" })).message).toMatch(/^d\.yaml:3: invalid YAML: .*[Uu]nique/);
    expect(configError(() => resolveConfig({ yaml: "- a\n- b\n", source: "l.yaml" })).message).toBe("l.yaml:1: a config file is a mapping of fields, got a list");
    expect(configError(() => resolveConfig({ yaml: "__proto__:\n  polluted: 1\n", source: "p.yaml" })).message).toMatch(/__proto__: (is not a config field|unknown field)/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const dir = mkdtempSync(join(tmpdir(), "grpo-config-"));
    await expect(loadConfig(join(dir, "missing.yaml"))).rejects.toThrow(/missing\.yaml: cannot read the config file/);
    writeFileSync(join(dir, "empty.yaml"), "");
    expect((await loadConfig(join(dir, "empty.yaml"))).stage).toBe("grpo");
  });

  it("fuzz: 1000 mutated real configs give a config or a ConfigError", () => {
    const original = new TextEncoder().encode(text);
    let rejected = 0;
    for (let i = 0; i < 1000; i++) {
      const yaml = new TextDecoder().decode(mutate(original, 4, i));
      try {
        resolveConfig({ yaml, source: "fuzz.yaml" });
      } catch (error) {
        if (!(error instanceof ConfigError)) throw new Error(`case ${i}: ${String(error)}\n${yaml}`);
        expect(error.message).toMatch(/^(fuzz\.yaml|defaults)/);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(100);
  });
});
