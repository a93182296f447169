// docs/CONFIG.md is generated from the schema and the recipes (issue 9: the config reference); it must match what
// the validator accepts today.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { describeFields, resolveConfig } from "../../src/train/config.js";
import { configReference } from "../../src/train/config_reference.js";

describe("config reference (docs/CONFIG.md)", () => {
  const text = configReference();

  it("docs/CONFIG.md is up to date: run `npm run docs:config` after changing the schema, defaults or recipes", () => {
    expect(readFileSync(new URL("../../docs/CONFIG.md", import.meta.url), "utf8")).toBe(text);
  });

  it("has one row per schema field, and every documented field is accepted by the validator", () => {
    const rows = [...text.matchAll(/^\| `([\w.]+)` \| .* \| .* \| .* \|$/gm)].map((match) => match[1]);
    expect(rows).toEqual(describeFields().map(([path]) => path));
    for (const path of rows.filter((row) => row.includes("."))) {
      // Setting a field to its own default through an override is accepted; a misspelt path is not.
      const config = resolveConfig({ stage: "grpo" }) as unknown as Record<string, Record<string, unknown>>;
      const [section, field] = path!.split(".") as [string, string];
      expect(() => resolveConfig({ stage: "grpo", overrides: [{ path: [section, field], value: config[section]![field], flag: "test" }] })).not.toThrow();
    }
    expect(() => resolveConfig({ stage: "grpo", overrides: [{ path: ["optim", "learningRate"], value: 1, flag: "test" }] })).toThrow(/learningRate/);
  });
});
