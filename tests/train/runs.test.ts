// The stage entry points on validated configs (issue 8.3), tiny model on cpu with the compiled sampler: SFT, then
// GRPO from the SFT run's adapter, then a resumed GRPO run continuing the same metrics log; each run leaves its
// logs, checkpoints and exports, and frees every device buffer it allocated, whether it finishes or fails.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { liveBuffers } from "../../src/index.js";
import { type Override, resolveConfig } from "../../src/train/config.js";
import { readMetricsJsonl } from "../../src/train/metrics.js";
import { loadCheckpoint } from "../../src/train/checkpoint.js";
import { loadModelDirectory } from "../../models/gemma3/weights.js";
import { paramAt, weightTable } from "../../models/gemma3/params.js";
import { initParams } from "../../models/gemma3/init.js";
import { preset } from "../../models/gemma3/config.js";
import { disposeTree } from "../helpers/arrays.js";
import { runGrpo, runSft } from "../../src/train/runs.js";
import type { RolloutEngine, RolloutRequest } from "../../src/rl/trainer_common.js";
import { removeTempDirs, tempDir } from "../rl/trainer_fixtures.js";
import { buffersAfterFrees } from "../rl/train_helpers.js";

afterAll(() => {
  removeTempDirs();
});

function set(path: string, value: unknown): Override {
  return { path: path.split("."), value, flag: `--set ${path}` };
}

function tinyConfig(stage: "sft" | "grpo", dir: string, name: string, extra: Override[] = []) {
  return resolveConfig({
    stage,
    overrides: [
      set("run.dir", dir), set("run.name", name), set("run.seed", 4), set("run.device", "cpu"),
      set("model.preset", "tiny"), set("model.dtype", "f32"),
      set("lora.rank", 4), set("lora.alpha", 8),
      set("data.trainSize", 16), set("data.evalSize", 2), set("data.levels", [1]),
      set("sampling.maxPromptLength", 320), set("sampling.maxCompletionLength", 12), set("sampling.topK", 0),
      set("optim.steps", 2), set("optim.batchSize", 2), set("optim.lr", 1e-3),
      set("grpo.G", 2), set("grpo.beta", 0.04),
      set("eval.every", 0), set("checkpoint.every", 1), set("log.tensorboard", false),
      ...extra,
    ],
  });
}

