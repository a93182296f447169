// Fixtures of the trainer tests: a rollout engine that draws from the tiny policy by re-running the full forward
// pass for every new token (slow, cache-free, but exactly the policy's distribution, seeded per call), the
// character tokenizer, and small arithmetic tasks with exact answers.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ArrayBase, type DeviceArray, jit, lax, np, random, rl } from "../../src/index.js";
import { CharTokenizer } from "../../src/data/char_tokenizer.js";
import { forward } from "../../models/gemma3/model.js";
import type { Gemma3Params } from "../../models/gemma3/params.js";
import type { LoraParams } from "../../models/lora.js";
import type { MetricsSink } from "../../src/train/metrics.js";
import { baseParams, config, loraConfig } from "./train_helpers.js";

export const tokenizer = new CharTokenizer();

export function arithmeticTasks(count: number, offset = 0): rl.Task[] {
  return Array.from({ length: count }, (_, i) => {
    const a = (i + offset) % 7;
    const b = (3 * (i + offset)) % 5;
    return { id: `t${i + offset}`, question: `${a}+${b}?`, answer: String(a + b), reasoning: `${a}+${b}=${a + b}` };
  });
}

/** Tasks in a fixed cycle; the position is the count drawn so far. */
export function cyclingTasks(tasks: readonly rl.Task[]): (position?: unknown) => rl.TaskStream {
  return (position) => {
    let drawn = typeof position === "number" ? position : 0;
    return {
      next: () => tasks[drawn++ % tasks.length]!,
      get position() {
        return drawn;
      },
    };
  };
}

const nextToken = jit(
  (
    params: Gemma3Params<ArrayBase>,
    lora: LoraParams<ArrayBase>,
    tokens: ArrayBase,
    mask: ArrayBase,
    position: ArrayBase,
    seed: ArrayBase,
    temperature: ArrayBase,
    greedy: boolean,
  ) => {
    const [B, L] = tokens.shape as [number, number];
    const logits = forward(config, params, tokens, mask, { lora, config: loraConfig }); //        [B, L, V]
    const last = np.reshape(lax.dynamicSlice(logits, [0, lax.sub(position, 1), 0], [B, 1, config.vocabSize]), [B, config.vocabSize]);
    if (greedy) return np.argmax(last, 1);
    const key = random.foldIn(random.key(seed), position);
    void L;
    return random.categorical(key, np.divide(last, temperature), { axis: 1 });
  },
  { staticArgnums: [7], device: "cpu" },
);

/** Samples from the policy token by token. */
export function forwardRollout(params: Gemma3Params<DeviceArray>): rl.RolloutEngine {
  return {
    async generate(lora, request) {
      const rows = request.prompts.flatMap((p) => Array.from({ length: request.samplesPerPrompt }, () => p));
      const B = rows.length;
      const P = Math.ceil(Math.max(...rows.map((r) => r.length)) / 8) * 8;
      const N = request.maxNewTokens;
      const L = P + N;
      const ids = new Int32Array(B * L);
      const valid = new Uint8Array(B * L);
      rows.forEach((row, b) => row.forEach((t, i) => ((ids[b * L + P - row.length + i] = t), (valid[b * L + P - row.length + i] = 1))));
      const drawn: number[][] = rows.map(() => []);
      const done = rows.map(() => false);
      for (let step = 0; step < N && !done.every(Boolean); step++) {
        for (let b = 0; b < B; b++) valid[b * L + P + step] = 1;
        const tokens = np.array(ids, { shape: [B, L], device: "cpu" });
        const mask = np.array(valid, { dtype: "bool", shape: [B, L], device: "cpu" });
        const position = np.array(P + step, { dtype: "i32", shape: [], device: "cpu" });
        const seed = np.array(request.seed, { dtype: "i32", shape: [], device: "cpu" });
        const temperature = np.array(request.temperature, { shape: [], device: "cpu" });
        const next = nextToken(params, lora, tokens, mask, position, seed, temperature, request.greedy) as DeviceArray;
        const values = (await next.data()) as Int32Array;
        for (const array of [tokens, mask, position, seed, temperature, next]) array.dispose();
        for (let b = 0; b < B; b++) {
          if (done[b]) continue;
          const token = values[b]!;
          ids[b * L + P + step] = token;
          drawn[b]!.push(token);
          if (request.stopTokens.includes(token)) done[b] = true;
        }
      }
      return { tokens: drawn, finished: done };
    },
  };
}

const directories: string[] = [];

/** A fresh temporary folder, removed by removeTempDirs. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "grpo-xla-trainer-"));
  directories.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of directories.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** The tiny GRPO run of the trainer tests (and of the SIGKILL child): options with overrides, and components. */
export function grpoSetup() {
  const base = baseParams();
  const rollout = forwardRollout(base);
  const options = (overrides: Partial<rl.GrpoOptions> = {}): rl.GrpoOptions => ({
    seed: 17,
    steps: 2,
    promptsPerStep: 2,
    G: 2,
    mu: 2,
    grpo: { beta: 0.04 },
    optimizer: { lr: 5e-3, warmupSteps: 1, totalSteps: 8 },
    maxGradNorm: 1,
    rollout: { maxNewTokens: 6, temperature: 1, promptBucket: 8 },
    systemPrompt: "Answer.",
    ...overrides,
  });
  const components = (sink: MetricsSink, store?: rl.CheckpointStore): rl.GrpoComponents => ({
    model: config,
    base,
    lora: loraConfig,
    tokenizer,
    rollout,
    rewards: rl.defaultRewards(),
    tasks: cyclingTasks(arithmeticTasks(5)),
    evalTasks: arithmeticTasks(2, 100),
    sinks: [sink],
    store,
    device: "cpu",
    log: () => {},
  });
  return { base, options, components };
}

/** Runs a trainer to its end and frees the state it returns (the run's caller owns it). */
export async function runFreeing(trainer: { run(): Promise<rl.LoopResult> }): Promise<Omit<rl.LoopResult, "state">> {
  const { state, ...result } = await trainer.run();
  rl.disposeArrays(state);
  return result;
}

/** Every metric except wall-clock ones. */
export function deterministic(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([name]) => !name.startsWith("time/") && !name.includes("tokens_per_s")));
}
