// Training configuration: YAML files validated against a schema, defaults per stage (sft, grpo), and command-line
// overrides. Every error names the field and where it came from (file and line, or the command-line flag).
// Field docs carry the GRPO paper symbols (G, beta, eps, mu); semantics follow Tunix and TRL (see facts in
// docs/DECISIONS.md, "Training configuration").
import { LineCounter, type Node, isMap, isScalar, parse as parseYamlValue, parseDocument } from "yaml";
import { z } from "zod";
import { isPresetName } from "../../models/gemma3/config.js";
import { parseDuration } from "./duration.js";

export type Stage = "sft" | "grpo";

const int = (min: number) => z.number().int().min(min);
const positive = z.number().positive();
const probability = z.number().min(0).max(1);

const durationSeconds = z.union([z.number(), z.string()]).transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
});

export const configSchema = z.strictObject({
  stage: z.enum(["sft", "grpo"]).describe("Training stage: supervised fine-tuning on worked solutions, or GRPO"),
  run: z.strictObject({
    name: z.string().min(1).describe("Run name: logs and checkpoints go to <dir>/<name>/"),
    dir: z.string().min(1).describe("Folder holding runs"),
    seed: int(0).describe("Seed of the model init, sampling keys and data order"),
    device: z.enum(["cpu", "tpu", "gpu", "reference"]).describe("Device the compiled graphs run on"),
    timeBudget: durationSeconds.nullable().describe('Wall-clock budget ("8h30m"), parsed to seconds; checkpoint and stop before it ends'),
    resumeFrom: z.string().nullable().describe("Checkpoint directory (or run directory: its latest checkpoint) to start from"),
  }),
  model: z.strictObject({
    preset: z
      .string()
      .refine(isPresetName, { message: "unknown model preset" })
      .nullable()
      .describe("Model preset (gemma3-270m, gemma3-1b, gemma3-4b, tiny); null when dir gives config.json"),
    dir: z.string().nullable().describe("Hugging Face checkpoint folder (config.json, safetensors, tokenizer.json)"),
    dtype: z.enum(["f32", "bf16"]).describe("Dtype of the frozen base weights"),
  }),
  lora: z.strictObject({
    enabled: z
      .boolean()
      .describe("Train a LoRA adapter (true) or every weight of the model (false: every weight trains, for a model trained from scratch; in GRPO the loaded model stays as a frozen KL reference)"),
    rank: int(1).describe("LoRA rank r"),
    alpha: positive.describe("LoRA alpha; the update is scaled by alpha / r"),
    targets: z.array(z.string().min(1)).min(1).describe('Adapted projections ("q", "kv", "o", "gate", "up", "down") or "layers.<i>.<target>" patterns'),
  }),
  data: z.strictObject({
    source: z.enum(["builtin", "gsm8k-jsonl", "gsm8k-parquet", "sft-jsonl"]).describe("Where training examples come from"),
    path: z.string().nullable().describe("Training file for file sources"),
    evalPath: z.string().nullable().describe("Held-out file (same format as path); null: built-in held-out tasks"),
    levels: z.array(z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)])).min(1).describe("Difficulty levels of built-in tasks"),
    trainSize: int(1).describe("Number of built-in training tasks"),
    evalSize: int(1).describe("Number of held-out tasks per evaluation"),
    heldOutFraction: z.number().gt(0).lt(1).describe("Share of all built-in problems reserved for evaluation"),
    heldOutBy: z
      .enum(["numbers", "text"])
      .describe('What makes a built-in problem held out: its numbers (unseen arithmetic facts) or its whole text (unseen problems whose facts may be trained on)'),
    factsFraction: z
      .number()
      .gt(0)
      .max(1)
      .describe("Share of the arithmetic facts (template and numbers) built-in training tasks draw from; held-out tasks cover every fact"),
    evalSeed: int(0)
      .nullable()
      .describe("Seed of the built-in held-out tasks; null: run.seed. Fixed, runs of different seeds are evaluated on the same tasks"),
    otherFactsRate: z
      .number()
      .min(0)
      .max(1)
      .describe("Chance that a built-in training task whose fact is outside factsFraction is kept anyway (0: never; between 0 and 1 those facts are rare, not absent)"),
    onBadRow: z.enum(["error", "skip"]).describe("A malformed row stops the run (error) or is skipped and counted"),
    shuffle: z.boolean().describe("Shuffle the training order each epoch"),
  }),
  sampling: z.strictObject({
    temperature: positive.describe("Sampling temperature T; logprobs use log_softmax(logits / T)"),
    topK: int(0).describe("Keep the k most likely tokens (0: off)"),
    topP: z.number().gt(0).max(1).describe("Nucleus mass p (1: off)"),
    maxPromptLength: int(1).describe("Prompt tokens (left-padded to this)"),
    maxCompletionLength: int(1).describe("Completion tokens generated at most"),
  }),
  grpo: z.strictObject({
    G: int(2).describe("G: completions sampled per prompt (num_generations)"),
    beta: z.number().min(0).describe("beta: KL penalty weight; 0 skips the reference forward"),
    epsilon: positive.describe("eps: lower clip of the ratio, 1 - eps"),
    epsilonHigh: positive.nullable().describe("eps_high: upper clip 1 + eps_high (DAPO 0.28); null: eps"),
    dualClip: z.number().gt(1).nullable().describe("eps_c: dual-clip bound for negative advantages; null: off"),
    mu: int(1).describe("mu: optimizer steps per rollout batch (num_iterations)"),
    kl: z.enum(["k1", "k2", "k3"]).describe("KL estimator: k1 logp - ref, k2 squared / 2, k3 exp(d) - d - 1"),
    aggregation: z
      .enum(["sequence-mean-token-mean", "token-mean", "sequence-mean-token-scale", "seq-mean-token-sum"])
      .describe("Loss aggregation over tokens and sequences"),
    advantage: z.enum(["grpo", "dr_grpo", "rloo"]).describe("Advantage estimator"),
    scaleRewards: z.enum(["group", "batch", "none"]).describe("Std used to scale advantages"),
    advantageEps: z.number().min(0).describe("Added to the std before dividing (Tunix 1e-6, TRL 1e-4)"),
    trainOnEos: z.boolean().describe("Keep the first EOS token in the loss mask (TRL) or not (Tunix)"),
    maskTruncated: z.boolean().describe("Mask completions that never emitted EOS"),
    rewardWeights: z.record(z.string(), z.number()).describe("Weight of each reward function by name"),
  }),
  optim: z.strictObject({
    lr: positive.describe("Peak learning rate of AdamW"),
    warmupFraction: z.number().min(0).lt(1).describe("Share of steps with linear warmup"),
    schedule: z.enum(["cosine", "linear", "constant"]).describe("Decay after warmup (to 0)"),
    clip: positive.nullable().describe("Global gradient-norm clip; null: off"),
    weightDecay: z.number().min(0).describe("AdamW decoupled weight decay"),
    b1: probability.describe("AdamW beta1: decay of the gradient mean"),
    b2: probability.describe("AdamW beta2: decay of the squared-gradient mean"),
    eps: z.number().min(0).describe("AdamW epsilon, added to sqrt(v); near the gradients' size it damps updates of weights whose gradient is only noise"),
    steps: int(1).describe("Optimizer steps in the stage"),
    batchSize: int(1).describe("Prompts per step (each sampled G times in GRPO)"),
    gradAccumulation: int(1).describe("Micro-batches accumulated per optimizer step"),
  }),
  eval: z.strictObject({
    every: int(0).describe("Held-out evaluation every N steps (0: only at the end)"),
    greedy: z.boolean().describe("Decode greedily (true) or sample with the sampling fields (temperature, top-k, top-p; seed 0)"),
    sampled: z.boolean().describe("After a greedy evaluation, also sample each held-out task once (sampling fields, seed 0): eval/sampled_accuracy"),
    batchSize: int(1).describe("Prompts decoded at once during evaluation"),
  }),
  checkpoint: z.strictObject({
    every: int(1).describe("Checkpoint every N steps"),
    keep: int(1).describe("Checkpoints kept (the newest)"),
    marginSeconds: z.number().min(0).describe("Checkpoint and stop when the next step would end closer than this to the budget"),
  }),
  log: z.strictObject({
    every: int(1).describe("Log metrics every N steps"),
    samples: int(0).describe("Sample completions logged per log step"),
    tensorboard: z.boolean(),
    curves: z.boolean().describe("Write SVG curves at the end of the run"),
  }),
});