describe("runSft and runGrpo", () => {
  it("SFT, then GRPO from the SFT adapter, then a resumed GRPO run; each run frees its device buffers (issue 8.3 leaks)", async () => {
    const dir = tempDir();
    const buffers = liveBuffers();
    const messages: string[] = [];
    const log = (m: string) => messages.push(m);
    const sft = await runSft(tinyConfig("sft", dir, "sft"), { log });
    expect(liveBuffers()).toBe(buffers);
    expect(sft.step).toBe(2);
    expect(existsSync(sft.adapterPath!)).toBe(true);
    expect(existsSync(join(sft.mergedDir, "model.safetensors"))).toBe(true);
    const sftMetrics = readMetricsJsonl(join(dir, "sft", "metrics.jsonl"));
    expect(sftMetrics.filter((r) => "loss" in r.values).map((r) => r.step)).toEqual([1, 2]);
    expect(sftMetrics.filter((r) => "eval/accuracy" in r.values).map((r) => r.step)).toEqual([0, 2]);

    const grpo = await runGrpo(tinyConfig("grpo", dir, "grpo", [set("run.resumeFrom", join(dir, "sft"))]), { log });
    expect(grpo.step).toBe(2);
    expect(liveBuffers()).toBe(buffers);
    expect(messages.some((m) => /starting from the sft adapter/.test(m))).toBe(true);
    const grpoMetrics = readMetricsJsonl(join(dir, "grpo", "metrics.jsonl"));
    const steps = grpoMetrics.filter((r) => "loss" in r.values);
    expect(steps.map((r) => r.step)).toEqual([1, 2]);
    for (const name of ["kl", "reward/mean", "rewards/exact_format/mean", "frac_reward_zero_std", "time/rollout_s", "time/logprobs_s", "time/update_s", "tokens_per_s"]) {
      expect(steps[1]!.values, name).toHaveProperty([name]);
    }
    expect(readdirSync(join(dir, "grpo", "checkpoints")).filter((n) => n.startsWith("step-")).length).toBe(2);
    expect(readdirSync(join(dir, "grpo", "curves"))).toContain("reward_mean.svg");

    // Resume the GRPO run to step 3: the metrics log continues without repeating a step.
    const resumed = await runGrpo(tinyConfig("grpo", dir, "grpo", [set("run.resumeFrom", join(dir, "grpo")), set("optim.steps", 3)]), { log });
    expect(resumed.step).toBe(3);
    expect(liveBuffers()).toBe(buffers);
    const after = readMetricsJsonl(join(dir, "grpo", "metrics.jsonl")).filter((r) => "loss" in r.values);
    expect(after.map((r) => r.step)).toEqual([1, 2, 3]);
    expect(after.slice(0, 2)).toEqual(steps);
  });

  it("a run that fails frees its buffers too: before the loop, at the loop's start, and mid-step (issue 8.3 leaks)", async () => {
    const dir = tempDir();
    const buffers = liveBuffers();
    await expect(runGrpo(tinyConfig("grpo", dir, "bad-weights", [set("grpo.rewardWeights", { nope: 1 })]), { log: () => {} })).rejects.toThrow(/no reward function named 'nope'/);
    expect(await buffersAfterFrees(buffers)).toBe(buffers);
    await runSft(tinyConfig("sft", dir, "sft", [set("optim.steps", 1), set("eval.every", 0)]), { log: () => {} });
    expect(await buffersAfterFrees(buffers)).toBe(buffers);
    // Same stage, another seed: refused when the loop starts, after the base weights are built.
    await expect(runSft(tinyConfig("sft", dir, "again", [set("run.resumeFrom", join(dir, "sft")), set("run.seed", 5)]), { log: () => {} })).rejects.toThrow(/seed 4, this run has seed 5/);
    expect(await buffersAfterFrees(buffers)).toBe(buffers);
    // From the SFT adapter, with a generator that fails in the first step: the adapter and optimizer state go too.
    let calls = 0;
    const failing: RolloutEngine = {
      generate: async () => {
        calls++;
        throw new Error("generator down");
      },
    };
    await expect(runGrpo(tinyConfig("grpo", dir, "grpo", [set("run.resumeFrom", join(dir, "sft"))]), { log: () => {}, rollout: failing })).rejects.toThrow(/generator down/);
    expect(calls).toBe(1);
    expect(await buffersAfterFrees(buffers)).toBe(buffers);
  });

  it("full-parameter SFT (lora.enabled false): every weight trains, the export is the trained weights, resume works (issue 8)", async () => {
    const dir = tempDir();
    const buffers = liveBuffers();
    const full = [set("lora.enabled", false), set("data.levels", [0]), set("data.heldOutBy", "text")];
    const sft = await runSft(tinyConfig("sft", dir, "full", full), { log: () => {} });
    expect(await buffersAfterFrees(buffers)).toBe(buffers);
    expect(sft.step).toBe(2);
    expect(sft.adapterPath).toBeNull();
    expect(existsSync(join(dir, "full", "export", "adapter.safetensors"))).toBe(false);
    // Round trip: the exported model holds exactly the checkpoint's trained weights, and they differ from the init.
    const { tensors } = loadCheckpoint(join(dir, "full"));
    const exported = await loadModelDirectory(sft.mergedDir, { device: "cpu", weightsDtype: "f32" });
    const init = initParams(preset("tiny"), { seed: 4, device: "cpu", weightsDtype: "f32" });
    const table = weightTable(preset("tiny"));
    const valuesOf = (params: typeof init) => Promise.all(table.map(async (spec) => (await paramAt(params, spec.path)!.data()) as Float32Array));
    const [exportedValues, initValues] = [await valuesOf(exported.params), await valuesOf(init)];
    disposeTree(exported.params, init);
    table.forEach((spec, i) => {
      const record = tensors[`lora.${spec.path}`]!;
      expect(record.shape, spec.path).toEqual(spec.shape);
      const trained = new Float32Array(record.bytes.slice().buffer);
      expect(exportedValues[i], spec.path).toEqual(trained);
      expect(trained, spec.path).not.toEqual(initValues[i]);
    });
    // A full-parameter checkpoint resumes as one (not as an adapter), and cannot seed a LoRA stage.
    const resumed = await runSft(tinyConfig("sft", dir, "full", [...full, set("run.resumeFrom", join(dir, "full")), set("optim.steps", 3)]), { log: () => {} });
    expect(resumed.step).toBe(3);
    expect(await buffersAfterFrees(buffers)).toBe(buffers);
    await expect(runGrpo(tinyConfig("grpo", dir, "grpo-bad", [set("run.resumeFrom", join(dir, "full"))]), { log: () => {} })).rejects.toThrow(/trained every weight cannot start this LoRA run; start it from that run's export\/model/);
    // Full-parameter GRPO starts from the SFT export (model.dir), never from another stage's checkpoint.
    await expect(runGrpo(tinyConfig("grpo", dir, "grpo-bad", [...full, set("run.resumeFrom", join(dir, "full"))]), { log: () => {} })).rejects.toThrow(/full-parameter GRPO starts from a model folder/);
    expect(await buffersAfterFrees(buffers)).toBe(buffers);
  });

  it("full-parameter GRPO (lora.enabled false) on the SFT export: every weight trains, the export is the trained weights (issue 8)", async () => {
    const dir = tempDir();
    const buffers = liveBuffers();
    const full = [set("lora.enabled", false), set("data.levels", [0]), set("data.heldOutBy", "text")];
    const sft = await runSft(tinyConfig("sft", dir, "sft", full), { log: () => {} });
    const grpo = await runGrpo(tinyConfig("grpo", dir, "grpo", [...full, set("model.dir", sft.mergedDir), set("model.preset", null), set("optim.lr", 1e-2)]), { log: () => {} });
    expect(await buffersAfterFrees(buffers)).toBe(buffers);
    expect(grpo.step).toBe(2);
    expect(grpo.adapterPath).toBeNull();
    const metrics = readMetricsJsonl(join(dir, "grpo", "metrics.jsonl")).filter((r) => "loss" in r.values);
    expect(metrics.map((r) => r.step)).toEqual([1, 2]);
    // The first step's policy is the reference itself: its KL term is zero up to rounding.
    expect(Math.abs(metrics[0]!.values.kl!)).toBeLessThan(1e-5);
    const before = await loadModelDirectory(sft.mergedDir, { device: "cpu", weightsDtype: "f32" });
    const after = await loadModelDirectory(grpo.mergedDir, { device: "cpu", weightsDtype: "f32" });
    const table = weightTable(preset("tiny"));
    const changed = await Promise.all(table.map(async (spec) => {
      const [a, b] = [(await paramAt(before.params, spec.path)!.data()) as Float32Array, (await paramAt(after.params, spec.path)!.data()) as Float32Array];
      return Array.from(a).some((v, i) => v !== b[i]);
    }));
    disposeTree(before.params, after.params);
    expect(changed.filter(Boolean).length).toBeGreaterThan(table.length / 2);
    expect(await buffersAfterFrees(buffers)).toBe(buffers);
  });
  it("eval.greedy decides how evaluations decode (greedy, or sampled with the run's temperature, top-k and top-p); eval.sampled adds a sampled pass", async () => {
    const dir = tempDir();
    const buffers = liveBuffers();
    const requests: RolloutRequest[] = [];
    const recording: RolloutEngine = {
      generate: async (_lora, request) => {
        requests.push(request);
        const rows = request.prompts.length * request.samplesPerPrompt;
        return { tokens: Array.from({ length: rows }, () => [1]), finished: Array.from({ length: rows }, () => true) };
      },
    };
    const sampling = [set("sampling.temperature", 0.7), set("sampling.topK", 5), set("sampling.topP", 0.9), set("optim.steps", 1)];
    await runSft(tinyConfig("sft", dir, "greedy", sampling), { log: () => {}, rollout: recording });
    expect(requests.length).toBe(2); // at the start and at the end
    for (const r of requests) expect([r.greedy, r.seed]).toEqual([true, 0]);
    requests.length = 0;
    await runSft(tinyConfig("sft", dir, "sampled", [...sampling, set("eval.greedy", false)]), { log: () => {}, rollout: recording });
    expect(requests.length).toBe(2);
    for (const r of requests) {
      expect({ greedy: r.greedy, temperature: r.temperature, topK: r.topK, topP: r.topP, seed: r.seed }).toEqual({ greedy: false, temperature: 0.7, topK: 5, topP: 0.9, seed: 0 });
    }
    // eval.sampled: each evaluation is a greedy pass, then a sampled one, and both are logged.
    requests.length = 0;
    await runSft(tinyConfig("sft", dir, "both", [...sampling, set("eval.sampled", true)]), { log: () => {}, rollout: recording });
    expect(requests.map((r) => r.greedy)).toEqual([true, false, true, false]);
    expect(requests[1]!.temperature).toBe(0.7);
    const logged = readMetricsJsonl(join(dir, "both", "metrics.jsonl")).filter((r) => "eval/accuracy" in r.values);
    expect(logged.length).toBe(2);
    // The recording generator answers with an empty completion: no task is right or well-formed in either pass.
    for (const r of logged) expect([r.values["eval/sampled_accuracy"], r.values["eval/sampled_format_compliance"]]).toEqual([0, 0]);
    expect(readMetricsJsonl(join(dir, "sampled", "metrics.jsonl")).some((r) => "eval/sampled_accuracy" in r.values)).toBe(false);
    expect(await buffersAfterFrees(buffers)).toBe(buffers);
  });
});
