// `grpo-xla generate` and the command-line frame, run as child processes (issue 7.7): greedy completions equal the
// argmax of step-by-step full forwards computed here in-process, with the logprobs of those forwards; sampling is
// reproducible for a fixed seed and changes with it; prompts from the command line, a JSON-lines file and token
// ids come out in order with the chat template applied; --help pages list every option; mistakes are one line.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ArrayBase, type DeviceArray, jit, np, tidy } from "../../src/index.js";
import { preset } from "../../models/gemma3/config.js";
import { initParams } from "../../models/gemma3/init.js";
import { forward } from "../../models/gemma3/model.js";
import type { Gemma3Params } from "../../models/gemma3/params.js";
import { saveModelDirectory } from "../../models/gemma3/weights.js";
import { CharTokenizer } from "../../src/data/char_tokenizer.js";
import { encodeChat } from "../../src/data/chat.js";
import { disposeTree } from "../models/helpers.js";
import { type CliResult, expectOneLineError, runCli } from "./run_cli.js";

const config = preset("tiny");
const root = mkdtempSync(join(tmpdir(), "cli-generate-"));
const modelDir = join(root, "tiny-model");
let params: Gemma3Params<DeviceArray>;

beforeAll(async () => {
  // Random norm scales too, so greedy decoding does not merely repeat the prompt's last token.
  params = initParams(config, { seed: 11, normScale: 0.5, device: "cpu" });
  await saveModelDirectory(modelDir, config, params, { dtype: "f32" });
});

afterAll(() => {
  disposeTree(params);
  rmSync(root, { recursive: true, force: true });
});

interface Completion {
  prompt: number;
  sample: number;
  input: string | null;
  prompt_tokens: number[];
  tokens: number[];
  logprobs: number[];
  finished: boolean;
  text: string | null;
}

function completions(result: CliResult): Completion[] {
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as Completion);
}

/** Greedy continuation by full forwards over the growing sequence: argmax of the last position, and its logprob. */
async function greedyByFullForwards(prompt: number[], steps: number): Promise<{ tokens: number[]; logprobs: number[] }> {
  const run = jit((p: Gemma3Params<ArrayBase>, t: ArrayBase, m: ArrayBase) => forward(config, p, t, m), { device: "cpu" });
  const sequence = [...prompt];
  const logprobs: number[] = [];
  for (let step = 0; step < steps; step++) {
    // The tokens and the mask are made inside tidy, which frees them; the logits are freed once read.
    const logits = tidy(() => run(params, np.array(Int32Array.from(sequence), { shape: [1, sequence.length], device: "cpu" }), np.ones([1, sequence.length], "bool"))) as DeviceArray;
    const data = (await logits.data()) as Float32Array;
    const last = Array.from(data.subarray((sequence.length - 1) * config.vocabSize));
    const best = last.indexOf(Math.max(...last));
    const max = last[best]!;
    logprobs.push(-Math.log(last.reduce((s, v) => s + Math.exp(v - max), 0)));
    sequence.push(best);
    logits.dispose();
  }
  return { tokens: sequence.slice(prompt.length), logprobs };
}

