// `grpo-xla train`: runs the SFT -> GRPO pipeline of a recipe (`npm run train:cpu|gpu|tpu`), or the stages of
// config files, with any config field overridable from the command line. Each stage after the first trains a
// fresh adapter on the previous stage's merged export (its KL reference is then the model it starts from); progress goes to stderr, the run's metrics, samples, checkpoints, curves and
// exports to <run.dir>/<run.name>/.
import { join, resolve } from "node:path";
import { type Override, type Stage, type TrainConfig, loadConfig, parseOverrides, resolveConfig } from "../train/config.js";
import type { MetricsSink } from "../train/metrics.js";
import { ProgressBar } from "../train/progress.js";
import { RECIPES, RECIPE_NAMES, type RecipeName, recipeOverrides } from "../train/recipes.js";
import { type RunResult, runGrpo, runSft } from "../train/runs.js";
import { COMMON_OPTIONS, type CommandSpec, type Io, type RegisteredCommand, UsageError, helpText, parseOptions } from "./options.js";

const TRAIN_OPTIONS = {
  recipe: { type: "string", value: "NAME", help: `a built-in SFT -> GRPO pipeline: ${RECIPE_NAMES.join(", ")} (listed above)` },
  config: { type: "string", multiple: true, value: "FILE", help: "a YAML config file of one stage; several run in order, each on the previous one's merged model" },
  stages: { type: "string", value: "LIST", help: "with --recipe, the stages to run: sft,grpo | sft | grpo", default: "sft,grpo" },
  "sft-steps": { type: "string", value: "N", help: "with --recipe, optimizer steps of the SFT stage" },
  "grpo-steps": { type: "string", value: "N", help: "with --recipe, optimizer steps of the GRPO stage" },
  quiet: { type: "boolean", help: "no progress bar" },
  ...COMMON_OPTIONS,
} as const;

type TrainOptions = typeof TRAIN_OPTIONS;

// Parsed by hand in trainEntry (config-field flags come out first), so the table describes it but does not run it.
const trainCommand: CommandSpec<TrainOptions> = {
  name: "train",
  summary: "post-train with SFT then GRPO (a recipe, or YAML config files), with checkpoints, logs and exports",
  usage: [
    "grpo-xla train --recipe cpu|gpu|tpu [--model DIR] [--stages sft,grpo] [--<field> VALUE ...]",
    "grpo-xla train --config sft.yaml [--config grpo.yaml] [--set field.path=VALUE ...]",
  ],
  description: [
    "Any config field can be set on the command line after the options: --set grpo.beta=0.04, --grpo.beta 0.04,",
    "or the short forms --seed, --device, --model DIR, --preset, --data FILE, --lr, --steps, --batch-size, --G,",
    "--beta, --name, --time-budget 8h30m, --resume DIR. They apply to every stage run. With a recipe, a stage's",
    "run is named <name>-<stage> (default <recipe>-<stage>) under runs/. Interrupted? Rerun the same command with",
    "--stages <stage> --resume runs/<name>-<stage>. Every field: docs/USAGE.md.",
    "",
    "Recipes:",
    ...RECIPE_NAMES.map((n) => `  ${n.padEnd(5)}${RECIPES[n].describe}`),
  ].join("\n"),
  options: TRAIN_OPTIONS,
};

