// npm run bench -- trainer [--steps N] [--device cpu] [--preset gemma3-1b]: the GRPO step's time split (rollout
// with the compiled sampler, reference/old logprobs, update) at the tiny config on built-in tasks, and the train
// step alone with gradient accumulation as one batch, an in-graph loop over micro-batches, or the micro-batches
// unrolled. With --preset, one reference-logprob pass and one update of that preset (compile, then steady state).
import { type Gemma3Config, type PresetName, isPresetName, preset } from "../models/gemma3/config.js";
import { initParams } from "../models/gemma3/init.js";
import { countParams } from "../models/gemma3/params.js";
import { DEFAULT_LORA_TARGETS, type LoraConfig, initLora } from "../models/lora.js";
import { CharTokenizer } from "../src/data/char_tokenizer.js";
import { DataIterator } from "../src/data/iterator.js";
import { builtinTasks } from "../src/data/tasks.js";
import { type DeviceArray, type DeviceKind, closeDevices, getDevice, np, rl } from "../src/index.js";
import { hostFilledParams } from "./fill.js";

function option(args: string[], name: string, fallback: string): string {
  const at = args.indexOf(name);
  return at >= 0 && args[at + 1] !== undefined ? args[at + 1]! : fallback;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One train step of a large preset: reference logprobs and the update, first call (compile) and second call. */
async function presetStepBench(name: PresetName, device: DeviceKind): Promise<void> {
  const model = preset(name);
  const lora: LoraConfig = { rank: 32, alpha: 32, targets: DEFAULT_LORA_TARGETS };
  let t0 = performance.now();
  const base = hostFilledParams(model, device);
  console.log(`${name}: bf16 base weights filled and uploaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const S = 2;
  const P = 64;
  const C = 64;
  const row = (n: number, offset: number) => Array.from({ length: n }, (_, i) => 1000 + ((i * 7919 + offset) % 50_000));
  const batch = rl.packBatch([row(P, 0), row(P, 1)], [row(C, 2), row(C, 3)], { promptBucket: P, completionLength: C, padId: 0 }, { eosIds: [1, 106], trainOnEos: false, maskTruncated: false }, getDevice(device));
  batch.advantages = np.array(Float32Array.from([1, -1]), { shape: [S], device }) as DeviceArray;
  const step = new rl.TrainStep({ model, lora, grpo: { beta: 0.08 }, optimizer: { lr: 3e-6 }, maxGradNorm: 0.1, device, chunk: 64 });
  let state = step.initState(initLora(model, lora, { seed: 1, device }));
  // Matmul FLOPs of one forward: the trunk over all S (P + C) tokens, the tied head over the S C completion rows.
  const flops = 2 * (countParams(model) - model.vocabSize * model.dModel) * S * (P + C) + 2 * model.vocabSize * model.dModel * S * C;
  for (let call = 0; call < 2; call++) {
    t0 = performance.now();
    const refLogp = step.referenceLogprobs(base, batch);
    await refLogp.data();
    const ref = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const result = step.step(state, base, { ...batch, refLogp });
    state = result.state;
    const metrics = await step.readMetrics(result.metrics);
    const update = (performance.now() - t0) / 1000;
    refLogp.dispose();
    console.log(
      `${name} call ${call + 1}${call === 0 ? " (compiles)" : ""}: reference logprobs ${ref.toFixed(1)} s (${(flops / ref / 1e9).toFixed(1)} GFLOP/s of matmuls), ` +
        `update ${update.toFixed(1)} s; loss ${metrics.loss!.toFixed(4)}, grad norm ${metrics.gradNorm!.toExponential(2)}, S ${S} x (${P} + ${C}) tokens, LoRA r 32`,
    );
  }
}

export async function runTrainerBench(args: string[]): Promise<void> {
  const steps = Number(option(args, "--steps", "3"));
  const device = option(args, "--device", "cpu") as DeviceKind;
  const presetName = option(args, "--preset", "tiny");
  if (presetName !== "tiny") {
    if (!isPresetName(presetName)) throw new Error(`--preset: unknown preset ${presetName}`);
    await presetStepBench(presetName, device);
    await closeDevices();
    return;
  }
  const model = preset("tiny");
  const lora: LoraConfig = { rank: 8, alpha: 16, targets: DEFAULT_LORA_TARGETS };
  const base = initParams(model, { seed: 1, device });
  const tokenizer = new CharTokenizer();
  const train = builtinTasks({ seed: 1, split: "train", size: 1000 });
  const G = 4;
  const promptsPerStep = 4;
  const maxNewTokens = 64;
  const trainer = new rl.GrpoTrainer(
    {
      seed: 1, steps, promptsPerStep, G, mu: 1, grpo: { beta: 0.04 }, optimizer: { lr: 1e-4 }, maxGradNorm: 1,
      rollout: { maxNewTokens, temperature: 1 }, maxPromptLength: 320,
    },
    {
      model, base, lora, tokenizer, rollout: rl.samplerRollout(model, base, lora, { seed: 1, device }), rewards: rl.defaultRewards(),
      tasks: () => {
        const iterator = new DataIterator(train, { shuffleSeed: 1 });
        return { next: () => iterator.next(), get position() { return iterator.position; } };
      },
      sinks: [], device, log: () => {},
    },
  );
  let state = trainer.trainStep.initState(initLora(model, lora, { seed: 1, device }));
  const rows: Record<string, number>[] = [];
  for (let step = 0; step <= steps; step++) {
    const outcome = await trainer.step(step, state);
    state = outcome.state;
    if (step > 0) rows.push(outcome.metrics); // step 0 compiles every graph
  }
  const field = (name: string) => median(rows.map((r) => r[name]!));
  console.log(`GRPO step, tiny config (${model.numLayers} layers, d ${model.dModel}, V ${model.vocabSize}), ${promptsPerStep} prompts x G ${G}, ` +
    `prompts padded to 320, ${maxNewTokens} new tokens, beta 0.04, mu 1, on ${device}; median of ${steps} steps after a compile step`);
  console.log("| part | seconds | share |\n|---|---|---|");
  const total = field("time/step_s");
  for (const part of ["rollout", "rewards", "logprobs", "update"]) console.log(`| ${part} | ${field(`time/${part}_s`).toFixed(3)} | ${((100 * field(`time/${part}_s`)) / total).toFixed(0)}% |`);
  console.log(`| step | ${total.toFixed(3)} | |`);
  console.log(`generated tokens/s over the step: ${field("tokens_per_s").toFixed(0)}; during the rollout: ${field("rollout_tokens_per_s").toFixed(0)}; mean completion ${field("completion_length/mean").toFixed(1)} tokens`);

  // Gradient accumulation: the same 16 rows as one batch, 2 and 4 micro-batches in a loop, or unrolled.
  const batch = rl.packBatch(
    Array.from({ length: 16 }, (_, i) => rl.encodePrompt(tokenizer, train.get(i))),
    Array.from({ length: 16 }, (_, i) => tokenizer.encode(train.get(i).reasoning ?? "", { addBos: false }).slice(0, maxNewTokens)),
    { promptBucket: 320, completionLength: maxNewTokens, padId: 0 },
    { eosIds: [1, 106], trainOnEos: false, maskTruncated: false },
    trainer.device,
  );
  console.log("\n| accumulation | micro-batches | first call (compile + run) s | update s (median of 3) |\n|---|---|---|---|");
  for (const [accumulation, microBatches] of [["loop", 1], ["loop", 2], ["unrolled", 2], ["loop", 4], ["unrolled", 4]] as const) {
    const step = new rl.TrainStep({ model, lora, loss: rl.sftLoss, optimizer: { lr: 1e-4 }, microBatches, accumulation, device });
    let s = step.initState(initLora(model, lora, { seed: 2, device }));
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const t0 = performance.now();
      const result = step.step(s, base, batch);
      s = result.state;
      await step.readMetrics(result.metrics);
      times.push((performance.now() - t0) / 1000);
    }
    console.log(`| ${microBatches === 1 ? "none" : accumulation} | ${microBatches} | ${times[0]!.toFixed(2)} | ${median(times.slice(1)).toFixed(3)} |`);
  }
  await closeDevices();
}
