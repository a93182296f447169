// The trainers' shared pieces (issue 8.3): batch packing by hand (left-padded prompts, right-padded completions,
// the compiled mask with and without trainOnEos/maskTruncated), prompt fitting, decoding with stop tokens and
// unknown ids, answer checking, the compiled sampler as a rollout engine against the full-forward generator,
// per-step seeds and the NaN streak.
import { describe, expect, it } from "vitest";
import { getDevice, rl } from "../../src/index.js";
import { disposeTree } from "../helpers/arrays.js";
import { arithmeticTasks, forwardRollout, tokenizer } from "./trainer_fixtures.js";
import { baseParams, config, loraConfig, randomLora } from "./train_helpers.js";

describe("packBatch", () => {
  it("left-pads prompts to the bucket, right-pads or cuts completions, and masks after the first stop", async () => {
    const prompts = [[5, 6, 7], [8]];
    const completions = [[10, 11, 1, 12], [13, 14, 15, 16, 17, 18]];
    const shape = { promptBucket: 4, completionLength: 5, padId: 0 };
    const device = getDevice("cpu");
    const tunix = rl.packBatch(prompts, completions, shape, { eosIds: [1, 106], trainOnEos: false, maskTruncated: false }, device);
    expect(Array.from((await tunix.prompts.data()) as Int32Array)).toEqual([0, 5, 6, 7, 0, 0, 0, 8]);
    expect(Array.from((await tunix.promptMask.data()) as Uint8Array)).toEqual([0, 1, 1, 1, 0, 0, 0, 1]);
    expect(Array.from((await tunix.completions.data()) as Int32Array)).toEqual([10, 11, 1, 12, 0, 13, 14, 15, 16, 17]);
    expect(Array.from((await tunix.mask.data()) as Float32Array)).toEqual([1, 1, 0, 0, 0, 1, 1, 1, 1, 1]);
    const trl = rl.packBatch(prompts, completions, shape, { eosIds: [1, 106], trainOnEos: true, maskTruncated: true }, device);
    expect(Array.from((await trl.mask.data()) as Float32Array)).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
    rl.disposeBatch(tunix);
    rl.disposeBatch(trl);
    expect(() => rl.packBatch([[1]], [], shape, { eosIds: [1], trainOnEos: false, maskTruncated: false }, device)).toThrow(/1 prompts and 0 completions/);
    expect(() => rl.packBatch([[]], [[1]], shape, { eosIds: [1], trainOnEos: false, maskTruncated: false }, device)).toThrow(/at least one token/);
  });

  it("fits prompts, decodes completions and checks answers", () => {
    expect(rl.fitPrompt([1, 2, 3, 4], 2)).toEqual([3, 4]);
    expect(rl.fitPrompt([1, 2], 4)).toEqual([1, 2]);
    const text = "<reasoning>2+2=4</reasoning><answer>4</answer>";
    const ids = [...tokenizer.encode(text, { addBos: false }), 106, 120];
    expect(rl.completionText(tokenizer, ids, tokenizer.stopIds)).toBe(text);
    expect(rl.completionText(tokenizer, [tokenizer.encode("a", { addBos: false })[0]!, 400, 511], [1])).toBe("a"); // ids past the tokenizer dropped
    expect(rl.answerIsCorrect(text, "4")).toBe(true);
    expect(rl.answerIsCorrect("<answer>4.0</answer>", "4")).toBe(true);
    expect(rl.answerIsCorrect("<answer>5</answer>", "4")).toBe(false);
    expect(rl.answerIsCorrect("no tags", "4")).toBe(false);
    expect(rl.answerIsCorrect("<answer> blue </answer>", "blue")).toBe(true);
  });
});

describe("samplerRollout", () => {
  it("greedy completions under an adapter equal those of the full-forward generator, and follow adapter swaps", async () => {
    const base = baseParams();
    const compiled = rl.samplerRollout(config, base, loraConfig, { seed: 1, device: "cpu" });
    const reference = forwardRollout(base);
    const prompts = arithmeticTasks(2, 7).map((task) => rl.encodePrompt(tokenizer, task, "Answer."));
    const request = { prompts, samplesPerPrompt: 1, maxNewTokens: 6, greedy: true, temperature: 1, stopTokens: [1, 106], seed: 0 };
    const [first, second] = [randomLora(31), randomLora(32)];
    const a = await compiled.generate(first, request);
    expect(a).toEqual(await reference.generate(first, request));
    const b = await compiled.generate(second, request);
    expect(b).toEqual(await reference.generate(second, request));
    expect(b.tokens).not.toEqual(a.tokens);
    expect(a.tokens.flat().length).toBeGreaterThan(2);
    disposeTree(base, first, second);
  });
});

describe("run control", () => {
  it("step seeds differ by step and stream and are stable", () => {
    const seeds = [rl.stepSeed(1, 0, 1), rl.stepSeed(1, 1, 1), rl.stepSeed(1, 0, 2), rl.stepSeed(2, 0, 1)];
    expect(new Set(seeds).size).toBe(4);
    expect(rl.stepSeed(1, 1, 1)).toBe(seeds[1]);
    expect(seeds.every((s) => Number.isInteger(s) && s >= 0 && s < 2 ** 31)).toBe(true);
  });

  it("the NaN guard counts a streak, resets on a finite step and stops at the limit", () => {
    const warnings: string[] = [];
    const guard = new rl.NanGuard(3, (m) => warnings.push(m));
    guard.record(1, true, Number.NaN, 1);
    guard.record(2, true, 1, Number.POSITIVE_INFINITY);
    guard.record(3, false, 1, 1);
    expect(guard.consecutive).toBe(0);
    guard.record(4, true, Number.NaN, Number.NaN);
    guard.record(5, true, Number.NaN, Number.NaN);
    expect(() => guard.record(6, true, Number.NaN, Number.NaN)).toThrow(rl.TrainingDivergedError);
    expect(warnings[1]).toMatch(/step 2: non-finite loss \(1\) or gradient norm \(Infinity\); the update was skipped \(2 in a row\)/);
    expect(() => new rl.NanGuard(0)).toThrow(/positive integer/);
  });
});