export type TrainConfig = z.output<typeof configSchema>;
/** What a YAML file or defaults object may contain (durations as text). */
export type TrainConfigInput = z.input<typeof configSchema>;

/** Defaults per stage: the GRPO recipe of Tunix's Gemma3-1B GSM8K demo and the seeds' notebooks. */
export function defaultConfig(stage: Stage): TrainConfigInput {
  return {
    stage,
    run: { name: stage, dir: "runs", seed: 0, device: "cpu", timeBudget: null, resumeFrom: null },
    model: { preset: "gemma3-1b", dir: null, dtype: "bf16" },
    lora: { enabled: true, rank: 32, alpha: 32, targets: ["q", "kv", "o", "gate", "up", "down"] },
    data: { source: "builtin", path: null, evalPath: null, levels: [1, 2, 3], trainSize: 10_000, evalSize: 200, heldOutFraction: 0.1, heldOutBy: "numbers", factsFraction: 1, otherFactsRate: 0, evalSeed: null, onBadRow: "error", shuffle: true },
    sampling: { temperature: 0.9, topK: 50, topP: 1, maxPromptLength: 256, maxCompletionLength: 768 },
    grpo: {
      G: 4,
      beta: 0.08,
      epsilon: 0.2,
      epsilonHigh: null,
      dualClip: null,
      mu: 1,
      kl: "k3",
      aggregation: "sequence-mean-token-mean",
      advantage: "grpo",
      scaleRewards: "group",
      advantageEps: 1e-6,
      trainOnEos: false,
      maskTruncated: false,
      rewardWeights: {},
    },
    optim:
      stage === "sft"
        ? { lr: 1e-4, warmupFraction: 0.05, schedule: "cosine", clip: 1.0, weightDecay: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8, steps: 500, batchSize: 8, gradAccumulation: 1 }
        : { lr: 3e-6, warmupFraction: 0.1, schedule: "cosine", clip: 0.1, weightDecay: 0.1, b1: 0.9, b2: 0.99, eps: 1e-8, steps: 3738, batchSize: 1, gradAccumulation: 1 },
    eval: { every: stage === "sft" ? 100 : 250, greedy: true, sampled: false, batchSize: 16 },
    checkpoint: { every: 500, keep: 3, marginSeconds: 120 },
    log: { every: 1, samples: 2, tensorboard: true, curves: true },
  };
}

