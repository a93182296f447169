// `grpo-xla train` (the command behind `npm run train:cpu|gpu|tpu`) run as a child process: the cpu recipe at a
// reduced size runs SFT then GRPO from the SFT adapter and leaves each stage's metrics, checkpoint and exports;
// bad invocations are one line on stderr with exit status 2 (usage) or 1 (config), naming what was wrong.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { expectOneLineError, runCli } from "./run_cli.js";

const root = mkdtempSync(join(tmpdir(), "cli-train-"));

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function metricSteps(runDir: string): number[] {
  return readFileSync(join(runDir, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((line) => (JSON.parse(line) as { step: number }).step);
}

describe("grpo-xla train", () => {
  it("runs the cpu recipe's SFT then GRPO (reduced), the second stage on the first's merged model", async () => {
    const runs = join(root, "runs");
    const result = await runCli([
      "train", "--recipe", "cpu", "--sft-steps", "3", "--grpo-steps", "2", "--optim.batchSize", "2", "--quiet",
      "--set", `run.dir=${runs}`, "--log.every", "1", "--eval.every", "0", "--data.evalSize", "4", "--sampling.maxCompletionLength", "24",
    ]);
    expect(result.status, result.stderr).toBe(0);
    // GRPO trains a fresh adapter on SFT's merged export, which is also its KL reference.
    expect(result.stderr).toMatch(/grpo -> .*cpu-grpo \(.*cpu-sft\/export\/model, cpu, 2 steps\)/);
    for (const [stage, steps] of [["sft", 3], ["grpo", 2]] as const) {
      const runDir = join(runs, `cpu-${stage}`);
      // SFT trains every weight of the model from scratch (no adapter); GRPO an adapter on SFT's model.
      expect(existsSync(join(runDir, "export", "adapter.safetensors")), `${stage} adapter`).toBe(stage === "grpo");
      expect(existsSync(join(runDir, "export", "model", "config.json")), `${stage} merged model`).toBe(true);
      expect(existsSync(join(runDir, "export", "model", "model.safetensors")), `${stage} merged weights`).toBe(true);
      expect(Math.max(...metricSteps(runDir))).toBe(steps);
    }
    const grpoRecords = readFileSync(join(runs, "cpu-grpo", "metrics.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    const grpoRecord = grpoRecords.find((r) => r.step === 2 && "loss" in r)!;
    // The GRPO log carries the reward statistics and the step's time split.
    expect(Object.keys(grpoRecord)).toEqual(expect.arrayContaining(["loss", "kl", "reward/mean", "frac_reward_zero_std", "time/rollout_s", "time/update_s"]));
  });

  it("runs the stage of a YAML config file with command-line fields on top", async () => {
    const file = join(root, "sft.yaml");
    writeFileSync(file, ["stage: sft", "model:", "  preset: tiny", "  dtype: f32", "lora:", "  rank: 4", "optim:", "  steps: 2", "  batchSize: 2", "data:", "  levels: [1]", "  evalSize: 2", "eval:", "  every: 0", ""].join("\n"));
    const runs = join(root, "file-runs");
    const result = await runCli(["train", "--config", file, "--quiet", "--set", `run.dir=${runs}`, "--name", "from-file", "--sampling.maxCompletionLength", "16"]);
    expect(result.status, result.stderr).toBe(0);
    expect(Math.max(...metricSteps(join(runs, "from-file")))).toBe(2);
  });

  it("refuses bad invocations with one line naming the problem", async () => {
    expectOneLineError(await runCli(["train", "--recipe", "tpu"]), /tpu recipe trains a downloaded Gemma3 checkpoint: add --model DIR/, expect);
    expectOneLineError(await runCli(["train", "--recipe", "laptop"]), /unknown recipe "laptop": use one of cpu, gpu, tpu/, expect);
    expectOneLineError(await runCli(["train"]), /give --recipe NAME or --config FILE/, expect);
    expectOneLineError(await runCli(["train", "--recipe", "cpu", "--config", "x.yaml"]), /not both/, expect);
    expectOneLineError(await runCli(["train", "--recipe", "cpu", "--stages", "grpo,sft"]), /sft comes before grpo/, expect);
    expectOneLineError(await runCli(["train", "--recipe", "cpu", "--sft-steps", "0"]), /--sft-steps must be a positive integer/, expect);
    expectOneLineError(await runCli(["train", "--recipe", "cpu", "--grpo.betta", "0.1"]), /--grpo\.betta 0\.1: grpo\.betta: unknown field/, expect);
    expectOneLineError(await runCli(["train", "--recipe", "cpu", "--beta", "-1"]), /--beta -1: grpo\.beta/, expect);
    expectOneLineError(await runCli(["train", "--config", join(root, "missing.yaml")]), /missing\.yaml: cannot read the config file/, expect);
    const usage = await runCli(["train", "--recipe", "laptop"]);
    expect(usage.status).toBe(2);
  });

  it("lists the recipes and every option in --help", async () => {
    const help = await runCli(["train", "--help"]);
    expect(help.status).toBe(0);
    for (const text of ["--recipe", "--config", "--stages", "--sft-steps", "--grpo-steps", "cpu  tiny", "gpu  Gemma3-1B", "tpu  Gemma3-1B"]) {
      expect(help.stdout).toContain(text);
    }
  });
});
