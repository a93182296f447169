// Named recipes: the SFT -> GRPO pipelines behind `npm run train:cpu|gpu|tpu`. A recipe is a set of field values
// per stage laid over the stage defaults (src/train/config.ts); the user's config file and flags are laid over the
// recipe, so every field stays reachable. Values here carry the reason they differ from the defaults.
import type { Override, Stage } from "./config.js";

export type RecipeName = "cpu" | "gpu" | "tpu";

export const RECIPE_NAMES: readonly RecipeName[] = ["cpu", "gpu", "tpu"];

export interface Recipe {
  describe: string;
  /** The device the recipe is made for. */
  device: "cpu" | "gpu" | "tpu";
  /** Whether a downloaded checkpoint (`--model DIR`) is required. */
  needsModelDir: boolean;
  /** Field values per stage, as dotted paths. */
  stages: Record<Stage, Record<string, unknown>>;
}

// The accelerator recipe: Gemma3-1B with LoRA rank 32 / alpha 32 on every projection, G = 4, beta 0.08, eps 0.2,
// AdamW lr 3e-6 (b2 0.99, weight decay 0.1), global-norm clip 0.1, 10% warmup then cosine; SFT first teaches the
// answer format on worked solutions of the built-in tasks.
function acceleratorRecipe(device: "gpu" | "tpu"): Recipe {
  const shared = {
    "run.device": device,
    "model.preset": null,
    "model.dtype": "bf16",
    "lora.rank": 32,
    "lora.alpha": 32,
  };
  return {
    describe: `Gemma3-1B from a downloaded checkpoint (--model DIR) on ${device}: SFT on worked solutions, then GRPO (LoRA r32/a32, G 4, beta 0.08, eps 0.2, lr 3e-6, clip 0.1)`,
    device,
    needsModelDir: true,
    stages: {
      sft: { ...shared, "optim.steps": 300, "optim.batchSize": 8, "optim.lr": 1e-4, "sampling.maxCompletionLength": 256 },
      grpo: {
        ...shared,
        "grpo.G": 4,
        "grpo.beta": 0.08,
        "grpo.epsilon": 0.2,
        "optim.lr": 3e-6,
        "optim.clip": 0.1,
        "optim.warmupFraction": 0.1,
        "optim.schedule": "cosine",
        "optim.batchSize": 4,
        "optim.steps": 1000,
        "sampling.maxCompletionLength": 256,
      },
    },
  };
}

// What both stages of the cpu recipe share: the model, the adapter, the tasks and the sequence lengths.
const CPU_SHARED = {
  "run.device": "cpu",
  "model.preset": "tiny",
  "model.dtype": "f32",
  "lora.rank": 16,
  "lora.alpha": 32,
  "data.levels": [0],
  // Held out by text: every level-0 fact (162 of them) is trained on under other names and objects; held-out
  // problems are unseen wordings (docs/EXPERIMENTS.md: split by numbers, no model here learnt unseen facts).
  "data.heldOutBy": "text",
  "data.trainSize": 4000,
  // 256 held-out tasks (about 230 distinct questions): a binomial standard error of about 3 points at 60%.
  "data.evalSize": 256,
  // Every seed is evaluated on the same held-out tasks (seed 0's), so runs of different seeds differ by training only.
  "data.evalSeed": 0,
  "sampling.maxPromptLength": 144,
  // A character per token: worked solutions run to ~110 tokens, and a cut-off completion has no closing tags.
  "sampling.maxCompletionLength": 128,
};

export const RECIPES: Record<RecipeName, Recipe> = {
  // Minutes on two CPU cores: the tiny Gemma3-architecture model from random init with the character vocabulary
  // made for the built-in tasks (a 262k-entry vocabulary cannot be learnt from scratch here), on level-0 tasks
  // (single-digit sums, small differences). Prompts keep their last 144 tokens (the question and the turn markup;
  // most of the system instruction is cut), which makes a step about twice as cheap as at 288. Measurements behind
  // each value: docs/EXPERIMENTS.md, "issue 8: a demo that learns".
  cpu: {
    describe: "tiny Gemma3-architecture model from random init on the built-in level-0 tasks, character vocabulary, cpu: full-parameter SFT then GRPO with LoRA",
    device: "cpu",
    needsModelDir: false,
    stages: {
      sft: {
        ...CPU_SHARED,
        // Every weight trains: a random base under a low-rank adapter learnt the format but no arithmetic.
        "lora.enabled": false,
        // The worked solutions cover half of the facts densely and the rest thinly (a task with a fact outside the
        // share is kept one time in ten): SFT learns the dense half (0.94-1.00) and a third of the rest, and GRPO,
        // which needs only prompts and answers, draws from every fact. From SFT on every fact, GRPO had nothing
        // to add that more SFT would not add faster (docs/EXPERIMENTS.md, 13:10-15:00).
        "data.factsFraction": 0.5,
        "data.otherFactsRate": 0.1,
        "optim.lr": 5e-3,
        // 800 steps: the dense half is learnt on every seed by then (0.75 / 0.54 at step 400 on seeds 0 / 1).
        "optim.steps": 800,
        "optim.batchSize": 8,
        "optim.gradAccumulation": 2,
        // One evaluation at the end (and the trivial one at step 0), 64 tasks per decode: the demo's budget is 15
        // minutes and evaluation does not change what is trained.
        "eval.every": 800,
        "eval.batchSize": 64,
        "checkpoint.every": 400,
        "log.every": 10,
      },
      grpo: {
        ...CPU_SHARED,
        // G 8 at temperature 1: on the thinly covered facts most groups hold both right and wrong answers.
        "sampling.temperature": 1,
        "grpo.G": 8,
        // A KL weight large enough to hold the densely learnt facts where no group's advantage does (their groups
        // are all right): at 0.04 they lost 3-6 points on two seeds of three, at 0.5 at most 2.
        "grpo.beta": 0.5,
        // Only the format and the answer are rewarded: the worked solutions have a fixed form, and the reasoning
        // length and keyword rewards would only pay for drifting from it.
        "grpo.rewardWeights": { reasoning_length: 0, reasoning_keywords: 0 },
        // lr 1e-3 with beta 0 made the densely learnt facts fall (0.89 -> 0.70 in 20 steps); 5e-4 gains more than 3e-4.
        "optim.lr": 5e-4,
        "optim.clip": 1,
        "optim.steps": 80,
        // 16 prompts x G 8 a step: about half of the prompts are thinly covered facts, where the signal is.
        "optim.batchSize": 16,
        // Before and after GRPO only (each evaluation is a greedy and a sampled pass over the held-out tasks).
        "eval.every": 80,
        "eval.batchSize": 64,
        // GRPO optimises the reward of the sampled policy: its held-out accuracy is logged beside the greedy one.
        "eval.sampled": true,
        "checkpoint.every": 40,
        "log.every": 5,
      },
    },
  },
  gpu: acceleratorRecipe("gpu"),
  tpu: acceleratorRecipe("tpu"),
};

/** A recipe's stage values as config overrides, named after the recipe in errors. */
export function recipeOverrides(name: RecipeName, stage: Stage): Override[] {
  return Object.entries(RECIPES[name].stages[stage]).map(([path, value]) => ({
    path: path.split("."),
    value,
    flag: `recipe ${name} (${stage}.${path})`,
  }));
}