// --- errors with locations -----------------------------------------------------------------------------------

export class ConfigError extends Error {
  constructor(
    /** "file.yaml:12", "--set grpo.beta=x" or "defaults". */
    readonly where: string,
    readonly field: string | undefined,
    readonly detail: string,
  ) {
    super(`${where}: ${field === undefined ? "" : `${field}: `}${detail}`);
    this.name = "ConfigError";
  }
}

/** One command-line override: a dotted field path and its value (already parsed). */
export interface Override {
  path: string[];
  value: unknown;
  /** The flag as typed, for error messages. */
  flag: string;
}

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Merges `patch` into `base` (objects recursively; anything else replaces), recording where each leaf came from. */
function mergeInto(base: Record<string, unknown>, patch: Record<string, unknown>, path: string[], origin: (path: string[]) => string, origins: Map<string, string>): void {
  for (const [key, value] of Object.entries(patch)) {
    const here = [...path, key];
    if (FORBIDDEN_KEYS.has(key)) throw new ConfigError(origin(here), here.join("."), "is not a config field");
    const current = base[key];
    origins.set(here.join("."), origin(here));
    if (isPlainObject(current) && isPlainObject(value)) mergeInto(current, value, here, origin, origins);
    else base[key] = structuredClone(value);
  }
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) value = isPlainObject(value) || Array.isArray(value) ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** The most specific recorded origin of a field path. */
function originOf(path: readonly PropertyKey[], origins: Map<string, string>): string {
  for (let n = path.length; n > 0; n--) {
    const found = origins.get(path.slice(0, n).join("."));
    if (found) return found;
  }
  return origins.get("") ?? "defaults";
}

