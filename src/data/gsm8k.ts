// GSM8K's format: {"question": ..., "answer": "<worked solution>\n#### <final answer>"}, as JSONL or Parquet
// (the Hugging Face dataset's files). The worked solution is kept as the reasoning; calculator annotations
// ("<<48/2=24>>") are removed from it unless asked to keep them.
import type { Example } from "./example.js";
import { type ReadOptions, FieldError, stringField } from "./errors.js";
import { type Rows, readJsonl } from "./jsonl.js";

export interface Gsm8kOptions extends ReadOptions {
  questionField?: string;
  answerField?: string;
  keepCalculatorAnnotations?: boolean;
}

/** Splits a GSM8K answer into the worked solution and the final answer after the last "####". Numbers lose
 * thousands separators and a leading "$" ("$1,200" -> "1200"). Throws FieldError when there is no final answer. */
export function parseGsm8kAnswer(text: string, field = "answer", keepCalculatorAnnotations = false): { reasoning: string; answer: string } {
  const mark = text.lastIndexOf("####");
  if (mark < 0) throw new FieldError(field, 'has no final answer: expected a line "#### <answer>"');
  const final = text.slice(mark + 4).trim();
  if (final === "") throw new FieldError(field, 'the "####" line is empty');
  if (final.includes("\n")) throw new FieldError(field, 'text follows the "####" answer line');
  let reasoning = text.slice(0, mark).trim();
  if (!keepCalculatorAnnotations) reasoning = reasoning.replace(/<<[^<>]*>>/g, "");
  return { reasoning, answer: normalizeNumber(final) };
}

/** "1,234" -> "1234", "$5" -> "5", "-3.50" -> "-3.50"; anything that is not a number is returned trimmed. */
export function normalizeNumber(text: string): string {
  const compact = text.trim().replace(/^\$\s*/, "");
  return /^-?\d{1,3}(,\d{3})+(\.\d+)?$/.test(compact) ? compact.replace(/,/g, "") : /^-?\d+(\.\d+)?$/.test(compact) ? compact : text.trim();
}

/** Maps one GSM8K-shaped row to an Example. */
export function gsm8kRow(row: Record<string, unknown>, id: string, options: Gsm8kOptions = {}): Example {
  const answerField = options.answerField ?? "answer";
  const question = stringField(row, options.questionField ?? "question");
  const { reasoning, answer } = parseGsm8kAnswer(stringField(row, answerField), answerField, options.keepCalculatorAnnotations);
  return { id, question, answer, reasoning };
}

export function readGsm8kJsonl(file: string, options: Gsm8kOptions = {}): Rows<Example> {
  return readJsonl(file, (row, where) => gsm8kRow(row, `${file}:${where.line}`, options), options);
}
