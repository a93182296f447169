// Training infrastructure: configuration, run logs, checkpoints, wall-clock budget, progress, curves.
export {
  type Stage,
  type TrainConfig,
  type TrainConfigInput,
  type Override,
  type LoadOptions,
  configSchema,
  defaultConfig,
  ConfigError,
  FLAG_ALIASES,
  parseOverrides,
  resolveConfig,
  loadConfig,
  describeFields,
} from "./config.js";
export { parseDuration, formatDuration } from "./duration.js";
export { WallClockBudget, type BudgetOptions } from "./budget.js";
export {
  type TensorRecord,
  type TensorStore,
  type CheckpointManifest,
  type CheckpointState,
  type SaveOptions,
  CHECKPOINT_FORMAT,
  CheckpointError,
  rawTensorStore,
  checkpointsDir,
  latestCheckpoint,
  saveCheckpoint,
  loadCheckpoint,
  writeFileDurably,
  fsyncDirectory,
} from "./checkpoint.js";
export { type MetricsSink, type MetricsPointer, type MetricsRecord, type RunLogOptions, RunLog, readMetricsJsonl } from "./metrics.js";
export { EventFileWriter, EventFileError, frameRecord, readRecords, decodeEvents, type DecodedEvent } from "./tensorboard.js";
export { crc32c, maskCrc } from "./crc32c.js";
export { type Series, type ChartOptions, type CurveGroup, lineChartSvg, niceTicks, writeCurves } from "./svg_chart.js";
export { ProgressBar, type ProgressOptions, type ProgressStream } from "./progress.js";
export { type RunHooks, type RunResult, runSft, runGrpo } from "./runs.js";
export { SftTrainer, formatTarget } from "./sft_trainer.js";
export { type Recipe, type RecipeName, RECIPES, RECIPE_NAMES, recipeOverrides } from "./recipes.js";