function validate(merged: Record<string, unknown>, origins: Map<string, string>): TrainConfig {
  const result = configSchema.safeParse(merged);
  if (result.success) {
    return result.data;
  }
  const issue = result.error.issues[0]!;
  if (issue.code === "unrecognized_keys") {
    const path = [...issue.path, issue.keys[0]!];
    return fail(originOf(path, origins), path.join("."), "unknown field");
  }
  const value = valueAt(merged, issue.path);
  const detail = issue.code === "invalid_type" ? `expected ${issue.expected}, got ${describe(value)}` : `${issue.message} (got ${describe(value)})`;
  return fail(originOf(issue.path, origins), issue.path.join("."), detail);
}

function fail(where: string, field: string, detail: string): never {
  throw new ConfigError(where, field, detail);
}

// --- YAML --------------------------------------------------------------------------------------------------------

interface ParsedYaml {
  value: Record<string, unknown>;
  /** "file:line" of a field path, or of the key naming it. */
  locate(path: string[]): string;
}

function parseYaml(text: string, source: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number) => `${source}:${lines.linePos(offset).line}`;
  const problem = doc.errors[0];
  if (problem) throw new ConfigError(lineOf(problem.pos[0]), undefined, `invalid YAML: ${problem.message.split("\n")[0]}`);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError(source, undefined, `invalid YAML: ${(error as Error).message}`);
  }
  if (value === null || value === undefined) value = {};
  if (!isPlainObject(value)) throw new ConfigError(`${source}:1`, undefined, `a config file is a mapping of fields, got ${describe(value)}`);
  const locate = (path: string[]): string => {
    // The key of the deepest mapping entry on the path: the line a reader looks at.
    let node: unknown = doc.contents;
    let line = `${source}:1`;
    for (const key of path) {
      if (!isMap(node)) break;
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === key);
      if (!pair) break;
      const range = (pair.key as Node).range;
      if (range) line = lineOf(range[0]);
      node = pair.value;
    }
    return line;
  };
  return { value, locate };
}

// --- command line --------------------------------------------------------------------------------------------

/** Short flags for the fields changed most often; any field is reachable as `--set a.b=v` or `--a.b v`. */
export const FLAG_ALIASES: Record<string, string> = {
  "--stage": "stage",
  "--name": "run.name",
  "--seed": "run.seed",
  "--device": "run.device",
  "--time-budget": "run.timeBudget",
  "--resume": "run.resumeFrom",
  "--model": "model.dir",
  "--preset": "model.preset",
  "--data": "data.path",
  "--lr": "optim.lr",
  "--steps": "optim.steps",
  "--batch-size": "optim.batchSize",
  "--G": "grpo.G",
  "--beta": "grpo.beta",
};

/** A value typed on the command line, read as a YAML scalar or flow list ("3e-6" -> 3e-6, "[q,v]" -> ["q","v"]). */
function parseFlagValue(text: string, flag: string): unknown {
  try {
    return parseYamlValue(text);
  } catch (error) {
    throw new ConfigError(flag, undefined, `cannot read the value: ${(error as Error).message.split("\n")[0]}`);
  }
}

