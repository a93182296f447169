// A call's own seed (GenerateOptions.seed) replaces the sampler's call count in the key: two samplers built from
// the same seed draw the same tokens for the same call seed whatever calls came before (what a resumed run needs),
// and a different call seed draws differently.
import { afterAll, describe, expect, it } from "vitest";
import { preset } from "../../models/gemma3/config.js";
import { initParams } from "../../models/gemma3/init.js";
import { Sampler } from "../../models/gemma3/sampler.js";
import { disposeTree } from "./helpers.js";

const config = preset("tiny");
const params = initParams(config, { seed: 5, normScale: 0.2, device: "cpu" });
const prompts = [[2, 105, 17, 33], [2, 9, 41]];
const options = { maxNewTokens: 12, samplesPerPrompt: 2, temperature: 1, stopTokens: [] as number[] };

afterAll(() => {
  disposeTree(params);
});

describe("Sampler call seed", () => {
  it("makes a draw independent of the calls made before it", async () => {
    const fresh = new Sampler(config, params, { device: "cpu", seed: 3 });
    const used = new Sampler(config, params, { device: "cpu", seed: 3 });
    await used.generate(prompts, options); // advances `used`'s call count
    await used.generate(prompts, options);
    const a = await fresh.generate(prompts, { ...options, seed: 77 });
    const b = await used.generate(prompts, { ...options, seed: 77 });
    expect(b.tokens).toEqual(a.tokens);
    expect(b.logprobs).toEqual(a.logprobs);
    const c = await used.generate(prompts, { ...options, seed: 78 });
    expect(c.tokens).not.toEqual(a.tokens);
    // Without a call seed the count still advances the key.
    const d = await fresh.generate(prompts, options);
    const e = await fresh.generate(prompts, options);
    expect(e.tokens).not.toEqual(d.tokens);
  });

  it("refuses a call seed outside [0, 2^31)", async () => {
    const sampler = new Sampler(config, params, { device: "cpu", seed: 3 });
    await expect(sampler.generate(prompts, { ...options, seed: -1 })).rejects.toThrow(/call seed must be an integer/);
    await expect(sampler.generate(prompts, { ...options, seed: 2 ** 31 })).rejects.toThrow(/call seed must be an integer/);
  });
});
