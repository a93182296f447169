// npm run fuzz -- [N] [--seed S] [--checked] [--timeout MS] [--out DIR] [--no-reduce]
// Fuzzes the CPU plugin with N mutated modules (default 20000), prints a summary and writes each crashing or
// hanging input to DIR (default build/fuzz-failures) with its description and the driver's last stderr lines,
// plus a line-reduced copy of each crash. --checked uses the AddressSanitizer + _GLIBCXX_ASSERTIONS build of the
// driver and plugin (cpu_plugin_fuzz_checked, grpo_xla_cpu_plugin_checked.so), where out-of-bounds reads fail.
// Reproduce one case: build/Release/cpu_plugin_fuzz build/Release/grpo_xla_cpu_plugin.so FILE.mlir
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { nativeBuildDir, packageRoot } from "../../src/runtime/native.js";
import { fuzzCases, fuzzPlugin, reduceCrash, seedModules, type Failure, type FuzzOptions } from "./fuzz.js";

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const positional = process.argv.slice(2).filter((a, i, all) => !a.startsWith("--") && !all[i - 1]?.match(/^--(seed|timeout|out)$/));
const count = Number(positional[0] ?? 20000);
const seed = Number(option("--seed") ?? Date.now() % 1_000_000);
const out = option("--out") ?? join(packageRoot(), "build", "fuzz-failures");
const checked = process.argv.includes("--checked");
const options: FuzzOptions = {
  timeoutMs: Number(option("--timeout") ?? (checked ? 30_000 : 10_000)),
  ...(checked
    ? { driver: join(nativeBuildDir(), "cpu_plugin_fuzz_checked"), plugin: join(nativeBuildDir(), "grpo_xla_cpu_plugin_checked.so") }
    : {}),
};
if (!Number.isInteger(count) || count <= 0) throw new Error(`usage: npm run fuzz -- N (a positive case count), got ${positional[0]}`);

const seeds = seedModules();
console.log(`fuzzing ${count} cases from ${seeds.length} seed modules, seed ${seed}${checked ? ", checked build" : ""}`);
mkdirSync(out, { recursive: true });
const failures: Failure[] = [];
const summary = await fuzzPlugin(fuzzCases(seeds, count, seed), {
  ...options,
  onFailure: (f) => {
    failures.push(f);
    const id = createHash("sha256").update(f.text).digest("hex").slice(0, 12);
    writeFileSync(join(out, `${f.kind}-${id}.mlir`), f.text, "latin1");
    writeFileSync(join(out, `${f.kind}-${id}.txt`), `seed module: ${f.seed}\nmutations: ${f.description}\n\n${f.detail}\n`);
    console.log(`${f.kind}: ${f.seed} (${f.description}) -> ${join(out, `${f.kind}-${id}.mlir`)}`);
  },
});
console.log(`${summary.cases} cases in ${summary.seconds.toFixed(1)} s, ${summary.restarts} restarts`);
console.log(`outcomes: ${JSON.stringify(summary.outcomes)}`);
const crashes = failures.filter((f) => f.kind === "crash");
console.log(`crashes: ${crashes.length}, hangs: ${failures.length - crashes.length}`);
if (!process.argv.includes("--no-reduce")) {
  for (const f of crashes) {
    const reduced = await reduceCrash(f.text, options);
    const id = createHash("sha256").update(f.text).digest("hex").slice(0, 12);
    writeFileSync(join(out, `crash-${id}.reduced.mlir`), reduced, "latin1");
  }
}
process.exitCode = failures.length === 0 ? 0 : 1;