/** Takes the config overrides out of argv: `--set a.b=v`, `--set=a.b=v`, `--a.b v`, `--a.b=v` and the aliases.
 * Everything else is returned in `rest` for the command to handle. */
export function parseOverrides(argv: readonly string[]): { overrides: Override[]; rest: string[] } {
  const overrides: Override[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw new ConfigError(arg, undefined, "needs a value");
      return next;
    };
    if (name === "--set") {
      const assignment = takeValue();
      const at = assignment.indexOf("=");
      if (at <= 0) throw new ConfigError(`--set ${assignment}`, undefined, "write --set field.path=value");
      const flag = `--set ${assignment}`;
      overrides.push({ path: assignment.slice(0, at).split("."), value: parseFlagValue(assignment.slice(at + 1), flag), flag });
    } else if (FLAG_ALIASES[name] !== undefined || (name.startsWith("--") && name.includes("."))) {
      const text = takeValue();
      const flag = `${name} ${text}`;
      overrides.push({ path: (FLAG_ALIASES[name] ?? name.slice(2)).split("."), value: parseFlagValue(text, flag), flag });
    } else {
      rest.push(arg);
    }
  }
  return { overrides, rest };
}

// --- loading -------------------------------------------------------------------------------------------------

export interface LoadOptions {
  /** YAML text; `source` names it in errors (a file path). */
  yaml?: string;
  source?: string;
  overrides?: readonly Override[];
  /** Stage when neither the file nor an override sets one. Default "grpo". */
  stage?: Stage;
}

/** Defaults for the stage <- YAML <- overrides, validated. */
export function resolveConfig(options: LoadOptions = {}): TrainConfig {
  const source = options.source ?? "config";
  const file = options.yaml === undefined ? undefined : parseYaml(options.yaml, source);
  const overrides = options.overrides ?? [];
  const stageOverride = overrides.filter((o) => o.path.join(".") === "stage").at(-1)?.value;
  const stage = stageOverride ?? file?.value.stage ?? options.stage ?? "grpo";
  const origins = new Map<string, string>();
  if (stage !== "sft" && stage !== "grpo") {
    const where = stageOverride !== undefined ? overrides.filter((o) => o.path.join(".") === "stage").at(-1)!.flag : (file?.locate(["stage"]) ?? "options");
    throw new ConfigError(where, "stage", `expected "sft" or "grpo", got ${describe(stage)}`);
  }
  const merged = defaultConfig(stage) as unknown as Record<string, unknown>;
  if (file) mergeInto(merged, file.value, [], (path) => file.locate(path), origins);
  for (const override of overrides) {
    if (override.path.some((key) => key === "")) throw new ConfigError(override.flag, override.path.join("."), "empty field name");
    const patch = override.path.reduceRight<unknown>((value, key) => ({ [key]: value }), override.value) as Record<string, unknown>;
    mergeInto(merged, patch, [], () => override.flag, origins);
  }
  return validate(merged, origins);
}

/** Reads a YAML config file and applies overrides. */
export async function loadConfig(path: string, overrides: readonly Override[] = [], stage?: Stage): Promise<TrainConfig> {
  const { readFile } = await import("node:fs/promises");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ConfigError(path, undefined, `cannot read the config file: ${(error as Error).message}`);
  }
  return resolveConfig({ yaml: text, source: path, overrides, stage });
}

/** Field docs for `--help`: dotted path and description, from the schema. */
export function describeFields(): [path: string, description: string][] {
  const out: [string, string][] = [];
  for (const [section, sectionSchema] of Object.entries(configSchema.shape)) {
    if (sectionSchema instanceof z.ZodObject) {
      for (const [field, fieldSchema] of Object.entries(sectionSchema.shape as Record<string, z.ZodType>)) out.push([`${section}.${field}`, fieldSchema.description ?? ""]);
    } else {
      out.push([section, sectionSchema.description ?? ""]);
    }
  }
  return out;
}
