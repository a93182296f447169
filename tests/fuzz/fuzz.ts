// Fuzzes the CPU plugin through its C API: mutated real modules go to one cpu_plugin_fuzz child process (many
// cases per child); when the child dies, the case it was on is a crash and a new child takes the next case; when
// it does not answer within the per-case timeout, the case is a hang and the child is killed. Used by
// plugin_fuzz.test.ts (a fixed seed, in the suite) and run.ts (`npm run fuzz -- N`).
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { jit } from "../../src/index.js";
import { nativeBuildDir, packageRoot } from "../../src/runtime/native.js";
import { ourCpuPluginPath } from "../../src/runtime/plugins.js";
import { toDevice } from "../helpers/arrays.js";
import { opCases } from "../ops/cases.js";
import { mutate, opNamesOf, Rng } from "./mutate.js";

export interface Seed {
  name: string;
  text: string;
}

/** The golden and fixture modules under tests/, and every op case of the suite lowered (without running it). */
export function seedModules(): Seed[] {
  const root = packageRoot();
  const seeds: Seed[] = [];
  for (const dir of ["tests/hlo/__golden__", "tests/hlo/fixtures", "tests/runtime/fixtures"]) {
    for (const file of readdirSync(join(root, dir)).filter((f) => f.endsWith(".mlir")).sort()) {
      seeds.push({ name: `${dir}/${file}`, text: readFileSync(join(root, dir, file), "utf8") });
    }
  }
  // tests/hlo/lower_cases.test.ts already dumps and verifies these modules; lowering them again here adds nothing
  // to the dump directory.
  const dumpDir = process.env.GRPO_XLA_DUMP_DIR;
  delete process.env.GRPO_XLA_DUMP_DIR;
  try {
    for (const c of opCases()) {
      const args = c.build().map((x) => toDevice(x));
      seeds.push({ name: `op case ${c.name}`, text: jit(c.fn, { name: c.name }).lower(...args).stablehlo() });
    }
  } finally {
    if (dumpDir !== undefined) process.env.GRPO_XLA_DUMP_DIR = dumpDir;
  }
  return seeds;
}

export interface FuzzCase {
  seed: string;
  description: string;
  text: string;
}

/** `count` cases from `seeds`, deterministic in `seed`; every tenth case is an unmutated seed. */
export function* fuzzCases(seeds: readonly Seed[], count: number, seed: number): Generator<FuzzCase> {
  const rng = new Rng(seed);
  const opNames = opNamesOf(seeds.map((s) => s.text));
  for (let i = 0; i < count; i++) {
    const s = seeds[rng.int(seeds.length)]!;
    if (i % 10 === 0) {
      yield { seed: s.name, description: "unchanged", text: s.text };
    } else {
      const m = mutate(s.text, rng, opNames);
      yield { seed: s.name, description: m.description, text: m.text };
    }
  }
}

export interface Failure extends FuzzCase {
  kind: "crash" | "hang";
  /** Signal or exit status, and the last lines the child wrote to stderr (a sanitizer report, an assertion). */
  detail: string;
}

export interface FuzzSummary {
  cases: number;
  /** Answer counts: "compile-error", "ran", "execute-error", "not-run", and "while-timeout" (a module with a
   *  while loop that did not finish within the timeout: mutations make non-terminating loops). */
  outcomes: Record<string, number>;
  failures: Failure[];
  restarts: number;
  seconds: number;
}

export interface FuzzOptions {
  /** The driver binary (default: cpu_plugin_fuzz in the build directory). */
  driver?: string;
  /** The plugin it loads (default: our CPU plugin). */
  plugin?: string;
  timeoutMs?: number;
  onFailure?: (failure: Failure) => void;
}

type Answer = { line: string } | { exit: string } | { timeout: true };

class Child {
  private readonly process: ChildProcessWithoutNullStreams;
  private stdout = "";
  private stderr = "";
  private waiter: ((answer: Answer) => void) | undefined;
  private exited: string | undefined;

