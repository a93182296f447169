// npm run bench -- <suite> [options]: one entry point for every benchmark suite.
// Suites register here by name; each prints its own table.
import { runModelBench } from "./model.js";
import { runOpsBench } from "./ops.js";

interface Suite {
  describe: string;
  run(args: string[]): Promise<void>;
}

const SUITES: Record<string, Suite> = {
  ops: { describe: "dot_general GFLOP/s (ours vs raw OpenBLAS vs tfjs-wasm) and per-call overhead", run: runOpsBench },
  model: { describe: "Gemma3 on cpu: prefill vs raw sgemm, decode tokens/s and bytes/s vs bandwidth, f32/bf16, peak RSS", run: runModelBench },
};

async function main(): Promise<void> {
  const [name, ...rest] = process.argv.slice(2);
  const suite = name === undefined ? undefined : SUITES[name];
  if (suite === undefined) {
    console.error(`usage: npm run bench -- <suite>\n${Object.entries(SUITES).map(([key, value]) => `  ${key.padEnd(8)} ${value.describe}`).join("\n")}`);
    process.exitCode = name === undefined ? 0 : 1;
    return;
  }
  await suite.run(rest);
}

await main();
