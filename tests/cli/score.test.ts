// `grpo-xla score` run as a child process (issue 7.7): the JSON it prints has the documented shape, its logits are
// the in-process forward's (and the reference device's to f32 rounding), and each logprob equals
// log_softmax(logits[i])[t_i+1] recomputed here in plain JS from the printed logits; an adapter changes the numbers
// as the in-process adapted forward does; every bad input (token id out of range, missing directory, bad
// config.json, unknown option) is one line on stderr and a non-zero exit, with the stack only under --debug.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ArrayBase, DeviceArray, jit, np, tidy } from "../../src/index.js";
import { preset } from "../../models/gemma3/config.js";
import { initParams } from "../../models/gemma3/init.js";
import { forward } from "../../models/gemma3/model.js";
import type { Gemma3Params } from "../../models/gemma3/params.js";
import { saveLoraAdapter, saveModelDirectory } from "../../models/gemma3/weights.js";
import type { LoraConfig, LoraParams } from "../../models/lora.js";
import { CharTokenizer } from "../../src/data/char_tokenizer.js";
import { adapterWithRandomB, disposeTree } from "../models/helpers.js";
import { expectOneLineError, runCli } from "./run_cli.js";

const config = preset("tiny");
const V = config.vocabSize;
const tokens = [2, 105, 7, 300, 11, 511, 0, 42];
const loraConfig: LoraConfig = { rank: 2, alpha: 4, targets: ["q", "kv", "down"] };
const root = mkdtempSync(join(tmpdir(), "cli-score-"));
const modelDir = join(root, "tiny-model");
const adapterPath = join(root, "adapter.safetensors");
let params: Gemma3Params<DeviceArray>;
let lora: LoraParams<DeviceArray>;

beforeAll(async () => {
  params = initParams(config, { seed: 11, normScale: 0.2, device: "cpu" });
  await saveModelDirectory(modelDir, config, params, { dtype: "f32" });
  lora = adapterWithRandomB(config, loraConfig, 1, 1);
  await saveLoraAdapter(adapterPath, config, loraConfig, lora);
});

afterAll(() => {
  disposeTree(params);
  disposeTree(lora);
  rmSync(root, { recursive: true, force: true });
});

/** Logits [n, V] of the in-process forward on cpu, with or without the adapter. */
async function inProcessLogits(withAdapter: boolean): Promise<Float32Array> {
  const run = jit(
    (p: Gemma3Params<ArrayBase>, l: LoraParams<ArrayBase>, t: ArrayBase, m: ArrayBase) =>
      forward(config, p, t, m, withAdapter ? { lora: l, config: loraConfig } : undefined),
    { device: "cpu" },
  );
  // The tokens and the mask are made inside tidy, which frees them; the logits are freed once read.
  const logits = tidy(() => run(params, lora, np.array(Int32Array.from(tokens), { shape: [1, tokens.length], device: "cpu" }), np.ones([1, tokens.length], "bool"))) as DeviceArray;
  const data = (await logits.data()) as Float32Array;
  logits.dispose();
  return data;
}

/** log_softmax(row)[token] in f64. */
function logSoftmaxAt(row: readonly number[], token: number): number {
  const max = Math.max(...row);
  const sum = row.reduce((s, v) => s + Math.exp(v - max), 0);
  return row[token]! - max - Math.log(sum);
}

interface ScoreOutput {
  tokens: number[];
  logprobs: number[];
  logits?: number[][];
}

function expectLogprobsFromLogits(out: ScoreOutput): void {
  expect(out.logprobs).toHaveLength(tokens.length - 1);
  out.logprobs.forEach((logprob, i) => expect(logprob).toBeCloseTo(logSoftmaxAt(out.logits![i]!, tokens[i + 1]!), 5));
}

