// Data sources for training and evaluation.
export { type Example, type Dataset, arrayDataset } from "./example.js";
export { DataError, FieldError, type DataLocation, type BadRowPolicy, type ReadOptions, type ReadReport } from "./errors.js";
export { Rng, hashInts, hashString, permutation } from "./prng.js";
export { type Split, type Level, type TaskOptions, TEMPLATE_NAMES, taskAt, builtinTasks, generateTasks, splitOf } from "./tasks.js";
export { type Rows, parseJsonl, readJsonl } from "./jsonl.js";
export { type Gsm8kOptions, parseGsm8kAnswer, normalizeNumber, gsm8kRow, readGsm8kJsonl } from "./gsm8k.js";
export { type ParquetOptions, parseParquetRows, readParquet, readGsm8kParquet, closeParquetDecoder } from "./parquet.js";
export {
  type SftExample,
  type SftFieldOptions,
  REASONING_OPEN,
  REASONING_CLOSE,
  ANSWER_OPEN,
  ANSWER_CLOSE,
  formatCompletion,
  workedSolution,
  toSft,
  readSftJsonl,
  writeSftJsonl,
} from "./sft.js";
export { type DataPosition, type IteratorOptions, DataIterator } from "./iterator.js";
export { type DataSourceKind, type DataSourceOptions, type DataSources, loadDataSources } from "./source.js";
