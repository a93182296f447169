// The GRPO run at tiny size on cpu (issue 8.3): rollout -> rewards -> advantages -> mu updates end to end with the
// metrics users expect, evaluation and checkpoints; resume from a checkpoint gives the same metrics as an
// uninterrupted run with the same seed, also after a SIGKILL; the time budget stops and saves; repeated NaN
// updates stop the run with a clear message, the parameters of the last finite update kept. Steps leave no array
// or device buffer behind.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { liveArrays, liveBuffers, np, rl } from "../../src/index.js";
import { initLora } from "../../models/lora.js";
import { disposeTree } from "../helpers/arrays.js";
import { deterministic, grpoSetup, removeTempDirs, runFreeing, tempDir } from "./trainer_fixtures.js";
import { buffersAfterFrees, config, loraConfig, treeValues } from "./train_helpers.js";

const { base, options, components } = grpoSetup();

afterAll(() => {
  removeTempDirs();
  disposeTree(base);
});

/** The values of a fresh adapter, which is then freed. */
async function initialValues(seed: number): Promise<Float32Array[]> {
  const lora = initLora(config, loraConfig, { seed, device: "cpu" });
  try {
    return await treeValues(lora);
  } finally {
    disposeTree(lora);
  }
}

describe("GrpoTrainer", () => {
  it("runs rollout -> update end to end with the expected metrics, evaluation and a checkpoint", async () => {
    const sink = new rl.MemorySink();
    const dir = tempDir();
    const trainer = new rl.GrpoTrainer(options({ evalEvery: 2, evalAtStart: true }), components(sink, rl.directoryCheckpointStore(dir)));
    const result = await trainer.run();
    expect(result.step).toBe(2);
    expect(result.stoppedBy).toBe("steps");
    const steps = sink.rows.filter((row) => "loss" in row.metrics);
    expect(steps.map((row) => row.step)).toEqual([1, 2]);
    const m = steps[1]!.metrics;
    for (const name of [
      "loss", "kl", "pgLoss", "clipFractionLow", "clipFractionHigh", "ratioMean", "gradNorm", "learningRate", "entropy", "skipped",
      "reward/mean", "reward/std", "reward/min", "reward/max", "rewards/exact_format/mean", "rewards/exact_format/std", "frac_reward_zero_std",
      "completion_length/mean", "completion_length/min", "completion_length/max", "terminated_fraction",
      "time/rollout_s", "time/rewards_s", "time/logprobs_s", "time/update_s", "time/step_s", "tokens_per_s",
    ]) {
      expect(m, name).toHaveProperty([name]);
      expect(Number.isFinite(m[name]), name).toBe(true);
    }
    expect(m.skipped).toBe(0);
    expect(m["completion_length/max"]).toBeLessThanOrEqual(6);
    expect(m.learningRate).toBeGreaterThan(0);
    // Evaluation before the first step and after step 2.
    expect(sink.rows.filter((row) => "eval/accuracy" in row.metrics).map((row) => row.step)).toEqual([0, 2]);
    expect(sink.samples("samples/train").length).toBe(4); // 2 per step
    expect(sink.samples("samples/eval").map((s) => s.step)).toEqual([0, 0, 2, 2]);
    // The adapter moved away from its initial (B = 0) value.
    const start = await initialValues(17);
    const end = await treeValues(result.state.lora);
    disposeTree(result.state);
    expect(end.some((leaf, i) => leaf.some((v, j) => v !== start[i]![j]))).toBe(true);
    // The checkpoint holds the final step.
    const saved = await rl.directoryCheckpointStore(dir).load();
    expect(saved?.step).toBe(2);
    expect(saved?.data).toBe(4);
    expect(saved?.optimizerCount).toBe(4); // mu = 2 updates per step
  });

  it("resumes exactly: step 3 after a restart equals that of an uninterrupted run (issue 8.3 resume)", async () => {
    const straight = new rl.MemorySink();
    await runFreeing(new rl.GrpoTrainer(options({ steps: 3 }), components(straight)));

    const dir = tempDir();
    const store = rl.directoryCheckpointStore(dir);
    const first = new rl.MemorySink();
    await runFreeing(new rl.GrpoTrainer(options({ steps: 2 }), components(first, store)));
    const resumed = new rl.MemorySink();
    const result = await runFreeing(new rl.GrpoTrainer(options({ steps: 3, resume: true }), components(resumed, store)));
    expect(result.step).toBe(3);

    expect(first.rows.map((r) => deterministic(r.metrics))).toEqual(straight.rows.slice(0, 2).map((r) => deterministic(r.metrics)));
    expect(resumed.rows.map((r) => r.step)).toEqual([3]);
    expect(resumed.rows.map((r) => deterministic(r.metrics))).toEqual(straight.rows.slice(2).map((r) => deterministic(r.metrics)));
  });

  it("SIGKILL mid-run, then resume: the checkpoint reads back and the next step equals an uninterrupted run's", async () => {
    const dir = tempDir();
    const child = fileURLToPath(new URL("./fixtures/grpo_child.ts", import.meta.url));
    await new Promise<void>((resolve, reject) => {
      const proc = spawn(process.execPath, ["--import", "tsx", child, dir], { stdio: ["ignore", "pipe", "inherit"] });
      let output = "";
      proc.stdout.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        // A little after step 3's metrics: the kill lands in its checkpoint save or in step 4.
        if (output.includes("step 3\n")) setTimeout(() => proc.kill("SIGKILL"), 20);
      });
      proc.on("exit", (code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`the child exited with ${code} before the kill`))));
    });
    const store = rl.directoryCheckpointStore(dir);
    const saved = await store.load();
    expect(saved!.step).toBeGreaterThanOrEqual(2);
    const k = saved!.step;
    const resumed = new rl.MemorySink();
    await runFreeing(new rl.GrpoTrainer(options({ steps: k + 1, checkpointEvery: 1, resume: true }), components(resumed, store)));
    const straight = new rl.MemorySink();
    await runFreeing(new rl.GrpoTrainer(options({ steps: k + 1 }), components(straight)));
    expect(resumed.rows.map((r) => r.step)).toEqual([k + 1]);
    expect(deterministic(resumed.rows[0]!.metrics)).toEqual(deterministic(straight.rows[k]!.metrics));
  });

  it("raises a reward it can reach: emitting characters the tokenizer knows (compiled sampler, 20 steps)", async () => {
    const sink = new rl.MemorySink();
    const known: rl.RewardFunction = { name: "known_chars", score: (sample) => sample.completion.length / 8 };
    await runFreeing(new rl.GrpoTrainer(
      options({ seed: 3, steps: 20, G: 8, mu: 1, grpo: { beta: 0 }, optimizer: { lr: 3e-2 }, rollout: { maxNewTokens: 8, temperature: 1, promptBucket: 8 } }),
      { ...components(sink), rollout: rl.samplerRollout(config, base, loraConfig, { seed: 3, device: "cpu" }), rewards: new rl.RewardCombiner([{ fn: known }]), evalTasks: [] },
    ));
    const rewards = sink.rows.map((r) => r.metrics["reward/mean"]!);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(rewards.slice(-5))).toBeGreaterThan(mean(rewards.slice(0, 5)) + 0.15);
  });

  it("leaks no device arrays or buffers from step to step (mu = 2, beta > 0)", async () => {
    const trainer = new rl.GrpoTrainer(options(), components(new rl.MemorySink()));
    let state = trainer.trainStep.initState(initLora(config, loraConfig, { seed: 17, device: "cpu" }));
    const counts: number[][] = [];
    for (let step = 0; step < 4; step++) {
      state = (await trainer.step(step, state)).state;
      counts.push([liveArrays(), liveBuffers()]);
    }
    expect(counts[3]).toEqual(counts[0]);
    expect(counts[2]).toEqual(counts[0]);
    expect(counts[1]).toEqual(counts[0]);
    disposeTree(state);
  });

  it("checks its options when built", () => {
    const sink = new rl.MemorySink();
    expect(() => new rl.GrpoTrainer(options({ microBatches: 3 }), components(sink))).toThrow(/4 completions per step \(promptsPerStep x G\) do not split into 3 micro-batches/);
    expect(() => new rl.GrpoTrainer(options({ G: 1 }), components(sink))).toThrow(/group|G/);
    expect(() => new rl.GrpoTrainer(options({ mu: 0 }), components(sink))).toThrow(/mu must be a positive integer/);
    expect(() => new rl.GrpoTrainer(options({ promptsPerStep: 0 }), components(sink))).toThrow(/promptsPerStep must be a positive integer/);
  });

  it("refuses to resume with another seed or without a checkpoint", async () => {
    const empty = rl.directoryCheckpointStore(tempDir());
    await expect(new rl.GrpoTrainer(options({ resume: true }), components(new rl.MemorySink(), empty)).run()).rejects.toThrow(/no checkpoint found/);
    const dir = tempDir();
    await runFreeing(new rl.GrpoTrainer(options({ steps: 1 }), components(new rl.MemorySink(), rl.directoryCheckpointStore(dir))));
    await expect(new rl.GrpoTrainer(options({ seed: 18, resume: true }), components(new rl.MemorySink(), rl.directoryCheckpointStore(dir))).run()).rejects.toThrow(
      /seed 17, this run has seed 18/,
    );
  });

  it("stops for the time budget with a checkpoint", async () => {
    const dir = tempDir();
    const result = await runFreeing(new rl.GrpoTrainer(options({ steps: 3, timeBudgetSeconds: 1e-6, marginSeconds: 0 }), components(new rl.MemorySink(), rl.directoryCheckpointStore(dir))));
    expect(result.stoppedBy).toBe("time budget");
    expect((await rl.directoryCheckpointStore(dir).load())?.step).toBe(result.step);
  });

  it("skips non-finite updates and stops after repeated ones with a clear message, parameters kept, state freed", async () => {
    const dir = tempDir();
    const sink = new rl.MemorySink();
    const infinite: rl.LossFunction = ({ logp }) => np.divide(np.sum(logp), 0); // -inf
    const buffers = liveBuffers();
    const initial = initLora(config, loraConfig, { seed: 17, device: "cpu" });
    const before = await treeValues(initial);
    const trainer = new rl.GrpoTrainer(
      options({ steps: 5, mu: 1, grpo: undefined, loss: infinite, maxConsecutiveNaN: 2 }),
      { ...components(sink, rl.directoryCheckpointStore(dir)), initialLora: initial },
    );
    await expect(trainer.run()).rejects.toThrow(/stopping at step 2: 2 consecutive updates had a non-finite loss/);
    // The failed run freed its state, the adapter it was given included (the first update took it over).
    expect(await buffersAfterFrees(buffers)).toBe(buffers);
    expect(sink.rows.map((r) => r.metrics.skipped)).toEqual([1, 1]);
    const saved = await rl.directoryCheckpointStore(dir).load();
    expect(saved?.step).toBe(2);
    expect(saved?.optimizerCount).toBe(0);
    const restored = rl.stateFromCheckpoint(saved!, config, loraConfig, trainer.device, "test");
    (await treeValues(restored.lora)).forEach((leaf, i) => expect(Buffer.from(leaf.buffer).equals(Buffer.from(before[i]!.buffer))).toBe(true));
    disposeTree(restored);
  });
});
