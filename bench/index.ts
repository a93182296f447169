// npm run bench -- [--devices ... --model ... --phase ...]: the GRPO phases on every device (suite.ts);
// npm run bench -- <suite> [options]: one of the focused suites registered here by name, each printing its own table.
import { runDispatchBench } from "./dispatch.js";
import { runLogprobsBench } from "./logprobs.js";
import { runModelBench } from "./model.js";
import { runOpsBench } from "./ops.js";
import { runDeviceSuite, runPhaseChild } from "./suite.js";
import { runTrainerBench } from "./trainer.js";
import { runWeightsBench } from "./weights.js";

interface Suite {
  describe: string;
  run(args: string[]): Promise<void>;
}

const SUITES: Record<string, Suite> = {
  dispatch: { describe: "host round trips per call on cpu: 1,000 dependent tiny calls and a decode-like loop, vs the same work fused", run: runDispatchBench },
  logprobs: { describe: "peak memory and time of token logprobs: full logits vs the chunked kernels, forward and gradient", run: runLogprobsBench },
  ops: { describe: "dot_general GFLOP/s (ours vs raw OpenBLAS vs tfjs-wasm) and per-call overhead", run: runOpsBench },
  model: { describe: "Gemma3 on cpu: prefill vs raw sgemm, decode tokens/s and bytes/s vs bandwidth, f32/bf16, peak RSS", run: runModelBench },
  trainer: { describe: "GRPO step time split (rollout / logprobs / update) at the tiny config, and gradient accumulation forms", run: runTrainerBench },
  weights: { describe: "safetensors write/read MB/s, load onto cpu with peak memory, Gemma3 tokenizer load time", run: runWeightsBench },
};

const USAGE = `usage: npm run bench -- [--devices cpu,tpu,gpu,reference] [--model tiny|gemma3-1b] [--phase rollout,logprobs,update,step]
         [--runs N] [--json FILE] [--chart FILE.svg] [--compare OLD.json] [--weights-dtype f32|bf16]
         [--prompts N] [--group G] [--prompt-length P] [--new-tokens N] [--rank R]
  the GRPO phases timed on each device (default: every device present, tiny, every phase)
or:    npm run bench -- <suite> [options]`;

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  if (name === "__phase") return runPhaseChild(rest);
  if (name === undefined || name.startsWith("--") && name !== "--help") {
    try {
      await runDeviceSuite(process.argv.slice(2));
    } catch (error) {
      console.error(`bench: ${(error as Error).message}`);
      process.exitCode = 1;
    }
    return;
  }
  const suite = SUITES[name];
  if (suite === undefined) {
    console.error(`${USAGE}\n${Object.entries(SUITES).map(([key, value]) => `  ${key.padEnd(8)} ${value.describe}`).join("\n")}`);
    process.exitCode = name === "--help" ? 0 : 1;
    return;
  }
  await suite.run(rest);
}

await main();
