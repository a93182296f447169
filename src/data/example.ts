// The record every data source produces, and the random-access dataset shape the iterator walks.

/** One verifiable task: a question with an exact final answer, and a worked solution when the source has one. */
export interface Example {
  /** Stable identity: "builtin:train:7:42" or "path/to/file.jsonl:17". */
  id: string;
  question: string;
  /** The final answer as text (numbers in plain decimal, without thousands separators). */
  answer: string;
  /** A worked solution, one step per line, when known (GSM8K rationales, SFT data, built-in tasks). */
  reasoning?: string;
  /** The built-in generator's template name and difficulty level. */
  template?: string;
  level?: number;
}

/** A finite, random-access collection (in memory, or generated on demand). */
export interface Dataset<T> {
  readonly size: number;
  get(index: number): T;
}

export function arrayDataset<T>(items: readonly T[]): Dataset<T> {
  return {
    size: items.length,
    get(index: number): T {
      if (!Number.isInteger(index) || index < 0 || index >= items.length) throw new RangeError(`dataset index ${index} outside [0, ${items.length})`);
      return items[index]!;
    },
  };
}
