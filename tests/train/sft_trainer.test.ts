// The SFT run (issue 8.3): target completions end with <end_of_turn>, the loss falls on a repeated batch, resume
// is exact, and the stage chain: the exported adapter loads back as the GRPO stage's starting point, and the merged
// export gives the adapted model's logits.
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type ArrayBase, jit, np, rl } from "../../src/index.js";
import { SftTrainer, formatTarget } from "../../src/train/sft_trainer.js";
import { forward } from "../../models/gemma3/model.js";
import type { Gemma3Params } from "../../models/gemma3/params.js";
import { loadLoraAdapter, loadModelDirectory } from "../../models/gemma3/weights.js";
import type { LoraParams } from "../../models/lora.js";
import { disposeTree, readAndDispose } from "../helpers/arrays.js";
import { arithmeticTasks, cyclingTasks, forwardRollout, removeTempDirs, runFreeing, tempDir, tokenizer } from "../rl/trainer_fixtures.js";
import { baseParams, config, loraConfig, treeValues } from "../rl/train_helpers.js";

const base = baseParams();

afterAll(() => {
  removeTempDirs();
  disposeTree(base);
});

function trainer(overrides: Partial<ConstructorParameters<typeof SftTrainer>[0]> = {}, sink = new rl.MemorySink(), store?: rl.CheckpointStore): SftTrainer {
  return new SftTrainer(
    { seed: 5, steps: 6, batchSize: 2, optimizer: { lr: 2e-2 }, maxCompletionTokens: 24, promptBucket: 8, systemPrompt: "Answer.", ...overrides },
    { model: config, base, lora: loraConfig, tokenizer, tasks: cyclingTasks(arithmeticTasks(2)), sinks: [sink], store, device: "cpu", log: () => {} },
  );
}

describe("SftTrainer", () => {
  it("targets are the answer format closed by <end_of_turn>", () => {
    const task = arithmeticTasks(1)[0]!;
    expect(formatTarget(task)).toBe("<reasoning>0+0=0</reasoning><answer>0</answer>");
    const { prompt, completion } = trainer().encode(task);
    expect(tokenizer.decode(prompt)).toBe("<bos><start_of_turn>user\nAnswer.\n\n0+0?<end_of_turn>\n<start_of_turn>model\n");
    expect(completion.at(-1)).toBe(106);
    expect(tokenizer.decode(completion.slice(0, -1))).toBe(formatTarget(task));
    expect(() => formatTarget({ id: "x", question: "q", answer: "1" })).toThrow(/task x has no worked solution/);
    expect(() => trainer({ microBatches: 3 })).toThrow(/batchSize 2 does not split into 3 micro-batches/);
  });

  it("lowers the completion cross-entropy on a repeated batch, and resumes exactly", async () => {
    const sink = new rl.MemorySink();
    await runFreeing(trainer({}, sink));
    const losses = sink.rows.map((r) => r.metrics.loss!);
    expect(losses.length).toBe(6);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! - 0.1);
    expect(sink.rows.every((r) => r.metrics.skipped === 0 && r.metrics.tokens! > 0)).toBe(true);

    const store = rl.directoryCheckpointStore(tempDir());
    await runFreeing(trainer({ steps: 4 }, new rl.MemorySink(), store));
    const resumed = new rl.MemorySink();
    await runFreeing(trainer({ resume: true }, resumed, store));
    expect(resumed.rows.map((r) => r.step)).toEqual([5, 6]);
    expect(resumed.rows.map((r) => r.metrics.loss)).toEqual(losses.slice(4));
  });

  it("chains into GRPO: the exported adapter loads back as GRPO's start; the merged export gives the adapted logits", async () => {
    const sft = await trainer({ steps: 2 }).run();
    const dir = tempDir();
    const adapterPath = join(dir, "adapter.safetensors");
    await rl.exportModel(config, base, loraConfig, sft.state.lora, { adapterPath, mergedDir: join(dir, "merged"), dtype: "f32" });

    const adapter = await loadLoraAdapter(adapterPath, config, { device: "cpu" });
    expect(adapter.lora.rank).toBe(loraConfig.rank);
    const exported = await treeValues(sft.state.lora);
    (await treeValues(adapter.params)).forEach((leaf, i) => expect(Array.from(leaf)).toEqual(Array.from(exported[i]!)));

    const tokens = np.array(Int32Array.from([2, 120, 121, 122, 123, 124]), { shape: [1, 6], device: "cpu" });
    const mask = np.array(Uint8Array.from([1, 1, 1, 1, 1, 1]), { dtype: "bool", shape: [1, 6], device: "cpu" });
    const adapted = jit((p: Gemma3Params<ArrayBase>, l: LoraParams<ArrayBase>, t: ArrayBase, m: ArrayBase) => forward(config, p, t, m, { lora: l, config: loraConfig }), { device: "cpu" });
    const plain = jit((p: Gemma3Params<ArrayBase>, t: ArrayBase, m: ArrayBase) => forward(config, p, t, m), { device: "cpu" });
    const merged = await loadModelDirectory(join(dir, "merged"), { device: "cpu" });
    const [expected, actual] = await readAndDispose([adapted(base, sft.state.lora, tokens, mask), plain(merged.params, tokens, mask)]);
    expect(actual!.data).toBeAllclose(expected!.data, { rtol: 1e-4, atol: 1e-4 });
    disposeTree(tokens, mask, merged.params);

    // GRPO from the SFT adapter: its first evaluation uses exactly the SFT policy.
    const grpoSink = new rl.MemorySink();
    const rollout = forwardRollout(base);
    const grpo = new rl.GrpoTrainer(
      { seed: 5, steps: 1, promptsPerStep: 1, G: 2, grpo: { beta: 0 }, optimizer: { lr: 1e-3 }, rollout: { maxNewTokens: 4, temperature: 1, promptBucket: 8 }, systemPrompt: "Answer.", evalAtStart: true },
      {
        model: config, base, lora: adapter.lora, initialLora: adapter.params, tokenizer, rollout, rewards: rl.defaultRewards(),
        tasks: cyclingTasks(arithmeticTasks(2)), evalTasks: arithmeticTasks(1, 50), sinks: [grpoSink], device: "cpu", log: () => {},
      },
    );
    const sftEval = await rl.evaluate({ tokenizer, rollout, lora: sft.state.lora, tasks: arithmeticTasks(1, 50), maxNewTokens: 4, systemPrompt: "Answer." });
    await runFreeing(grpo);
    expect(grpoSink.samples("samples/eval")[0]!.sample.completion).toBe(sftEval.samples[0]!.completion);
    disposeTree(sft.state);
  });
});