  constructor(driver: string, plugin: string) {
    // Sanitizer reports go to stderr; leaks at exit are not what this looks for.
    const env = { ...process.env, ASAN_OPTIONS: "detect_leaks=0:allocator_may_return_null=1", OMP_NUM_THREADS: "1" };
    this.process = spawn(driver, [plugin], { stdio: ["pipe", "pipe", "pipe"], env });
    this.process.stdout.setEncoding("utf8");
    this.process.stderr.setEncoding("utf8");
    this.process.stdout.on("data", (chunk: string) => {
      this.stdout += chunk;
      this.deliver();
    });
    this.process.stderr.on("data", (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    this.process.stdin.on("error", () => {});  // a write to a dead child: the exit event reports it
    this.process.on("exit", (code, signal) => {
      this.exited = signal ?? `exit status ${code}`;
      // Let the last stderr chunks arrive before reporting.
      setTimeout(() => this.settle({ exit: this.exited! }), 20);
    });
  }

  private settle(answer: Answer): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.(answer);
  }

  private deliver(): void {
    const newline = this.stdout.indexOf("\n");
    if (newline < 0 || this.waiter === undefined) return;
    const line = this.stdout.slice(0, newline);
    this.stdout = this.stdout.slice(newline + 1);
    this.settle({ line });
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  lastStderr(): string {
    return this.stderr.trim().split("\n").slice(-12).join("\n");
  }

  send(text: string, timeoutMs: number): Promise<Answer> {
    const bytes = Buffer.from(text, "latin1");
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle({ timeout: true }), timeoutMs);
      this.waiter = (answer) => {
        clearTimeout(timer);
        resolve(answer);
      };
      this.stderr = "";
      this.process.stdin.write(`${bytes.length}\n`);
      this.process.stdin.write(bytes);
      this.deliver();
    });
  }

  /** Kills a hung child and waits until it is gone, so that its exit is not taken for the next case's crash. */
  kill(): Promise<void> {
    if (!this.alive) return Promise.resolve();
    return new Promise((resolve) => {
      this.process.on("exit", () => resolve());
      this.process.kill("SIGKILL");
    });
  }

  close(): Promise<void> {
    if (!this.alive) return Promise.resolve();
    return new Promise((resolve) => {
      this.process.on("exit", () => resolve());
      this.process.stdin.end();
    });
  }
}

/** Runs every case through the driver and counts outcomes, crashes and hangs. */
export async function fuzzPlugin(cases: Iterable<FuzzCase>, options: FuzzOptions = {}): Promise<FuzzSummary> {
  const driver = options.driver ?? join(nativeBuildDir(), "cpu_plugin_fuzz");
  const plugin = options.plugin ?? ourCpuPluginPath();
  for (const file of [driver, plugin]) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build:native`);
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  const started = performance.now();
  const summary: FuzzSummary = { cases: 0, outcomes: {}, failures: [], restarts: 0, seconds: 0 };
  let child = new Child(driver, plugin);
  for (const c of cases) {
    if (!child.alive) {
      child = new Child(driver, plugin);
      summary.restarts++;
    }
    summary.cases++;
    const answer = await child.send(c.text, timeoutMs);
    if ("line" in answer) {
      const outcome = answer.line.split(" ")[0]!;
      summary.outcomes[outcome] = (summary.outcomes[outcome] ?? 0) + 1;
      continue;
    }
    if ("timeout" in answer && c.text.includes("stablehlo.while")) {
      // A mutated loop can be a program that never ends (its counter no longer moves): a timeout there is the
      // program's, not the plugin's. The child is still killed and replaced.
      summary.outcomes["while-timeout"] = (summary.outcomes["while-timeout"] ?? 0) + 1;
      await child.kill();
      continue;
    }
    const failure: Failure =
      "timeout" in answer
        ? { ...c, kind: "hang", detail: `no answer within ${timeoutMs} ms\n${child.lastStderr()}` }
        : { ...c, kind: "crash", detail: `${answer.exit}\n${child.lastStderr()}` };
    await child.kill();
    summary.failures.push(failure);
    options.onFailure?.(failure);
  }
  await child.close();
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

/** True when `text` alone still makes the driver crash (not hang): the test a reducer keeps lines by. */
export async function crashes(text: string, options: FuzzOptions = {}): Promise<boolean> {
  const summary = await fuzzPlugin([{ seed: "", description: "", text }], { ...options, timeoutMs: options.timeoutMs ?? 5_000 });
  return summary.failures.some((f) => f.kind === "crash");
}

/** Removes lines, then characters spans, while the input still crashes: a short input for the report. */
export async function reduceCrash(text: string, options: FuzzOptions = {}, maxTrials = 400): Promise<string> {
  let current = text;
  let trials = 0;
  for (let changed = true; changed && trials < maxTrials; ) {
    changed = false;
    const ls = current.split("\n");
    for (let i = ls.length - 1; i >= 0 && trials < maxTrials; i--) {
      const candidate = [...ls.slice(0, i), ...ls.slice(i + 1)].join("\n");
      trials++;
      if (await crashes(candidate, options)) {
        current = candidate;
        ls.splice(i, 1);
        changed = true;
      }
    }
  }
  return current;
}