function positiveInteger(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${option} must be a positive integer, got ${JSON.stringify(text)}`);
  return n;
}

/** Progress on stderr as a MetricsSink: the bar advances on every logged step. */
function progressSink(stage: Stage, total: number): MetricsSink & { finish(): void } {
  const bar = new ProgressBar({ total, label: stage, stream: process.stderr });
  const show = (values: Record<string, number>, key: string, name: string): string =>
    values[key] === undefined || !Number.isFinite(values[key]!) ? "" : ` ${name} ${values[key]!.toFixed(3)}`;
  return {
    scalars(step, values) {
      bar.update(Math.min(step, total), `${show(values, "loss", "loss")}${show(values, "reward/mean", "reward")}`.trim());
    },
    text() {},
    flush() {},
    close() {},
    finish() {
      bar.finish();
    },
  };
}

interface PlannedStage {
  stage: Stage;
  config: TrainConfig;
}

/** The stages of a recipe, each resolved: stage defaults <- recipe <- command-line fields. */
function planRecipe(options: ReturnType<typeof parseOptions<TrainOptions>>, overrides: Override[]): PlannedStage[] {
  const userSetName = overrides.some((o) => o.path.join(".") === "run.name");
  {
    const name = options.recipe as RecipeName;
    if (!RECIPE_NAMES.includes(name)) throw new UsageError(`unknown recipe ${JSON.stringify(options.recipe)}: use one of ${RECIPE_NAMES.join(", ")}`);
    const recipe = RECIPES[name];
    const stages = (options.stages ?? "sft,grpo").split(",").map((s) => s.trim());
    if (stages.length === 0 || stages.some((s) => s !== "sft" && s !== "grpo") || new Set(stages).size !== stages.length) {
      throw new UsageError(`--stages must list sft and/or grpo once each, got ${JSON.stringify(options.stages)}`);
    }
    if (stages.length === 2 && stages[0] !== "sft") throw new UsageError("--stages: sft comes before grpo");
    if (recipe.needsModelDir && !overrides.some((o) => o.path.join(".") === "model.dir")) {
      throw new UsageError(`the ${name} recipe trains a downloaded Gemma3 checkpoint: add --model DIR (a Hugging Face folder; see docs/CHECKPOINTS.md)`);
    }
    const stepsFor: Record<Stage, number | undefined> = {
      sft: positiveInteger(options["sft-steps"], "sft-steps"),
      grpo: positiveInteger(options["grpo-steps"], "grpo-steps"),
    };
    return (stages as Stage[]).map((stage) => {
      const extra: Override[] = [{ path: ["stage"], value: stage, flag: `recipe ${name}` }, ...recipeOverrides(name, stage)];
      if (!userSetName) extra.push({ path: ["run", "name"], value: `${name}-${stage}`, flag: `recipe ${name}` });
      const steps = stepsFor[stage];
      const tail: Override[] = steps === undefined ? [] : [{ path: ["optim", "steps"], value: steps, flag: `--${stage}-steps ${steps}` }];
      const config = resolveConfig({ overrides: [...extra, ...overrides, ...tail], stage });
      if (userSetName && stages.length > 1) config.run.name = `${config.run.name}-${stage}`;
      return { stage, config };
    });
  }
}

/** The stages of config files, in order, each resolved: stage defaults <- file <- command-line fields. */
async function planFiles(options: ReturnType<typeof parseOptions<TrainOptions>>, overrides: Override[]): Promise<PlannedStage[]> {
  if (options.stages !== undefined || options["sft-steps"] !== undefined || options["grpo-steps"] !== undefined) {
    throw new UsageError("--stages, --sft-steps and --grpo-steps go with --recipe; with --config, set fields in the files or with --set");
  }
  const planned: PlannedStage[] = [];
  for (const file of options.config ?? []) {
    const config = await loadConfig(file, overrides);
    planned.push({ stage: config.stage, config });
  }
  return planned;
}

async function trainEntry(args: readonly string[], io: Io): Promise<void> {
  const { overrides, rest } = parseOverrides(args);
  const options = parseOptions(trainCommand, rest);
  if (options.help) {
    await io.write(helpText(trainCommand));
    return;
  }
  if (options.recipe !== undefined && options.config !== undefined) throw new UsageError("give --recipe or --config, not both");
  if (options.recipe === undefined && options.config === undefined) throw new UsageError("give --recipe NAME or --config FILE (grpo-xla train --help)");
  const planned = options.recipe !== undefined ? planRecipe(options, overrides) : await planFiles(options, overrides);
  const userSetResume = overrides.some((o) => o.path.join(".") === "run.resumeFrom");
  let previous: RunResult | undefined;
  for (const { stage, config } of planned) {
    if (previous !== undefined && !userSetResume) {
      // The next stage trains a fresh adapter on the previous stage's merged weights, so that its reference policy
      // (the base with the adapter off, for the KL term) is the model it starts from, not the weights under it.
      config.model.dir = previous.mergedDir;
      config.model.preset = null;
    }
    const runDir = resolve(join(config.run.dir, config.run.name));
    io.log(`grpo-xla train: ${stage} -> ${runDir} (${config.model.dir ?? config.model.preset}, ${config.run.device}, ${config.optim.steps} steps)`);
    const progress = options.quiet ? undefined : progressSink(stage, config.optim.steps);
    const hooks = { log: (message: string) => io.log(message), sinks: progress === undefined ? [] : [progress] };
    previous = stage === "sft" ? await runSft(config, hooks) : await runGrpo(config, hooks);
    progress?.finish();
    io.log(`grpo-xla train: ${stage} done; ${previous.adapterPath === null ? "" : `adapter ${previous.adapterPath}, `}merged weights ${previous.mergedDir}`);
  }
}

export const trainEntryCommand: RegisteredCommand = {
  name: trainCommand.name,
  summary: trainCommand.summary,
  help: () => helpText(trainCommand),
  run: trainEntry,
};
