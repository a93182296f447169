// Training and evaluation sets from the `data` section of a config: built-in tasks, GSM8K-format JSONL or Parquet,
// or SFT JSONL. A file source without an evaluation file is evaluated on built-in held-out tasks.
import type { ReadReport } from "./errors.js";
import { type Dataset, type Example, arrayDataset } from "./example.js";
import { readGsm8kJsonl } from "./gsm8k.js";
import { readGsm8kParquet } from "./parquet.js";
import { readSftJsonl } from "./sft.js";
import { type HeldOutBy, type Level, builtinTasks } from "./tasks.js";

export type DataSourceKind = "builtin" | "gsm8k-jsonl" | "gsm8k-parquet" | "sft-jsonl";

export interface DataSourceOptions {
  source: DataSourceKind;
  path: string | null;
  evalPath: string | null;
  levels: readonly Level[];
  trainSize: number;
  evalSize: number;
  heldOutFraction: number;
  /** Default "numbers". */
  heldOutBy?: HeldOutBy;
  /** Share of the arithmetic facts built-in training tasks draw from (default 1: all). */
  factsFraction?: number;
  /** Chance that a built-in training task outside the factsFraction share is kept (default 0). */
  otherFactsRate?: number;
  onBadRow: "error" | "skip";
  seed: number;
  /** Seed of the built-in held-out tasks (default: `seed`). A fixed one evaluates runs of different seeds on the
   * same tasks, so their accuracies differ only by training. */
  evalSeed?: number | null;
}

export interface DataSources {
  train: Dataset<Example>;
  eval: Dataset<Example>;
  /** Rows read and skipped per file (file sources only). */
  reports: { train?: ReadReport; eval?: ReadReport };
}

async function readFile(kind: Exclude<DataSourceKind, "builtin">, file: string, onBadRow: "error" | "skip"): Promise<{ items: Example[]; report: ReadReport }> {
  switch (kind) {
    case "gsm8k-jsonl":
      return readGsm8kJsonl(file, { onBadRow });
    case "gsm8k-parquet":
      return readGsm8kParquet(file, { onBadRow });
    case "sft-jsonl": {
      const { items, report } = readSftJsonl(file, { onBadRow });
      return { items: items.map((e) => ({ id: e.id, question: e.prompt, reasoning: e.reasoning, answer: e.answer })), report };
    }
  }
}

export async function loadDataSources(options: DataSourceOptions): Promise<DataSources> {
  const { levels, heldOutFraction, heldOutBy, factsFraction, otherFactsRate } = options;
  const builtin = (split: "train" | "heldout", size: number) =>
    builtinTasks({ seed: split === "heldout" ? (options.evalSeed ?? options.seed) : options.seed, split, size, levels, heldOutFraction, heldOutBy, factsFraction, otherFactsRate });
  const reports: DataSources["reports"] = {};
  let train: Dataset<Example>;
  if (options.source === "builtin") {
    train = builtin("train", options.trainSize);
  } else {
    if (options.path === null) throw new Error(`data.path is required for data.source "${options.source}"`);
    const read = await readFile(options.source, options.path, options.onBadRow);
    if (read.items.length === 0) throw new Error(`${options.path}: no usable rows`);
    train = arrayDataset(read.items);
    reports.train = read.report;
  }
  let evaluation: Dataset<Example>;
  if (options.evalPath !== null && options.source !== "builtin") {
    const read = await readFile(options.source, options.evalPath, options.onBadRow);
    evaluation = arrayDataset(read.items.slice(0, options.evalSize));
    reports.eval = read.report;
  } else {
    evaluation = builtin("heldout", options.evalSize);
  }
  return { train, eval: evaluation, reports };
}