describe("grpo-xla generate", () => {
  it("greedy completions are the argmax of full forwards, with their logprobs, and repeat exactly", async () => {
    const args = ["generate", "--model", modelDir, "--tokens", "2,105,7,300,11", "--tokens", "2,9", "--max-new-tokens", "6"];
    const [first, again] = await Promise.all([
      runCli([...args, "--temperature", "0", "--stop-tokens", "none", "--json", "--device", "cpu"]),
      runCli([...args, "--temperature", "0", "--stop-tokens", "none", "--json", "--seed", "9"]),
    ]);
    const rows = completions(first);
    expect(rows.map((r) => r.prompt_tokens)).toEqual([[2, 105, 7, 300, 11], [2, 9]]);
    for (const row of rows) {
      const expected = await greedyByFullForwards(row.prompt_tokens, 6);
      expect(row.tokens).toEqual(expected.tokens);
      row.logprobs.forEach((logprob, i) => expect(logprob).toBeCloseTo(expected.logprobs[i]!, 4));
      expect(row.finished).toBe(false);
    }
    // Greedy does not depend on the seed; the default device is cpu here.
    expect(completions(again).map((r) => r.tokens)).toEqual(rows.map((r) => r.tokens));
  });

  it("sampling repeats for a fixed seed and changes with the seed; --samples draws G completions per prompt", async () => {
    const args = ["generate", "--preset", "tiny", "--prompt", "Hello", "--max-new-tokens", "12", "--samples", "2", "--stop-tokens", "none", "--json"];
    const [a, b, c] = await Promise.all([runCli([...args, "--seed", "5"]), runCli([...args, "--seed", "5"]), runCli([...args, "--seed", "6"])]);
    const [rowsA, rowsB, rowsC] = [completions(a), completions(b), completions(c)];
    expect(rowsA.map((r) => [r.prompt, r.sample])).toEqual([[0, 0], [0, 1]]);
    expect(rowsB).toEqual(rowsA);
    expect(rowsA[0]!.tokens).toHaveLength(12);
    expect(rowsA[0]!.tokens).not.toEqual(rowsA[1]!.tokens);
    // --seed also draws the preset's weights, so a new seed is a new model and new draws.
    expect(rowsC[0]!.tokens).not.toEqual(rowsA[0]!.tokens);
    expect(rowsA.every((r) => r.logprobs.every((v) => v <= 0))).toBe(true);
  });

  it("takes prompts from --prompt, a JSON-lines file and --tokens, in order, with the chat template", async () => {
    const file = join(root, "prompts.jsonl");
    writeFileSync(file, ['{"prompt": "What is 2 + 3?"}', '{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}'].join("\n"));
    const [json, text, raw] = await Promise.all([
      runCli(["generate", "--preset", "tiny", "--prompt", "Name a color.", "--prompts", file, "--tokens", "2,105", "--max-new-tokens", "3", "--json"]),
      runCli(["generate", "--preset", "tiny", "--prompt", "Name a color.", "--max-new-tokens", "3", "--temperature", "0"]),
      runCli(["generate", "--preset", "tiny", "--prompt", "Name a color.", "--no-chat", "--max-new-tokens", "3", "--json"]),
    ]);
    const chars = new CharTokenizer();
    const rows = completions(json);
    expect(rows.map((r) => r.prompt_tokens)).toEqual([
      encodeChat(chars, [{ role: "user", content: "Name a color." }]),
      encodeChat(chars, [{ role: "user", content: "What is 2 + 3?" }]),
      encodeChat(chars, [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }]),
      [2, 105],
    ]);
    expect(rows.map((r) => r.input)).toEqual(["Name a color.", "What is 2 + 3?", "Hi", null]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^\[1\] Name a color\.\n/);
    expect(completions(raw)[0]!.prompt_tokens).toEqual(chars.encode("Name a color."));
  });

  it("--help lists every option of each command; mistakes are one line and a non-zero exit", async () => {
    const [main, generateHelp, scoreHelp, noPrompts, topP, command, missingFile] = await Promise.all([
      runCli(["--help"]),
      runCli(["generate", "--help"]),
      runCli(["help", "score"]),
      runCli(["generate", "--preset", "tiny"]),
      runCli(["generate", "--preset", "tiny", "--prompt", "x", "--top-p", "0"]),
      runCli(["generat"]),
      runCli(["generate", "--preset", "tiny", "--prompts", join(root, "nope.txt")]),
    ]);
    expect(main.status).toBe(0);
    expect(main.stdout).toMatch(/Commands:\n {2}train .*\n {2}generate .*\n {2}score /);
    for (const [help, options] of [
      [generateHelp, ["prompt", "prompts", "tokens", "chat", "no-chat", "max-new-tokens", "temperature", "top-k", "top-p", "samples", "stop-tokens", "batch-size", "json", "timing"]],
      [scoreHelp, ["tokens", "text", "logits"]],
    ] as const) {
      expect(help.status).toBe(0);
      for (const option of [...options, "model", "preset", "adapter", "seed", "weights-dtype", "device", "tokenizer", "help", "debug"]) {
        expect(help.stdout).toMatch(new RegExp(`^ {2}--${option}\\b`, "m"));
      }
    }
    expectOneLineError(noPrompts, /no prompts: give --prompt TEXT, --prompts FILE or --tokens IDS/, expect);
    expectOneLineError(topP, /--top-p must be greater than 0/, expect);
    expectOneLineError(command, /unknown command "generat": use one of train, generate, score/, expect);
    expectOneLineError(missingFile, /--prompts .*nope\.txt: cannot read \(ENOENT\)/, expect);
  });
});