describe("grpo-xla score", () => {
  it("prints {tokens, logprobs, logits}: the forward's logits, logprobs[i] = log_softmax(logits[i])[t_i+1]", async () => {
    const [full, plain, reference] = await Promise.all([
      runCli(["score", "--model", modelDir, "--tokens", tokens.join(","), "--device", "cpu", "--logits"]),
      runCli(["score", "--model", modelDir, "--tokens", `[${tokens.join(", ")}]`, "--device", "cpu"]),
      runCli(["score", "--model", modelDir, "--tokens", tokens.join(","), "--device", "reference", "--logits"]),
    ]);
    expect(full.status, full.stderr).toBe(0);
    expect(full.stdout.endsWith("}\n")).toBe(true);
    const out = JSON.parse(full.stdout) as ScoreOutput;
    expect(Object.keys(out)).toEqual(["tokens", "logprobs", "logits"]);
    expect(out.tokens).toEqual(tokens);
    expect(out.logits).toHaveLength(tokens.length);
    for (const row of out.logits!) expect(row).toHaveLength(V);
    // Printed numbers read back to the exact f32 values of the in-process forward (same graph, same device).
    const expected = await inProcessLogits(false);
    expect(Float32Array.from(out.logits!.flat())).toEqual(expected);
    expectLogprobsFromLogits(out);
    // Without --logits: the same logprobs, no logits key.
    expect(plain.status, plain.stderr).toBe(0);
    expect(JSON.parse(plain.stdout)).toEqual({ tokens, logprobs: out.logprobs });
    // The reference interpreter (tfjs) computes the same numbers to f32 rounding.
    expect(reference.status, reference.stderr).toBe(0);
    const onReference = JSON.parse(reference.stdout) as ScoreOutput;
    expect(Float32Array.from(onReference.logits!.flat())).toBeAllclose(expected, { atol: 1e-4, rtol: 1e-4 });
    expect(onReference.logprobs).toBeAllclose(out.logprobs, { atol: 1e-4, rtol: 1e-4 });
  });

  it("--adapter scores with the LoRA update, as the in-process adapted forward does", async () => {
    const result = await runCli(["score", "--model", modelDir, "--adapter", adapterPath, "--tokens", tokens.join(","), "--device", "cpu", "--logits"]);
    expect(result.status, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as ScoreOutput;
    const expected = await inProcessLogits(true);
    const base = await inProcessLogits(false);
    expect(Float32Array.from(out.logits!.flat())).toBeAllclose(expected, { atol: 1e-5, rtol: 1e-5 });
    // The adapter really changes the model (so the comparison above is not the base model's twice).
    expect(Math.max(...expected.map((v, i) => Math.abs(v - base[i]!)))).toBeGreaterThan(1e-2);
    expectLogprobsFromLogits(out);
  });

  it("--text tokenizes first (the character tokenizer for the tiny preset); a 1-token sequence has no logprobs", async () => {
    const [text, single] = await Promise.all([
      runCli(["score", "--preset", "tiny", "--seed", "3", "--text", "Hi there", "--device", "cpu"]),
      runCli(["score", "--preset", "tiny", "--tokens", "2", "--device", "cpu", "--logits"]),
    ]);
    expect(text.status, text.stderr).toBe(0);
    const out = JSON.parse(text.stdout) as ScoreOutput;
    expect(out.tokens).toEqual(new CharTokenizer().encode("Hi there"));
    expect(out.logprobs).toHaveLength(out.tokens.length - 1);
    expect(out.logprobs.every((v) => Number.isFinite(v) && v < 0)).toBe(true);
    expect(single.status, single.stderr).toBe(0);
    const one = JSON.parse(single.stdout) as ScoreOutput;
    expect(one.logprobs).toEqual([]);
    expect(one.logits).toHaveLength(1);
  });

  it("bad inputs are one line on stderr and a non-zero exit; --debug shows the stack", async () => {
    const badJson = join(root, "bad-json");
    const badType = join(root, "bad-type");
    for (const [dir, text] of [
      [badJson, "{ not json"],
      [badType, JSON.stringify({ model_type: "llama" })],
    ] as const) {
      await saveModelDirectory(dir, config, params, { dtype: "bf16" });
      writeFileSync(join(dir, "config.json"), text);
    }
    const run = (...args: string[]) => runCli(["score", ...args]);
    const [range, missing, json, type, unknown, both, debug] = await Promise.all([
      run("--model", modelDir, "--tokens", "2,105,512", "--device", "cpu"),
      run("--model", join(root, "no-such-dir"), "--tokens", "2,105"),
      run("--model", badJson, "--tokens", "2,105", "--device", "cpu"),
      run("--model", badType, "--tokens", "2,105", "--device", "cpu"),
      run("--model", modelDir, "--tokens", "2", "--temprature", "1"),
      run("--model", modelDir, "--tokens", "2,x,4"),
      run("--model", join(root, "no-such-dir"), "--tokens", "2,105", "--debug"),
    ]);
    expectOneLineError(range, /^grpo-xla score: --tokens: token id 512 at position 2 is outside the model's vocabulary \[0, 512\)$/m, expect);
    expect(range.status).toBe(2);
    expectOneLineError(missing, /--model .*no-such-dir: no such directory/, expect);
    expectOneLineError(json, /bad-json[/\\]config\.json: not valid JSON/, expect);
    expect(json.status).toBe(1);
    expectOneLineError(type, /bad-type[/\\]config\.json: model_type must be "gemma3_text" or "gemma3", got "llama"/, expect);
    expectOneLineError(unknown, /unknown option --temprature \(grpo-xla score --help lists the options\)/, expect);
    expect(unknown.status).toBe(2);
    expectOneLineError(both, /--tokens: item 2 \("x"\) is not a token id/, expect);
    expect(debug.status).not.toBe(0);
    expect(debug.stderr).toMatch(/no such directory\n\s+at /);
  });
});
