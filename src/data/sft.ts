// SFT data: prompt / reasoning / answer records, read from JSONL or made from any Example that carries a worked
// solution (the built-in tasks always do), and the completion text the policy is trained to produce.
import { writeFileSync } from "node:fs";
import type { Example } from "./example.js";
import { type ReadOptions, FieldError, stringField } from "./errors.js";
import { type Rows, readJsonl } from "./jsonl.js";

export const REASONING_OPEN = "<reasoning>";
export const REASONING_CLOSE = "</reasoning>";
export const ANSWER_OPEN = "<answer>";
export const ANSWER_CLOSE = "</answer>";

export interface SftExample {
  id: string;
  prompt: string;
  reasoning: string;
  answer: string;
}

/** The target completion: `<reasoning>steps</reasoning><answer>n</answer>`. */
export function formatCompletion(parts: { reasoning: string; answer: string }): string {
  return `${REASONING_OPEN}${parts.reasoning}${REASONING_CLOSE}${ANSWER_OPEN}${parts.answer}${ANSWER_CLOSE}`;
}

/** A worked solution for a task, as the completion text. */
export function workedSolution(example: Example): string {
  return formatCompletion(toSft(example));
}

/** An SFT record from an Example; its reasoning must be present. */
export function toSft(example: Example): SftExample {
  if (example.reasoning === undefined || example.reasoning.trim() === "") {
    throw new FieldError("reasoning", `example ${example.id} has no worked solution to train on`);
  }
  return { id: example.id, prompt: example.question, reasoning: example.reasoning, answer: example.answer };
}

export interface SftFieldOptions extends ReadOptions {
  promptField?: string;
  reasoningField?: string;
  answerField?: string;
}

export function readSftJsonl(file: string, options: SftFieldOptions = {}): Rows<SftExample> {
  return readJsonl(
    file,
    (row, where) => ({
      id: `${file}:${where.line}`,
      prompt: stringField(row, options.promptField ?? "prompt"),
      reasoning: stringField(row, options.reasoningField ?? "reasoning"),
      answer: stringField(row, options.answerField ?? "answer"),
    }),
    options,
  );
}

/** Writes SFT records as JSONL (prompt, reasoning, answer), readable by readSftJsonl. */
export function writeSftJsonl(file: string, examples: readonly SftExample[]): void {
  const lines = examples.map((e) => JSON.stringify({ prompt: e.prompt, reasoning: e.reasoning, answer: e.answer }));
  writeFileSync(file, lines.length === 0 ? "" : `${lines.join("\n")}\n`);
}
